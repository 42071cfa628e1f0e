"""JSON list APIs as they really answer: wrapped in script, past their last page, in another
charset than a string inside them names, negotiating by `Accept`, with errors of their own,
repeating records across pages, listing more records than are read."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from aggregator.fetcher import printable
from aggregator.follow import JSON_ACCEPT
from feeds.errors import ParseError
from feeds.jsonlist import parse_json_list
from feeds.jsonpaths import json_list_rules
from tests.conftest import FIXTURES, WriteConfig, run_cli_async
from tests.test_config import problems
from tests.test_html_sources import preview_json
from tests.upstream import local_site

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)
RULES = json_list_rules(
    {"item": "data.list", "link": "url", "title": "title", "content": "body",
     "published": "time", "author": "author", "origin": "src", "page_param": "page"},
    path="sources[0].list",
)  # fmt: skip
ARTICLE = (FIXTURES / "html" / "discuz_article.gbk.html").read_bytes()


def records(*numbers: int) -> dict[str, Any]:
    listed = [
        {"url": f"/a/{n}.html", "title": f"稿件{n}", "body": f"<p>正文{n}</p>",
         "time": f"2026-11-{n % 28 + 1:02d} 10:00"}
        for n in numbers
    ]  # fmt: skip
    return {"code": 0, "data": {"list": listed}}


def read(text: str, url: str = "http://api.example/list", **more: Any) -> Any:
    return parse_json_list(text, url=url, rules=RULES, tz=SHANGHAI, now=NOW, **more)


@pytest.mark.parametrize(
    "wrapped",
    [
        "/**/ typeof cb === 'function' && cb({});",  # Express's res.jsonp()
        "/**/cb({});",
        "jQuery1124_1764({})",
        "({})",  # Xinhua's nodeart
        "try{cb({})}catch(e){}",
        "var data = {};",
        ")]}'\n{}",  # an XSSI guard
        "for(;;);{}",
    ],
)
def test_an_answer_wrapped_in_script_is_read(wrapped: str) -> None:
    body = json.dumps(records(1, 2), ensure_ascii=False)
    page = read(wrapped.replace("{}", body))
    assert [item.title for item in page.items] == ["稿件1", "稿件2"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            '{"data": {"list": [{"url": "/a", "title": "A"}, {"url": "/b" "title": "B"}]}}',
            "not JSON (Expecting ',' delimiter",
        ),  # a syntax error in its second record
        ('{"data": {"list": [{"url": "/a", "title": "A"}', "not JSON (Expecting"),  # cut short
        ("<html><script>var c = [];</script><p>verify</p></html>", "not JSON (Expecting value"),
    ],
)
def test_a_broken_answer_is_not_read_as_its_first_fragment(body: str, said: str) -> None:
    """A script wrapper's value is looked for only in an answer that has one: a broken answer's
    first record, or a challenge page's `[]`, was taken for the answer, which found nothing."""
    for later in (False, True):
        with pytest.raises(ParseError, match=re.escape(said)):
            read(body, later=later)


def test_past_the_last_page_an_api_may_answer_no_list() -> None:
    """Xinhua's `({"status":-1,"data":null})`: on a later page, the end of the list."""
    assert read('({"status":-1,"data":null})', later=True).items == ()
    with pytest.raises(ParseError, match="finds nothing"):
        read('({"status":-1,"data":null})')


def test_only_the_page_parameter_changes_in_the_query() -> None:
    """A keyword percent-encoded in GBK and a bare flag came back mangled on page 2."""
    url = "http://api.example/list?keyword=%BA%BA%D6%D0&page=1&size=5&flag"
    assert read(json.dumps(records(1)), url).next_page == (
        "http://api.example/list?keyword=%BA%BA%D6%D0&page=2&size=5&flag"
    )
    bare = "http://api.example/list?keyword=%BA%BA%D6%D0&flag"
    assert read(json.dumps(records(1)), bare).next_page == f"{bare}&page=2"


def test_entities_in_plain_text_fields_are_read() -> None:
    record = {"url": "/a/1.html", "title": "汉中&ldquo;十四五&rdquo;",
              "body": "汉中市&ldquo;十四五&rdquo;规划发布&mdash;&mdash;第一句。&nbsp;第二句。",
              "author": "张&nbsp;三", "src": "汉中&middot;日报"}  # fmt: skip
    item = read(json.dumps({"data": {"list": [record]}}, ensure_ascii=False)).items[0]
    assert item.title == "汉中“十四五”"
    assert item.content_html == "<p>汉中市“十四五”规划发布——第一句。&nbsp;第二句。</p>"
    assert (item.author, item.origin and item.origin.name) == ("张 三", "汉中·日报")


def test_a_field_nested_beyond_reason_reads_nothing() -> None:
    deep: Any = "标题"
    for _ in range(900):
        deep = [deep]
    record = {"url": "/a/1.html", "title": deep, "body": "<p>正文</p>"}
    item = read(json.dumps({"data": {"list": [record]}}, ensure_ascii=False)).items[0]
    assert (item.title, item.content_html) == ("", "<p>正文</p>")


def test_of_many_records_the_newest_are_built() -> None:
    """100,000 records, 1,000 read: only those are sanitised, as a feed's entries are."""
    many = records(*range(3000))
    page = read(json.dumps(many, ensure_ascii=False), most=100)
    assert len(page.items) == 100
    assert page.warnings[0] == "3000 entries listed: only the newest 100 read (fetch.max_entries)"
    assert min(item.published for item in page.items if item.published) >= datetime(
        2026, 11, 26, 10, tzinfo=SHANGHAI
    )


def test_a_field_that_fails_on_the_data_says_why() -> None:
    rules = json_list_rules(
        {"item": "data.list", "link": "url", "title": "join('-', [title, time2])"}, path="l"
    )
    data = json.dumps({"data": {"list": [{"url": "/a/1.html", "title": "x", "time2": 5}]}})
    page = parse_json_list(data, url="http://api.example/l", rules=rules, tz=SHANGHAI, now=NOW)
    assert page.items[0].title == ""
    assert page.warnings[0].startswith("sources.list: \"join('-', [title, time2])\" reads nothing")


def test_an_unknown_function_is_refused_at_load(write_config: WriteConfig) -> None:
    text = """
[[sources]]
id = "api"
type = "json"
url = "http://api.example/list"
[sources.list]
item = "data.list"
link = { path = "to_str(id)", template = "/a/{}.html" }
title = "lenght(title)"
"""
    found = "\n".join(problems(write_config, text))
    assert "sources[0].list.link: to_str() is no JMESPath function" in found
    assert "sources[0].list.title: lenght() is no JMESPath function" in found


def test_a_lone_surrogate_an_upstream_sent_is_printable() -> None:
    assert printable("非法请求 \ud800 x") == "非法请求 \ufffd x"
    assert printable("bad byte \udcba") == "bad byte %BA"


@dataclass
class Api:
    origin: str = ""
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # page -> body, type
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # path_qs, headers
    details: dict[str, object] = field(default_factory=dict)  # id -> the detail API's answer


@asynccontextmanager
async def api_site(pages: dict[str, tuple[bytes, str]]) -> AsyncIterator[Api]:
    api = Api(pages=pages)

    async def answer(request: web.Request) -> web.Response:
        headers = {**request.headers, "Accept": " | ".join(request.headers.getall("Accept", []))}
        api.asked.append((request.path_qs, headers))
        body, kind = api.pages[request.query.get("page", "1")]
        return web.Response(body=body, headers={"Content-Type": kind})

    async def article(request: web.Request) -> web.Response:
        api.asked.append((request.path_qs, dict(request.headers)))
        return web.Response(body=ARTICLE, content_type="text/html")

    async def detail(request: web.Request) -> web.Response:
        api.asked.append((request.path_qs, dict(request.headers)))
        return web.json_response(api.details[request.query["id"]])

    app = web.Application()
    app.router.add_get("/api/list", answer)
    app.router.add_get("/api/detail", detail)
    app.router.add_get("/a/{name}", article)
    async with local_site(app) as origin:
        api.origin = origin
        yield api


def api_config(folder: Path, api: Api, max_pages: int = 5) -> Path:
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
id = "api"
type = "json"
url = "{api.origin}/api/list"
[sources.list]
item = "data.list"
link = "url"
title = "title"
content = "body"
published = "time"
page_param = "page"
max_pages = {max_pages}
""",
        encoding="utf-8",
    )
    return config


def answer(value: object) -> tuple[bytes, str]:
    return json.dumps(value, ensure_ascii=False).encode(), "application/json"


async def test_a_later_page_that_is_no_list_keeps_the_pages_before(tmp_path: Path) -> None:
    """Past the last page, `data: null` ends the list quietly; a later page that is not JSON
    at all ends it with a warning. The first pages' records were lost with the whole source."""
    pages = {"1": answer(records(1, 2)), "2": answer(records(3)),
             "3": answer({"status": -1, "data": None})}  # fmt: skip
    async with api_site(pages) as api:
        document = await preview_json(api_config(tmp_path, api), "api")
        assert [item["fields"]["title"] for item in document["items"]] == [
            "稿件1",
            "稿件2",
            "稿件3",
        ]
        assert document["warnings"] == []
        api.pages["3"] = (b"<!DOCTYPE html><script>var c = [];</script><p>verify</p>", "text/html")
        document = await preview_json(api_config(tmp_path, api), "api")
    assert len(document["items"]) == 3
    assert document["warnings"][0].startswith(f"list page 3 {api.origin}/api/list?page=3: not JSON")


async def test_the_api_is_asked_for_json_and_articles_for_pages(tmp_path: Path) -> None:
    """Sent a feed reader's Accept, an API negotiating by it answered its HTML page."""
    listed = records(1)
    del listed["data"]["list"][0]["body"]  # read from its article page
    async with api_site({"1": answer(listed)}) as api:
        await preview_json(api_config(tmp_path, api, max_pages=1), "api")
    sent = dict(api.asked)
    assert sent["/api/list"]["Accept"] == JSON_ACCEPT
    assert sent["/a/1.html"]["Accept"].startswith("application/atom+xml")


async def test_a_charset_quoted_in_a_json_string_is_no_declaration(tmp_path: Path) -> None:
    body = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    listed = records(1)
    listed["data"]["list"][0].update(title="领济工议", body=body + "<p>领济工议</p>")
    async with api_site({"1": answer(listed)}) as api:
        document = await preview_json(api_config(tmp_path, api, max_pages=1), "api")
    assert document["charset"] == "utf-8"
    assert document["items"][0]["fields"]["title"] == "领济工议"


async def test_a_record_listed_again_on_a_later_page_is_read_once(tmp_path: Path) -> None:
    """New stories arrived between two requests: page 2 repeats page 1's last record."""
    pages = {"1": answer(records(1, 2)), "2": answer(records(2, 3)), "3": answer(records())}
    async with api_site(pages) as api:
        document = await preview_json(api_config(tmp_path, api), "api")
    assert [item["fields"]["title"] for item in document["items"]] == ["稿件1", "稿件2", "稿件3"]


async def test_an_error_quoting_a_lone_surrogate_is_stored(tmp_path: Path) -> None:
    error = b'{"code": 500, "msg": "bad \\ud800 thing", "data": null}'
    async with api_site({"1": (error, "application/json")}) as api:
        config = api_config(tmp_path, api)
        code, out, err = await run_cli_async("fetch", config)
        assert "Traceback" not in err, err
        code, out, err = await run_cli_async("status", config, "--json")
    assert code == 0, err
    status = json.loads(out)
    row = status[0] if isinstance(status, list) else status["sources"][0]
    assert "finds nothing (the document has code=500" in row["last_error"]


def detail_config(folder: Path, api: Api) -> Path:
    config = api_config(folder, api, max_pages=1)
    with config.open("a", encoding="utf-8") as text:
        text.write(
            '[sources.detail]\nurl = { path = "id", template = "/api/detail?id={}" }\n'
            'item = "data"\ncontent = "content"\nauthor = "editor"\ntitle = "title"\n'
        )
    return config


async def test_a_record_without_its_body_is_read_from_its_detail_api(tmp_path: Path) -> None:
    """A portal built with a script framework: its article page is an empty shell, the body
    comes from `/api/detail?id=…`. The record's own title wins; the detail gives the rest."""
    listed = {"data": {"list": [
        {"id": 7, "url": "/a/7.html", "title": "关于冬季防火的通知", "time": "2026-11-28 09:00"},
        {"id": 8, "url": "/a/8.html", "title": "关于道路施工的公告", "time": "2026-11-27"},
        {"id": 9, "url": "/a/9.html", "title": "已有正文", "body": "<p>列表里的正文</p>"},
    ]}}  # fmt: skip
    details: dict[str, object] = {
        "7": {"code": 0, "data": {"title": "详情页标题", "editor": "王五",
                                  "content": "<p>各单位做好冬季防火。</p><script>x()</script>"}},
        "8": {"code": 404, "msg": "文章不存在", "data": None},
    }  # fmt: skip
    async with api_site({"1": answer(listed)}) as api:
        api.details = details
        document = await preview_json(detail_config(tmp_path, api), "api")
    asked = [(path, headers["Accept"]) for path, headers in api.asked if "detail" in path]
    items = {item["fields"]["url"].rsplit("/", 1)[1]: item for item in document["items"]}
    fire = items["7.html"]["fields"]
    assert fire["title"] == "关于冬季防火的通知"
    assert (fire["author"], fire["content_html"]) == ("王五", "<p>各单位做好冬季防火。</p>")
    assert items["9.html"]["fields"]["content_html"] == "<p>列表里的正文</p>"
    assert sorted(asked) == [("/api/detail?id=7", JSON_ACCEPT), ("/api/detail?id=8", JSON_ACCEPT)]
    assert any("sources.detail: 'content' reads nothing" in w for w in document["warnings"])
    assert items["8.html"]["fields"]["title"] == "关于道路施工的公告"  # stored from its record


def test_a_detail_api_is_for_json_sources_and_gives_a_body(write_config: WriteConfig) -> None:
    text = """
[[sources]]
id = "page"
type = "html"
url = "http://gov.example/list.html"
[sources.list]
item = "li"
link = "a"
[sources.detail]
url = "id"
content = "content"

[[sources]]
id = "api"
type = "json"
url = "http://api.example/list"
[sources.list]
item = "data.list"
link = "url"
[sources.detail]
item = "data"
"""
    found = "\n".join(problems(write_config, text))
    assert 'sources[0].detail: applies to type = "json" sources only' in found
    assert "sources[1].detail.url: is required" in found
    assert "sources[1].detail.content: is required" in found


async def test_a_source_s_own_accept_is_the_one_sent_however_it_is_spelt(tmp_path: Path) -> None:
    async with api_site({"1": answer(records(1))}) as api:
        config = api_config(tmp_path, api, max_pages=1)
        text = config.read_text("utf-8").replace(
            'url = "' + api.origin, 'headers = { accept = "application/vnd.api+json" }\nurl = "'
            + api.origin, 1
        )  # fmt: skip
        config.write_text(text, "utf-8")
        await preview_json(config, "api")
    listed = [headers for path, headers in api.asked if path.startswith("/api/list")]
    assert listed[0]["Accept"] == "application/vnd.api+json"  # one header, the source's
