"""A document cut short (a connection or a server stopped mid-body) empties nothing stored,
and a whole document's validators, present or absent, replace the stored ones."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from aggregator.config import load_config
from aggregator.service import running_service
from tests.upstream import local_site

BODY = "汉中新闻正文。" * 60


def feed(count: int) -> bytes:
    items = "".join(
        f"<item><title>第{n}条</title><link>http://example.org/{n}</link><guid>n{n}</guid>"
        f"<description>{BODY}第{n}条完</description></item>"
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@dataclass
class Upstream:
    """`whole`: the feed with ETag "v1" (a 304 to it); `cut`: its first bytes, through the
    third item's text, without validators; `bare`: the whole feed without validators;
    `always cut`: the cut body with ETag "c1" (a 304 to it)."""

    mode: str = "whole"
    asked_with: list[str | None] = field(default_factory=list)


@asynccontextmanager
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    site = Upstream()
    whole = feed(3)

    async def handle(request: web.Request) -> web.Response:
        site.asked_with.append(request.headers.get("If-None-Match"))
        cut = whole[: whole.rindex("第3条完".encode()) - 30]
        if site.mode == "cut":
            return web.Response(body=cut)
        if site.mode == "always cut":  # a generator that never ends its document
            if request.headers.get("If-None-Match") == '"c1"':
                return web.Response(status=304, headers={"ETag": '"c1"'})
            return web.Response(body=cut, headers={"ETag": '"c1"'})
        if site.mode == "bare":
            return web.Response(body=whole)
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=whole, headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed.xml", handle)
    async with local_site(app) as origin:
        yield site, f"{origin}/feed.xml"


def stored(database: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT upstream_id, content FROM items").fetchall())


async def test_a_cut_document_empties_nothing_and_keeps_the_validators(tmp_path: Path) -> None:
    """The entry open at the cut was stored as far as it went, replacing the whole one, and
    the stored ETag stayed, so every later request was answered 304: the cut item for good."""
    async with upstream() as (site, url):
        config_file = tmp_path / "config.toml"
        database = tmp_path / "db.sqlite3"
        config_file.write_text(
            f'[service]\ndatabase = "{database}"\n\n[[sources]]\nid = "s"\nurl = "{url}"\n',
            encoding="utf-8",
        )
        config = load_config(config_file)
        source = config.sources[0]
        async with running_service(config, schedule=False) as service:
            assert (await service.pipeline.run(source)).result == "ok"
            whole = stored(database)
            assert "第3条完" in whole["n3"]

            site.mode = "cut"
            report = await service.pipeline.run(source)
            assert report.result == "degraded"
            assert stored(database) == whole, "the cut entry replaced nothing"
            assert (await service.db.fetch_state("s")).etag == '"v1"'

            site.mode = "whole"
            assert (await service.pipeline.run(source)).result == "not modified"
            assert site.asked_with[-1:] == ['"v1"']

            site.mode = "bare"
            assert (await service.pipeline.run(source)).result in ("ok", "unchanged")
            assert (await service.db.fetch_state("s")).etag is None
            await service.pipeline.run(source)
            assert site.asked_with[-1:] == [None], "validators of a document no longer held"

            site.mode = "always cut"  # read whole twice, then answered by 304 as before
            assert (await service.pipeline.run(source)).result == "degraded"
            assert (await service.pipeline.run(source)).result == "unchanged"
            assert (await service.pipeline.run(source)).result == "not modified"
            assert site.asked_with[-3:] == [None, None, '"c1"']
    assert stored(database) == whole
