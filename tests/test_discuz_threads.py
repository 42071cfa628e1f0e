"""Discuz! X3.4 forum threads (`viewthread.htm`, GBK) read without article selectors: the
subject, the first post's time, text and attached files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from feeds.charset import decode
from feeds.htmlpage import article_from, read_article_page
from feeds.model import ParsedItem
from feeds.sanitize import html_to_text
from tests.conftest import FIXTURES

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # 16:00 on the 29th in Shanghai
URL = "http://www.example.net/thread-123-1-1.html"
SUBJECT = "汉江大桥夜景灯光改造完成"


def thread(edit: str | None = None, replacement: str = "") -> ParsedItem:
    text = decode((FIXTURES / "html" / "discuz_thread_123.gbk.html").read_bytes()).text
    if edit is not None:
        assert edit in text
        text = text.replace(edit, replacement)
    page = read_article_page(text, url=URL, rules=None)
    return article_from(page, rules=None, tz=SHANGHAI, now=NOW, site_names=("汉中论坛",))


def test_the_subject_is_the_title_not_the_category_on_the_line_above() -> None:
    """The stock template writes the category's link and the subject on lines of their own."""
    item = thread()
    assert item.title == SUBJECT
    assert dict(item.provenance)["title"] == "automatic"


def test_a_post_of_this_week_is_dated_by_its_time_s_title() -> None:
    """`发表于 <span title="2026-11-28 09:30">昨天&nbsp;09:30</span>`."""
    item = thread()
    assert item.published == datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)
    assert dict(item.provenance)["published"] == "detected"
    older = thread('<span title="2026-11-28 09:30">昨天&nbsp;09:30</span>', "2026-11-28 09:30")
    assert older.published == datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)


def test_the_first_post_without_its_edit_stamp_and_copy_button_with_its_file() -> None:
    item = thread()
    text = html_to_text(item.content_html)
    assert text.lstrip().startswith("昨晚，汉江大桥夜景灯光改造工程正式完工亮灯")
    for furniture in ("本帖最后由", "编辑", "复制代码", "上传", "下载次数", "楼主拍得好看"):
        assert furniture not in text, furniture
    assert "开灯时间：19:00-23:00" in text
    assert text.rstrip().endswith("附件：灯光方案.zip")
    assert (
        'href="http://www.example.net/forum.php?mod=attachment&amp;aid=NTAyfGFiY2RlZnwxNzMyfDB8MTIz"'
        in item.content_html
    )
    assert item.author == "汉水渔夫"


def test_the_description_loses_the_forum_s_name_discuz_appends() -> None:
    item = thread()
    assert item.summary == (
        "昨晚，汉江大桥夜景灯光改造工程正式完工亮灯，大桥两侧新装LED灯带3200米，"
        "市民纷纷来到江边拍照打卡。"
    )
    other = thread(' ,汉中论坛" />', ' ,另一个论坛" />')
    assert other.summary.endswith("拍照打卡。 ,另一个论坛")  # a name the site is not called


def test_a_hostile_post_costs_no_more_than_its_length() -> None:
    """Fifty thousand edit stamps and code blocks, a heading of fifty thousand spans."""
    blocks = (
        '<i class="pstatus"> 本帖最后由 x 编辑 </i><br />'
        '<div class="blockcode"><em>复制代码</em></div>'
    )
    spans = "<span>[本地新闻]</span>" * 50_000
    text = decode((FIXTURES / "html" / "discuz_thread_123.gbk.html").read_bytes()).text
    text = text.replace(
        "　　欢迎大家晚上去江边走走。", blocks * 50_000 + "　　欢迎大家晚上去江边走走。"
    )
    text = text.replace('<span id="thread_subject">', spans + '<span id="thread_subject">')
    started = time.process_time()
    page = read_article_page(text, url=URL, rules=None)
    item = article_from(page, rules=None, tz=SHANGHAI, now=NOW, site_names=("汉中论坛",))
    assert time.process_time() - started < 20
    assert item.title == SUBJECT
    assert "复制代码" not in item.content_html
