"""JSON list sources asked for by POST (`form` or `json` in `[sources.list]`), as government
platforms and news apps fill their lists: a real loopback API that answers POST only."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from aggregator.config import load_config
from aggregator.errors import ConfigError
from feeds.jsonpost import PostBody
from tests.conftest import WriteConfig, run_cli_async
from tests.test_html_sources import preview_json
from tests.upstream import local_site


def record(number: int, page: int) -> dict[str, object]:
    return {
        "id": number,
        "title": f"第{page}页的稿件{number}",
        "content": f"<p>正文{number}</p>",
        "publishTime": f"2026-11-{20 + page:02d} 09:30",
    }


class Api:
    """A list API of two pages and an empty third, read from a POST's form or JSON body; a
    GET answers 405, as such APIs do."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, object]]] = []

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            if request.content_type == "application/json":
                sent: dict[str, object] = await request.json()
                info = sent.get("pageInfo")
                page = int(str(info.get("pageNo", 1))) if isinstance(info, dict) else 1
            else:
                sent = dict(parse_qsl(await request.text()))
                page = int(str(sent.get("pageNo", 1)))
            self.asked.append((request.content_type, sent))
            found = [record(page * 10 + n, page) for n in range(2)] if page <= 2 else []
            return web.json_response({"code": 0, "data": {"list": found}})

        async def redirected(_: web.Request) -> web.Response:
            raise web.HTTPSeeOther("/api/list")

        async def got(_: web.Request) -> web.Response:
            return web.Response(status=405, text="POST only")

        app = web.Application()
        app.router.add_post("/api/list", answer)
        app.router.add_post("/old/list", redirected)
        app.router.add_get("/api/list", got)
        return app


def config(folder: Path, url: str, body: str, *, more: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[service]
database = "{folder / "db.sqlite3"}"
timezone = "Asia/Shanghai"

[fetch]
timeout = "5s"
respect_robots = false

[[sources]]
id = "gov"
name = "集约化平台"
type = "json"
url = "{url}"
[sources.list]
item = "data.list"
link = {{ path = "id", template = "/art/{{}}.html" }}
title = "title"
content = "content"
published = "publishTime"
{body}
{more}
""",
        encoding="utf-8",
    )
    return path


async def test_a_form_posted_list_is_read_page_by_page(tmp_path: Path) -> None:
    """`form = {…}` with `page_param = "pageNo"`: each page is asked for by POST with the
    form's page field one more, until a page lists nothing. A GET answered 405."""
    api = Api()
    async with local_site(api.app()) as origin:
        body = 'form = { columnId = 1229, pageNo = 1, webName = "汉中" }'
        more = 'page_param = "pageNo"\nmax_pages = 5'
        document = await preview_json(
            config(tmp_path, f"{origin}/api/list", body, more=more), "gov"
        )
    titles = sorted(item["fields"]["title"] for item in document["items"])
    assert titles == ["第1页的稿件10", "第1页的稿件11", "第2页的稿件20", "第2页的稿件21"]
    assert [sent for _, sent in api.asked] == [
        {"columnId": "1229", "pageNo": str(page), "webName": "汉中"} for page in (1, 2, 3)
    ]
    assert {kind for kind, _ in api.asked} == {"application/x-www-form-urlencoded"}


async def test_a_json_posted_list_numbers_a_nested_page_field(tmp_path: Path) -> None:
    api = Api()
    async with local_site(api.app()) as origin:
        body = 'json = { unitId = "4571", pageInfo = { pageNo = 1, pageSize = 2 } }'
        more = 'page_param = "pageInfo.pageNo"\nmax_pages = 2'
        document = await preview_json(
            config(tmp_path, f"{origin}/api/list", body, more=more), "gov"
        )
    assert len(document["items"]) == 4
    assert [sent for _, sent in api.asked] == [
        {"unitId": "4571", "pageInfo": {"pageNo": page, "pageSize": 2}} for page in (1, 2)
    ]


async def test_a_post_answered_see_other_is_read_there_by_get(tmp_path: Path) -> None:
    """A 303 sends the reader to another address by GET, as browsers do: the API there
    answers a GET 405, which the fetch reports."""
    api = Api()
    async with local_site(api.app()) as origin:
        path = config(tmp_path, f"{origin}/old/list", "form = { pageNo = 1 }")
        code, _, err = await run_cli_async("fetch", path)
    assert code == 1
    assert "HTTP 405" in err
    assert api.asked == []


async def test_fetched_posted_records_are_stored_and_fetched_again(tmp_path: Path) -> None:
    """An answer to a POST has no validators to ask it again with: every fetch posts anew,
    and an unchanged answer stores nothing."""
    api = Api()
    async with local_site(api.app()) as origin:
        path = config(tmp_path, f"{origin}/api/list", "form = { pageNo = 1 }")
        for _ in range(2):
            code, out, err = await run_cli_async("fetch", path)
            assert code == 0, err
        code, rendered, err = await run_cli_async("render", path, "all", "--format", "json")
    assert code == 0, err
    assert len(json.loads(rendered)["items"]) == 2
    assert len(api.asked) == 2
    assert out.splitlines()[-1].split()[:2] == ["gov", "unchanged"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("form = { a = 1 }\njson = { b = 2 }", "sources[0].list: form and json both give"),
        ('form = "pageNo=1"', "sources[0].list.form: expected a table"),
        ("form = { a = [1, 2] }", "sources[0].list.form.a: expected a string or a number"),
        ('json = "{}"', "sources[0].list.json: expected a table"),
        (
            'json = { page = 1 }\npage_param = "page.no"',
            "sources[0].list.page_param: 'page.no': the JSON body has no object to hold it",
        ),
    ],
)
def test_a_bodys_faults_are_named_at_their_key(
    write_config: WriteConfig, body: str, said: str
) -> None:
    text = (
        '[[sources]]\nid = "gov"\ntype = "json"\nurl = "https://x.example/api"\n'
        f'[sources.list]\nitem = "data"\nlink = "url"\n{body}\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    assert any(problem.startswith(said) for problem in info.value.problems), info.value.problems


def test_page_numbers_keep_the_type_the_config_gives() -> None:
    """`"1"` stays a string and `1` a number, in a form and in a JSON body; a field the
    config does not give is 2 on page 2."""
    form = PostBody(form=(("pageNo", "0"), ("size", "20")))
    assert form.for_page("pageNo", 3)[0] == b"pageNo=2&size=20"
    assert form.for_page("page", 2)[0] == b"pageNo=0&size=20&page=2"
    document = PostBody(document='{"page": "1", "size": 20}')
    assert json.loads(document.for_page("page", 2)[0]) == {"page": "2", "size": 20}
    assert json.loads(document.for_page("cursor.page", 2)[0])["cursor"] == {"page": 2}
    assert document.for_page("page", 1)[1].startswith("application/json")


async def test_a_posted_list_naming_itself_as_its_next_page_is_asked_once(tmp_path: Path) -> None:
    """`next_page` giving the list's own address, the body the same: the same request was
    sent again up to `max_pages` times."""
    asked: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(await request.text())
        found = {"list": [record(10, 1)], "next": "/api/list"}
        return web.json_response({"code": 0, "data": found})

    app = web.Application()
    app.router.add_post("/api/list", answer)
    async with local_site(app) as origin:
        more = 'next_page = "data.next"\nmax_pages = 5'
        path = config(tmp_path, f"{origin}/api/list", "form = { pageNo = 1 }", more=more)
        document = await preview_json(path, "gov")
    assert len(document["items"]) == 1
    assert asked == ["pageNo=1"]


async def test_a_post_moved_by_301_is_asked_at_its_own_address_again(tmp_path: Path) -> None:
    """A 301 answering a POST is followed by GET, as browsers do: the form's answer lies there,
    but the form did not move, and asking the new address by POST would be refused."""
    asked: list[tuple[str, str]] = []

    async def moved(request: web.Request) -> web.Response:
        asked.append((request.method, request.path))
        raise web.HTTPMovedPermanently("/static/list.json")

    async def static(request: web.Request) -> web.Response:
        asked.append((request.method, request.path))
        if request.method != "GET":
            return web.Response(status=405, text="GET only")
        return web.json_response({"data": {"list": [record(1, 1)]}})

    app = web.Application()
    app.router.add_post("/api/list", moved)
    app.router.add_route("*", "/static/list.json", static)
    async with local_site(app) as origin:
        path = config(tmp_path, f"{origin}/api/list", "form = { pageNo = 1 }")
        for _ in range(2):
            code, _, err = await run_cli_async("fetch", path)
            assert code == 0, err
        code, status, err = await run_cli_async("status", path)
    assert code == 0, err
    assert asked == [("POST", "/api/list"), ("GET", "/static/list.json")] * 2
    assert "moved" not in status


async def test_an_api_that_ignores_the_page_number_is_asked_twice_and_said_so(
    tmp_path: Path,
) -> None:
    """Page 2 answering as page 1 did (the field is not the one the API reads) ends the list
    with a warning, rather than ask `max_pages` times at every fetch."""
    asked: list[str] = []

    async def same(request: web.Request) -> web.Response:
        asked.append(await request.text())
        return web.json_response({"data": {"list": [record(1, 1), record(2, 1)]}})

    app = web.Application()
    app.router.add_post("/api/list", same)
    async with local_site(app) as origin:
        more = 'page_param = "pageNum"\nmax_pages = 50'
        path = config(tmp_path, f"{origin}/api/list", "form = { pageNo = 1 }", more=more)
        document = await preview_json(path, "gov")
    assert asked == ["pageNo=1", "pageNo=1&pageNum=2"]
    assert len(document["items"]) == 2
    assert document["warnings"] == [
        f"list page 2 {origin}/api/list: lists only what page 1 listed, and the list ends"
        " there: does the upstream read sources.list.page_param 'pageNum'?"
    ]


async def test_a_page_past_the_last_showing_the_last_again_ends_the_list_quietly(
    tmp_path: Path,
) -> None:
    """APIs that clamp the page number answer page 3 of 2 as page 2: no fault of the config."""
    asked: list[str] = []

    async def clamped(request: web.Request) -> web.Response:
        asked.append(request.query["page"])
        page = min(int(request.query["page"]), 2)
        return web.json_response({"data": {"list": [record(page * 10 + n, page) for n in (0, 1)]}})

    app = web.Application()
    app.router.add_get("/api/list", clamped)
    async with local_site(app) as origin:
        more = 'page_param = "page"\nmax_pages = 20'
        document = await preview_json(
            config(tmp_path, f"{origin}/api/list?page=1", "", more=more), "gov"
        )
    assert asked == ["1", "2", "3"]
    assert len(document["items"]) == 4
    assert document["warnings"] == []
