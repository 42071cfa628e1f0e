"""The web app as clients see it, over a real socket: caching, conditional requests, errors."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import brotli
import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from aggregator.config import load_config
from aggregator.service import Service, running_service
from aggregator.web.app import make_app
from tests.conftest import FIXTURES

Client = TestClient[web.Request, web.Application]

CONFIG = """
[service]
title = "测试 <聚合> & co"
base_url = "http://feeds.example"
database = "{db}"
cache_max_age = "2m"

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{fixtures}/upstream/hzfb.xml"
publisher = {{ name = "汉中市人民政府新闻办公室" }}

[[sources]]
id = "portal"
name = "汉中第一网 <b>"
url = "{fixtures}/upstream/portal-rss.gbk.xml"

[[feeds]]
id = "keji"
title = "科技"
include = ["创新"]
"""


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3", fixtures=FIXTURES), "utf-8")
    config = load_config(path)
    async with running_service(config, schedule=False) as running:
        for source in config.sources:
            report = await running.pipeline.run(source)
            assert report.result == "ok", report
        yield running


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as test_client:
        yield test_client


async def test_feed_headers_and_conditional_requests(client: Client) -> None:
    response = await client.get("/feeds/all.atom")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=120"
    assert response.headers["Vary"] == "Accept-Encoding"
    etag = response.headers["ETag"]
    assert etag.startswith('"'), "a strong validator"
    body = await response.read()
    assert len(feedparser.parse(body).entries) == 4  # the portal copy merges into its story

    again = await client.get("/feeds/all.atom", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    kept = ("ETag", "Cache-Control", "Vary", "Access-Control-Allow-Origin")
    assert {name: again.headers[name] for name in kept} == {
        name: response.headers[name] for name in kept
    }, "a 304 refreshes what a cache keeps (RFC 9110 15.4.5)"
    assert "Content-Type" not in again.headers
    listed = await client.get("/feeds/all.atom", headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status == 304
    stale = await client.get("/feeds/all.atom", headers={"If-None-Match": '"other"'})
    assert stale.status == 200
    since = await client.get(
        "/feeds/all.atom", headers={"If-Modified-Since": response.headers["Last-Modified"]}
    )
    assert since.status == 304
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    for form in ("%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"):  # RFC 850, asctime
        dated = await client.get(
            "/feeds/all.atom", headers={"If-Modified-Since": modified.strftime(form)}
        )
        assert dated.status == 304, f"every HTTP-date form is read (RFC 9110 5.6.7): {form}"
    split = CIMultiDict([("If-None-Match", '"other"'), ("If-None-Match", etag)])
    lines = await client.get("/feeds/all.atom", headers=split)
    assert lines.status == 304, "one list over two lines (RFC 9110 5.3)"
    head = await client.head("/feeds/all.rss")
    assert head.status == 200
    assert head.headers["Content-Type"] == "application/rss+xml; charset=utf-8"


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("If-None-Match", ",,, ,", 200),
        ("If-None-Match", "{bare}", 200),  # the tag without its quotes
        ("If-None-Match", "{etag}x", 200),
        ("If-None-Match", "W/", 200),
        ("If-None-Match", '"' + "a" * 4000 + '"', 200),
        ("If-None-Match", "*", 304),
        ("If-Modified-Since", "not a date", 200),
        ("If-Modified-Since", "Tue, 99 Foo 2024 99:99:99 GMT", 200),
        ("If-Modified-Since", "2999-01-01", 200),  # no zone: cannot be compared, so no 304
        # later than our clock: no date we served (a client's clock years ahead)
        ("If-Modified-Since", "Thu, 01 Jan 2099 00:00:00 GMT", 200),
    ],
)
async def test_broken_validators_get_the_whole_feed(
    client: Client, header: str, value: str, status: int
) -> None:
    """A validator we cannot read never earns a 304 (the reader would keep a stale copy) and
    never an error."""
    first = await client.get("/feeds/all.atom")
    etag = first.headers["ETag"]
    sent = value.format(etag=etag, bare=etag.strip('"')) if "{" in value else value
    response = await client.get("/feeds/all.atom", headers={header: sent})
    assert response.status == status
    assert (await response.read() == await first.read()) == (status == 200)


async def test_a_reload_changes_what_cached_answers_carry(client: Client, service: Service) -> None:
    """Answer headers are kept with each rendered document: a reload must not leave the old
    lifetime on documents rendered before it."""
    first = await client.get("/feeds/all.atom")
    etag = first.headers["ETag"]
    service.config.path.write_text(
        service.config.path.read_text("utf-8").replace('"2m"', '"15m"'), "utf-8"
    )
    await service.reload()
    again = await client.get("/feeds/all.atom", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["Cache-Control"] == "public, max-age=900"
    whole = await client.get("/feeds/all.atom")
    assert whole.headers["Cache-Control"] == "public, max-age=900"
    assert whole.headers["ETag"] == etag, "the same bytes keep their validator"


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.5, gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("*", "br"),
        ("gzip;q=0, br;q=0", None),
        ("*;q=0.3, br;q=0", "gzip"),
        ("gzip;q=banana", None),
        ("identity", None),
        ("", None),
        ("gzip;q=0\nbr", "br"),  # one list over two lines (RFC 9110 5.3)
    ],
)
async def test_compression_follows_accept_encoding(
    client: Client, accept: str, coding: str | None
) -> None:
    plain = await client.get("/feeds/all.json", headers={"Accept-Encoding": "identity"})
    lines = CIMultiDict(("Accept-Encoding", line) for line in accept.split("\n"))
    sent = await client.get("/feeds/all.json", headers=lines, auto_decompress=False)
    body = await sent.read()
    assert sent.headers.get("Content-Encoding") == coding
    assert sent.headers["Vary"] == "Accept-Encoding"
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding]
    assert decode(body) == await plain.read()
    assert (sent.headers["ETag"] == plain.headers["ETag"]) == (coding is None)
    assert plain.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    # a partner's `fetch` reads the validators it sends back
    assert plain.headers["Access-Control-Expose-Headers"] == "ETag, Last-Modified"
    lines.add("If-None-Match", sent.headers["ETag"])
    again = await client.get("/feeds/all.json", headers=lines, auto_decompress=False)
    assert again.status == 304
    assert again.headers["ETag"] == sent.headers["ETag"]


async def test_unchanged_feed_is_served_from_memory(client: Client, service: Service) -> None:
    first = await (await client.get("/feeds/all.rss")).read()
    await service.db.close()  # any query now would fail: the cache must answer alone
    assert await (await client.get("/feeds/all.rss")).read() == first
    assert (await client.get("/feeds/all.rss?limit=3")).status == 500


async def test_limits_paging_and_channels(client: Client) -> None:
    page = feedparser.parse(await (await client.get("/feeds/all.atom?limit=2")).read())
    assert len(page.entries) == 2
    next_links = [link.href for link in page.feed.links if link.rel == "next"]
    assert len(next_links) == 1
    seen = [e.id for e in page.entries]
    url = next_links[0].removeprefix("http://feeds.example")
    while url:
        more = feedparser.parse(await (await client.get(url)).read())
        seen += [e.id for e in more.entries]
        links = [link.href for link in more.feed.links if link.rel == "next"]
        url = links[0].removeprefix("http://feeds.example") if links else ""
    assert len(seen) == len(set(seen)) == 4
    keji = feedparser.parse(await (await client.get("/feeds/keji.atom")).read())
    assert [e.title for e in keji.entries] == ["汉中又新增一项国字号荣誉！"]
    own = feedparser.parse(await (await client.get("/sources/portal.rss")).read())
    assert len(own.entries) == 2


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=-1",
        "limit=%C2%B2",  # "²" is a digit to str.isdigit, not to int
        "before=yesterday",
        "before=1_99999999999999999999999",  # beyond SQLite's integers
        "before=1_-9223372036854775809",
    ],
)
async def test_bad_queries_answer_400(client: Client, query: str) -> None:
    response = await client.get(f"/feeds/all.atom?{query}")
    assert response.status == 400
    assert (await response.text()).split(":")[0] in ("limit", "before")


async def test_unknown_feeds_answer_404(client: Client) -> None:
    for path, text in (("/feeds/nope.atom", "no feed 'nope'"), ("/sources/nope.json", "no source")):
        response = await client.get(path)
        assert response.status == 404
        assert (await response.text()).startswith(text)
        assert response.headers["Access-Control-Allow-Origin"] == "*", "a partner's script reads it"
    assert (await client.get("/feeds/all.xml")).status == 404


async def test_index_escapes_text_and_links_feeds(client: Client) -> None:
    page = await (await client.get("/")).text()
    assert "测试 &lt;聚合&gt; &amp; co" in page
    assert "汉中第一网 &lt;b&gt;" in page
    assert "<b>" not in page
    assert 'rel="alternate" type="application/atom+xml"' in page
    assert "http://feeds.example/feeds/keji.atom" in page


async def test_status_api(client: Client) -> None:
    document = await (await client.get("/api/sources")).json()
    rows = {row["id"]: row for row in document["sources"]}
    assert rows["hzfb"]["items"] == 3
    assert rows["portal"]["charset"] == "gb18030"
    assert rows["hzfb"]["last_result"] == "ok"


async def test_admin_api_needs_the_token(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGGREGATOR_ADMIN_TOKEN", raising=False)
    assert (await client.post("/api/reload")).status == 403
    monkeypatch.setenv("AGGREGATOR_ADMIN_TOKEN", "s3cret")
    assert (await client.post("/api/reload")).status == 401
    for wrong in ("Bearer nope", "s3cret", "Basic s3cret", "Bearer", "Bearers3cret"):
        answer = await client.post("/api/sources/hzfb/fetch", headers={"Authorization": wrong})
        assert answer.status == 401, wrong
    for scheme in ("bearer", "BEARER"):  # case-insensitive (RFC 9110 11.1)
        answer = await client.post("/api/reload", headers={"Authorization": f"{scheme} s3cret"})
        assert answer.status == 200, scheme
    # bytes that are no UTF-8: aiohttp reads them as lone surrogates, which do not encode
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"POST /api/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    assert (await reader.readline()).startswith(b"HTTP/1.1 401 ")
    writer.close()
    right = {"Authorization": "Bearer s3cret"}
    assert (await client.post("/api/sources/hzfb/fetch", headers=right)).status == 202
    assert (await client.post("/api/sources/nope/fetch", headers=right)).status == 404
    reloaded = await client.post("/api/reload", headers=right)
    assert reloaded.status == 200


async def test_invalid_reload_is_refused_and_the_running_config_stays(
    client: Client, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGGREGATOR_ADMIN_TOKEN", "s3cret")
    good = service.config.path.read_text("utf-8")
    service.config.path.write_text(good + '\n[[sources]]\nid = "BAD"\n', "utf-8")
    response = await client.post("/api/reload", headers={"Authorization": "Bearer s3cret"})
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert "sources[2].id: 'BAD' must match [a-z0-9_-]+" in errors
    assert 'sources[2].url: is required (source "BAD")' in errors
    assert (await client.get("/sources/hzfb.atom")).status == 200
    assert [s.id for s in service.config.sources] == ["hzfb", "portal"]


async def test_feeds_a_reload_adds_and_removes(
    client: Client, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds configured at start have routes of their own; a reload still rules them."""
    monkeypatch.setenv("AGGREGATOR_ADMIN_TOKEN", "s3cret")
    assert (await client.get("/feeds/keji.atom")).status == 200
    config = service.config.path.read_text("utf-8")
    renamed = config.replace('id = "keji"\ntitle = "科技"', 'id = "wenhua"\ntitle = "文化"')
    assert renamed != config
    service.config.path.write_text(renamed, "utf-8")
    response = await client.post("/api/reload", headers={"Authorization": "Bearer s3cret"})
    assert response.status == 200
    for fmt in ("atom", "rss", "json"):
        assert (await client.get(f"/feeds/keji.{fmt}")).status == 404
    added = await client.get("/feeds/wenhua.atom")
    assert added.status == 200
    assert feedparser.parse(await added.read()).feed.title == "文化"


async def test_a_burst_on_a_cold_feed_gets_one_document(client: Client, service: Service) -> None:
    """Requests that arrive together after a change are answered from one render."""
    service.generation += 1  # as a fetch that stored something does
    responses = await asyncio.gather(*(client.get("/feeds/all.atom?limit=2") for _ in range(20)))
    bodies = {await response.read() for response in responses}
    assert {response.status for response in responses} == {200}
    assert len(bodies) == 1
    assert {response.headers["ETag"] for response in responses} == {responses[0].headers["ETag"]}
    bad = await asyncio.gather(*(client.get("/feeds/all.atom?limit=abc") for _ in range(3)))
    assert {response.status for response in bad} == {400}


@pytest.mark.parametrize(
    ("request_line", "error"),
    [
        ("GET /feeds/all.json?q=汉中 HTTP/1.1", "Invalid char in url query"),
        ("GET /feeds/all.json?x=" + "a" * 9000 + " HTTP/1.1", "Got more than 8190 bytes"),
    ],
)
async def test_a_request_that_is_not_http_is_one_warning_line(
    client: Client, caplog: pytest.LogCaptureFixture, request_line: str, error: str
) -> None:
    """What curl sends for `?q=汉中` unencoded: 400, and a line in the log, no traceback."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.0 400 ") or answer.startswith(b"HTTP/1.1 400 "), answer
    (record,) = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert (record.levelname, record.getMessage(), record.exc_info) == (
        "WARNING",
        "bad request",
        None,
    )
    assert (record.client, record.error[: len(error)]) == ("127.0.0.1", error)  # type: ignore[attr-defined]
