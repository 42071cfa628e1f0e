"""Article pages of the stock templates of common Chinese CMSes, read without selectors:
DedeCMS, PHPCMS v9, EmpireCMS, Discuz! X forum threads, a county government's notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.articlemerge import merge_article
from feeds.charset import decode
from feeds.htmlpage import ArticlePage, article_from, read_article_page
from feeds.htmltree import parse_html
from feeds.listpage import parse_list_page
from feeds.model import ParsedItem, Party
from feeds.pagedates import RELATIVE
from feeds.pagefurniture import drop_repeated, shown_texts
from feeds.sanitize import html_to_text
from feeds.selectors import list_rules

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
SITE = "http://www.hzzc.example"


def page(name: str, url: str, edit: Callable[[str], str] = lambda text: text) -> ArticlePage:
    text = decode((FIXTURES / name).read_bytes()).text
    return read_article_page(edit(text), url=url, rules=None)


def article(*pages: ArticlePage) -> ParsedItem:
    return article_from(pages[0], rules=None, tz=SHANGHAI, now=NOW, continued=pages[1:])


def body_lines(item: ParsedItem) -> list[str]:
    return html_to_text(item.content_html).splitlines()


@pytest.mark.parametrize(
    "edit",
    [lambda text: text, lambda text: text.replace('class="content"', 'class="zw"')],
    ids=["stock", "unknown body"],
)
def test_a_three_page_dedecms_article_is_its_text_once(edit: Callable[[str], str]) -> None:
    """Pages 2 and 3 brought the title, the date line, the lead and the separator into the
    body, three times in all. With a body element we do not know, the pages' template is
    told apart by what each later page shows exactly as the first did."""
    folder = f"{SITE}/a/xinwen/2026/1127/"
    first = page("cms_dede_1234.gbk.html", folder + "1234.html", edit)
    assert first.next_page == folder + "1234_2.html"
    item = article(
        first,
        page("cms_dede_1234_2.gbk.html", folder + "1234_2.html", edit),
        page("cms_dede_1234_3.gbk.html", folder + "1234_3.html", edit),
    )
    lines = body_lines(item)
    assert item.title == "【聚焦】汉巴南铁路汉中至巴中段全线铺轨完成"
    assert lines[0].startswith("11月27日上午，记者从市发改委获悉")
    assert any(line.startswith("据介绍，汉巴段全线共有桥梁86座") for line in lines), "page 2"
    assert any(line.startswith("开通运营后，汉中至巴中的通行时间") for line in lines), "page 3"
    text = "\n".join(lines)
    for furniture in (
        item.title,
        "时间：",
        "分隔线",
        "上一篇",
        "收藏",
        "分享到",
        "相关阅读",
        "网友评论",
    ):
        assert furniture not in text, furniture
    assert text.count("11月27日上午") == 1
    assert item.published == datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI)
    assert (item.author, item.origin) == ("张三", Party("汉中发布"))


def test_a_phpcms_article_leaves_its_heading_and_tools_out() -> None:
    """PHPCMS v9 writes the date and source line inside the `<h1>`; the body kept it, with
    the related tags, the links to the previous and next articles and the share bar."""
    url = f"{SITE}/index.php?m=content&c=index&a=show&catid=6&id=88"
    first = page("cms_phpcms_88_1.html", url)
    assert first.next_page == url + "&page=2"
    item = article(first, page("cms_phpcms_88_2.html", url + "&page=2"))
    lines = body_lines(item)
    assert item.title == "汉中垃圾焚烧发电二期工程点火试运行"
    assert lines[0].startswith("本网讯（通讯员 孙七）11月26日")
    assert any(line.startswith("下一步，我市将继续推进") for line in lines), "page 2"
    text = "\n".join(lines)
    for furniture in (item.title, "点击：", "相关热词", "上一篇", "下一篇", "收藏", "打印", "分享"):
        assert furniture not in text, furniture
    assert 'src="http://v.t.qq.com' not in item.content_html
    assert item.published == datetime(2026, 11, 27, 10, 5, 33, tzinfo=SHANGHAI)
    assert item.origin == Party("汉中日报", "http://www.hzrb.example/")


def test_a_logo_heading_is_not_every_articles_title() -> None:
    """EmpireCMS-style templates write the site's logo as an `<h1>` and the title in an
    `<h2>`: every article of the site was published as "南郑新闻网"."""
    item = article(page("cms_empire_5678.html", f"{SITE}/news/2026-11-27/5678.html"))
    assert item.title == "【最南郑】汉山康养小镇一期开园迎客"
    assert body_lines(item)[0].startswith("11月27日，南郑区“两山”转化重点项目")


def test_a_forum_thread_is_its_first_post() -> None:
    """A Discuz! X thread read whole: its header, floor bars, signature and every reply were
    the body, the title kept its category, the poster was no author, and page 2 (replies only)
    was joined to the post."""
    url = f"{SITE}/forum.php?mod=viewthread&tid=124&extra=page%3D1"
    first = page("cms_forum_124_1.gbk.html", url)
    assert first.next_page is None, "a thread's next page holds replies"
    rewritten = page("cms_forum_124_1.gbk.html", f"{SITE}/thread-124-1-1.html")
    assert rewritten.next_page is None
    item = article(first)
    assert item.title == "【路况】西汉高速秦岭隧道群今日交通管制"
    assert body_lines(item) == [
        "11月29日上午，西汉高速汉中段秦岭隧道群实施交通管制，预计持续至下午3时。",
        "请过往车辆提前规划路线，途经108国道绕行。",
        "来自：汉中交警",
    ]
    assert (item.author, item.origin) == ("汉中小编", Party("汉中交警"))
    assert item.published == datetime(2026, 11, 29, 13, 15, tzinfo=SHANGHAI)


def test_a_short_notice_is_dated_by_its_date_line_not_by_its_event() -> None:
    """A notice crediting its source in a line of its own was taken for the page's date
    line, and the first date in it dated the item: its event, a week ahead."""
    item = article(page("cms_notice_event_date.html", f"{SITE}/tzgg/1.htm"))
    assert item.published == datetime(2026, 11, 27, 9, tzinfo=SHANGHAI)
    assert item.origin == Party("汉台区卫健局")


def _dated(when: datetime, way: str) -> ParsedItem:
    return ParsedItem(title="t", url=f"{SITE}/1.html", published=when,
                      provenance=(("published", way),))  # fmt: skip


def test_a_list_date_by_selector_outranks_a_guessed_one_of_another_day() -> None:
    """A page whose date line could not be read gave a related article's date, which replaced
    the list's right one. A guess on the same day still gives the time the list lacks."""
    listed = _dated(datetime(2026, 11, 27, tzinfo=SHANGHAI), "selector")
    other_day = _dated(datetime(2026, 10, 12, tzinfo=SHANGHAI), "detected")
    same_day = _dated(datetime(2026, 11, 27, 11, 30, tzinfo=SHANGHAI), "detected")
    read = _dated(datetime(2026, 10, 12, tzinfo=SHANGHAI), "automatic")
    assert merge_article(listed, other_day).published == listed.published
    assert merge_article(listed, same_day).published == same_day.published
    assert merge_article(listed, read).published == read.published, "the page's own metadata"
    guessed = _dated(datetime(2026, 11, 20, tzinfo=SHANGHAI), "detected")
    assert merge_article(_dated(NOW - timedelta(days=60), "detected"), guessed) == guessed


def test_a_list_date_written_relative_outranks_no_article_date() -> None:
    """`2小时前` is right only when the list page was made: the article's own date line is
    the better word, a day or more away from it."""
    listing = (
        '<ul class="news"><li><a href="/news/1.html">红寺湖景区推出冬季旅游线路</a>'
        '<span class="time">2小时前</span></li><li><a href="/news/2.html">汉山康养小镇开园</a>'
        '<span class="time" title="2026-11-27 14:20:05">3小时前</span></li></ul>'
    )
    rules = list_rules({"item": "ul.news li", "link": "a", "published": ".time"}, path="l")
    found = parse_list_page(listing, url=f"{SITE}/news/", rules=rules, tz=SHANGHAI, now=NOW)
    relative, calendar = found.items
    assert dict(relative.provenance)["published"] == RELATIVE
    assert relative.published == NOW - timedelta(hours=2)
    assert dict(calendar.provenance)["published"] == "selector"
    article_date = _dated(datetime(2026, 11, 27, 16, 45, tzinfo=SHANGHAI), "detected")
    assert merge_article(relative, article_date).published == article_date.published
    assert merge_article(calendar, article_date).published == article_date.published


def test_a_notices_attachments_below_its_text_are_kept() -> None:
    """TRS and VSB government templates print `附件：` links under the notice's content
    element: the notice lost the documents it announces. A page's other downloads are not
    the notice's."""
    url = "https://www.hanzhong.gov.example/info/1234/56790.htm"
    downloads = '<div class="downloads"><a href="/files/report.pdf">年报.pdf</a></div></form>'
    item = article(page("cms_gov_attachment.html", url, lambda t: t.replace("</form>", downloads)))
    lines = body_lines(item)
    assert lines[0].startswith("为方便群众冬季出行")
    assert lines[-1] == "附件：市区公交线路调整示意图.pdf"
    assert 'href="https://www.hanzhong.gov.example/info/1234/P020261127612345678.pdf"' in (
        item.content_html
    )
    assert "report.pdf" not in item.content_html
    assert "分享到" not in "\n".join(lines)


def test_a_posts_attached_picture_leaves_its_hidden_pop_up_out() -> None:
    """Discuz! writes a hidden pop-up for each attached picture (its name, size and `上传`
    time): it was in the body, and its upload time dated the short post."""
    url = f"{SITE}/forum.php?mod=viewthread&tid=123&extra=page%3D1"
    item = article(page("cms_forum_123.gbk.html", url))
    text = "\n".join(body_lines(item))
    assert text.startswith("近日，家住汉台区北关街道的王阿姨反映")
    assert text.endswith("（来源：汉中日报 记者 钱十一）")
    for pop_up in ("上传", "下载次数", "施工现场.jpg"):
        assert pop_up not in text, pop_up
    assert item.published == datetime(2026, 11, 27, 10, 15, tzinfo=SHANGHAI)
    assert (item.author, item.origin) == ("汉中小编", Party("汉中日报"))


def test_a_huge_page_is_compared_no_further() -> None:
    """Each element's text is read whole: a hostile page of nested blocks, each holding
    much text, would cost its text times its depth. Such a page keeps its later pages whole."""
    nested = "<div>" + "汉中新闻正文" * 500
    huge = parse_html(f"<html><body>{nested * 250}</body></html>", url=SITE)
    assert shown_texts(huge) == frozenset()
    later = parse_html(f"<html><body>{nested * 250}</body></html>", url=SITE)
    drop_repeated(later, frozenset({"汉中新闻正文" * 500}))
    assert len(list(later.iter("div"))) == 250


def test_a_hostile_pages_thousands_of_attachments_cost_no_more_than_twenty() -> None:
    """Each attachment is a link appended to the body: a page listing thousands of them
    under its notice gets the first twenty."""
    links = "".join(f'<p>附件：<a href="/f/{n}.pdf">{n}.pdf</a></p>' for n in range(5000))
    page_text = (
        '<html><head><title>通告</title></head><body><div><div class="TRS_Editor">'
        f"<p>为方便群众冬季出行，特此通告。</p></div>{links}</div></body></html>"
    )
    item = article(read_article_page(page_text, url=f"{SITE}/info/1.htm", rules=None))
    attached = [line for line in body_lines(item) if line.startswith("附件：")]
    assert attached == [f"附件：{n}.pdf" for n in range(20)]
