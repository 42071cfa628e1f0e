"""Founder (方正) e-paper article pages read without article selectors: the old template's
`html/YYYY-MM/DD/content_N.htm` (GB2312, a column listing the day's articles beside the text,
its `<title>` the paper's name) and the later `pc/content/YYYYMM/DD/content_N.html`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.charset import decode
from feeds.founder import paper_fields
from feeds.htmlpage import article_from, read_article_page
from feeds.model import ParsedItem
from feeds.sanitize import html_to_text
from feeds.selectors import article_rules
from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import upstream_site

HTML = FIXTURES / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 16, 46, tzinfo=UTC)  # after midnight of the 30th in Shanghai
OLD = "http://epaper.example/hzrb/html/2026-11/28/content_{}.htm"
NEW = "http://epaper.example/sxrb/pc/content/202611/28/content_101001.html"
PAPER_DAY = datetime(2026, 11, 28, tzinfo=SHANGHAI)


def fixture(name: str) -> str:
    return decode((HTML / name).read_bytes()).text


def read(
    text: str, url: str, *, listed: str | None = None, rules: dict[str, str] | None = None
) -> ParsedItem:
    page = read_article_page(text, url=url, rules=None)
    return article_from(
        page,
        rules=article_rules(rules, path="sources[0].article") if rules else None,
        tz=SHANGHAI,
        now=NOW,
        listed_title=listed,
        site_names=("汉中日报",),
    )


def lines(item: ParsedItem) -> list[str]:
    return [line.strip() for line in html_to_text(item.content_html).splitlines() if line.strip()]


def test_old_founder_page_body_is_its_text_not_the_day_s_article_list() -> None:
    """The title's first element on the page was the list's link beside the text: the body was
    the next row of that list, a link to another article."""
    item = read(
        fixture("epaper_hzrb_content_5502.gbk.html"),
        OLD.format(5502),
        listed="汉中仙毫茶产业综合产值突破百亿元",
    )
    assert item.title == "汉中仙毫茶产业综合产值突破百亿元"
    assert lines(item) == [
        "本报讯 11月27日，记者从市农业农村局获悉，"
        "今年我市茶产业综合产值达到102.6亿元，首次突破百亿元大关。",
        "汉中仙毫茶园。 刘芳 摄",
        "近年来，我市坚持把茶产业作为富民强市的支柱产业来抓，培育龙头企业32家。",
        "下一步，我市将继续做强汉中仙毫区域公用品牌，推动茶文旅融合发展。",
    ]
    assert "res/1/20261128/17325_1.jpg" in item.content_html
    for furniture in ("content_5501", "content_5503", "2026112801_brief", "版权所有", "下一篇"):
        assert furniture not in item.content_html, furniture


def test_old_founder_page_is_dated_and_credited_by_its_enpproperty_comment() -> None:
    item = read(fixture("epaper_hzrb_content_5502.gbk.html"), OLD.format(5502))
    assert item.published == PAPER_DAY
    assert item.author == "刘芳"
    assert dict(item.provenance)["title"] == "automatic"  # its `<title>` is the paper's name


def test_old_founder_page_byline_row_names_the_reporter() -> None:
    """The comment's `<author>` is empty: the row under the title, `本报记者 赵刚`, names him."""
    item = read(
        fixture("epaper_hzrb_content_5501.gbk.html"),
        OLD.format(5501),
        listed="市委常委会召开扩大会议",
    )
    assert item.title == "市委常委会召开扩大会议"
    assert item.author == "赵刚"
    assert item.published == PAPER_DAY
    assert lines(item)[0].startswith("本报讯 11月27日，市委常委会召开扩大会议")
    assert "汉中仙毫" not in item.content_html


def test_old_founder_page_without_its_comment_is_dated_by_its_address() -> None:
    text = fixture("epaper_hzrb_content_5502.gbk.html")
    start, end = text.index("<!--enpproperty"), text.index("/enpproperty-->")
    title = "汉中仙毫茶产业综合产值突破百亿元"
    item = read(text[:start] + text[end + len("/enpproperty-->") :], OLD.format(5502), listed=title)
    assert item.published == PAPER_DAY
    assert dict(item.provenance)["published"] == "detected"
    assert item.author == "刘芳"  # the byline row


def test_new_founder_page_body_leaves_out_the_page_scan_subtitle_and_page_number() -> None:
    item = read(fixture("epaper_sxrb_content_101001.html"), NEW)
    assert item.title == "秦岭生态保护取得新成效"
    assert lines(item)[0].startswith("11月27日，记者从省林业局获悉")
    assert "秦岭深处的朱鹮。 本报记者 王伟摄" in lines(item)
    for furniture in ("page01.jpg", "——全省森林覆盖率稳步提升", "第01版", "上一篇"):
        assert furniture not in item.content_html, furniture
    assert item.author == "王伟、李明"
    assert item.published == PAPER_DAY


def test_a_description_that_is_the_title_is_no_summary() -> None:
    """`<title>标题--陕西日报</title>` and a description of the title alone."""
    item = read(fixture("epaper_sxrb_content_101001.html"), NEW)
    assert item.summary == ""
    text = fixture("epaper_sxrb_content_101001.html").replace("--陕西日报</title>", "</title>")
    assert read(text, NEW).summary == ""


def test_an_author_selector_s_byline_loses_the_reporters_roles() -> None:
    item = read(fixture("epaper_sxrb_content_101001.html"), NEW, rules={"author": "p.author"})
    assert item.author == "王伟、李明"
    assert dict(item.provenance)["author"] == "selector"


def test_a_hostile_enpproperty_comment_costs_no_more_than_its_bound() -> None:
    """An unclosed comment, a closed one of a million tags, a page listing the title 20,000
    times as links beside it."""
    assert paper_fields("<!--enpproperty " + "<date>" * 200_000, tz=SHANGHAI) is None
    huge = "<!--enpproperty " + "<title>x" * 200_000 + "/enpproperty-->"
    assert paper_fields(huge, tz=SHANGHAI) is None
    text = fixture("epaper_hzrb_content_5502.gbk.html")
    links = (
        '<TR><TD><A href="content_5502.htm">汉中仙毫茶产业综合产值突破百亿元</A></TD></TR>' * 20_000
    )
    text = text.replace("<TR><TD class=default>第01版：要闻</TD></TR>", links, 1)
    started = time.process_time()
    item = read(text, OLD.format(5502), listed="汉中仙毫茶产业综合产值突破百亿元")
    assert time.process_time() - started < 10
    assert item.author == "刘芳"
    assert lines(item)[0].startswith("本报讯 11月27日")


async def test_preview_reads_an_old_founder_paper_by_its_list_selectors(tmp_path: Path) -> None:
    """Through a local site serving the GB2312 pages, as an operator previews a new source."""
    folder = "/hzrb/html/2026-11/28/"
    async with upstream_site() as site:
        site.publish(
            folder + "node_1.htm", (HTML / "epaper_hzrb_node_1.gbk.html").read_bytes(), "text/html"
        )
        for number in (5501, 5502):
            page = (HTML / f"epaper_hzrb_content_{number}.gbk.html").read_bytes()
            site.publish(f"{folder}content_{number}.htm", page, "text/html")
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[service]
database = "{tmp_path / "db.sqlite3"}"
base_url = "http://feeds.example"
timezone = "Asia/Shanghai"

[[sources]]
id = "hzrb"
name = "汉中日报"
url = "{site.url(folder + "node_1.htm")}"
type = "html"
[sources.list]
item = "#artlist tr"
link = "a"
title = "a"
""",
            encoding="utf-8",
        )
        code, out, err = await run_cli_async("preview", config, "hzrb", "--json")
    assert code == 0, err
    items = {entry["fields"]["title"]: entry for entry in json.loads(out)["items"]}
    assert set(items) == {"市委常委会召开扩大会议", "汉中仙毫茶产业综合产值突破百亿元"}
    tea = items["汉中仙毫茶产业综合产值突破百亿元"]["fields"]
    assert tea["published"] == "2026-11-28T00:00:00+08:00"
    assert tea["author"] == "刘芳"
    assert "首次突破百亿元大关" in tea["content_html"]
    assert "content_5501" not in tea["content_html"]
    meeting = items["市委常委会召开扩大会议"]["fields"]
    assert meeting["author"] == "赵刚"
    assert "研究部署我市贯彻落实工作" in meeting["content_html"]
    assert "content_5502" not in meeting["content_html"]
