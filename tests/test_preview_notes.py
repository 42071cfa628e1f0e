"""`preview` notes for the operator writing selectors: list dates that read as none, and
article pages that give no text. They are no fault of the source: a fetch is not degraded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from feeds.listpage import parse_list_page
from feeds.selectors import list_rules
from tests.conftest import run_cli_async
from tests.upstream import local_site

SHELL = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>汉中市人民政府</title></head>'
    "<body><noscript>We are sorry but this site does not work properly without JavaScript"
    ' enabled.</noscript><div id="app"></div><script src="/js/app.js"></script></body></html>'
)


def test_a_list_date_that_reads_as_none_is_noted() -> None:
    rows = [("1", "2026-11-28"), ("2", "置顶"), ("3", "十一月二十日")]
    page = "".join(f"<li><a href='/a/{n}.html'>标题{n}</a><span>{d}</span></li>" for n, d in rows)
    rules = list_rules({"item": "li", "link": "a", "published": "span"}, path="sources[0].list")
    listed = parse_list_page(
        f"<ul>{page}</ul>",
        url="http://gov.example/list.html",
        rules=rules,
        tz=ZoneInfo("Asia/Shanghai"),
        now=datetime(2026, 11, 29, tzinfo=UTC),
    )
    assert listed.warnings == ()
    assert listed.notes == (
        "2 of 3 items undated: sources.list.published gives '置顶', no date read from it"
        " (its article page dates it, else the time it is first seen)",
    )


async def test_preview_notes_what_fetch_does_not_count_as_a_fault(tmp_path: Path) -> None:
    """A Vue portal: its list API gives records without a body, and each article page is
    the framework's empty shell, which only its script fills in."""
    listed = {"data": {"list": [
        {"url": "/a/1.html", "title": "关于冬季防火的通知", "time": "2026-11-28 09:00"},
        {"url": "/a/2.html", "title": "关于道路施工的公告", "time": "待定"},
    ]}}  # fmt: skip

    async def api(_: web.Request) -> web.Response:
        return web.json_response(listed)

    async def shell(_: web.Request) -> web.Response:
        return web.Response(text=SHELL, content_type="text/html")

    app = web.Application()
    app.router.add_get("/api/list", api)
    app.router.add_get("/a/{name}", shell)
    async with local_site(app) as origin:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[service]
database = "{tmp_path / "db.sqlite3"}"
[fetch]
respect_robots = false
timeout = "5s"
[[sources]]
id = "vue"
type = "json"
url = "{origin}/api/list"
[sources.list]
item = "data.list"
link = "url"
title = "title"
published = "time"
""",
            encoding="utf-8",
        )
        code, out, err = await run_cli_async("preview", config, "vue", "--json")
        assert code == 0, err
        document: dict[str, Any] = json.loads(out)
        code, out, err = await run_cli_async("fetch", config)
    assert document["warnings"] == []
    assert document["notes"] == [
        f"list page 1 {origin}/api/list: 1 of 2 items undated: sources.list.published gives"
        " '待定', no date read from it (its article page dates it, else the time it is first"
        " seen)",
        f"2 of 2 items have no text: their article page ({origin}/a/1.html) shows none; a page"
        " its script fills in is not read",
    ]
    assert code == 0, err
    assert "vue" in out
    assert "degraded" not in out
