"""JSON list sources (`type = "json"`): a portal's list API read with JMESPath fields, its
records whole where they carry their body, else completed by their article pages."""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from aggregator.config import load_config
from aggregator.errors import ConfigError
from feeds.charset import decode
from feeds.errors import ParseError
from feeds.jsonlist import parse_json_list
from feeds.jsonpaths import JsonListRules, json_field, json_list_rules
from feeds.listpage import ListPage
from feeds.model import Enclosure, Party
from tests.conftest import FIXTURES, WriteConfig, run_cli_async
from tests.test_html_sources import preview_json
from tests.upstream import Upstream, local_site, upstream_site

JSON = FIXTURES / "json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
NODEART = "http://qc.news.example/nodeart/list?nid=113322&pgnum=1&cnt=20"
NODEART_RULES = {
    "item": "data.list", "link": "LinkUrl", "title": "Title", "summary": "Abstract",
    "published": "PubTime", "author": "Author", "origin": "SourceName", "image": "PicLinks",
    "tags": "keyword", "id": "DocID",
}  # fmt: skip
APP = "http://app.hz.example/api/news/list?channel=3&page=1&size=20"
APP_RULES: dict[str, object] = {
    "item": "data.records", "link": {"path": "id", "template": "/news/{}.html"},
    "title": "title", "content": "content", "published": "publishTime", "author": "author",
    "origin": "source", "image": "cover", "tags": "tags", "id": "id", "page_param": "page",
}  # fmt: skip


def rules(table: Mapping[str, object]) -> JsonListRules:
    return json_list_rules(table, path="sources[0].list")


def read(text: str, url: str, table: Mapping[str, object]) -> ListPage:
    return parse_json_list(text, url=url, rules=rules(table), tz=SHANGHAI, now=NOW)


def fixture(name: str) -> str:
    return decode((JSON / name).read_bytes()).text


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_a_jsonp_list_gives_its_records_as_items() -> None:
    """Xinhua's `nodeart` API, a JSONP answer with no callback name: titles without their
    highlighting markup and entities, dates in the service's zone, the credit as the origin,
    the picture (resolved against the API's address) as an enclosure; a record without a link
    is counted, a repeated link kept once."""
    page = read(fixture("nodeart_list.jsonp"), NODEART, NODEART_RULES)
    first, second = page.items
    assert first.title == "汉中又新增一项国字号荣誉！"
    assert first.url == "http://www.sn.news.example/2026-11/28/c_1128297101.htm"
    assert first.upstream_id == "1128297101"
    assert first.published == shanghai(2026, 11, 28, 17, 50)
    assert first.author == "记者 张三"
    assert first.origin == Party("汉中发布")
    assert first.summary == "2021年12月31日，汉中市被科技部命名为“国家创新型城市”。"
    assert first.tags == ("创新型城市", "科技")
    assert first.enclosures == (
        Enclosure("http://qc.news.example/titlepic/112829/1128297101_t.jpg", "image/jpeg"),
    )
    assert first.content_html == ""  # its article page gives the body
    assert second.title == "关注：汉江湿地迎来越冬候鸟 & 朱鹮"
    assert (second.author, second.origin, second.summary, second.tags) == (None, None, "", ())
    assert page.warnings == (
        "1 of 4 records skipped: sources.list.link 'LinkUrl' gives no web address in them",
    )
    assert page.next_page is None


def test_records_with_their_body_are_whole_and_sanitised() -> None:
    """An app's API in GBK: the body's script and handlers go, its pictures resolve against
    the article's address, a plain-text body becomes paragraphs; epoch dates in milliseconds
    and seconds; the link written into a template; the credit without its `来源：` label."""
    page = read(fixture("app_list.gbk.json"), APP, APP_RULES)
    fire, oranges, pending = page.items
    assert fire.url == "http://app.hz.example/news/52101.html"
    assert fire.published == shanghai(2026, 11, 29, 10)
    assert oranges.published == shanghai(2026, 11, 28, 10)
    assert "<script" not in fire.content_html
    assert "onclick" not in fire.content_html
    assert "alert" not in fire.content_html
    assert '<img src="http://app.hz.example/upload/2026/11/meeting.jpg"' in fire.content_html
    assert fire.summary == "11月29日，市应急管理局召开会议。 部署冬季防火工作。"
    assert fire.origin == Party("汉中市应急管理局")
    assert fire.tags == ("应急", "防火")
    assert oranges.tags == ("农业",)
    assert oranges.content_html == "<p>城固县的柑橘今年喜获丰收。</p><p>果农们忙着采摘。</p>"
    assert pending.content_html == ""
    assert pending.url == "http://app.hz.example/news/52099.html"
    assert dict(pending.provenance)["published"] == "selector, relative"  # `3小时前`
    assert page.next_page == "http://app.hz.example/api/news/list?channel=3&page=2&size=20"


def test_pages_run_on_by_their_number_or_the_address_the_answer_gives() -> None:
    body = json.dumps({"data": {"records": [{"id": 1}], "next": "/api/list?cursor=abc"}})
    assert read(body, "http://h.example/api/list", APP_RULES).next_page == (
        "http://h.example/api/list?page=2"
    )
    empty = json.dumps({"data": {"records": []}})
    assert read(empty, "http://h.example/api/list?page=7", APP_RULES).next_page is None
    cursor = {**APP_RULES, "next_page": "data.next"}
    del cursor["page_param"]
    assert read(body, "http://h.example/api/list", cursor).next_page == (
        "http://h.example/api/list?cursor=abc"
    )
    templated = {**cursor, "next_page": {"path": "data.next", "regex": "cursor=(\\w+)",
                                         "template": "/api/list?after={}"}}  # fmt: skip
    assert read(body, "http://h.example/api/list", templated).next_page == (
        "http://h.example/api/list?after=abc"
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            (JSON / "api_error.json").read_text(),
            "sources.list.item 'data.records' finds nothing "
            '(the document has code=403, msg="非法请求，请稍后再试", data=null)',
        ),
        ("<!DOCTYPE html><html><body>请输入验证码</body></html>", "the answer starts '<!DOCTYPE"),
        ('{"data": {"records": {"id": 1}}}', "finds an object, not a list"),
        ('{"data": {"records": "none"}}', "finds a string, not a list"),
        ("[" * 100_000, "not JSON"),
        ('{"data": {"records": [', "not JSON"),
        ("", "not JSON"),
        ("callback(", "not JSON"),
    ],
)
def test_an_answer_that_is_no_list_fails_with_what_it_is(body: str, said: str) -> None:
    with pytest.raises(ParseError) as info:
        read(body, "http://h.example/api", APP_RULES)
    assert said.replace("a object", "an object") in str(info.value) or said in str(info.value)
    assert str(info.value).startswith("http://h.example/api: ")


def test_hostile_records_are_read_no_further_than_is_safe() -> None:
    """Links that are no web address, numbers Python reads slowly, NaN, records of another
    shape, characters XML cannot carry and markup in titles."""
    records = [
        {"id": "javascript:alert(1)", "title": "a"},
        {"id": "data:text/html,<script>x</script>", "title": "b"},
        "not a record",
        None,
        {"id": 8, "title": "big", "publishTime": float("nan"), "author": "BIG"},
        {"id": 7, "title": "\x00\x01<b>加粗</b><script>alert(1)</script>\ud800标题",
         "content": "<iframe src='http://evil.example/'></iframe><p>正文</p>", "tags": [{}, 3]},
    ]  # fmt: skip
    body = json.dumps({"data": {"records": records}}).replace('"BIG"', "9" * 5000)
    page = read(body, "http://h.example/api", {**APP_RULES, "link": "id"})
    assert [item.url for item in page.items] == ["http://h.example/8", "http://h.example/7"]
    assert "4 of 6 records skipped" in page.warnings[0]
    page = read(body, "http://h.example/api", APP_RULES)
    titles = {item.title: item for item in page.items}
    assert set(titles) >= {"big", "加粗alert(1)标题"}
    assert titles["big"].published is None
    assert titles["big"].author is None
    hostile = titles["加粗alert(1)标题"]
    assert hostile.content_html == "<p>正文</p>"
    assert hostile.tags == ("3",)


def test_fields_are_checked_once_with_every_fault_at_its_key(write_config: WriteConfig) -> None:
    text = """
[[sources]]
id = "app"
type = "json"
url = "http://app.example/api"
full_content = true
[sources.list]
item = "data.[records"
link = { path = "id", template = "/news/.html", colour = "red" }
title = { regex = "(" }
page_param = "page"
next_page = "data.next"
max_pages = 0

[[sources]]
id = "feed"
url = "http://feed.example/rss"
[sources.list]
item = "x"
link = "y"

[[sources]]
id = "nolist"
type = "json"
url = "http://app.example/api2"
"""
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    problems = "\n".join(info.value.problems)
    for expected in (
        'sources[0].full_content: applies to type = "feed" sources only',
        "sources[0].list.item: not a valid JMESPath expression",
        "sources[0].list.link.colour: unknown key (expected path, regex, template)",
        "sources[0].list.link.template: expected a string with {} where the value goes",
        "sources[0].list.title.regex: not a valid regular expression",
        "sources[0].list.title: needs a JMESPath expression",
        "sources[0].list: page_param and next_page both say where page 2 is",
        "sources[0].list.max_pages: must be between 1 and 100",
        'sources[1].list: applies to type = "html" and "json" sources only',
        'sources[2].list: is required for type = "json" sources',
    ):
        assert expected in problems, expected


def test_a_field_crosses_to_worker_processes_and_still_reads() -> None:
    """The config, its rules included, goes to the rendering and parsing processes."""
    field = json_field({"path": "a.b", "regex": "(\\d+)", "template": "/n/{}"}, path="f")
    copy = pickle.loads(pickle.dumps(field))  # noqa: S301 - our own object, made just above
    assert copy == field
    assert copy.find({"a": {"b": "id 42"}}) == "id 42"


ARTICLE = (FIXTURES / "html" / "discuz_article.gbk.html").read_bytes()


@pytest.fixture
async def app_api() -> AsyncIterator[Upstream]:
    """The app's list API over three pages (the third empty), and the article page of the
    record that has no body."""
    async with upstream_site() as site:
        first = (JSON / "app_list.gbk.json").read_bytes()
        site.publish("/api/news/list", first, "application/json")
        site.publish("/news/52099.html", ARTICLE, "text/html")
        yield site


def app_config(folder: Path, site: Upstream, **more: str) -> Path:
    config = folder / "config.toml"
    extra = "\n".join(f"{key} = {value}" for key, value in more.items())
    config.write_text(
        f"""
[service]
database = "{folder / "db.sqlite3"}"
base_url = "http://feeds.example"
timezone = "Asia/Shanghai"

[fetch]
timeout = "5s"
respect_robots = false

[[sources]]
id = "hzapp"
name = "汉中头条"
type = "json"
url = "{site.url("/api/news/list")}"
[sources.list]
item = "data.records"
link = {{ path = "id", template = "/news/{{}}.html" }}
title = "title"
content = "content"
published = "publishTime"
origin = "source"
tags = "tags"
id = "id"
{extra}
""",
        encoding="utf-8",
    )
    return config


async def test_preview_shows_whole_records_and_reads_the_article_of_the_rest(
    tmp_path: Path, app_api: Upstream
) -> None:
    document = await preview_json(app_config(tmp_path, app_api), "hzapp")
    assert (document["format"], document["charset"]) == ("json", "gb18030")
    fields = {item["fields"]["url"].rsplit("/", 1)[1]: item for item in document["items"]}
    assert set(fields) == {"52101.html", "52100.html", "52099.html"}
    pending = fields["52099.html"]
    assert pending["fields"]["title"] == "稿件正文待读"  # the API's own, over the page's heading
    assert pending["fields"]["origin"]["name"] == "汉中发布"  # the page's `来自`
    assert "汉中市又新增一项国字号荣誉" in pending["fields"]["content_html"]
    assert pending["article_pages"] == [app_api.url("/news/52099.html")]
    assert fields["52101.html"]["fields"]["origin"]["name"] == "汉中市应急管理局"
    assert fields["52101.html"]["article_pages"] == []
    asked = [path for path, _ in app_api.requests]
    assert asked.count("/news/52101.html") == 0
    assert asked.count("/news/52099.html") == 1


async def test_later_pages_are_read_by_their_number_until_one_lists_nothing(
    tmp_path: Path, app_api: Upstream
) -> None:
    """`page_param` with `max_pages = 5`: page 2 has one more record, page 3 an empty list;
    the aiohttp upstream answers each by its query."""
    second = {"code": 0, "data": {"records": [
        {"id": 52098, "title": "第二页的稿件", "content": "<p>第二页</p>",
         "publishTime": "2026-11-27"}
    ]}}  # fmt: skip
    pages: dict[str, bytes] = {
        "1": (JSON / "app_list.gbk.json").read_bytes(),
        "2": json.dumps(second, ensure_ascii=False).encode(),
        "3": b'{"code": 0, "data": {"records": []}}',
    }
    asked: list[str] = []

    async def api(request: web.Request) -> web.Response:
        asked.append(request.query.get("page", "1"))
        return web.Response(body=pages[request.query.get("page", "1")],
                            content_type="application/json")  # fmt: skip

    async def article(_: web.Request) -> web.Response:
        return web.Response(body=ARTICLE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/api/news/list", api)
    app.router.add_get("/news/{name}", article)
    async with local_site(app) as origin:
        site = Upstream(base_url=origin)
        config = app_config(tmp_path, site, page_param='"page"', max_pages="5")
        document = await preview_json(config, "hzapp")
    titles = [item["fields"]["title"] for item in document["items"]]
    assert "第二页的稿件" in titles
    assert len(titles) == 4
    assert asked == ["1", "2", "3"]


async def test_fetched_records_are_published_with_their_origin(
    tmp_path: Path, app_api: Upstream
) -> None:
    config = app_config(tmp_path, app_api)
    code, out, err = await run_cli_async("fetch", config)
    assert code == 0, err
    code, out, err = await run_cli_async("render", config, "all", "--format", "json")
    assert code == 0, err
    entries = {entry["url"]: entry for entry in json.loads(out)["items"]}
    fire = entries[app_api.url("/news/52101.html")]
    assert fire["_origin"]["name"] == "汉中市应急管理局"
    assert fire["_source"]["id"] == "hzapp"
    assert "部署冬季防火工作" in fire["content_html"]
    assert "<script" not in fire["content_html"]
    assert fire["tags"][:2] == ["应急", "防火"]
    pending = entries[app_api.url("/news/52099.html")]
    assert pending["_origin"]["name"] == "汉中发布"
    code, out, err = await run_cli_async("fetch", config)  # the same answer: nothing to read
    assert code == 0, err
    asked = [path for path, _ in app_api.requests]
    assert asked.count("/news/52099.html") == 1
