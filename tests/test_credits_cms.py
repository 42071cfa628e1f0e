"""Credits as mainland portals and CMS templates print them (人民网, DedeCMS, 华商网, WeChat, TRS):
internal ids, reporters' roles, desk editors and the staff credits closing a story, read from
whole pages by the real parser."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from feeds import attribution
from feeds.attribution import find_author
from feeds.autoextract import page_meta
from feeds.charset import decode
from feeds.htmlpage import parse_article
from feeds.model import ParsedItem, Party
from feeds.sanitize import html_to_text
from feeds.selectors import article_rules

PAGES = Path(__file__).resolve().parent / "fixtures" / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=SHANGHAI)


def load(name: str) -> str:
    return decode((PAGES / name).read_bytes()).text


def article(name: str, text: str | None = None, content: str | None = None) -> ParsedItem:
    rules = article_rules({"content": content}, path="a") if content else None
    page = load(name) if text is None else text
    return parse_article(
        page, url=f"http://www.example.cn/{name}", rules=rules, tz=SHANGHAI, now=NOW
    )


def lines(item: ParsedItem) -> list[str]:
    return html_to_text(item.content_html).split("\n")


def test_a_cms_id_in_meta_author_is_no_author() -> None:
    """人民网's `<meta name="author" content="F_200963">` was published as the author; the
    byline under its heading names the reporter."""
    item = article("cms_credit_people.gbk.html")
    assert item.author == "刘晓涛"
    assert item.origin == Party("人民网-陕西频道", "http://sn.people.com.cn/")
    page = load("cms_credit_people.gbk.html")
    for credit in ('<p class="author">刘晓涛</p>', '<div class="edit cf">(责编：王佳、李昕)</div>'):
        page = page.replace(credit, "")
    assert article("cms_credit_people.gbk.html", page).author is None


@pytest.mark.parametrize("value", ["F_200963", "admin123", "user_12", "200963", "_", "--"])
def test_meta_author_ids_are_refused(value: str) -> None:
    doc = lxml.html.fromstring(f'<html><head><meta name="author" content="{value}"></head></html>')
    assert page_meta(doc, "", tz=SHANGHAI, now=NOW).page_author is None


@pytest.mark.parametrize("value", ["Jane Doe", "Seán O'Brien", "王伟", "汉中发布", "J. R. Smith"])
def test_meta_author_names_are_kept(value: str) -> None:
    doc = lxml.html.fromstring(f'<html><head><meta name="author" content="{value}"></head></html>')
    assert page_meta(doc, "", tz=SHANGHAI, now=NOW).page_author == value


def test_a_reporters_role_after_the_label_is_no_name() -> None:
    """DedeCMS's `作者:记者 王伟` gave the author `记者`; its closing `（责任编辑：admin）`
    stayed in the body."""
    item = article("cms_credit_dede.gbk.html")
    assert item.author == "王伟"
    assert item.origin == Party("汉中日报", "http://www.hanzhong.gov.cn/")
    assert lines(item)[-1] == "会议要求，要紧盯岁末年初关键节点，强化隐患排查整治。"
    assert "责任编辑" not in item.content_html


@pytest.mark.parametrize(
    ("text", "author"),
    [
        ("作者:记者 王伟", "王伟"),
        ("作者：本报记者 王伟", "王伟"),
        ("作者: 通讯员 李明", "李明"),
        ("作者：记者王伟 通讯员李明", "王伟"),
        ("作者：特约记者　张敏 点击：12", "张敏"),
        ("作者：王伟", "王伟"),
        ("记者：王伟", "王伟"),
        ("华商报讯（记者 李睿）11月27日，文化和旅游部公布", "李睿"),
        ("新华社西安11月28日电（记者李睿 通讯员王五）", "李睿"),
        ("（本报记者 李睿 张敏）", "李睿"),
        ("（见习记者 王丽）", "王丽"),
    ],
)
def test_find_writer(text: str, author: str) -> None:
    assert attribution.find_writer(text) == author


@pytest.mark.parametrize(
    "text",
    [
        "作者：记者",
        "作者：本报记者 ",
        "（记者 李睿 摄）",
        "（记者 李睿摄）",
        "（记者）",
        "记者从市林业局获悉",
    ],
)
def test_a_role_or_a_photographers_credit_names_no_writer(text: str) -> None:
    assert attribution.find_writer(text) is None


def test_a_desk_editor_is_no_writer() -> None:
    for text in ("【责任编辑:王子铭】", "2022-11-28 来源：华商报编辑：张瑞", "(责编：王佳)"):
        assert attribution.find_writer(text) is None
        assert attribution.find_editor(text) is not None
    assert find_author("（责任编辑：张三）") == "张三", "only where nothing names the writer"
    assert find_author("编辑：张瑞\n华商报讯（记者 李睿）") == "李睿"


def test_the_reporters_byline_outranks_the_editor_in_the_meta_line() -> None:
    """华商网: `编辑：张瑞` in the meta line was published as the author of a story opening
    `华商报讯（记者 李睿）`."""
    item = article("cms_credit_hsw.html")
    assert item.author == "李睿"
    assert item.origin == Party("华商报")


def test_an_editor_is_the_author_only_where_nothing_names_the_writer() -> None:
    page = load("cms_credit_hsw.html").replace("（记者 李睿）", "")
    assert article("cms_credit_hsw.html", page).author == "张瑞"


def test_closing_staff_credits_leave_the_body_a_closing_source_stays() -> None:
    """WeChat's `编辑：张敏  审核：刘伟` closing `#js_content` was published as the body's last
    line; the `来源：` line above it credits the story and stays, and so does a sentence
    naming the desk (`编辑部电话：…`)."""
    for item in (
        article("cms_credit_wechat.html"),
        article("cms_credit_wechat.html", content="#js_content"),
    ):
        assert lines(item)[-1] == "来源：汉中日报"
        assert "编辑部电话：0916-2222222" in item.content_html
        for unwanted in ("张敏", "审核", "终审"):
            assert unwanted not in item.content_html
        assert item.author == "汉中发布"


def test_a_closing_line_with_more_than_staff_credits_stays() -> None:
    page = load("cms_credit_wechat.html").replace("终审：赵强", "终审：赵强 来源：汉中日报")
    assert lines(article("cms_credit_wechat.html", page))[-1] == "终审：赵强 来源：汉中日报"


@pytest.mark.parametrize(
    ("text", "credits"),
    [
        ("（责任编辑：admin）", True),
        ("编辑：张敏 \xa0审核：刘伟", True),
        ("编辑：李四 | 审核：王五", True),
        ("责编：王佳、李昕", True),
        ("校對：陳美玲／審核：王小明", True),
        ("值班编辑：张三 美编：李四 终审：王五", True),
        ("编辑部电话：0916-2222222", False),
        ("编辑：张三 来源：汉中日报", False),
        ("本报编辑部对此进行了审核：结果良好", False),
        ("编辑：", False),
        ("来源：汉中日报", False),
    ],
)
def test_is_staff_credits(text: str, credits: bool) -> None:
    assert attribution.is_staff_credits(text) is credits


@pytest.mark.parametrize(
    "script",
    [
        'var pubdate = "2022-11-28 09:30:00";',
        "var publishdate = '2022-11-28 09:30:00';",
        'var pubDate="2022-11-28 09:30:00";',
    ],
)
def test_a_trs_page_dated_by_its_script_variable(script: str) -> None:
    """A TRS page whose date line writes `pubdate` out by script was undated."""
    page = load("cms_credit_trs_pubdate.html").replace(
        'var pubdate = "2022-11-28 09:30:00";', script
    )
    item = article("cms_credit_trs_pubdate.html", page)
    assert item.published == datetime(2022, 11, 28, 9, 30, tzinfo=SHANGHAI)
    assert item.author is None, "its 责任编辑 line is no closing credit: tools follow it"


def _hostile_cost(size: int) -> float:
    """Seconds to read a page of `size` repeats of a role after `作者：`, of openings in
    brackets that never close and of staff credits."""
    roles = "作者：" + "记者 " * size + "（记者 " * size
    credits = "<p>编辑：张三</p>" * (size // 10)
    page = f"<html><body><h1>标题标题标题</h1><div>{roles}</div><div>{credits}</div></body></html>"
    started = time.process_time()
    article("hostile.html", page)
    assert find_author(roles) is None
    return time.process_time() - started


def test_hostile_credits_cost_little() -> None:
    """Up to 1 MB of roles, unclosed bylines and staff credits: read in time that grows with
    the page, not its square (compared at two sizes, not against a clock)."""
    small, large = _hostile_cost(10_000), _hostile_cost(80_000)
    assert large < small * 8 * 3 + 0.05


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "发布时间：2022-11-27 10:31  来源：洋县融媒体中心  作者：李娟 张伟  浏览次数：",
            "李娟、张伟",
        ),
        ("作者：记者 李娟 张伟 | 编辑：王五", "李娟、张伟"),
        ("作者：李娟 张伟", "李娟、张伟"),
        # the line goes on with prose, or a label it does not know: the first name alone
        ("作者：李娟 近日，我县召开会议", "李娟"),
        ("作者：李娟 张伟 摄影：王五", "李娟"),
    ],
)
def test_reporters_a_space_apart_are_all_named(line: str, expected: str) -> None:
    """County portals write `作者：李娟 张伟`: the second reporter was dropped."""
    assert attribution.find_writer(line) == expected
