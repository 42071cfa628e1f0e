"""Pictures of hosts that refuse other sites' pages, published at our own signed addresses and
passed on by the real app from a local upstream: what readers get, and what they never get."""

from __future__ import annotations

import asyncio
import base64
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator import renderjobs
from aggregator.config import load_config
from aggregator.cpu import CpuPool
from aggregator.service import Service, running_service
from aggregator.web.app import make_app
from aggregator.web.images import FETCHES_AT_ONCE
from tests.conftest import FIXTURES
from tests.upstream import local_site

Client = TestClient[web.Request, web.Application]
IMAGES = FIXTURES / "images"
PICTURE = (IMAGES / "picture.png").read_bytes()
# Bodies a host sends as `application/octet-stream`, and the type our answer names.
UNLABELLED = {
    "typeless.png": (PICTURE, "application/octet-stream"),
    "typeless-page.png": (b"<html><script>alert(1)</script></html>", "application/octet-stream"),
    "binary.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "binary/octet-stream"),
    "typeless.gif": (b"GIF89a\x01\x00\x01\x00" + bytes(32), "application/octet-stream"),
    "typeless.webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32), "application/octet-stream"),
    "typeless.avif": (b"\x00\x00\x00\x1cftypavif" + bytes(32), "application/octet-stream"),
    "typeless.bmp": (b"BM\x46\x00\x00\x00" + bytes(64), "application/octet-stream"),
}
CONFIG = """
[service]
base_url = "http://feeds.example"
database = "{db}"
image_proxy_hosts = [{hosts}]

[fetch]
timeout = "{timeout}"
max_bytes = "10KB"
per_host = {per_host}

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{origin}/feed.rss"
"""


@dataclass
class PictureHost:
    """A WeChat-like picture host that also serves the account's feed."""

    origin: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    asked_with: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0  # before answering a picture
    answering: int = 0
    most_at_once: int = 0

    def app(self) -> web.Application:
        async def feed(request: web.Request) -> web.Response:
            body = (IMAGES / "wechat.rss").read_bytes().replace(b"http://upstream.invalid",
                                                                self.origin.encode())  # fmt: skip
            return web.Response(body=body, content_type="application/rss+xml")

        async def picture(request: web.Request) -> web.StreamResponse:
            path = request.path
            self.hits[path] = self.hits.get(path, 0) + 1
            self.asked_with.append(dict(request.headers))
            self.answering += 1
            self.most_at_once = max(self.most_at_once, self.answering)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.answering -= 1
            name = path.rsplit("/", 1)[-1]
            if name == "page.png":
                return web.Response(text="<html><script>alert(1)</script></html>",
                                    content_type="text/html")  # fmt: skip
            if name == "drawing.svg":
                svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
                return web.Response(text=svg, content_type="image/svg+xml")
            if name == "gone.png":
                raise web.HTTPNotFound()
            if name == "broken.png":
                raise web.HTTPInternalServerError()
            if name == "huge.png":
                return web.Response(body=PICTURE * 400, content_type="image/png")
            if name == "loop.png":
                raise web.HTTPFound(path)
            if name == "slow.png":
                await asyncio.sleep(3)
            if name == "away.png":
                raise web.HTTPFound(self.origin.replace("127.0.0.1", "localhost") + "/a.png")
            if name in UNLABELLED:
                body, content_type = UNLABELLED[name]
                return web.Response(body=body, headers={"Content-Type": content_type})
            return web.Response(body=PICTURE, content_type="image/png")

        app = web.Application()
        app.router.add_get("/feed.rss", feed)
        app.router.add_get("/{path:.*}", picture)
        return app


@pytest.fixture
async def host() -> AsyncIterator[PictureHost]:
    site = PictureHost()
    async with local_site(site.app(), shutdown_timeout=0.1) as origin:
        site.origin = origin
        yield site


def write_config(
    tmp_path: Path, host: PictureHost, hosts: str | None = None, per_host: int = 2, timeout: int = 1
) -> Path:
    """`hosts` as the config writes them; by default the picture host's own `host:port`."""
    if hosts is None:
        hosts = f'"{urlsplit(host.origin).netloc}"'
    path = tmp_path / "config.toml"
    text = CONFIG.format(
        db=tmp_path / "db.sqlite3",
        origin=host.origin,
        hosts=hosts,
        per_host=per_host,
        timeout=f"{timeout}s",
    )
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
async def service(tmp_path: Path, host: PictureHost) -> AsyncIterator[Service]:
    async with running_service(load_config(write_config(tmp_path, host)), schedule=False) as svc:
        report = await svc.pipeline.run(svc.config.sources[0])
        assert report.result == "ok", report
        yield svc


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as test_client:
        yield test_client


async def published(client: Client, path: str = "/feeds/all.atom") -> dict[str, str]:
    """Each picture's path on our service, by the upstream file name it stands for (read from
    the document itself: feedparser's sanitiser drops `srcset`)."""
    body = (await (await client.get(path)).read()).decode()
    found = re.findall(r"http://feeds\.example(/images/[\w-]+/[\w-]+)", body)
    return {_name(path): path for path in found}


def _name(path: str) -> str:
    encoded = path.rsplit("/", 1)[-1]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().rsplit("/")[-1]


async def test_pictures_of_listed_hosts_are_published_at_our_addresses(
    client: Client, host: PictureHost
) -> None:
    body = (await (await client.get("/feeds/all.atom")).read()).decode()
    assert f'src="{host.origin}' not in body
    assert f"{host.origin}/mmbiz" not in body
    assert "http://other.invalid/banner.png" in body, "a host not listed keeps its address"
    assert f"{host.origin}/s/more" in body, "links are not pictures"
    addresses = await published(client)
    assert "tiankeng.png?wx_fmt=png&from=appmsg" in addresses, "the lazy WeChat address"
    assert "tiankeng@2x.png" in addresses, "srcset candidates too"
    srcset = re.search(r'srcset="([^"]*)"', html.unescape(body))
    assert srcset is not None
    assert srcset[1].endswith(" 2x"), "descriptors kept"
    assert " 1x, " in srcset[1]
    for fmt in ("rss", "json"):
        other = (await (await client.get(f"/feeds/all.{fmt}")).read()).decode()
        assert "http://feeds.example/images/" in other
        assert f"{host.origin}/mmbiz" not in other


async def test_a_picture_is_passed_on_without_a_referrer_and_kept(
    client: Client, host: PictureHost
) -> None:
    path = (await published(client))["tiankeng.png?wx_fmt=png&from=appmsg"]
    answer = await client.get(path, headers={"Referer": "https://reader.example/"})
    assert answer.status == 200
    assert await answer.read() == PICTURE
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in answer.headers["Content-Security-Policy"]
    assert "immutable" in answer.headers["Cache-Control"]
    asked = host.asked_with[0]
    assert "Referer" not in asked, "the host sees no page to refuse"
    assert asked["Accept"].startswith("image/")
    again = await client.get(path)
    assert await again.read() == PICTURE
    assert host.hits["/mmbiz_png/tiankeng.png"] == 1, "the second answer came from memory"
    etag = answer.headers["ETag"]
    not_modified = await client.get(path, headers={"If-None-Match": f"W/{etag}"})
    assert not_modified.status == 304
    head = await client.head(path)
    assert head.status == 200
    assert head.headers["Content-Type"] == "image/png"
    assert host.hits["/mmbiz_png/tiankeng.png"] == 1
    gone = (await published(client))["gone.png"]
    assert (await client.get(gone)).status == 404
    metrics = await (await client.get("/metrics")).text()
    assert "aggregator_pictures_served_total 4\n" in metrics, "200, 200, 304 and HEAD"
    assert "aggregator_picture_fetches_total 2\n" in metrics
    assert "aggregator_picture_failures_total 1\n" in metrics


async def test_readers_asking_together_share_one_fetch(client: Client, host: PictureHost) -> None:
    path = (await published(client))["tiankeng@2x.png"]
    host.delay = 0.2
    answers = await asyncio.gather(*(client.get(path) for _ in range(5)))
    assert [a.status for a in answers] == [200] * 5
    assert host.hits["/mmbiz_png/tiankeng@2x.png"] == 1


@pytest.mark.parametrize(
    ("name", "status", "says"),
    [
        ("page.png", 502, "not a raster image: Content-Type text/html"),
        ("drawing.svg", 502, "not a raster image: Content-Type image/svg+xml"),
        ("typeless-page.png", 502, "not a raster image: Content-Type application/octet-stream"),
        ("gone.png", 404, "HTTP 404 Not Found"),
        ("broken.png", 502, "HTTP 500 Internal Server Error"),
        ("huge.png", 502, "exceeds fetch.max_bytes"),
        ("loop.png", 502, "redirect loop"),
        ("slow.png", 502, "timed out after 1s"),
        ("away.png", 502, "'localhost' is not the source's host nor in service.image_proxy_hosts"),
    ],
)
async def test_what_is_not_a_picture_is_never_passed_on(
    client: Client, host: PictureHost, name: str, status: int, says: str
) -> None:
    path = (await published(client))[name]
    for _ in range(2):
        answer = await client.get(path)
        text = await answer.text()
        assert answer.status == status, text
        assert says in text
        assert "<script>" not in text
        assert answer.headers["Content-Type"].startswith("text/plain")
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in answer.headers["Content-Security-Policy"]
        assert "immutable" not in answer.headers.get("Cache-Control", "")
    assert host.hits[f"/pictures/{name}"] == 1, "the failure is kept a while, not asked again"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("typeless.png", "image/png"), ("binary.jpg", "image/jpeg"), ("typeless.gif", "image/gif"),
     ("typeless.webp", "image/webp"), ("typeless.avif", "image/avif"),
     ("typeless.bmp", "image/bmp")],
)  # fmt: skip
async def test_a_picture_sent_without_its_type_is_passed_on_with_it(
    client: Client, name: str, content_type: str
) -> None:
    """Our answer forbids sniffing, so a reader shows only what it is told is a picture."""
    answer = await client.get((await published(client))[name])
    assert answer.status == 200, await answer.text()
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert await answer.read() == UNLABELLED[name][0]


async def test_only_addresses_we_signed_are_served(client: Client, host: PictureHost) -> None:
    path = (await published(client))["tiankeng.png?wx_fmt=png&from=appmsg"]
    _, _, signature, encoded = path.split("/")
    other = base64.urlsafe_b64encode(f"{host.origin}/secret.png".encode()).decode().rstrip("=")
    not_utf8 = base64.urlsafe_b64encode(b"\xff\xfe").decode()
    for forged in (
        f"/images/{signature}/{other}",  # another picture of the host, under a real signature
        f"/images/{'A' * len(signature)}/{encoded}",
        f"/images/{signature}/{encoded}x",
        f"/images/{signature}/%%%",
        f"/images/{signature}/{'/' * 3}",
        f"/images/{signature}/{not_utf8}",
        f"/images/%C3%A9/{encoded}",  # not ASCII: no signature of ours, nor a server error
        f"/images/{signature[:-1]}%C3%A9/{encoded}",
    ):
        answer = await client.get(forged)
        assert answer.status == 404, forged
        if "%C3%A9" in forged or other in forged:  # answered by the route, not the router
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in answer.headers["Content-Security-Policy"]
    assert "/secret.png" not in host.hits


async def test_addresses_outlive_a_restart_and_a_host_taken_off_the_list(
    tmp_path: Path, host: PictureHost
) -> None:
    config = load_config(write_config(tmp_path, host))
    paths = []
    for _ in range(2):
        async with running_service(config, schedule=False) as service:
            await service.pipeline.run(config.sources[0])
            async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
                paths.append(await published(client))
    assert paths[0] == paths[1], "the key is the store's, not the process's"
    # Off the list; and listed bare, which stands for ports 80 and 443 only: an upstream's
    # picture must not choose another service of the host, nor learn whether a port is open.
    for hosts in ("", '"127.0.0.1"'):
        unlisted = load_config(write_config(tmp_path, host, hosts=hosts))
        async with (
            running_service(unlisted, schedule=False) as service,
            TestClient(TestServer(make_app(service), host="127.0.0.1")) as client,
        ):
            body = (await (await client.get("/feeds/all.atom")).read()).decode()
            gone = await client.get(paths[0]["tiankeng@2x.png"])
        assert "/images/" not in body
        assert f"{host.origin}/mmbiz_png/tiankeng@2x.png" in body
        assert gone.status == 404


async def test_worker_processes_publish_the_same_addresses(
    tmp_path: Path, host: PictureHost
) -> None:
    """A page of over 100 entries renders in a parsing process, which reads the key itself."""
    config = load_config(write_config(tmp_path, host))
    pool = CpuPool(1, preload=renderjobs.PRELOAD)
    async with running_service(config, schedule=False, cpu=pool) as service:
        await service.pipeline.run(config.sources[0])
        await service.cpu.start()
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            on_the_loop = await published(client)
            in_a_worker = await published(client, "/feeds/all.atom?limit=200")
    assert len(on_the_loop) == 17, "every picture of the feed, each once"
    assert in_a_worker == on_the_loop


async def test_a_process_fetches_a_bounded_number_of_pictures_at_once(
    tmp_path: Path, host: PictureHost
) -> None:
    """Each fetch may hold `fetch.max_bytes`: many readers opening many articles at once
    must not hold that many times over. And an article's pictures, all on one host, come
    a host's share at a time, not `fetch.per_host` (2, meant for sources' pages)."""
    config = load_config(write_config(tmp_path, host, per_host=2, timeout=4))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[0])
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            paths = [p for name, p in (await published(client)).items() if name != "slow.png"]
            host.delay = 0.2
            answers = await asyncio.gather(*(client.get(path) for path in paths))
    assert len(answers) == 16
    assert 503 not in [answer.status for answer in answers], "none waited too long"
    assert host.most_at_once == FETCHES_AT_ONCE // 2, "one host's share"
