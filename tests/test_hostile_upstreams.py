"""SPEC §8 end to end: hostile upstreams beside healthy ones, through `aggregator fetch`.

A local misbehaving site (real sockets, aiohttp) serves a dozen kinds of failure next to healthy
feeds. The CLI runs in an asyncio subprocess, so this loop keeps serving while it fetches. Each
failure must land on its own source's status with a clear error; every healthy item must arrive;
the run must be bounded in time and in memory; every log line must be structured JSON.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import re
import sqlite3
import sys
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import brotli
import numpy as np
import pytest
from aiohttp import web
from lxml import etree

from tests.conftest import FIXTURES, cli_command, free_port
from tests.upstream import local_site

MAX_BYTES = 1024 * 1024
HUGE = 200 * 1024 * 1024
TIMEOUT = 1.5
RETRY_SECONDS = 7200
RETRY_DATE_SECONDS = 3 * 3600
FAILING_AFTER = 2


def rss(prefix: str, count: int, *, extra: str = "") -> bytes:
    items = "".join(
        f"<item><title>{prefix} story {n}{extra}</title><link>http://example.org/{prefix}/{n}</link>"
        f"<guid>{prefix}-{n}</guid><description>{prefix} body {n}{extra}</description>"
        f"<pubDate>Fri, 14 Jan 2022 0{n}:00:00 +0000</pubDate></item>"
        for n in range(count)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{prefix}'
        f"</title><link>http://example.org/{prefix}/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>atom</title><id>urn:atom</id>
<updated>2022-01-14T10:00:00Z</updated>
<entry><title>atom story 0</title><id>urn:atom:0</id><link href="http://example.org/atom/0"/>
<updated>2022-01-14T10:00:00Z</updated><summary>atom body 0</summary></entry>
<entry><title>atom story 1</title><id>urn:atom:1</id><link href="http://example.org/atom/1"/>
<updated>2022-01-14T11:00:00Z</updated><summary>atom body 1</summary></entry>
</feed>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "json",
        "items": [
            {"id": f"json-{n}", "title": f"json story {n}", "url": f"http://example.org/json/{n}",
             "content_text": f"json body {n}", "date_published": "2022-01-14T10:00:00Z"}
            for n in range(2)
        ],
    }
).encode()  # fmt: skip

PAGE_WITH_FEED = b"""<!DOCTYPE html><html><head><title>a site</title>
<link rel="alternate" type="application/rss+xml" href="/alt.xml"></head><body>hi</body></html>"""
PAGE_WITHOUT_FEED = b"<!DOCTYPE html><html><head><title>no feed</title></head><body>x</body></html>"


@functools.cache
def gzip_bomb() -> bytes:
    """256 MiB of zeros in about 250 KB of gzip."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(256)]
    return b"".join(parts) + compressor.flush()


@functools.cache
def brotli_bomb() -> bytes:
    """256 MiB of zeros in a few hundred bytes of brotli, which we accept since we serve it."""
    compressed: bytes = brotli.compress(bytes(256 * 1024 * 1024), quality=1)
    return compressed


@functools.cache
def huge_item() -> bytes:
    """One item of 3 million random Chinese characters: 9 MB, under a 10 MB `max_bytes`."""
    codes = np.random.default_rng(7).integers(0x4E00, 0x9FA5, 3_000_000, dtype=np.uint32)
    text = "朱鹮保护" + codes.tobytes().decode("utf-32-le")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>huge</title>'
        "<link>http://example.org/huge/</link><item><title>huge</title><guid>huge-1</guid>"
        f"<description><![CDATA[<p>{text}</p>]]></description></item></channel></rss>"
    ).encode()


def archive(count: int, links: str = "http://example.org/archive/") -> bytes:
    """A feed listing its whole archive, oldest first, each entry a minute after the last;
    `links` may be relative to the feed's address."""
    start = datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    items = "".join(
        f"<item><title>archive story {n}</title><link>{links}{n}</link>"
        f"<guid>archive-{n}</guid><pubDate>"
        f"{format_datetime(datetime.fromtimestamp(start + 60 * n, UTC), True)}</pubDate></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>archive</title>'
        f"<link>http://example.org/archive/</link>{items}</channel></rss>"
    ).encode()


@dataclass
class Site:
    base: str = ""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    paths: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


def _app(site: Site) -> web.Application:
    def static(body: bytes, content_type: str = "application/rss+xml") -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, headers={"Content-Type": content_type})

        return handler

    def coded(body: bytes, coding: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            headers = {"Content-Type": "application/rss+xml", "Content-Encoding": coding}
            return web.Response(body=body, headers=headers)

        return handler

    def redirect(status: int, target: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": target})

        return handler

    async def hang(request: web.Request) -> web.Response:
        await asyncio.wait_for(site.stopping.wait(), 30)
        return web.Response(body=rss("late", 1))

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        try:
            while not site.stopping.is_set():
                await response.write(b" ")
                await asyncio.sleep(0.1)
        except ConnectionError:
            pass  # the client timed out, as it should
        return response

    async def huge(request: web.Request) -> web.StreamResponse:
        declared = request.match_info["how"] == "declared"
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        if declared:
            response.content_length = HUGE
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        block = b"<" * 65536
        try:
            for _ in range(HUGE // len(block)):
                await response.write(block)
        except ConnectionError:
            pass  # the client gave up, as it should
        return response

    async def bomb(request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        return web.Response(body=gzip_bomb(), headers=headers)

    async def brotli_bomb_page(request: web.Request) -> web.Response:
        assert "br" in request.headers.get("Accept-Encoding", "")
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "br"}
        return web.Response(body=brotli_bomb(), headers=headers)

    async def throttled(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": str(RETRY_SECONDS)})

    async def unavailable(request: web.Request) -> web.Response:
        when = datetime.fromtimestamp(time.time() + RETRY_DATE_SECONDS, UTC)
        return web.Response(status=503, headers={"Retry-After": format_datetime(when, True)})

    async def error(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def article(request: web.Request) -> web.Response:
        number = request.match_info["n"]
        body = f"<html><head><title>story {number}</title></head><body><article><h1>story "
        body += f"{number}</h1><p>{'The article text of this archived story. ' * 8}</p>"
        return web.Response(text=body + "</article></body></html>", content_type="text/html")

    async def chain(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"/chain/{request.match_info['n']}0"})

    # raw, and as references inside the escaped HTML of a description
    control = rss("control", 2, extra="\x01\x07\x0b\x1b &amp;#1;&amp;#xFFFE;")
    routes = {
        "/rss.xml": static(rss("rss", 3)),
        "/atom.xml": static(ATOM, "application/atom+xml"),
        "/feed.json": static(JSON_FEED, "application/feed+json"),
        "/old.xml": redirect(301, "/new.xml"),
        "/new.xml": static(rss("moved", 3)),
        "/old308.xml": redirect(308, "/new308.xml"),
        "/new308.xml": static(rss("moved308", 2)),
        "/page.html": static(PAGE_WITH_FEED, "text/html"),
        "/alt.xml": static(rss("alt", 2)),
        "/malformed.xml": static((FIXTURES / "feeds" / "malformed.xml").read_bytes()),
        "/control.xml": static(control),
        "/lying.xml": static(
            (FIXTURES / "feeds" / "lying_charset.xml").read_bytes(), "text/xml; charset=utf-8"
        ),
        "/hang.xml": hang,
        "/trickle.xml": trickle,
        "/huge/{how}": huge,
        "/bomb.xml": bomb,
        "/bomb.br.xml": brotli_bomb_page,
        # a server or proxy dying mid-body: the gzip stream stops (with an honest length)
        "/gzip-cut.xml": coded(gzip.compress(rss("cut", 20))[:-300], "gzip"),
        "/gzip-no-trailer.xml": coded(gzip.compress(rss("cut", 20))[:-8], "gzip"),
        "/compress.xml": coded(rss("compress", 2), "compress"),
        # both codings applied, gzip first (RFC 9110 8.4)
        "/gzip-br.xml": coded(brotli.compress(gzip.compress(rss("stacked", 2))), "gzip, br"),
        "/error.xml": error,
        "/throttled.xml": throttled,
        "/unavailable.xml": unavailable,
        "/loop-a": redirect(302, "/loop-b"),
        "/loop-b": redirect(302, "/loop-a"),
        "/chain/{n}": chain,
        "/empty.xml": static(b""),
        "/plain.html": static(PAGE_WITHOUT_FEED, "text/html"),
        "/entity-bomb.xml": static((FIXTURES / "feeds" / "entity_bomb.xml").read_bytes()),
        "/archive.xml": static(archive(3000)),
        "/archive-full.xml": static(archive(200, "/article/")),
        "/article/{n}": article,
        "/huge-item.xml": static(huge_item()),
    }

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        site.paths.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    # Built before the run: compressing 256 MiB on the first request stalled every other
    # upstream of this test server for over a second on a busy machine.
    await asyncio.gather(asyncio.to_thread(gzip_bomb), asyncio.to_thread(brotli_bomb))
    site = Site()
    async with local_site(_app(site), shutdown_timeout=0.5) as origin:
        site.base = origin
        yield site
        site.stopping.set()


HEALTHY = {  # source id -> (path, items expected)
    "rss": ("/rss.xml", 3),
    "atom": ("/atom.xml", 2),
    "json": ("/feed.json", 2),
    "moved": ("/old.xml", 3),
    "moved-308": ("/old308.xml", 2),
    "html-page": ("/page.html", 2),
    "malformed": ("/malformed.xml", 2),
    "control": ("/control.xml", 2),
    "lying": ("/lying.xml", 2),
    "gzip-br": ("/gzip-br.xml", 2),
}
FAILING = {  # source id -> (path or URL, error the status must show, HTTP status)
    "refused": ("http://127.0.0.1:{free}/rss.xml", "connection refused by 127.0.0.1", None),
    "dns": ("http://feeds.example.invalid/rss.xml", "DNS lookup failed for feeds.example", None),
    "hang": ("/hang.xml", f"timed out after {TIMEOUT:g}s", None),
    "trickle": ("/trickle.xml", f"timed out after {TIMEOUT:g}s", None),
    "not-found": ("/nothing-here.xml", "HTTP 404 Not Found", 404),
    "server-error": ("/error.xml", "HTTP 500 Internal Server Error", 500),
    "throttled": ("/throttled.xml", f"HTTP 429 Too Many Requests, retry after {RETRY_SECONDS}s",
                  429),
    "unavailable": ("/unavailable.xml", "HTTP 503 Service Unavailable, retry after", 503),
    "loop": ("/loop-a", "redirect loop through", 302),
    "chain": ("/chain/1", "more than 5 redirects", None),
    "huge-declared": ("/huge/declared", f"body of {HUGE} bytes exceeds fetch.max_bytes", 200),
    "huge-streamed": ("/huge/streamed", f"exceeds fetch.max_bytes ({MAX_BYTES}) streamed", 200),
    "gzip-bomb": ("/bomb.xml", f"exceeds fetch.max_bytes ({MAX_BYTES}) once decompressed", 200),
    "brotli-bomb": ("/bomb.br.xml", f"exceeds fetch.max_bytes ({MAX_BYTES}) once decompressed",
                    200),
    "empty": ("/empty.xml", "empty body", 200),
    "gzip-cut": ("/gzip-cut.xml", "body cut short: the gzip stream ends early", 200),
    "gzip-no-trailer": ("/gzip-no-trailer.xml", "body cut short: the gzip stream ends early",
                        200),
    "compress": ("/compress.xml", "Content-Encoding 'compress' is not one this service decodes",
                 200),
    "not-a-feed": ("/plain.html", "an HTML page, not a feed", 200),
    "entity-bomb": ("/entity-bomb.xml", "refused: the document declares XML entities", 200),
}  # fmt: skip


def write_config(tmp: Path, site: Site, ids: list[str]) -> Path:
    free = free_port()
    blocks = []
    for source_id in ids:
        where = HEALTHY[source_id][0] if source_id in HEALTHY else FAILING[source_id][0]
        url = where.format(free=free) if where.startswith("http") else site.url(where)
        blocks.append(f'[[sources]]\nid = "{source_id}"\nurl = "{url}"\n')
    path = tmp / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{tmp / "agg.sqlite3"}"\n\n'
        f'[fetch]\ninterval = "10m"\nmax_interval = "1d"\ntimeout = "{TIMEOUT}s"\n'
        f'max_bytes = "1MB"\nper_host = 4\nfailing_after = {FAILING_AFTER}\n\n' + "\n".join(blocks),
        encoding="utf-8",
    )
    return path


async def run(config: Path, *args: str, measure: bool = False) -> tuple[int, str, str, float]:
    """`aggregator` in a subprocess; with `measure`, through a parent that reports its peak RSS."""
    command = cli_command(args[0], config, *args[1:])
    if measure:
        command = [sys.executable, "-c", _MEASURE, *command]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=config.parent
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode(), time.monotonic() - started


# The only child of this parent is the aggregator, so RUSAGE_CHILDREN is its peak RSS (KiB).
_MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, check=False)
sys.stdout.buffer.write(done.stdout)
sys.stderr.buffer.write(done.stderr)
print(f"peak_rss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(done.returncode)
"""


async def status(config: Path) -> dict[str, dict[str, Any]]:
    code, out, err, _ = await run(config, "status", "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out)}


def log_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of a non-terminal stderr is one JSON object."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


async def test_faults_stay_on_their_source(site: Site, tmp_path: Path) -> None:
    ids = [*HEALTHY, *FAILING]
    config = write_config(tmp_path, site, ids)
    code, out, err, seconds = await run(config, "fetch")
    assert code == 1, "some sources failed"
    assert seconds < 12, f"hostile sources held the run for {seconds:.1f}s"

    rows = await status(config)
    for source_id, (_, expected) in HEALTHY.items():
        row = rows[source_id]
        assert row["last_result"] in ("ok", "degraded"), (source_id, row)
        assert row["items"] == expected, (source_id, row)
        assert row["error_streak"] == 0
        assert row["last_success"] is not None
    for source_id, (_, message, http_status) in FAILING.items():
        row = rows[source_id]
        assert row["last_result"] == "error", (source_id, row)
        assert message in row["last_error"], (source_id, row["last_error"])
        assert row["last_status"] == http_status, (source_id, row)
        assert row["items"] == 0
        assert row["error_streak"] == 1
        assert not row["failing"]

    # degraded, with what degraded it; the page's feed link followed, and said so
    assert rows["malformed"]["last_result"] == "degraded"
    assert "malformed XML, recovered" in rows["malformed"]["last_error"]
    followed = "an HTML page: followed its feed link " + site.url("/alt.xml")
    assert followed in rows["html-page"]["last_error"]
    assert rows["lying"]["charset"] == "gb18030"
    assert rows["rss"]["last_result"] == "ok"
    assert rows["rss"]["last_error"] is None
    # Retry-After, in seconds or as an HTTP date, sets the next fetch (backoff would be ~20m)
    throttled, unavailable = rows["throttled"], rows["unavailable"]
    assert throttled["next_fetch"] - throttled["last_attempt"] == pytest.approx(
        RETRY_SECONDS, abs=2
    )
    wait = unavailable["next_fetch"] - unavailable["last_attempt"]
    assert wait == pytest.approx(RETRY_DATE_SECONDS, abs=5)
    # 301 and 308 are remembered and shown
    assert rows["moved"]["effective_url"] == site.url("/new.xml")
    assert rows["moved-308"]["effective_url"] == site.url("/new308.xml")
    assert rows["rss"]["effective_url"] is None

    logs = log_lines(err)
    fetched = {line["source"]: line for line in logs if line["event"] == "fetched"}
    assert len([line for line in logs if line["event"] == "fetched"]) == len(ids)
    assert fetched.keys() == set(ids)
    for line in fetched.values():
        assert {"source", "url", "result", "status", "bytes", "new", "updated", "seconds",
                "error", "level", "time"} <= line.keys()  # fmt: skip
    assert fetched["rss"]["bytes"] == len(rss("rss", 3))
    assert fetched["rss"]["new"] == 3
    assert fetched["rss"]["status"] == 200
    assert fetched["not-found"]["level"] == "warning"
    assert fetched["not-found"]["status"] == 404
    moved = [line for line in logs if line["event"].startswith("source moved permanently")]
    assert {(m["source"], m["effective_url"]) for m in moved} == {
        ("moved", site.url("/new.xml")),
        ("moved-308", site.url("/new308.xml")),
    }

    # the next fetch goes straight to the new address; the source still reads fine
    site.paths.clear()
    code, out, err, _ = await run(config, "fetch", "moved", "moved-308")
    assert code == 0, err
    assert sorted(site.paths) == ["/new.xml", "/new308.xml"]

    # output stays well-formed: control characters and lying charsets never reach readers
    code, out, err, _ = await run(config, "render", "all", "--format", "atom")
    assert code == 0, err
    titles = etree.fromstring(out.encode()).findall("{http://www.w3.org/2005/Atom}entry/{*}title")
    assert sum(1 for t in titles if (t.text or "").startswith("control story")) == 2
    code, out, err, _ = await run(config, "render", "all", "--format", "json")
    assert code == 0, err
    control_items = [i for i in json.loads(out)["items"] if i["title"].startswith("control")]
    assert len(control_items) == 2
    for item in control_items:
        texts = [value for value in item.values() if isinstance(value, str)]
        assert texts, item
        assert not [t for t in texts if XML_FORBIDDEN.search(t)], item


async def test_failing_sources_are_flagged_and_retried_slowly(site: Site, tmp_path: Path) -> None:
    config = write_config(tmp_path, site, ["rss", "refused"])
    for _ in range(FAILING_AFTER):
        code, out, err, _ = await run(config, "fetch")
        assert code == 1
    rows = await status(config)
    refused = rows["refused"]
    assert refused["failing"]
    assert refused["error_streak"] == FAILING_AFTER
    assert refused["next_fetch"] - refused["last_attempt"] == pytest.approx(86400, abs=1)
    assert not rows["rss"]["failing"]
    code, out, err, _ = await run(config, "status")
    assert code == 0, err
    assert "FAILING (error)" in out
    assert "1 of 2 sources failing" in out
    # disabled, it is fetched no more: said so, and no longer counted as failing
    text = config.read_text("utf-8").replace(
        'id = "refused"\n', 'id = "refused"\nenabled = false\n'
    )
    config.write_text(text, "utf-8")
    code, out, err, _ = await run(config, "status")
    assert code == 0, err
    assert "disabled (FAILING (error))" in out
    assert "sources failing" not in out


async def test_peak_memory_stays_bounded_on_huge_bodies(site: Site, tmp_path: Path) -> None:
    """A 200 MB body (declared and streamed) and 256 MiB gzip and brotli bombs cost no more
    memory than fetching a small feed: the fetcher stops reading at `max_bytes`."""
    (tmp_path / "quiet").mkdir()
    baseline_config = write_config(tmp_path / "quiet", site, ["rss"])
    code, _, err, _ = await run(baseline_config, "fetch", measure=True)
    assert code == 0, err
    baseline = _peak(err)
    hostile = ["rss", "huge-declared", "huge-streamed", "gzip-bomb", "brotli-bomb"]
    code, _, err, _ = await run(write_config(tmp_path, site, hostile), "fetch", measure=True)
    assert code == 1
    for source_id in hostile[1:]:
        assert FAILING[source_id][1] in err
    peak = _peak(err)
    print(f"peak RSS: {baseline // 1024} MiB for a feed, {peak // 1024} MiB with hostile bodies")
    assert peak - baseline < 48 * 1024, (baseline, peak)


async def test_one_huge_item_costs_memory_in_proportion(site: Site, tmp_path: Path) -> None:
    """An item of 9 MB of Chinese within `max_bytes` is stored whole, and searched by its
    start: its fingerprint's bit counts and its search tokens once took 2 GB between them."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "agg.sqlite3"}"\n\n[fetch]\nmax_bytes = "10MB"\n\n'
        f'[[sources]]\nid = "huge"\nurl = "{site.url("/huge-item.xml")}"\n',
        encoding="utf-8",
    )
    code, _, err, _ = await run(config, "fetch", measure=True)
    assert code == 0, err
    peak = _peak(err)
    print(f"peak RSS: {peak // 1024} MiB for one 9 MB item")
    assert peak < 400 * 1024, peak
    with sqlite3.connect(tmp_path / "agg.sqlite3") as db:
        (stored,) = db.execute("SELECT length(content) FROM items").fetchone()
        (found,) = db.execute(
            "SELECT count(*) FROM items_search WHERE items_search MATCH '\"朱鹮 鹮保 保护\"'"
        ).fetchone()
    assert stored > 3_000_000
    assert found == 1


def _peak(stderr: str) -> int:
    return int(stderr.rsplit("peak_rss_kib=", 1)[1].split()[0])


async def test_a_document_listing_thousands_of_entries_is_read_to_its_newest(
    site: Site, tmp_path: Path
) -> None:
    """`fetch.max_entries` bounds what one document costs: records, the rows of one write
    and, with `full_content`, the article pages asked for."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "agg.sqlite3"}"\n\n[fetch]\nmax_entries = 20\n\n'
        f'[[sources]]\nid = "archive"\nurl = "{site.url("/archive.xml")}"\n\n'
        f'[[sources]]\nid = "full"\nurl = "{site.url("/archive-full.xml")}"\n'
        "full_content = true\nrespect_robots = false\n",
        encoding="utf-8",
    )
    code, out, err, _ = await run(config, "fetch")
    assert code == 0, err

    rows = await status(config)
    assert (rows["archive"]["items"], rows["full"]["items"]) == (20, 20)
    assert rows["archive"]["last_result"] == "degraded"
    bounded = "3000 entries listed: only the newest 20 read (fetch.max_entries)"
    assert bounded in rows["archive"]["last_error"]
    assert len([path for path in site.paths if path.startswith("/article/")]) == 20
    code, out, err, _ = await run(config, "render", "all", "--format", "json", "--limit", "100")
    assert code == 0, err
    titles = {item["title"] for item in json.loads(out)["items"]}
    assert {f"archive story {n}" for n in range(2980, 3000)} <= titles
    assert "archive story 2979" not in titles
    assert {f"story {n}" for n in range(180, 200)} <= titles
