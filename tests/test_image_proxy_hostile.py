"""The picture route against hosts and readers that misbehave, through the real app and local
upstreams: pictures that hang, readers that stop reading, types that are no raster picture,
redirects between a listed domain's hosts, addresses too long for a request line."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator.config import load_config
from aggregator.imageproxy import ImageProxy, image_proxy
from aggregator.service import Service, running_service
from aggregator.web.app import make_app
from aggregator.web.images import CACHE_BYTES, FETCHES_AT_ONCE
from aggregator.workers import start_site
from tests.upstream import local_site

Client = TestClient[web.Request, web.Application]
HOST_SHARE = FETCHES_AT_ONCE // 2  # of the places for pictures in hand, one host's
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
BIG = b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024)  # not kept: held only while sent
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
TIMEOUT = 4  # fetch.timeout; a picture waits for a place half as long
CONFIG = """
[service]
base_url = "http://feeds.example"
database = "{db}"
image_proxy_hosts = [{hosts}]

[fetch]
timeout = "{timeout}s"
max_bytes = "12MB"
{more}

[[sources]]
id = "pics"
name = "Pics"
url = "{origin}/feed.rss"
"""
TYPES = {
    "xml.png": "image/x-foo+xml",  # any `+xml` type is read as XML, SVG's script and all
    "svg.png": "IMAGE/SVG+XML; charset=utf-8",
    "unknown.png": "image/x-foo",
    "jpg.png": "image/jpg",
    "icon.png": "image/vnd.microsoft.icon",
}


@dataclass
class Host:
    """A picture host: `/hang/…` never answers, `/big/…` is too big to keep, `/types/NAME`
    is sent with `TYPES[NAME]`, `/redir` sends to another host of its domain, `/away` to a
    host of no listed domain."""

    origin: str = ""
    hits: list[str] = field(default_factory=list)
    answering: int = 0

    def app(self) -> web.Application:
        async def feed(request: web.Request) -> web.Response:
            item = (
                f'<video controls><source src="{self.origin}/media/v.mp4" type="video/mp4">'
                f'</video><img src="{self.origin}/img/a.png">'
                f'<img src="{self.origin}/img/long.png?{"q" * 6300}">'
            )
            rss = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Pics</title>'
                "<item><title>Pictures</title><link>http://pics.example/1</link>"
                f"<description><![CDATA[{item}]]></description></item></channel></rss>"
            )
            return web.Response(text=rss, content_type="application/rss+xml")

        async def picture(request: web.Request) -> web.StreamResponse:
            self.hits.append(request.path_qs)
            name = request.path.rsplit("/", 1)[-1]
            if request.path.startswith("/hang/"):
                self.answering += 1
                try:
                    await asyncio.sleep(3600)
                finally:
                    self.answering -= 1
            if request.path.startswith("/big/"):
                return web.Response(body=BIG, content_type="image/png")
            if request.path.startswith("/types/"):
                return web.Response(body=SVG if "xml" in name else PNG,
                                    headers={"Content-Type": TYPES[name]})  # fmt: skip
            if request.path == "/redir":
                raise web.HTTPFound("http://b.pics.test/img/sibling.png")
            if request.path == "/away":
                raise web.HTTPFound("http://pics.test.example/img/away.png")
            return web.Response(body=PNG, content_type="image/png")

        app = web.Application()
        app.router.add_get("/feed.rss", feed)
        app.router.add_get("/{path:.*}", picture)
        return app


@asynccontextmanager
async def hosts(count: int) -> AsyncIterator[list[Host]]:
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(count):
            host = Host()
            host.origin = await stack.enter_async_context(
                local_site(host.app(), shutdown_timeout=0.1)
            )
            found.append(host)
        yield found


@asynccontextmanager
async def serving(
    tmp_path: Path, origin: str, listed: list[str], more: str = ""
) -> AsyncIterator[tuple[Service, Client, ImageProxy]]:
    path = tmp_path / "config.toml"
    quoted = ", ".join(f'"{name}"' for name in listed)
    text = CONFIG.format(
        db=tmp_path / "db.sqlite3", hosts=quoted, timeout=TIMEOUT, more=more, origin=origin
    )
    path.write_text(text, "utf-8")
    async with running_service(load_config(path), schedule=False) as service:
        report = await service.pipeline.run(service.config.sources[0])
        assert report.result == "ok", report
        proxy = await image_proxy(service.config, service.db)
        assert proxy is not None
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            yield service, client, proxy


async def until(check: Callable[[], bool]) -> None:
    """Wait for what the upstreams see, at most ten seconds."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never came")


def ours(proxy: ImageProxy, url: str) -> str:
    address = proxy.address(url)
    assert address is not None, url
    return address.removeprefix("http://feeds.example")


def netloc(host: Host) -> str:
    return urlsplit(host.origin).netloc


async def test_a_hanging_host_takes_its_share_of_places_and_no_more(tmp_path: Path) -> None:
    async with hosts(3) as (hung, other, third):
        listed = [netloc(hung), netloc(other), netloc(third)]
        async with serving(tmp_path, hung.origin, listed) as (_, client, proxy):
            waiting = [
                asyncio.ensure_future(client.get(ours(proxy, f"{hung.origin}/hang/{n}")))
                for n in range(8)
            ]
            await until(lambda: hung.answering >= HOST_SHARE)
            answer = await client.get(ours(proxy, f"{other.origin}/img/a.png"))
            assert answer.status == 200
            assert not any(task.done() for task in waiting), "answered while the host hangs"
            assert hung.answering == HOST_SHARE
            more = [
                asyncio.ensure_future(client.get(ours(proxy, f"{other.origin}/hang/{n}")))
                for n in range(HOST_SHARE)
            ]
            await until(lambda: other.answering == HOST_SHARE)
            busy = await client.get(ours(proxy, f"{third.origin}/img/a.png"))
            assert busy.status == 503, "every place is taken, two hosts' shares"
            assert busy.headers["Retry-After"] == str(TIMEOUT // 2)
            assert busy.headers["X-Content-Type-Options"] == "nosniff"
            assert hung.answering == other.answering == HOST_SHARE, "still hanging"
            statuses = sorted([(await task).status for task in waiting])
            assert statuses == [502] * HOST_SHARE + [503] * (8 - HOST_SHARE)
            await asyncio.gather(*more)
            assert (await client.get(ours(proxy, f"{third.origin}/img/a.png"))).status == 200
    assert third.hits == ["/img/a.png"], "a busy answer asked nothing of the host"


async def stalled(port: int | None, path: str) -> socket.socket:
    """A reader that asks for `path` and then takes nothing: its receive window is tiny."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port or 0))
    await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: feeds.example\r\n\r\n".encode())
    return sock


async def received(sock: socket.socket) -> int:
    """The bytes a reader gets when it reads at last, up to the end of the connection."""
    loop = asyncio.get_running_loop()
    total = 0
    while chunk := await loop.sock_recv(sock, 1 << 20):
        total += len(chunk)
    sock.close()
    return total


async def test_readers_that_stop_reading_hold_a_big_picture_only_so_long(tmp_path: Path) -> None:
    """A picture too big to keep holds its place until it is sent: a host's share of readers
    that stop reading make the next big picture wait (503), until the connections that
    took nothing for `fetch.timeout` are closed and their places given back."""
    assert len(BIG) > CACHE_BYTES // 8, "kept pictures are at most an eighth of the cache"
    async with hosts(1) as (host,), serving(tmp_path, host.origin, [netloc(host)]) as served:
        _, client, proxy = served
        big = [ours(proxy, f"{host.origin}/big/{n}.png") for n in range(HOST_SHARE)]
        readers = [await stalled(client.port, path) for path in big]
        try:
            await until(lambda: len(host.hits) == HOST_SHARE)
            path = ours(proxy, f"{host.origin}/big/next.png")
            busy = await client.get(path)
            assert busy.status == 503, "each reader holds its picture's place"
            for _ in range(10):
                answer = await client.get(path)
                if answer.status == 200:
                    break
                assert answer.status == 503
            assert answer.status == 200, "the places of readers that took nothing were given back"
            assert await answer.read() == BIG
            for reader in readers:
                assert await received(reader) < len(BIG), "the reader's connection was closed"
            for _ in range(3):  # one at a time, each place given back once sent
                assert (await client.get(ours(proxy, f"{host.origin}/big/again.png"))).status == 200
        finally:  # else the server waits for them as it stops
            for reader in readers:
                reader.close()


async def test_readers_that_go_away_give_their_places_back_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On the server as `serve` runs it, which lets a handler finish when its reader left."""
    async with hosts(1) as (host,), serving(tmp_path, host.origin, [netloc(host)]) as served:
        service, _, proxy = served
        runner = await start_site(make_app(service), "127.0.0.1", 0, shared=False)
        try:
            port = runner.addresses[0][1]
            big = [ours(proxy, f"{host.origin}/big/{n}.png") for n in range(HOST_SHARE)]
            readers = [await stalled(port, path) for path in big]
            for reader in readers:  # reset, what was sent unread
                sent = await asyncio.get_running_loop().sock_recv(reader, 16)
                assert sent.startswith(b"HTTP/1.1 200")
                reader.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                reader.close()
            path = ours(proxy, f"{host.origin}/big/next.png")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}{path}") as answer,
            ):
                assert answer.status == 200
                assert await answer.read() == BIG
        finally:
            await runner.cleanup()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no server error"


async def test_readers_of_one_big_picture_share_one_fetch_and_place(tmp_path: Path) -> None:
    async with hosts(1) as (host,), serving(tmp_path, host.origin, [netloc(host)]) as served:
        _, client, proxy = served
        path = ours(proxy, f"{host.origin}/big/shared.png")
        answers = await asyncio.gather(*(client.get(path) for _ in range(2 * HOST_SHARE)))
        assert [answer.status for answer in answers] == [200] * 2 * HOST_SHARE
        assert all([await answer.read() == BIG for answer in answers])
        head = await client.head(path)
        assert head.status == 200
        assert head.headers["Content-Length"] == str(len(BIG))
    assert 1 <= host.hits.count("/big/shared.png") <= 2, "not kept, but shared while sent"


@pytest.mark.parametrize(
    ("name", "status", "content_type"),
    [("xml.png", 502, None), ("svg.png", 502, None), ("unknown.png", 502, None),
     ("jpg.png", 200, "image/jpg"), ("icon.png", 200, "image/vnd.microsoft.icon")],
)  # fmt: skip
async def test_only_raster_types_are_passed_on(
    tmp_path: Path, name: str, status: int, content_type: str | None
) -> None:
    async with hosts(1) as (host,), serving(tmp_path, host.origin, [netloc(host)]) as served:
        _, client, proxy = served
        answer = await client.get(ours(proxy, f"{host.origin}/types/{name}"))
        text = await answer.read()
        assert answer.status == status, text
        if content_type is None:
            assert b"not a raster image" in text
            assert b"<svg" not in text
        else:
            assert answer.headers["Content-Type"] == content_type


async def test_what_is_published_is_a_picture_at_an_address_we_can_answer(
    tmp_path: Path,
) -> None:
    async with hosts(1) as (host,), serving(tmp_path, host.origin, [netloc(host)]) as served:
        _, client, proxy = served
        body = await (await client.get("/feeds/all.atom")).text()
        assert f'src="{host.origin}/media/v.mp4"' in body, "a video's source is no picture"
        assert f'src="{host.origin}/img/long.png?qqq' in body, "too long for a request line"
        assert "http://feeds.example/images/" in body, "the picture beside them"
        longest = max(
            (a for n in range(5700, 6000) if (a := proxy.address(f"{host.origin}/?{'q' * n}"))),
            key=len,
        )
        answer = await client.get(longest.removeprefix("http://feeds.example"))
        assert answer.status == 200, "our longest address fits the server's request line"


async def test_a_redirect_to_another_host_of_a_listed_domain_is_followed(tmp_path: Path) -> None:
    """`pics.test` listed covers `a.pics.test` and `b.pics.test` (a picture CDN's hosts); the
    upstream is reached as the proxy every request goes through."""
    async with hosts(1) as (host,):
        more = f'proxy = "{host.origin}"'
        listed = ["pics.test", netloc(host)]
        async with serving(tmp_path, host.origin, listed, more) as (_, client, proxy):
            for start in ("http://a.pics.test/redir", "http://pics.test/redir"):
                answer = await client.get(ours(proxy, start))
                assert answer.status == 200, await answer.text()
                assert await answer.read() == PNG
            away = await client.get(ours(proxy, "http://c.pics.test/away"))
            text = await away.text()
            assert away.status == 502
            assert (
                "host 'pics.test.example' is not the source's host nor in service.image_proxy_hosts"
                in text
            )
    assert host.hits.count("/img/sibling.png") == 2


async def test_hosts_under_one_listed_domain_share_its_places(tmp_path: Path) -> None:
    """`sinaimg.cn` listed, its pictures on `wx1.` to `wx4.`: each took a share of its own, and
    two of them hanging held every place of the process."""
    async with hosts(1) as (host,):
        more = f'proxy = "{host.origin}"'
        listed = ["pics.test", netloc(host)]
        async with serving(tmp_path, host.origin, listed, more) as (_, client, proxy):
            waiting = [
                asyncio.ensure_future(client.get(ours(proxy, f"http://{name}.pics.test/hang/{n}")))
                for name in ("a", "b")
                for n in range(HOST_SHARE)
            ]
            await until(lambda: host.answering >= HOST_SHARE)
            answer = await client.get(ours(proxy, f"{host.origin}/img/a.png"))
            assert answer.status == 200, "a place was left for another listed host"
            assert host.answering == HOST_SHARE, "one share for the whole domain"
            statuses = sorted([(await task).status for task in waiting])
    assert statuses == [502] * HOST_SHARE + [503] * HOST_SHARE
