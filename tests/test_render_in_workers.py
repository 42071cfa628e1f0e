"""Big and archive pages rendered in the parsing processes: the same bytes as on the loop,
the running config, a dead worker's page rendered anyway, and the loop left free."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import pytest
from yarl import URL

from aggregator import renderjobs
from aggregator.config import load_config
from aggregator.cpu import CpuPool
from aggregator.documents import Page, Query, parse_cursor, render_page
from aggregator.service import Service, running_service
from storage import ReadOnlyDatabase, StorageError
from tests.conftest import ROOT
from tests.pauses import longest_pause
from tests.publishing import BASE, Client, client_for, fetched_service


@pytest.fixture
async def pooled(tmp_path: Path) -> AsyncIterator[Service]:
    async with fetched_service(tmp_path, cpu=CpuPool(1, preload=renderjobs.PRELOAD)) as service:
        await service.cpu.start()
        yield service


async def _on_the_loop(service: Service, path: str) -> bytes:
    """What the loop renders for `path` (a feed route and its query), as the route would."""
    route, _, raw_query = path.partition("?")
    kind, _, name = route.strip("/").partition("/")
    ident, _, fmt = name.partition(".")
    params = dict(parse_qsl(raw_query))
    before = parse_cursor(params["before"]) if "before" in params else None
    query = Query(limit=int(params["limit"]) if "limit" in params else None, before=before,
                  text=params.get("q"), tag=params.get("tag"))  # fmt: skip
    extra = tuple((k, v) for k, v in params.items() if k != "before")
    base = service.config.service.base_url
    self_url = base + str(URL(path))  # as the route spells it
    page = Page(kind, ident, fmt, query, self_url, base + route, extra)
    body, _ = await render_page(service.config, service.db, page)
    return body


async def test_workers_render_what_the_loop_renders(pooled: Service) -> None:
    paths = [
        f"/{kind}/{ident}.{fmt}?limit=200"
        for kind, ident in [
            ("feeds", "all"),
            ("feeds", "keji"),
            ("feeds", "local"),
            ("sources", "hzfb"),
            ("sources", "portal"),
            ("sources", "hostile"),
        ]
        for fmt in ("atom", "rss", "json")
    ]
    paths += ["/feeds/all.json?limit=101&q=%E6%B1%89%E4%B8%AD"]
    paths += ["/feeds/all.rss?limit=101&tag=%E6%94%BF%E5%8A%A1"]
    # Empty: JSON, as an empty Atom or RSS document is dated when the process rendering it began.
    empty = ["/feeds/all.json?limit=101&q=%22%20OR%20NEAR(%2A%20-%5E"]  # FTS5 syntax as words
    empty += ["/feeds/all.json?limit=500&before=-1e308_-9223372036854775808"]  # past everything
    async with client_for(pooled) as client:
        first = await (await client.get("/feeds/all.json?limit=1")).json()
        paths.append(first["next_url"].removeprefix(BASE))  # a cursor: an archive page
        for path in paths + empty:
            response = await client.get(path)
            assert response.status == 200, path
            body = await response.read()
            assert body == await _on_the_loop(pooled, path), path
            has_entries = any(mark in body for mark in (b"<entry>", b"<item>", b'"items":[{'))
            assert has_entries == (path in paths), path
    worker = await pooled.cpu.run(os.getpid)
    assert worker != os.getpid(), "the pool has a process of its own"


async def test_a_reload_reaches_the_workers(pooled: Service, tmp_path: Path) -> None:
    async with client_for(pooled) as client:
        before = await (await client.get("/feeds/local.atom?limit=200")).text()
        assert "<title>本地</title>" in before
        config = tmp_path / "config.toml"
        text = config.read_text("utf-8").replace('title = "本地"', 'title = "本地新闻"')
        config.write_text(text, "utf-8")
        await pooled.reload()
        after = await (await client.get("/feeds/local.atom?limit=200")).text()
        assert "<title>本地新闻</title>" in after
        assert after.count("<entry>") == before.count("<entry>") > 0


async def test_a_dead_worker_leaves_the_document_to_the_loop(
    pooled: Service, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_for(pooled) as client:
        os.kill(await pooled.cpu.run(os.getpid), signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="aggregator.render"):
            response = await client.get("/feeds/all.atom?limit=300")
        assert response.status == 200
        assert await response.read() == await _on_the_loop(pooled, "/feeds/all.atom?limit=300")
        assert "rendering on the event loop" in caplog.text
        await pooled.cpu.start()
        again = await client.get("/feeds/all.atom?limit=301")  # a new worker renders it
        assert await again.read() == await _on_the_loop(pooled, "/feeds/all.atom?limit=301")
        assert await pooled.cpu.run(os.getpid) != os.getpid()


def _big_feed(path: Path, entries: int) -> None:
    """A feed of `entries` items of about 2 KB each, Chinese and English."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items = "".join(
        f"<item><title>汉中 news {n}</title><link>http://example.org/{n}</link>"
        f"<guid>big-{n}</guid><pubDate>{format_datetime(start + timedelta(minutes=n))}</pubDate>"
        f"<description>{escape(f'<p>第{n}条 汉中市 news of the day {n}.</p>' * 40)}</description>"
        "</item>"
        for n in range(entries)
    )
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        f"<link>http://example.org/</link>{items}</channel></rss>",
        "utf-8",
    )


async def _big_page(client: Client, path: str) -> None:
    """`path`, compressed, with its 500 entries."""
    response = await client.get(path, headers={"Accept-Encoding": "br"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "br"
    assert (await response.read()).count(b"<entry>") == 500


async def test_a_cold_page_of_500_entries_leaves_the_loop_free(tmp_path: Path) -> None:
    """Before, the loop rendered and compressed it: readers of every other feed waited as
    long as the request took (about 70 ms here). Each page is a new cursor, so a cold one."""
    _big_feed(tmp_path / "big.xml", 600)
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[service]\nbase_url = "{BASE}"\ndatabase = "{tmp_path / "db.sqlite3"}"\n'
        '[fetch]\nmax_entries = 1000\n[[sources]]\nid = "big"\nurl = "big.xml"\n',
        "utf-8",
    )
    config = load_config(config_path)
    cpu = CpuPool(1, preload=renderjobs.PRELOAD)
    async with running_service(config, schedule=False, cpu=cpu) as service:
        assert not (await service.pipeline.run(config.sources[0])).failed
        async with client_for(service) as client:
            for attempt in range(3):
                cursor = f"9999999999.0_{10**9 + attempt}"
                path = f"/sources/big.atom?limit=500&before={cursor}"
                _, pause, took = await longest_pause(_big_page(client, path))
                if pause < took / 3:
                    break
            assert pause < took / 3, (pause, took)


async def test_a_read_only_store_reads_beside_the_writer_and_names_a_missing_file(
    pooled: Service, tmp_path: Path
) -> None:
    store = ReadOnlyDatabase(pooled.db.path)
    try:
        assert await store.items_versions() == await pooled.db.items_versions()
    finally:
        store.close()
    with pytest.raises(StorageError, match=r"nowhere\.sqlite3"):
        ReadOnlyDatabase(tmp_path / "nowhere.sqlite3")


async def test_first_pages_stay_on_the_loop_and_others_wait_for_the_workers() -> None:
    """Readers poll first pages and wait for their render after each change: a worker, at a
    lower priority and busy parsing, would keep them waiting. Nor does a page wait for the
    workers to start: the loop renders it, and the start begins."""
    cpu = CpuPool(1, preload=renderjobs.PRELOAD)
    renderer = renderjobs.PooledRenderer(cpu)
    first = Page("feeds", "all", "atom", Query(), "x", "x")
    big = Page("feeds", "all", "atom", Query(limit=500), "x", "x")
    archive = Page("feeds", "all", "atom", Query(before=(1.0, 1)), "x", "x")
    try:
        assert not renderer.takes(big, 500)
        assert not cpu.started
        await cpu.start()  # the call above began it
        assert not renderer.takes(first, 50)
        assert not renderer.takes(first, renderjobs.ON_LOOP_ENTRIES)
        assert renderer.takes(big, 500)
        assert renderer.takes(archive, 50)
    finally:
        await cpu.close()


async def test_the_shipped_config_with_its_html_sources_reaches_the_workers(
    tmp_path: Path,
) -> None:
    """Its selectors are compiled lxml objects, which did not pickle: under such a config,
    every page a worker rendered would have failed."""
    text = (ROOT / "config.toml").read_text("utf-8")
    text = text.replace('url = "examples/', f'url = "{ROOT}/examples/')
    text = text.replace('database = "var/aggregator.sqlite3"', f'database = "{tmp_path}/db"')
    (tmp_path / "config.toml").write_text(text, "utf-8")
    config = load_config(tmp_path / "config.toml")
    assert any(source.type == "html" for source in config.sources)
    cpu = CpuPool(1, preload=renderjobs.PRELOAD)
    async with running_service(config, schedule=False, cpu=cpu) as service:
        for source in config.sources:
            assert not (await service.pipeline.run(source)).failed, source.id
        await cpu.start()
        async with client_for(service) as client:
            for path in ("/sources/hz1w.atom?limit=200", "/feeds/all.rss?limit=200"):
                response = await client.get(path)
                assert response.status == 200, path
                body = await response.read()
                assert b"<entry>" in body or b"<item>" in body, path
                assert body == await _on_the_loop(service, path), path
