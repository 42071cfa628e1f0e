"""Upstream answers only a raw socket can send: header bytes that are not UTF-8.

aiohttp reads them as lone surrogates, which SQLite cannot store: a Latin-1 `ETag` or
`Location` once failed the whole `aggregator fetch` run with a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_hostile_upstreams import rss, run, status

LATIN1 = b"caf\xe9"  # not UTF-8


def _answer(head: bytes, body: bytes = b"") -> bytes:
    return head + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


ANSWERS = {  # path -> the raw answer
    "/etag.xml": _answer(b'HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "'
                         + LATIN1 + b'"', rss("etag", 2)),
    "/modified.xml": _answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                             b"Last-Modified: Sat, 28 Nov 2026 10:00:00 GMT" + LATIN1,
                             rss("modified", 2)),
    "/moved.xml": _answer(b"HTTP/1.1 301 Moved\r\nLocation: /fine/" + LATIN1),
    "/fine/caf%E9": _answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml",
                            rss("fine", 2)),
    "/reason.xml": _answer(b"HTTP/1.1 404 Nicht gefunden " + LATIN1),
    "/far-retry.xml": _answer(b"HTTP/1.1 503 Busy\r\nRetry-After: Mon, 01 Jan 99999999999 "
                              b"00:00:00 GMT"),
    "/unasked-304.xml": _answer(b"HTTP/1.1 304 Not Modified"),
    "/wrong-coding.xml": _answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                 b"Content-Encoding: gzip", rss("plain", 40)),
    "/digits-retry.xml": _answer(b"HTTP/1.1 429 Slow down\r\nRetry-After: " + b"9" * 400),
    "/healthy.xml": _answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml",
                            rss("healthy", 3)),
}  # fmt: skip


@dataclass
class RawSite:
    base: str = ""
    asked: list[tuple[str, bytes]] = field(default_factory=list)  # path, request head


@pytest.fixture
async def raw_site() -> AsyncIterator[RawSite]:
    site = RawSite()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode("ascii")
        site.asked.append((path, head))
        writer.write(ANSWERS.get(path, _answer(b"HTTP/1.1 404 Not Found")))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    site.base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield site


async def test_header_bytes_that_are_not_utf8_stay_on_their_source(
    raw_site: RawSite, tmp_path: Path
) -> None:
    ids = ["etag", "modified", "moved", "reason", "far-retry", "healthy"]
    ids += ["unasked-304", "wrong-coding", "digits-retry"]
    blocks = "".join(f'[[sources]]\nid = "{i}"\nurl = "{raw_site.base}/{i}.xml"\n\n' for i in ids)
    config = tmp_path / "config.toml"
    config.write_text(f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n{blocks}', "utf-8")

    code, _, err, _ = await run(config, "fetch")
    assert code == 1, "some sources failed"
    assert "Traceback" not in err
    rows = await status(config)
    for source_id in ("etag", "modified", "moved", "healthy"):
        assert rows[source_id]["last_result"] == "ok", rows[source_id]
    assert rows["healthy"]["items"] == 3
    assert rows["etag"]["items"] == rows["modified"]["items"] == rows["moved"]["items"] == 2
    # the bytes are percent-encoded, as browsers encode them in a Location
    assert any(path == "/fine/caf%E9" for path, _ in raw_site.asked)
    assert rows["reason"]["last_status"] == 404
    assert "HTTP 404 Nicht gefunden caf%E9" in rows["reason"]["last_error"]
    far = rows["far-retry"]
    assert far["last_status"] == 503, far
    assert "internal error" not in far["last_error"], "a date out of range is no date"
    unasked = rows["unasked-304"]
    assert (unasked["last_result"], unasked["last_status"]) == ("error", 304)
    assert "HTTP 304 Not Modified, though nothing was asked conditionally" in unasked["last_error"]
    garbled = rows["wrong-coding"]["last_error"]
    assert "\n" not in garbled, "one line of the status table, not the upstream's bytes"
    assert len(garbled) < 300, garbled
    assert "body cannot be decoded: the gzip stream is corrupt (incorrect header check)" in garbled
    assert rows["digits-retry"]["last_error"].endswith("HTTP 429 Slow down"), "no 'infs'"

    # the validators go back as they were stored; the next fetch asks conditionally
    raw_site.asked.clear()
    code, _, err, _ = await run(config, "fetch", "etag", "modified")
    assert code == 0, err
    heads = dict(raw_site.asked)
    assert b'If-None-Match: "caf%E9"' in heads["/etag.xml"]
    assert b"If-Modified-Since: Sat, 28 Nov 2026 10:00:00 GMTcaf%E9" in heads["/modified.xml"]
