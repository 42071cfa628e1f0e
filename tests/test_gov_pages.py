"""Article pages of Chinese government portals, read without selectors: TRS WCM notices of
scanned pages or an embedded PDF, 政府信息公开 pages with their metadata table, VSB (博达)
and 集约化 (UCAP) platform pages, and the table layouts of old county and district sites."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.articlemerge import merge_article
from feeds.attachments import append_missing_attachments
from feeds.autoextract import page_meta, page_title
from feeds.charset import decode
from feeds.htmlpage import ArticlePage, article_from, read_article_page
from feeds.htmltree import parse_html, text_of
from feeds.metaline import meta_element
from feeds.model import ParsedItem, Party
from feeds.sanitize import html_to_text
from feeds.selectors import ArticleRules, FieldSelector

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
SITE = "https://www.hanzhong.gov.example"


def page(name: str, url: str, edit: Callable[[str], str] = lambda text: text) -> ArticlePage:
    text = decode((FIXTURES / name).read_bytes()).text
    return read_article_page(edit(text), url=url, rules=None)


def article(name: str, url: str, edit: Callable[[str], str] = lambda text: text) -> ParsedItem:
    return article_from(page(name, url, edit), rules=None, tz=SHANGHAI, now=NOW)


def body_lines(item: ParsedItem) -> list[str]:
    return html_to_text(item.content_html).splitlines()


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


FURNITURE = ("来源：", "发布时间：", "字号", "打印", "关闭窗口", "扫一扫")


def assert_no_furniture(item: ParsedItem) -> None:
    text = "\n".join(body_lines(item))
    for furniture in (item.title, *FURNITURE):
        assert furniture not in text, furniture


def test_a_notice_of_scanned_pages_is_its_pictures() -> None:
    """A TRS notice whose content element holds only the scanned pages, no text: the pictures
    were lost, and the title with its `来源：… 字号：[大 中 小]` line became the body."""
    url = f"{SITE}/zwgk/tzgg/202611/t20261126_123450.html"
    item = article("gov_trs_scanned_notice.html", url)
    folder = f"{SITE}/zwgk/tzgg/202611/"
    for scan in ("W020261126601234567890.jpg", "W020261126601234567891.jpg"):
        assert f'src="{folder}{scan}"' in item.content_html
    assert body_lines(item) == []
    assert "<h2" not in item.content_html
    assert item.published == at(26, 17, 5)


def test_a_known_body_with_text_outranks_one_with_a_picture_alone() -> None:
    """A template's banner in a content element of its own, before the notice's text."""
    banner = '<div class="TRS_Editor"><img src="/images/banner.jpg" width="960"></div>'
    url = f"{SITE}/zwgk/tzgg/202611/t20261124_1.html"
    item = article("gov_zoom_attachment.html", url, lambda text: text.replace(
        '<div class="content" id="zoom">', banner + '<div class="TRS_Editor">', 1
    ))  # fmt: skip
    assert "现将《汉中市森林防火工作方案》印发给你们" in item.content_html
    assert "banner.jpg" not in item.content_html


@pytest.mark.parametrize(
    "viewer",
    [
        '<iframe src="/pdfjs/web/viewer.html?file=/xxgk/zcwj/202611/P020261126601234567899.pdf"'
        ' width="100%" height="900"></iframe>',
        '<embed src="./P020261126601234567899.pdf" type="application/pdf" width="100%">',
        '<object data="P020261126601234567899.pdf" type="application/pdf"></object>',
    ],
    ids=["pdf.js", "embed", "object"],
)
def test_a_notice_showing_its_document_links_to_it(viewer: str) -> None:
    """A 信息公开 notice whose content element only shows its PDF: the sanitiser removed the
    viewer, so the body was the meta line and `打印本页 | 关闭窗口`, with no way to the
    document. Its body is a link to the document, resolved against the page."""
    url = f"{SITE}/xxgk/zcwj/202611/t20261126_123410.html"
    stock = (
        '<iframe src="/pdfjs/web/viewer.html?file=/xxgk/zcwj/202611/P020261126601234567899.pdf"'
        ' width="100%" height="900" frameborder="0"></iframe>'
    )
    item = article("gov_pdf_viewer.html", url, lambda text: text.replace(stock, viewer))
    document = f"{SITE}/xxgk/zcwj/202611/P020261126601234567899.pdf"
    assert f'href="{document}"' in item.content_html
    assert body_lines(item) == ["P020261126601234567899.pdf"]
    assert_no_furniture(item)


def test_a_table_layout_page_is_its_content_cell() -> None:
    """An old district site puts the title, the meta line with its counter and font-size
    buttons, the text and `[打印本页] [关闭窗口]` in the rows of one table: the table was the
    body, banner and footer included. The cell after the meta line's row is the body, and
    the meta line still dates the page and names its origin."""
    url = f"{SITE}/htq/xxgk/content.jsp?id=2025"
    item = article("gov_table_layout.gbk.html", url)
    assert item.title == "汉台区2025年度财政决算公开"
    lines = body_lines(item)
    assert lines[0].startswith("根据《中华人民共和国预算法》规定")
    assert lines[-1] == "附件：汉台区2025年度财政决算表.xls"
    assert len(lines) == 4
    assert "banner.jpg" not in item.content_html
    assert_no_furniture(item)
    assert item.published == at(19)
    assert item.origin == Party("汉台区财政局")


@pytest.mark.parametrize(
    "cells",
    [
        '<td width="20">&nbsp;</td><td class="content">',
        '<td class="left"><a href="/htq/xxgk/">信息公开</a><br><a href="/htq/tzgg/">通知公告</a>'
        '</td><td class="content">',
    ],
    ids=["spacer cell", "sidebar cell"],
)
def test_a_table_layout_page_leaves_its_title_meta_line_and_tools_out(cells: str) -> None:
    """Beside a spacer the text's cell is still the body; beside a sidebar of links, which
    extraction keeps, the title row, the meta line and the tools still stay out."""
    url = f"{SITE}/htq/xxgk/content.jsp?id=2025"
    item = article(
        "gov_table_layout.gbk.html", url, lambda t: t.replace('<td class="content">', cells)
    )
    assert any(line.startswith("根据《中华人民共和国预算法》规定") for line in body_lines(item))
    assert_no_furniture(item)
    assert item.published == at(19)


@pytest.mark.parametrize(
    "heading",
    [
        '<div class="content-title"><h3>{}</h3></div>',
        '<table><tr><td class="titlestyle1040">{}</td></tr></table>',
    ],
    ids=["h3", "titlestyle cell"],
)
def test_a_vsb_page_is_titled_without_its_sites_name(heading: str) -> None:
    """VSB writes `<title>标题-站点名</title>` with no spaces around the hyphen and the title in
    an `<h3>` or a `titlestyle` cell: the title kept the site's name, no element showed it,
    so the page was not dated, and the heading and the meta line opened the body."""
    url = f"{SITE}/info/1023/4567.htm"
    stock = '<div class="content-title"><h3>关于做好2026年秋季学期期末考试工作的通知</h3></div>'
    shown = heading.format("关于做好2026年秋季学期期末考试工作的通知")
    item = article("gov_vsb_article.html", url, lambda text: text.replace(stock, shown))
    assert item.title == "关于做好2026年秋季学期期末考试工作的通知"
    assert item.published == at(27, 16, 40)
    assert (item.author, item.origin) == ("教研室", Party("汉台区教育体育局"))
    lines = body_lines(item)
    assert lines[0] == "各中小学："
    assert lines[-1] == "2026年11月27日"
    assert_no_furniture(item)


@pytest.mark.parametrize(
    ("head", "heading", "title"),
    [
        ("2026-2027学年校历-汉台区教育体育局", "2026-2027学年校历", "2026-2027学年校历"),
        ("汉中-西安高铁今日开通", "汉中-西安高铁今日开通", "汉中-西安高铁今日开通"),
        ("汉中-西安高铁今日开通", "西安高铁今日开通", "汉中-西安高铁今日开通"),
        ("汉台区教育体育局-关于做好冬季校园安全工作的通知", "汉台区教育体育局", None),
    ],
    ids=["suffix after a hyphenated title", "own hyphen", "heading of a part", "site first"],
)
def test_a_flush_hyphen_ends_a_title_only_where_the_page_shows_the_title_without_it(
    head: str, heading: str, title: str | None
) -> None:
    """A title's own hyphen stays: only a heading showing what precedes the last part, which
    is short, says that part is the site's name."""
    url = f"{SITE}/info/1023/4567.htm"

    def edit(text: str) -> str:
        text = text.replace("关于做好2026年秋季学期期末考试工作的通知-汉台区教育体育局", head)
        return text.replace(
            "<h3>关于做好2026年秋季学期期末考试工作的通知</h3>", f"<h3>{heading}</h3>"
        )

    item = article("gov_vsb_article.html", url, edit)
    assert item.title == (title or head)


def test_a_ucap_pages_qr_code_is_no_part_of_its_body() -> None:
    """The 集约化 platforms' article ends with a QR code captioned `扫一扫在手机打开当前页`,
    which ended the body. Their content element is `#UCAP-CONTENT`; elsewhere such a caption
    is template furniture too."""
    url = "https://www.nanzheng.gov.example/zwgk/tzgg/t20261128_5301.html"
    stock = article("gov_ucap_article.html", url)
    renamed = article(
        "gov_ucap_article.html",
        url,
        lambda t: t.replace('id="UCAP-CONTENT"', 'id="text"').replace("article-qr", "ewm"),
    )
    for item in (stock, renamed):
        lines = body_lines(item)
        assert lines[0] == "各镇人民政府、街道办事处，区级各部门：", lines
        assert lines[-1] == "三、工作要求：各单位要高度重视，确保活动取得实效。"
        assert_no_furniture(item)
    assert stock.summary.startswith("各镇人民政府、街道办事处")  # a real description stays


NOTICE = "关于2026年汉中市事业单位公开招聘工作人员拟聘用人员名单的公示"


@pytest.mark.parametrize(
    ("head", "description"),
    [
        (f"{NOTICE}_通知公告_汉中市人民政府", "汉中市人民政府"),
        (f"{NOTICE}_通知公告_汉中市人民政府", "通知公告"),
        (f"{NOTICE}-汉中市人民政府", "汉中市人民政府"),
        (f"{NOTICE} - 汉中第一网", f"{NOTICE} ,汉中第一网"),
        (NOTICE, NOTICE),
    ],
    ids=["site name", "column name", "title's flush suffix", "title and site", "title"],
)
def test_a_description_that_only_names_the_page_is_no_summary(head: str, description: str) -> None:
    """TRS templates write the site's (or the column's) name as every page's description,
    other CMSes the title and the site's name: each was the summary of every article."""
    url = f"{SITE}/zwgk/tzgg/202611/t20261126_123450.html"

    def edit(text: str) -> str:
        text = text.replace('<meta name="SiteName" content="汉中市人民政府">', "")
        text = text.replace(
            '<meta name="Description" content="汉中市人民政府">',
            f'<meta name="Description" content="{description}">',
        )
        return text.replace(f"{NOTICE}_通知公告_汉中市人民政府", head)

    item = article("gov_trs_scanned_notice.html", url, edit)
    assert item.summary == ""
    assert dict(item.provenance).get("summary") is None


def test_a_description_naming_the_sites_page_is_still_a_summary_when_it_says_more() -> None:
    url = f"{SITE}/zwgk/tzgg/202611/t20261126_123450.html"
    teaser = "汉中市人民政府门户网站改版后的首批公示名单"
    item = article(
        "gov_trs_scanned_notice.html",
        url,
        lambda t: t.replace('content="汉中市人民政府">\n</head>', f'content="{teaser}">\n</head>'),
    )
    assert item.summary == teaser


def test_a_title_that_is_the_sites_name_gives_way_to_the_lists() -> None:
    """An old county template titles every article page `<title>城固县人民政府</title>` and
    describes it as `城固县人民政府门户网站`: every item of the source was titled so, and
    summarised so. The page gives no title and no summary, and the list's stay."""
    url = "https://www.chenggu.gov.example/show.asp?id=1201"
    item = article("gov_county_site_title.gbk.html", url)
    assert item.title == ""
    assert item.summary == ""
    assert "title" not in dict(item.provenance)
    listed = ParsedItem(
        title="城固县2026年冬季城乡环境卫生综合整治工作方案",
        url=url,
        provenance=(("url", "selector"), ("title", "selector")),
    )
    assert merge_article(listed, item).title == "城固县2026年冬季城乡环境卫生综合整治工作方案"


def script_page(meta: str) -> str:
    """An article page built by script: nothing shows but `<title>汉中市人民政府</title>`."""
    return (
        f"<html><head><meta charset='utf-8'><title>汉中市人民政府</title>{meta}</head>"
        "<body><div id='app'></div><script>new Vue({el:'#app'})</script></body></html>"
    )


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="SiteName" content="汉中市人民政府">',
        '<meta property="og:site_name" content="汉中市人民政府">',
        '<meta property="og:title" content="汉中市人民政府">'
        '<meta property="og:site_name" content="汉中市人民政府">',
    ],
    ids=["SiteName", "og:site_name", "og:title"],
)
def test_a_page_titled_only_by_its_site_has_no_title(meta: str) -> None:
    """The site's name, as the page's own metadata gives it, is no article's title."""
    url = f"{SITE}/jsart/c_8801.html"
    item = article_from(
        read_article_page(script_page(meta), url=url, rules=None), rules=None, tz=SHANGHAI, now=NOW
    )
    assert item.title == ""
    assert item.site_name == "汉中市人民政府"


def test_a_page_titled_by_the_sources_name_has_no_title() -> None:
    """Without metadata, the names the source is known by say the same."""
    text = script_page("")
    doc = parse_html(text, url=SITE)
    meta = page_meta(doc, text, tz=SHANGHAI, now=NOW)
    assert page_title(doc, meta) == "汉中市人民政府"
    assert page_title(doc, meta, ("汉中发布", "汉中市人民政府")) is None


def test_a_disclosure_page_is_dated_by_its_publication_not_its_signing() -> None:
    """A 政府信息公开 page's metadata table above its title is its meta line, and said
    `成文日期：2026-10-08` (when the document was signed) before `发布日期：2026-11-24`:
    the first date dated the page, 47 days early. Its `发布机构` still names the origin."""
    url = f"{SITE}/xxgk/tzgg/t20261124_123381.html"
    item = article("gov_xxgk_table.html", url)
    assert item.published == at(24)
    assert item.origin == Party("汉中市财政局")
    swapped = article(
        "gov_xxgk_table.html",
        url,
        lambda t: t.replace("<th>成文日期：</th><td>2026-10-08</td>", "").replace(
            "<th>有效性：</th>", "<th>成文日期：2026-10-08</th><th>有效性：</th>"
        ),
    )
    assert swapped.published == at(24)


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text,
        lambda text: text.replace(
            '  <tr><td class="td_lable">有 效 性：</td>',
            '  <tr><td class="td_lable">名\u3000\u3000称：</td><td class="td_con" colspan="3">'
            "汉中市人民政府关于印发《汉中市城市供水管理办法》的通知</td></tr>\n"
            '  <tr><td class="td_lable">有 效 性：</td>',
        ),
        lambda text: re.sub(
            r"<table class=\"xxgk_table\".*?</table>",
            '<div class="xxgk_info">成文日期：2026年11月20日\u3000发布日期：2026年11月25日'
            "\u3000发布机构：汉中市人民政府办公室</div>",
            text,
            flags=re.S,
        ),
    ],
    ids=["stock", "name row", "one line"],
)
def test_a_letters_signature_date_does_not_date_its_page(edit: Callable[[str], str]) -> None:
    """The notice's 落款 (`汉中市人民政府` / `2026年11月20日`), a date alone after the
    text's first sentences, was taken for the date line under the title."""
    url = f"{SITE}/xxgk/zcwj/202611/t20261125_123402.html"
    item = article("gov_xxgk_signed.html", url, edit)
    assert item.title == "汉中市人民政府关于印发《汉中市城市供水管理办法》的通知"
    assert item.published == at(25)
    assert "2026年11月20日" in body_lines(item)


def test_a_date_alone_under_the_title_still_dates_the_page() -> None:
    """Only a date after the text is the body's: one between the title and the text is the
    page's date line, as many sites print it."""
    url = f"{SITE}/xxgk/zcwj/202611/t20261125_123402.html"

    def edit(text: str) -> str:
        text = text.replace('<table class="xxgk_table"', '<table class="other"')
        text = text.replace("发布日期：", "").replace("成文日期：", "")
        return text.replace(
            '<div class="detail_wh">汉政发〔2026〕12号</div>',
            '<div class="detail_wh">2026-11-26 09:30</div>',
        )

    assert article("gov_xxgk_signed.html", url, edit).published == at(26, 9, 30)


def test_hostile_tools_viewers_and_dates_cost_a_bounded_time() -> None:
    """Thousands of tool lines, document viewers and dated labels on one page: each walk
    stops after its first few dozen."""
    tools = '<p><a href="javascript:window.print()">[打印本页]</a></p>' * 20_000
    viewers = '<iframe src="/viewer.html?file=/f.pdf"></iframe>' * 5_000
    empty = "<b></b>" * 50_000
    text = (
        "<html><head><title>汉中市通告_汉中市人民政府</title></head><body>"
        f"<h1>汉中市通告</h1><div>成文日期：{empty}2026-10-08 发布日期：2026-11-24</div>"
        f"<div>{tools}{viewers}<p>为方便群众冬季出行，特此通告。</p>" + "<div>" * 200 + "</div>"
        "</body></html>"
    )
    started = time.monotonic()
    item = article_from(
        read_article_page(text, url=f"{SITE}/a.html", rules=None), rules=None, tz=SHANGHAI, now=NOW
    )
    assert time.monotonic() - started < 20
    assert item.title == "汉中市通告"


def test_a_notices_attachment_inside_its_text_stays_when_extraction_drops_it() -> None:
    """A plain template's `<div id="zoom">`, read by main-content extraction, which left out
    the paragraph of one link: the document the notice announces was gone."""
    item = article("gov_zoom_attachment.html", "http://www.hanzhong.gov.example/gov-1.html")
    assert "现将《汉中市森林防火工作方案》印发给你们" in item.content_html
    assert body_lines(item)[-1] == "附件：关于印发《汉中市森林防火工作方案》的通知.pdf"
    assert 'href="http://www.hanzhong.gov.example/files/fangan.pdf"' in item.content_html
    assert item.content_html.count("fangan.pdf") == 1


def test_only_links_the_page_calls_attachments_are_added() -> None:
    def edit(text: str) -> str:
        downloads = "".join(
            f'<li><a href="/files/form{n}.doc">表格{n}</a></li>' for n in range(3000)
        )
        sidebar = f'<div class="side"><h3>办事指南</h3><ul>{downloads}</ul></div>'
        return text.replace('<div class="footer">', sidebar + '<div class="footer">')

    item = article("gov_zoom_attachment.html", "http://www.hanzhong.gov.example/gov-1.html", edit)
    assert "form" not in item.content_html, "the site's downloads are not the notice's"
    assert "fangan.pdf" in item.content_html


def test_a_page_of_thousands_of_attachments_adds_twenty() -> None:
    links = "".join(f'<p>附件{n}：<a href="/f/{n}.pdf">{n}.pdf</a></p>' for n in range(5000))
    page = parse_html(f"<html><body>{links}</body></html>", url=SITE)
    body = parse_html("<p>正文</p>", url=SITE).find("body")
    assert body is not None
    append_missing_attachments(body, page)
    assert [a.get("href") for a in body.iter("a")] == [f"/f/{n}.pdf" for n in range(20)]


XXGK = "https://www.hanzhong.gov.example/hzszf/zwgk/szfbwj/202211/t20221128_2001.html"
RECORD = ("索引号", "索 引 号", "发布机构：", "主题分类", "发文字号", "生成日期", "成文日期")
ATTACHED = (
    "附件：1.汉中市冬季清洁取暖实施方案.doc",
    "附件：2.汉中市冬季清洁取暖重点任务分解表.xls",
)


def in_2022(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def assert_no_record(item: ParsedItem) -> None:
    text = "\n".join(body_lines(item))
    for label in RECORD:
        assert label not in text, label


def selected(name: str, url: str, css: str, edit: Callable[[str], str] = lambda t: t) -> ParsedItem:
    rules = ArticleRules(content=FieldSelector(css))
    text = decode((FIXTURES / name).read_bytes()).text
    return article_from(
        read_article_page(edit(text), url=url, rules=rules), rules=rules, tz=SHANGHAI, now=NOW
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text,
        lambda text: text.replace(' id="zoom"', "").replace("view TRS_UEDITOR", "view"),
    ],
    ids=["TRS_UEDITOR in #zoom", "extracted"],
)
def test_a_disclosure_pages_record_is_no_part_of_its_body(edit: Callable[[str], str]) -> None:
    """A TRS 政府信息公开 page whose document is in its later editor's `TRS_UEDITOR` inside
    `#zoom`: its record table (`索引号` `发布机构` `生成日期` `成文日期`…) opened the body.
    The record still dates the page by its 发布日期 and names the agency."""
    item = article("gov_xxgk_ueditor.html", XXGK, edit)
    assert item.title == "汉中市人民政府办公室关于印发汉中市冬季清洁取暖实施方案的通知"
    lines = body_lines(item)
    assert "各县区人民政府，市政府各工作部门、直属机构：" in lines[:2]  # after its number
    assert lines[-2:] == list(ATTACHED)
    assert_no_record(item)
    assert item.published == in_2022(28)
    assert item.origin == Party("汉中市人民政府办公室")


@pytest.mark.parametrize(
    "record",
    [
        "<dl class='xxgk'><dt>索引号：</dt><dd>11610700016124533X/2022-02001</dd>"
        "<dt>发布机构：</dt><dd>汉中市人民政府办公室</dd><dt>成文日期：</dt><dd>2022-11-25</dd></dl>",
        "<ul class='xxgk'><li>索引号：11610700016124533X/2022-02001</li>"
        "<li>发文字号：汉政办发〔2022〕35号</li><li>發佈機構：汉中市人民政府办公室</li>"
        "<li>公开方式：主动公开</li></ul>",
    ],
    ids=["dl", "ul, Traditional label"],
)
def test_a_record_a_content_selector_holds_is_left_out(record: str) -> None:
    """A `content` selector whose element holds the record (a table above the title, or a
    list inside the text) publishes the document without it."""
    item = selected("gov_xxgk_ueditor.html", XXGK, ".xxgk-detail")
    assert_no_record(item)
    assert "各县区人民政府，市政府各工作部门、直属机构：" in body_lines(item)
    inside = selected(
        "gov_xxgk_ueditor.html",
        XXGK,
        "#zoom",
        lambda text: text.replace("<p>各县区人民政府", record + "<p>各县区人民政府", 1),
    )
    assert body_lines(inside)[0] == "各县区人民政府，市政府各工作部门、直属机构："
    assert_no_record(inside)
    assert "汉中市人民政府办公室" in body_lines(inside)


def test_a_table_of_documents_in_a_body_stays() -> None:
    """A body's table whose header row names `文号` `名称` `发布日期` lists documents: no
    label sits beside a value, and it is the text's."""
    documents = (
        "<table><tr><th>文号</th><th>名称</th><th>发布日期</th></tr>"
        "<tr><td>汉政办发〔2021〕12号</td><td>汉中市大气污染防治方案</td><td>2021-03-01</td></tr>"
        "</table>"
    )
    item = article(
        "gov_xxgk_ueditor.html",
        XXGK,
        lambda text: text.replace("<p>（此件公开发布）</p>", documents + "<p>（此件公开发布）</p>"),
    )
    assert "汉政办发〔2021〕12号" in item.content_html
    assert "<th>发布日期</th>" in item.content_html


def test_a_selected_notice_keeps_its_attachments() -> None:
    """With `content = "#zoom"` the notice's `附件：` links printed under it, in `div.fj`,
    were lost: only automatic extraction appended them."""
    item = selected("gov_xxgk_ueditor.html", XXGK, "#zoom")
    lines = body_lines(item)
    assert lines[0] == "各县区人民政府，市政府各工作部门、直属机构："
    assert lines[-2:] == list(ATTACHED)
    folder = XXGK.rpartition("/")[0]
    assert f'href="{folder}/P020221128555123456789.doc"' in item.content_html
    assert "相关解读" not in item.content_html
    assert ("content", "selector") in item.provenance


def test_hostile_records_cost_a_bounded_time() -> None:
    """Ten thousand record tables, each of thousands of cells or of labels: a few hundred are
    read, each up to a few dozen cells."""
    record = (
        "<table><tr><th>索引号：</th><td>1</td><th>发布机构：</th><td>2</td></tr>"
        "<tr><th>成文日期：</th><td>2022-11-25</td><th>发布日期：</th><td>2022-11-28</td></tr>"
        "</table>"
    )
    wide = "<table><tr>" + "<th>索引号：</th><td>1</td>" * 5_000 + "</tr></table>"
    text = (
        "<html><head><title>汉中市通告_汉中市人民政府</title></head><body>"
        f"{wide}{record * 10_000}<h1>汉中市通告</h1><div>发布日期：2022-11-28</div>"
        "<div id='zoom'><p>为方便群众冬季出行，特此通告。</p></div></body></html>"
    )
    started = time.monotonic()
    page = read_article_page(text, url=f"{SITE}/a.html", rules=None)
    item = article_from(page, rules=None, tz=SHANGHAI, now=NOW)
    chosen = ArticleRules(content=FieldSelector("body"))
    whole = article_from(page, rules=chosen, tz=SHANGHAI, now=NOW)
    assert time.monotonic() - started < 20
    assert body_lines(item) == ["为方便群众冬季出行，特此通告。"]
    assert whole.content_html.count("<table>") < 10_000


XINHUA = "http://sn.news.example/20221128/1a2b3c4d5e/c.html"


def test_a_date_and_source_above_the_title_are_its_meta_line() -> None:
    """新华网 prints the day and time (split over spans) and `来源：新华网` above its `<h1>`,
    and `【纠错】【责任编辑:…】` after the text: that line, after the body, was taken for the
    meta line, and the page had no date and no origin."""
    item = article("gov_xinhua_article.html", XINHUA)
    assert item.title == "汉中：冬日汉江 水清岸绿"
    assert item.published == in_2022(28, 9, 30, 15)
    assert item.origin == Party("新华网")
    assert ("published", "detected") in item.provenance
    heading = page("gov_xinhua_article.html", XINHUA).doc.find(".//h1")
    assert heading is not None
    line = meta_element(heading)
    assert line is not None
    assert "责任编辑" not in text_of(line)
    assert body_lines(item)[0] == "11月27日，在陕西省汉中市汉台区拍摄的汉江风光（无人机照片）。"


def test_a_line_after_the_body_is_never_the_meta_line() -> None:
    """Without the block above the title, the line after the text still is not the page's."""
    doc = page(
        "gov_xinhua_article.html",
        XINHUA,
        lambda text: re.sub(r'<div class="header-time.*?来源：新华网</div>', "", text, flags=re.S),
    ).doc
    heading = doc.find(".//h1")
    assert heading is not None
    assert meta_element(heading) is None
    huge = "<span>" + "来源：新华网 " * 100_000 + "</span>"
    doc = page(
        "gov_xinhua_article.html", XINHUA, lambda text: text.replace("来源：新华网", huge, 1)
    ).doc
    heading = doc.find(".//h1")
    assert heading is not None
    started = time.monotonic()
    line = meta_element(heading)
    assert time.monotonic() - started < 5
    assert line is not None
    assert "2022/11/28 09:30:15" in text_of(line)


def test_a_dated_line_under_the_text_dates_a_page_with_none_by_its_title() -> None:
    """`发布日期：… 浏览次数：` printed under the text, nothing by the title: the page's date,
    where an editor's line under the text is not its meta line."""
    html = (
        "<html><head><title>关于开展冬季防火检查的通知</title></head><body>"
        "<h1>关于开展冬季防火检查的通知</h1><div class='content'>"
        "<p>各县区人民政府，市政府各工作部门：为切实做好今冬明春火灾防控工作，现将有关事项通知如下。</p>"
        "<p>一、各单位要全面排查消防安全隐患，落实防火责任，确保人民群众生命财产安全。</p></div>"
        "<div class='bottom'>发布日期：2022-11-28 浏览次数：<span>35</span></div>"
        "</body></html>"
    )
    item = article_from(
        read_article_page(html, url=f"{SITE}/tzgg/1.html", rules=None),
        rules=None,
        tz=SHANGHAI,
        now=NOW,
    )
    assert item.published == datetime(2022, 11, 28, tzinfo=SHANGHAI)


PEOPLE = "http://sn.people.example/n2/2022/1128/c190201-32577777.html"


@pytest.mark.parametrize(
    ("shown", "published"),
    [
        ("2022年11月28日08:25", in_2022(28, 8, 25)),
        ("2022年11月27日08:25", in_2022(28)),
        ("2022年11月28日", in_2022(28)),
    ],
    ids=["same day", "another day", "no time"],
)
def test_a_day_only_meta_tag_takes_the_meta_lines_time(shown: str, published: datetime) -> None:
    """人民网's `<meta name="publishdate" content="2022-11-28">` gives the day only, and the
    line under the title `2022年11月28日08:25`: the story was dated at midnight."""
    item = article(
        "gov_people_article.gbk.html",
        PEOPLE,
        lambda text: text.replace("2022年11月28日08:25", shown),
    )
    assert item.published == published
    assert item.origin == Party("人民网-陕西频道", "http://sn.people.com.cn/")


def test_a_meta_tags_time_outranks_the_meta_lines() -> None:
    item = article(
        "gov_people_article.gbk.html",
        PEOPLE,
        lambda text: text.replace('content="2022-11-28"', 'content="2022-11-28 08:20:00"'),
    )
    assert item.published == in_2022(28, 8, 20)
    assert ("published", "automatic") in item.provenance


TRS_NEWS = "https://www.hanzhong.gov.example/hzszf/xwzx/hzyw/202211/t20221127_1102.html"


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text,
        lambda text: text.replace(
            '<h2 class="article-title">市政府常务会议研究部署冬季清洁取暖和安全度汛等工作</h2>',
            '<div class="title-box"><h3>市政府常务会议研究部署冬季清洁取暖和安全度汛等工作</h3>'
            "</div>",
        ),
        lambda text: re.sub(r'<div class="article-info">.*?</div>', "", text, flags=re.S),
    ],
    ids=["h2 over the meta line", "h3 in its own block", "h2 over the body"],
)
def test_a_page_titled_by_its_site_shows_its_title_in_a_heading(
    edit: Callable[[str], str],
) -> None:
    """An old TRS template without `ArticleTitle` writes `<title>汉中市人民政府</title>` on
    every page and the article's title in an `<h2>` over its meta line: read alone
    (`preview --article`), the page had no title."""
    item = article("gov_trs_site_title.html", TRS_NEWS, edit)
    assert item.title == "市政府常务会议研究部署冬季清洁取暖和安全度汛等工作"
    assert body_lines(item)[0].startswith("11月27日，全市安全生产工作会议召开。")
    assert "市政府常务会议研究部署" not in "\n".join(body_lines(item))


def test_a_columns_heading_over_links_is_no_title() -> None:
    """A heading over a list of links (`相关新闻`) is the column's, not the article's."""

    def edit(text: str) -> str:
        return re.sub(r'<h2 class="article-title">.*?</h2>', "", text)

    item = article("gov_trs_site_title.html", TRS_NEWS, edit)
    assert item.title == ""


def test_a_zoom_holding_the_whole_article_leaves_its_title_and_meta_line_out() -> None:
    """A template whose `#zoom` (the text its font-size buttons enlarge) holds the heading and
    the meta line too."""

    def edit(text: str) -> str:
        text = text.replace('<div class="content" id="zoom">', '<div class="content">')
        return text.replace('<div class="article">', '<div class="article" id="zoom">')

    item = article("gov_zoom_attachment.html", "http://www.hanzhong.gov.example/gov-1.html", edit)
    lines = body_lines(item)
    assert lines[0] == "各县区人民政府，市政府各工作部门："
    assert not [line for line in lines if "发布时间：" in line or "浏览次数" in line]
    assert item.published == at(20, 9, 30)


WRITTEN = f"{SITE}/hzszf/zwgk/szfbwj/202211/t20221121_2002.html"
WRITTEN_PDF = f"{SITE}/hzszf/zwgk/szfbwj/202211/P020221121666123456789.pdf"


def _hrefs(item: ParsedItem) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', item.content_html)


def test_an_attachment_a_trs_notice_writes_by_script_is_kept() -> None:
    """`var file_appendix='<a href="./P0….pdf">…</a>'; document.write(…)`: the notice's only
    link to its document was lost with the script, extracted or selected."""
    found = article("gov_trs_written_attachment.html", WRITTEN)
    assert _hrefs(found) == [WRITTEN_PDF]
    assert body_lines(found)[-1] == "附件：汉中市2022年度冬春农田水利基本建设任务表.pdf"
    selected = article_from(
        page("gov_trs_written_attachment.html", WRITTEN),
        rules=ArticleRules(content=FieldSelector("#zoom")),
        tz=SHANGHAI,
        now=NOW,
    )
    assert _hrefs(selected) == [WRITTEN_PDF]


def test_a_script_quoting_other_links_writes_nothing() -> None:
    """A page link quoted in a script (a menu written out) is no attachment."""
    menu = "<script>var nav='<a href=\"/index.html\">首页</a>';</script>"
    found = article(
        "gov_trs_written_attachment.html",
        WRITTEN,
        lambda text: text.replace("P020221121666123456789.pdf", "index.html").replace(
            '<div class="jd">', menu + '<div class="jd">'
        ),
    )
    assert _hrefs(found) == []


def test_hostile_scripts_write_a_bounded_number_of_links() -> None:
    """A megabyte of quoted links in one script is read no further than a real one; many
    scripts write no more than twenty links."""
    one = "'<a href=\"./f.pdf\">f</a>'"
    huge = "<script>" + "x=" + one + ";" * 1 + ("y='''''';" * 100_000) + "</script>"
    many = "".join(f"<script>var a='<a href=\"./{n}.pdf\">{n}</a>';</script>" for n in range(500))
    found = article(
        "gov_trs_written_attachment.html",
        WRITTEN,
        lambda text: text.replace('<div class="jd">', huge + many + '<div class="jd">'),
    )
    assert len(_hrefs(found)) <= 21


def test_a_republished_wechat_articles_follow_footer_and_credits_leave_it() -> None:
    """A portal's copy of a WeChat article ended with the account's QR code and `长按识别二维码
    关注我们`, which kept the staff credits before them in the body too; its video, a lazy
    player (`data-src`), was an empty paragraph though its host is allowed."""
    found = article_from(
        page("gov_wechat_republished.html", f"{SITE}/htq/xwzx/202211/t20221128_99001.html"),
        rules=None,
        tz=SHANGHAI,
        now=NOW,
        iframe_hosts=("v.qq.com",),
    )
    assert body_lines(found)[-1] == "来源：汉中发布"
    assert "二维码" not in found.content_html
    assert "QRcode" not in found.content_html
    assert '<iframe allowfullscreen="" src="https://v.qq.com/txp/iframe/player.html?' in (
        found.content_html
    )


def test_a_galleries_correction_link_is_a_tool_line() -> None:
    """新华网's `【纠错】` was published under a short gallery page's picture."""
    found = article("gov_xinhua_gallery_3.html", "http://sn.news.example/photo/2022-11/28/c_3.htm")
    assert "纠错" not in found.content_html
    assert body_lines(found)[-1].endswith("新华社记者 张博文 摄")


def test_a_notices_own_qr_code_and_its_line_stay() -> None:
    """`扫描二维码报名` under a registration QR code is the notice's own, not a footer."""
    found = article_from(
        page(
            "gov_wechat_republished.html",
            f"{SITE}/htq/xwzx/202211/t20221128_99001.html",
            lambda text: text.replace("长按识别二维码关注我们", "扫描二维码报名参加活动"),
        ),
        rules=None,
        tz=SHANGHAI,
        now=NOW,
    )
    assert "扫描二维码报名参加活动" in found.content_html
    assert "QRcode" in found.content_html


COUNTY = "http://www.yangxian.example/yangxian/xwzx/2022/1127/8760.html"


def test_a_county_pages_heading_in_a_div_over_its_meta_line_titles_it() -> None:
    """`<title>洋县人民政府</title>`, the heading a `<div class="con_title">` over `发布时间：…
    来源：… 作者：…`: read alone (`preview --article`), or through a list that cut its title
    short, the page had no title, date, author or origin."""
    found = article("gov_county_div_title.html", COUNTY)
    assert found.title == "洋县：特色产业助农增收"
    assert found.published == datetime(2022, 11, 27, 10, 31, tzinfo=SHANGHAI)
    assert (found.author, found.origin) == ("李娟、张伟", Party("洋县融媒体中心"))
    assert body_lines(found)[0].startswith("11月27日，洋县：特色产业助农增收。")


def test_a_top_bars_dated_line_titles_nothing() -> None:
    """A header's `今天是：2022年11月28日` is no meta line, and the weather above it no title."""
    found = article(
        "gov_county_div_title.html",
        COUNTY,
        lambda text: text.replace(
            '<div class="con_title">洋县：特色产业助农增收</div>', ""
        ).replace(
            '<div class="nav">',
            '<div class="bar"><div>汉中 晴 5℃</div><div>今天是：2022年11月28日</div></div>'
            '<div class="nav">',
        ),
    )
    assert found.title == ""


@pytest.mark.parametrize(
    ("href", "url"),
    [("#", None), ("#top", None), ("/rmt/", "http://www.yangxian.example/rmt/")],
)
def test_a_credit_linked_to_the_page_itself_names_no_address(href: str, url: str | None) -> None:
    """人民网's `来源：<a href="#">汉中日报</a>`: the copy's own page was published as the
    origin's address, and readers followed `via` to the republisher."""
    found = article(
        "gov_county_div_title.html",
        COUNTY,
        lambda text: text.replace(
            "来源：洋县融媒体中心", f'来源：<a href="{href}">洋县融媒体中心</a>'
        ),
    )
    assert found.origin == Party("洋县融媒体中心", url)


def test_scripts_of_unclosed_quotes_are_read_in_one_pass() -> None:
    """Fifty scripts of lines opening a quote before hundreds of `<a ` and never closing it:
    the links' pattern tried every `<a ` from every quote, 30 s of CPU for the page."""
    line = "'" + "<a " * 660 + "\n"
    scripts = ("<script>" + (line * 40)[:19_990] + "</script>") * 50
    started = time.monotonic()
    found = article(
        "gov_trs_written_attachment.html",
        WRITTEN,
        lambda text: text.replace('<div class="jd">', scripts + '<div class="jd">'),
    )
    assert time.monotonic() - started < 5
    assert _hrefs(found) == [WRITTEN_PDF]


def test_a_follow_line_pointing_at_no_code_leaves_the_picture_before_it() -> None:
    """`点击上方蓝字关注我们` points at the account's name above, no QR code: the story's last
    photo before it was dropped as one."""
    ending = (
        '<p style="text-align:center"><img src="https://img.example/last_photo.jpg"></p>'
        "<p>点击上方蓝字关注我们</p>"
    )

    def edit(text: str) -> str:
        start = text.index('<p><span style="font-size: 14px;color: rgb(136, 136, 136);">来源：')
        return text[:start] + ending + text[text.index("</div></div>") :]

    found = article("gov_wechat_republished.html", f"{SITE}/htq/xwzx/202211/t1.html", edit)
    assert "蓝字" not in found.content_html
    assert "last_photo.jpg" in found.content_html


def _record_and_document_in_one_table(text: str) -> str:
    start, end = text.index('<div class="xxgk-title">'), text.index('<div class="fj">')
    row = f'<tr><td colspan="4" class="content">{text[start:end]}</td></tr>\n</table>'
    return (text[:start] + text[end:]).replace("</table>", row, 1)


def test_a_layout_table_holding_the_record_and_the_document_keeps_the_document() -> None:
    """Old disclosure templates lay the record's rows and the document out in one table: the
    table was taken for the record and dropped, the document with it, selected or not."""
    for found in (
        article("gov_xxgk_ueditor.html", XXGK, _record_and_document_in_one_table),
        selected("gov_xxgk_ueditor.html", XXGK, "td.content", _record_and_document_in_one_table),
    ):
        assert any("现印发给你们" in line for line in body_lines(found))


def _wrapped(text: str) -> str:
    """The heading and its meta line in one block, as many county templates write them."""
    return text.replace(
        '<div class="con_title">', '<div class="head"><div class="con_title">'
    ).replace('</div>\n<div class="con_text"', '</div></div>\n<div class="con_text"', 1)


def test_a_heading_and_meta_line_in_one_block_title_the_page() -> None:
    """The block around both was taken for the meta line: the page had no title, or, with the
    breadcrumb above that block, the breadcrumb's."""
    assert article("gov_county_div_title.html", COUNTY, _wrapped).title == "洋县：特色产业助农增收"

    def under_breadcrumb(text: str) -> str:
        return _wrapped(text).replace(
            '<div class="content_box">\n<div class="head">',
            '<div class="content_box">\n<div class="pos">新闻中心 &gt;&gt; 乡镇动态</div>\n'
            '<div class="head">',
        )

    found = article("gov_county_div_title.html", COUNTY, under_breadcrumb)
    assert found.title == "洋县：特色产业助农增收"
    headless = article(
        "gov_county_div_title.html",
        COUNTY,
        lambda text: under_breadcrumb(text).replace(
            '<div class="con_title">洋县：特色产业助农增收</div>', ""
        ),
    )
    assert headless.title == "", "a breadcrumb is no title"


@pytest.mark.parametrize(
    ("byline", "author"),
    [("本报记者 刘晓涛", "刘晓涛"), ("记者 刘晓涛 王伟", "刘晓涛、王伟"), ("记者刘晓涛", "刘晓涛")],
)
def test_a_templates_byline_loses_its_roles(byline: str, author: str) -> None:
    """人民网's `p.author` was published as written, `本报记者 刘晓涛` its author."""
    found = article(
        "gov_people_article.gbk.html",
        PEOPLE,
        lambda text: text.replace(
            '<p class="author">刘晓涛</p>', f'<p class="author">{byline}</p>'
        ),
    )
    assert found.author == author
