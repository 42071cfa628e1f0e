"""Hanweb JCMS government sites: column pages whose records sit in a `<script type="text/xml">`
datastore are read as if the records were markup (a city's UTF-8 page, a county's GBK page of
table rows, a hostile page), its article pages without selectors, and a column page previewed
from a local site."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.charset import decode
from feeds.htmlpage import parse_article
from feeds.listpage import ListPage, parse_list_page
from feeds.model import Party
from feeds.sanitize import html_to_text
from feeds.selectors import ListRules, list_rules
from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import upstream_site

HTML = FIXTURES / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
CITY = "http://www.hanzhong.gov.example"
COLUMN = f"{CITY}/col/col3145/index.html"
RULES = list_rules({"item": "li", "link": "a", "published": "span"}, path="sources[1].list")
# The column page's records: the day each was published, its article's number and its title.
LISTED = [
    ("2026/11/27", "1234567", "汉中市召开全市安全生产工作会议"),
    ("2026/11/27", "1234566", "市政府常务会议研究部署冬季供暖和城市运行保障工作"),
    ("2026/11/26", "1234560", "汉中市2026年秋季征兵工作圆满完成"),
    ("2026/11/26", "1234558", "汉中市召开2026年全市农村人居环境整治暨乡村建设现场推进会"),
    ("2026/11/25", "1234551", "全市重点项目建设观摩活动举行"),
    ("2026/11/25", "1234549", "汉中市与西安交通大学签署校地合作协议"),
    ("2026/11/24", "1234540", "市人大常委会调研全市优化营商环境工作"),
    ("2026/11/24", "1234538", "汉中市举办2026年秋季“汉江英才”招聘会"),
    ("2026/11/23", "1234530", "陕南首条智慧公交示范线路在汉中开通"),
    ("2026/11/22", "1234526", "汉中市启动冬春季森林防火专项检查"),
    ("2026/11/21", "1234519", "汉中仙毫获评全国名优茶区域公用品牌"),
    ("2026/11/21", "1234515", "市政协召开月度协商座谈会"),
    ("2026/11/20", "1234507", "汉中市城镇老旧小区改造项目全部开工"),
    ("2026/11/20", "1234501", "市应急管理局开展冬季消防安全大检查"),
    ("2026/11/19", "1234496", "汉江生态经济带建设推进会在洋县召开"),
]
ARTICLE_LINES = [
    "11月26日，全市安全生产工作会议召开。会议传达学习了全省安全生产电视电话会议精神，"
    "通报了前三季度全市安全生产形势，安排部署今冬明春安全防范工作。",
    "会议指出，今年以来，全市各级各部门坚持人民至上、生命至上，扎实开展安全生产治本攻坚"
    "三年行动，全市生产安全事故起数和死亡人数实现“双下降”，安全生产形势总体平稳。",
    "会议现场",
    "会议强调，岁末年初是各类事故易发多发期，各县区、各部门要紧盯道路交通、矿山、危险化学品、"
    "建筑施工、城镇燃气、消防等重点行业领域，深入开展隐患排查整治，坚决防范遏制重特大事故发生。",
    "会议要求，要压紧压实安全生产责任，严格落实领导干部带班和关键岗位24小时值班制度，"
    "加强应急值守和信息报送，确保全市安全生产形势持续稳定。",
    "各县区政府、市级有关部门负责同志参加会议。",
]


def load(name: str) -> str:
    return decode((HTML / name).read_bytes()).text


def read(text: str, rules: ListRules = RULES, url: str = COLUMN) -> ListPage:
    return parse_list_page(text, url=url, rules=rules, tz=SHANGHAI, now=NOW)


def article_url(day: str, number: str, site: str = CITY) -> str:
    return f"{site}/art/{day}/art_3145_{number}.html"


def test_a_column_pages_records_are_its_items_in_page_order() -> None:
    """jpage writes the records into the page in the browser: read as the page came, the
    column had no item, and `item = "li"` matched nothing."""
    page = read(load("hanweb_list.html"))
    assert [(item.url, item.title) for item in page.items] == [
        (article_url(day, number), title) for day, number, title in LISTED
    ], "the title the list cut short is whole, from its `title` attribute"
    assert [item.published for item in page.items] == [
        datetime.strptime(day, "%Y/%m/%d").replace(tzinfo=SHANGHAI) for day, _, _ in LISTED
    ]
    assert {item.provenance for item in page.items} == {
        (("url", "selector"), ("title", "selector"), ("published", "selector"))
    }
    assert page.next_page is None, "later pages come by POST: none is followed"


def test_the_datastores_other_parts_are_no_items() -> None:
    """Its `<nextgroup>` holds the POST address of the next records: never an article."""
    rules = list_rules({"item": "div.list_content a", "link": "a"}, path="l")
    page = read(load("hanweb_list.html"), rules)
    assert [item.url for item in page.items] == [article_url(d, n) for d, n, _ in LISTED]


def _escaped(text: str) -> str:
    """The records entity-escaped instead of in CDATA, as some sites write them."""
    return re.sub(r"<!\[CDATA\[(.*?)\]\]>", lambda m: html.escape(m[1]), text, flags=re.S)


def _with_language(text: str) -> str:
    script = '<script language="javascript" type="text/xml">\r\n\t'
    return text.replace('<script type="text/xml">', script)


@pytest.mark.parametrize(
    "edit",
    [_escaped, _with_language, lambda text: re.sub(r">\s+<", "><", text)],
    ids=["escaped", "language attribute and blanks", "one line"],
)
def test_the_ways_sites_write_a_datastore_read_alike(edit: Callable[[str], str]) -> None:
    edited = read(edit(load("hanweb_list.html")))
    assert len(edited.items) == len(LISTED)
    assert edited == read(load("hanweb_list.html"))


def test_a_gbk_county_page_of_table_rows() -> None:
    """A `gb2312` county page whose records are `<tr>` rows (jpage puts them in a table), with
    `<totalrecord>` and `<totalpage>` in its datastore and CRLF line ends."""
    text = load("hanweb_list_rows.gbk.html")
    rules = list_rules({"item": "td.list_con tr", "link": "a", "published": "td.bt_time"}, path="l")
    page = read(text, rules, url="http://www.chenggu.gov.example/col/col5678/index.html")
    assert len(page.items) == 10
    first, second = page.items[:2]
    assert (first.url, first.title) == (
        "http://www.chenggu.gov.example/art/2026/11/28/art_5678_901250.html",
        "城固县召开冬季森林防火工作推进会",
    )
    assert second.title == "县长李堃调研柑橘产业发展和冬季农业生产工作", "GBK beyond GB2312"
    assert [item.published and item.published.date() for item in page.items[::3]] == [
        date(2026, 11, 28), date(2026, 11, 26), date(2026, 11, 23), date(2026, 11, 19),
    ]  # fmt: skip
    assert page.items[-1].title == "张骞纪念馆冬季开放时间调整公告"


def test_record_links_resolve_against_the_pages_base() -> None:
    """A mirror of the page, read where its `<base href>` says it lives; a record's own
    `<base>` (hostile page below) never counts."""
    text = load("hanweb_list.html").replace("<head>", f'<head><base href="{CITY}/">', 1)
    page = read(text, url="http://mirror.example/hz/col3145.html")
    assert [item.url for item in page.items] == [article_url(d, n) for d, n, _ in LISTED]


def test_only_a_datastore_is_expanded() -> None:
    """Scripts that hold records without a `<datastore>` root, or a datastore in a string of
    code, stay scripts; the one datastore beside them is read."""
    others = (
        '<script type="text/xml"><data><record><![CDATA[<li><a href="/a/1.html">一</a></li>]]>'
        "</record></data></script>"
        '<script>var tpl = \'<datastore><record><li><a href="/a/2.html">二</a></li></record>'
        "</datastore>';</script>"
        '<script type="text/template"><li><a href="/a/3.html">三</a></li></script>'
    )
    store = (
        '<script type="text/xml"><datastore><recordset><record><![CDATA[<li><a href="/a/4.html">'
        "四</a></li>]]></record></recordset></datastore></script>"
    )
    page = read(f"<html><body><ul>{others}{store}</ul></body></html>")
    assert [item.title for item in page.items] == ["四"]


HOSTILE = "http://www.hostile.example/col/col1/index.html"


def test_a_hostile_pages_datastores() -> None:
    """A datastore cut short, one declaring entities (nine levels of ten) and one naming an
    undefined entity stay scripts; a record's broken markup keeps to its record; blank,
    `<base>` and `javascript:` records change nothing; a record reading "下一页" is no pager;
    and of 2,500 more records, the page's first 2,000 are read."""
    page = read(load("hanweb_hostile.html"), url=HOSTILE)
    site = "http://www.hostile.example"
    assert [(item.url, item.title) for item in page.items[:5]] == [
        (f"{site}/art/2026/11/27/art_1_1.html", "未闭合的记录2026-11-27"),
        (f"{site}/col/col1/art_1_3.html", "相对链接"),
        (f"{site}/art/2026/11/25/art_1_5.html", "正常记录"),
        (f"{site}/art/2026/11/24/art_1_6.html", "下一页"),
        (f"{site}/art/2026/11/1/art_9_0.html", "批量记录0"),
    ]
    assert page.items[2].published == datetime(2026, 11, 25, tzinfo=SHANGHAI)
    assert page.next_page is None
    # six records before the bulk's, four of them items: 2,000 records in all
    assert len(page.items) == 4 + 1994
    assert page.items[-1].title == "批量记录1993"
    left = ("/art/cut/", "/art/dtd/", "/art/bad/", "evil.example", "javascript")
    assert not [item.url for item in page.items if any(w in (item.url or "") for w in left)]


def test_a_pages_datastores_are_read_up_to_a_million_characters() -> None:
    """A datastore past what is left of the page's bound stays a script; one within it after
    it is still read."""

    def store(number: int, padding: int) -> str:
        filler = "汉" * padding
        return (
            f'<script type="text/xml"><datastore><recordset><record><![CDATA[<li><a href="/a/'
            f'{number}.html">{number}</a><p>{filler}</p></li>]]></record></recordset>'
            "</datastore></script>"
        )

    text = "".join((store(1, 600_000), store(2, 600_000), store(3, 300_000)))
    page = read(f"<html><body><ul>{text}</ul></body></html>")
    assert [item.title for item in page.items] == ["1", "3"]


ZOOM_IN_CELL = '<td class="bt_content">\n          <div id="zoom">'


@pytest.mark.parametrize(
    "cell",
    [ZOOM_IN_CELL, '<td>\n          <div class="bt_content" id="zoom">'],
    ids=["zoom in bt_content", "zoom on bt_content"],
)
def test_a_hanweb_article_is_its_zoomed_text(cell: str) -> None:
    """Hanweb's article template is a table of title, date line and text: trafilatura took
    it whole, its title and `发布时间：… 浏览次数：【字体：大 中 小】` line the body's first."""
    text = load("hanweb_article.html").replace(ZOOM_IN_CELL, cell)
    assert cell in text
    url = article_url(*LISTED[0][:2])
    item = parse_article(text, url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "汉中市召开全市安全生产工作会议"
    assert item.published == datetime(2026, 11, 27, 10, 30, tzinfo=SHANGHAI)
    assert (item.origin, item.site_name) == (Party("汉中市应急管理局"), "汉中市人民政府")
    assert html_to_text(item.content_html).splitlines() == ARTICLE_LINES
    assert f'<img src="{CITY}/picture/0/2611271030123456789.jpg"' in item.content_html
    assert dict(item.provenance)["content"] == "automatic"


async def test_preview_shows_a_column_pages_records(tmp_path: Path) -> None:
    """A Hanweb site on 127.0.0.1: `aggregator preview` lists the column's records in page
    order with the operator's selectors, and reads the article behind the first."""
    async with upstream_site() as site:
        site.publish("/col/col3145/index.html", (HTML / "hanweb_list.html").read_bytes(),
                     "text/html; charset=utf-8")  # fmt: skip
        day, number, _ = LISTED[0]
        article = (HTML / "hanweb_article.html").read_bytes()
        site.publish(f"/art/{day}/art_3145_{number}.html", article, "text/html")
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[service]
database = "{tmp_path / "db.sqlite3"}"

[fetch]
timeout = "5s"

[[sources]]
id = "hzgov"
name = "汉中市人民政府"
url = "{site.url("/col/col3145/index.html")}"
type = "html"

[sources.list]
item = "li"
link = "a"
published = "span"
""",
            encoding="utf-8",
        )
        code, out, err = await run_cli_async("preview", config, "hzgov", "--json")
    assert code == 0, err
    document = json.loads(out)
    items = document["items"]
    assert [i["fields"]["url"] for i in items] == [
        article_url(d, n, site.base_url) for d, n, _ in LISTED
    ]
    first = items[0]
    assert first["fields"]["title"] == LISTED[0][2]
    assert first["fields"]["published"] == "2026-11-27T10:30:00+08:00"
    assert first["fields"]["origin"]["name"] == "汉中市应急管理局"
    assert html_to_text(first["fields"]["content_html"]).splitlines() == ARTICLE_LINES
    assert first["provenance"]["url"] == "selector"
    assert items[1]["fields"]["published"] == "2026-11-27T00:00:00+08:00", "the list's date"
    assert not [r for r in site.requests if "dataproxy" in r[0]], "no later page is asked for"
