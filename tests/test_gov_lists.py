"""Government portals' lists and notices: year-less list dates, article pages titled with the
site's name, TRS WCM pagers written by script, and list rows that open their article by script
(`openwin('…')`, `javascript:window.open('…')`)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.articlemerge import merge_article
from feeds.charset import decode
from feeds.htmlpage import ArticlePage, article_from, read_article_page
from feeds.listpage import ListPage, parse_list_page
from feeds.model import ParsedItem, Party
from feeds.selectors import ListRules, article_rules, list_rules
from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import Upstream, upstream_site

HTML = FIXTURES / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
SITE = "http://www.htq.gov.example"
TABLE_LIST = list_rules(
    {"item": "table#list tr", "link": "td.tit a", "title": "td.tit a", "published": "td.date"},
    path="sources[1].list",
)
TRS_LIST = list_rules({"item": "ul.list_ul li", "link": "a", "published": "span"}, path="l")


def fixture(name: str, edit: Callable[[str], str] = lambda text: text) -> str:
    return edit(decode((HTML / name).read_bytes()).text)


def listed(
    name: str, url: str, rules: ListRules = TABLE_LIST, edit: tuple[str, str] = ("", "")
) -> ListPage:
    text = fixture(name).replace(*edit) if edit[0] else fixture(name)
    return parse_list_page(text, url=url, rules=rules, tz=SHANGHAI, now=NOW)


def page(name: str, url: str, edit: Callable[[str], str] = lambda text: text) -> ArticlePage:
    return read_article_page(fixture(name, edit), url=url, rules=None)


def article(first: ArticlePage, listed_title: str | None = None) -> ParsedItem:
    if listed_title is None:  # read alone, as `preview --article` reads it
        return article_from(first, rules=None, tz=SHANGHAI, now=NOW)
    return article_from(first, rules=None, tz=SHANGHAI, now=NOW, listed_title=listed_title)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def titled(text: str) -> str:
    """The county notice with its own title in `<title>`, as most templates write it."""
    return text.replace(
        "<title>汉台区人民政府</title>", "<title>汉台区2024年度财政决算公开</title>"
    )


def dated(day: str) -> Callable[[str], str]:
    return lambda text: titled(text).replace("2024-12-30 10:15:00", day)


# F6: a list date without a year


def test_a_year_less_list_date_gives_way_to_the_articles_full_date() -> None:
    """A list's `12-30`, read on 29 November 2026, is 2025-12-30: the latest not ahead. The
    notice's own date line says 2024-12-30, which was outranked by the guess."""
    item = listed("gov_list_yearless.html", f"{SITE}/htq/xxgk/list2.html").items[0]
    assert item.published == shanghai(2025, 12, 30)
    read = article(page("gov_county_article.html", item.url or "", titled))
    assert read.published == shanghai(2024, 12, 30, 10, 15)
    merged = merge_article(item, read)
    assert merged.published == shanghai(2024, 12, 30, 10, 15)
    assert dict(merged.provenance)["published"] == "detected"


def test_a_list_date_kept_over_the_articles_is_said_to_be_the_lists() -> None:
    """A date line's date on another day gives way to the list's date, as a related article's
    would; preview named the article's way (`detected`) for the list's value."""
    year_less, full = listed("gov_list_yearless.html", f"{SITE}/htq/xxgk/list2.html").items
    other_day = article(page("gov_county_article.html", full.url or "", dated("2025-10-08")))
    assert dict(other_day.provenance)["published"] == "detected"
    kept = merge_article(full, other_day)
    assert kept.published == shanghai(2025, 12, 30)
    assert dict(kept.provenance)["published"] == "selector"
    kept = merge_article(year_less, other_day)
    assert kept.published == shanghai(2025, 12, 30), "its day and month still say it"
    assert dict(kept.provenance)["published"] == "selector, no year"


def test_a_list_date_with_its_year_outranks_that_day_of_another_year() -> None:
    """Only a year-less list date is a guess the article's same day of another year corrects:
    a list's `2025-12-30` is what the operator's selector found."""
    year_less, full = listed("gov_list_yearless.html", f"{SITE}/htq/xxgk/list2.html").items
    assert dict(year_less.provenance)["published"] == "selector, no year"
    assert dict(full.provenance)["published"] == "selector"
    year_before = article(page("gov_county_article.html", full.url or "", dated("2024-12-30")))
    kept = merge_article(full, year_before)
    assert kept.published == shanghai(2025, 12, 30)
    assert dict(kept.provenance)["published"] == "selector"


# F12: an article page titled with the site's name


def test_an_article_titled_with_the_site_name_keeps_the_lists_title() -> None:
    """An old county template's `<title>` is the site's name on every page, the notice's title
    in a table cell: every item of the source was published as `汉台区人民政府`."""
    item = listed("gov_list_yearless.html", f"{SITE}/htq/xxgk/list2.html").items[0]
    read = article(page("gov_county_article.html", item.url or ""))
    assert read.site_name == "汉台区人民政府"
    merged = merge_article(item, read)
    assert merged.title == "汉台区2024年度财政决算公开"
    assert dict(merged.provenance)["title"] == "selector"
    site_named = ParsedItem(
        title="汉台区人民政府",
        url=item.url,
        site_name="汉台区 人民政府",
        provenance=(("title", "automatic"),),
    )
    merged = merge_article(item, site_named)
    assert (merged.title, dict(merged.provenance)["title"]) == (item.title, "selector")
    chosen = ParsedItem(
        title="汉台区人民政府", site_name="汉台区人民政府", provenance=(("title", "selector"),)
    )
    assert merge_article(item, chosen).title == "汉台区人民政府", "an operator's selector's word"


def test_the_lists_title_shows_where_the_date_line_is() -> None:
    """With no title of its own shown, the page's date line was never found: the notice was
    dated by the list's midnight, its origin lost."""
    item = listed("gov_list_yearless.html", f"{SITE}/htq/xxgk/list2.html").items[0]
    first = page("gov_county_article.html", item.url or "")
    assert article(first).published is None
    read = article(first, listed_title=item.title)
    assert read.published == shanghai(2024, 12, 30, 10, 15)
    assert read.origin == Party("汉台区财政局")
    assert "2024年全区一般公共预算收入" in read.content_html


# F11: TRS WCM pagers written by script


def test_a_trs_articles_pages_named_by_its_pager_script_are_read() -> None:
    """`createPageHTML(3, 0, "t20261120_123100", "html")` writes the link to `…_1.html` in the
    browser: page 1 alone was published, without a word."""
    folder = f"{SITE}/zwgk/tzgg/202611/"
    first = page("gov_county_trs_paged.html", folder + "t20261120_123100.html")
    assert first.next_page == folder + "t20261120_123100_1.html"

    def at(index: int) -> Callable[[str], str]:
        return lambda text: text.replace("(3, 0,", f"(3, {index},")

    second = page("gov_county_trs_paged.html", folder + "t20261120_123100_1.html", at(1))
    assert second.next_page == folder + "t20261120_123100_2.html"
    last = page("gov_county_trs_paged.html", folder + "t20261120_123100_2.html", at(2))
    assert last.next_page is None
    other = page("gov_county_trs_paged.html", folder + "t20261121_555.html")
    assert other.next_page is None, "a pager naming another article's pages is not this one's"
    rules = article_rules({"next_page": "div.pager a.next"}, path="a")
    text = fixture("gov_county_trs_paged.html")
    chosen = read_article_page(text, url=folder + "t20261120_123100.html", rules=rules)
    assert chosen.next_page is None, "the operator's next_page selector has the last word"


def test_a_trs_list_pager_written_by_script_is_followed() -> None:
    """`createPageHTML(12, 0, "index", "html")` under a TRS column: `max_pages` had no effect,
    and no `next_page` selector could name a link the page does not hold."""
    folder = f"{SITE}/zwgk/tzgg/"

    def at(index: int) -> tuple[str, str]:
        return "(12, 0,", f"(12, {index},"

    first = listed("gov_list_trs_pager.html", folder + "index.html", TRS_LIST)
    assert first.next_page == folder + "index_1.html"
    assert len(first.items) == 2
    tenth = listed("gov_list_trs_pager.html", folder + "index_10.html", TRS_LIST, at(10))
    assert tenth.next_page == folder + "index_11.html"
    last = listed("gov_list_trs_pager.html", folder + "index_11.html", TRS_LIST, at(11))
    assert last.next_page is None
    pager = ("</ul>", '</ul><a href="list_2.html">下一页</a>')
    static = listed("gov_list_trs_pager.html", folder + "index.html", TRS_LIST, pager)
    assert static.next_page == folder + "list_2.html", "a pager's own link comes first"


def test_a_later_trs_pager_naming_its_element_and_counting_from_one_is_followed() -> None:
    """`createPageHTML('page_div', 12, 1, 'index', 'html', 230)`: the pager's element first,
    this page counted from 1, the number of records last. Only the first page was read."""
    folder = f"{SITE}/zwgk/tzgg/"

    def at(number: int) -> tuple[str, str]:
        return 'createPageHTML(12, 0, "index", "html")', (
            f"createPageHTML('page_div', 12, {number}, 'index', 'html', 230)"
        )

    first = listed("gov_list_trs_pager.html", folder + "index.html", TRS_LIST, at(1))
    assert first.next_page == folder + "index_2.html"
    second = listed("gov_list_trs_pager.html", folder + "index_2.html", TRS_LIST, at(2))
    assert second.next_page == folder + "index_3.html"
    last = listed("gov_list_trs_pager.html", folder + "index_12.html", TRS_LIST, at(12))
    assert last.next_page is None
    article_pager = 'createPageHTML("page_div", 3, 2, "t20261120_123100", "html")'
    folder = f"{SITE}/zwgk/tzgg/202611/"
    edit = ('createPageHTML(3, 0, "t20261120_123100", "html")', article_pager)
    own = page(
        "gov_county_trs_paged.html", folder + "t20261120_123100_2.html", lambda t: t.replace(*edit)
    )
    assert own.next_page == folder + "t20261120_123100_3.html"
    other = page(
        "gov_county_trs_paged.html", folder + "t20261120_123100.html", lambda t: t.replace(*edit)
    )
    assert other.next_page is None, "the pager says this is page 2, not page 1"


def test_a_huge_pager_script_is_read_in_bounded_time() -> None:
    """A megabyte of script repeating the call's start: no match, read at once."""
    junk = "createPageHTML(1" + "2" * 20 + ", " * 1000 + ";"
    huge = f"<script>{junk * 400}</script>"
    text = fixture("gov_county_trs_paged.html").replace(
        'createPageHTML(3, 0, "t20261120_123100", "html");', ""
    )
    started = time.perf_counter()
    found = read_article_page(
        text.replace("</body>", huge + "</body>"),
        url=f"{SITE}/zwgk/tzgg/202611/t20261120_123100.html",
        rules=None,
    )
    assert found.next_page is None
    assert time.perf_counter() - started < 2


# F8: list rows whose link is a script


SCRIPT_LIST = f"{SITE}/htq/xxgk/list.html"


def test_rows_opening_their_article_by_script_are_read() -> None:
    """`javascript:void(0)` with `onclick="openwin('…')"`, `javascript:window.open('…')` and
    `javascript:location.href='…'` rows vanished without a word: one quoted URL handed to one
    of these is read as the row's link. Rows whose script makes its URL from a number are
    counted; a link that does nothing at all (`javascript:;`) leads nowhere, as `#` does."""
    found = listed("gov_list_script_links.html", SCRIPT_LIST)
    assert [(item.url, item.title) for item in found.items] == [
        (f"{SITE}/htq/xxgk/t20261124_1.html", "关于2026年度区级预算执行情况的报告"),
        (f"{SITE}/htq/xxgk/t20261122_2.html", "汉台区2026年政府信息公开工作年度报告"),
        (f"{SITE}/htq/xxgk/t20261121_3.html", "汉台区冬季森林防火工作方案"),
        (f"{SITE}/htq/xxgk/t20261120_4.html", "汉台区2026年冬春农田水利建设实施方案"),
        (f"{SITE}/htq/xxgk/t20261119_5.html", "汉台区2025年度财政决算公开"),
    ]
    assert found.script_links == 2


@pytest.mark.parametrize(
    ("onclick", "why"),
    [
        ("openwin('/htq/a.html');openwin('/htq/b.html')", "two URLs"),
        ("window.open(url)", "no quoted URL"),
        ("openwin('javascript:alert(1)')", "a script again"),
        ("track('/htq/a.html')", "not a call that opens a page"),
        ("openwin('" + "/a" * 300_000 + "')", "longer than any real one"),
    ],
)
def test_a_row_whose_script_names_no_one_url_is_counted(onclick: str, why: str) -> None:
    first_row = "openwin('/htq/xxgk/t20261124_1.html')"
    started = time.perf_counter()
    found = listed("gov_list_script_links.html", SCRIPT_LIST, edit=(first_row, onclick))
    assert time.perf_counter() - started < 2
    assert f"{SITE}/htq/xxgk/t20261124_1.html" not in [item.url for item in found.items], why
    assert found.script_links == 3, why


def test_an_operators_link_regex_is_read_as_written() -> None:
    """`{ attr = "onclick", regex = … }` reads what it says, and skips nothing silently more."""
    rules = list_rules(
        {"item": "table#list tr", "link": {"css": "td.tit a", "attr": "onclick",
         "regex": "openwin\\('([^']+)'"}},
        path="l",
    )  # fmt: skip
    found = listed("gov_list_script_links.html", SCRIPT_LIST, rules)
    assert [item.url for item in found.items] == [f"{SITE}/htq/xxgk/t20261124_1.html"]
    assert found.script_links == 0


@pytest.fixture
async def htq() -> AsyncIterator[Upstream]:
    async with upstream_site() as upstream:
        text = fixture("gov_list_script_links.html").replace(SITE, upstream.base_url)
        upstream.publish("/htq/xxgk/list.html", text.encode(), "text/html; charset=utf-8")
        notice = (HTML / "gov_county_article.html").read_bytes()
        for name in ("t20261124_1", "t20261122_2", "t20261121_3", "t20261120_4", "t20261119_5"):
            upstream.publish(f"/htq/xxgk/{name}.html", notice, "text/html; charset=utf-8")
        yield upstream


def htq_config(folder: Path, url: str) -> Path:
    """A district's disclosure list read by its table's cells."""
    config = folder / "config.toml"
    config.write_text(
        f"""
[service]
database = "{folder / "db.sqlite3"}"
timezone = "Asia/Shanghai"

[fetch]
timeout = "5s"
respect_robots = false

[[sources]]
id = "htq"
name = "汉台区人民政府"
url = "{url}"
type = "html"
[sources.list]
item = "table#list tr"
link = "td.tit a"
title = "td.tit a"
published = "td.date"
""",
        encoding="utf-8",
    )
    return config


async def test_preview_says_how_many_rows_a_script_link_left_out(
    tmp_path: Path, htq: Upstream
) -> None:
    config = htq_config(tmp_path, htq.url("/htq/xxgk/list.html"))
    code, out, err = await run_cli_async("preview", config, "htq")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"htq: 5 items from {htq.url('/htq/xxgk/list.html')}"
    warning = (
        "warning: 2 of 7 items skipped: their link is a script (javascript:), see sources.list.link"
    )
    assert [line for line in lines if line.startswith("warning:")] == [warning]
    assert "#3  汉台区冬季森林防火工作方案" in lines


async def test_preview_reads_every_page_a_trs_pager_script_names(tmp_path: Path) -> None:
    async with upstream_site() as site:
        folder = "/zwgk/tzgg/202611/"
        for index, name in enumerate(("t20261120_123100", "t20261120_123100_1")):
            text = fixture("gov_county_trs_paged.html").replace("(3, 0,", f"(3, {index},")
            text = text.replace("第1部分", f"第{index + 1}部分")
            site.publish(f"{folder}{name}.html", text.encode(), "text/html; charset=utf-8")
        last = fixture("gov_county_trs_paged.html").replace("(3, 0,", "(3, 2,")
        last = last.replace("第1部分", "第3部分")
        site.publish(f"{folder}t20261120_123100_2.html", last.encode(), "text/html")
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[service]
database = "{tmp_path / "db.sqlite3"}"

[fetch]
timeout = "5s"
respect_robots = false

[[sources]]
id = "hzgov"
name = "汉中市人民政府"
url = "{site.url("/zwgk/tzgg/index.html")}"
type = "html"
[sources.list]
item = "ul.list_ul li"
link = "a"
""",
            encoding="utf-8",
        )
        first = site.url(f"{folder}t20261120_123100.html")
        code, out, err = await run_cli_async(
            "preview", config, "hzgov", "--article", first, "--json"
        )
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    pages = [first.replace(".html", suffix) for suffix in (".html", "_1.html", "_2.html")]
    assert item["article_pages"] == pages
    assert all(f"第{part}部分" in item["fields"]["content_html"] for part in (1, 2, 3))


async def test_a_fetch_finds_the_date_line_under_the_lists_title(tmp_path: Path) -> None:
    """The list's title reaches the article's reading in a real fetch: the county notice whose
    `<title>` is the site's name is dated by its own line, 10:15, and credited."""
    async with upstream_site() as site:
        listing = fixture("gov_list_yearless.html").encode()
        site.publish("/htq/xxgk/list2.html", listing, "text/html; charset=utf-8")
        notice = fixture("gov_county_article.html").encode()
        site.publish("/htq/xxgk/content.jsp", notice, "text/html; charset=utf-8")
        config = htq_config(tmp_path, site.url("/htq/xxgk/list2.html"))
        code, out, err = await run_cli_async("preview", config, "htq", "--json")
    assert code == 0, err
    first = json.loads(out)["items"][0]
    assert first["fields"]["title"] == "汉台区2024年度财政决算公开"
    assert first["fields"]["published"] == "2024-12-30T10:15:00+08:00"
    assert first["fields"]["origin"] == {"name": "汉台区财政局", "url": None}
