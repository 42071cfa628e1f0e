"""The status pages (`/`, `/api/sources`, `/metrics`) at scale: compressed, validated, and
built once for the requests that share them."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator.service import Service
from aggregator.web.app import make_app
from aggregator.web.statuspages import Writer, status_page
from tests.publishing import Client, fetched_service


class Page:
    """A status page of the test's own, on the real app: it counts its builds, and each
    build takes `seconds` on its writer's thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.builds = 0
        self.fail = False

    async def handler(self, request: web.Request) -> web.Response:
        async def gather(service: Service) -> Writer:
            self.builds += 1
            if self.fail:
                raise RuntimeError("the database went away")
            number = self.builds

            def write() -> bytes:
                time.sleep(self.seconds)
                return f"build {number}\n".encode()

            return write

        return await status_page(request, gather, "text/plain; charset=utf-8")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with fetched_service(tmp_path) as running:
        yield running


@pytest.fixture
async def pages(service: Service) -> AsyncIterator[tuple[Client, Page, Page]]:
    app = make_app(service)
    slow, quick = Page(seconds=0.05), Page(seconds=0.0)
    app.router.add_get("/test/slow", slow.handler)
    app.router.add_get("/test/quick", quick.handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client, slow, quick


@pytest.mark.parametrize("path", ["/", "/api/sources", "/metrics"])
async def test_status_pages_are_compressed_and_validated(
    pages: tuple[Client, Page, Page], path: str
) -> None:
    client = pages[0]
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    assert plain.status == 200
    assert "汉中发布" in body.decode() if path != "/metrics" else b"aggregator_items" in body
    if path == "/api/sources":  # data, exactly as configured
        names = {row["id"]: row["name"] for row in json.loads(body)["sources"]}
        assert names["hostile"] == "Hostile <script>alert(1)</script> & ]]>"
    else:
        assert b"<script>" not in body, "a hostile source's name is escaped"
    assert plain.headers["Cache-Control"] == "no-cache"
    zipped = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(await zipped.read()).splitlines()[:3] == body.splitlines()[:3]
    again = await client.get(
        path, headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "identity"}
    )
    assert again.status == 304
    assert await again.read() == b""


async def test_a_page_slow_to_build_is_reused_until_a_reload(
    pages: tuple[Client, Page, Page], service: Service
) -> None:
    client, slow, _ = pages
    first = await (await client.get("/test/slow")).text()
    second = await (await client.get("/test/slow")).text()
    assert (first, second, slow.builds) == ("build 1\n", "build 1\n", 1)
    await service.reload()
    assert await (await client.get("/test/slow")).text() == "build 2\n"


async def test_a_quick_page_shows_every_change(pages: tuple[Client, Page, Page]) -> None:
    client, _, quick = pages
    bodies = [await (await client.get("/test/quick")).text() for _ in range(3)]
    assert bodies == ["build 1\n", "build 2\n", "build 3\n"]
    assert quick.builds == 3


async def test_requests_together_share_one_build(pages: tuple[Client, Page, Page]) -> None:
    client, slow, _ = pages
    answers = await asyncio.gather(*(client.get("/test/slow") for _ in range(12)))
    assert {await answer.text() for answer in answers} == {"build 1\n"}
    assert slow.builds == 1


async def test_a_failed_build_is_not_kept(pages: tuple[Client, Page, Page]) -> None:
    client, slow, _ = pages
    slow.fail = True
    assert (await client.get("/test/slow")).status == 500
    slow.fail = False
    answer = await client.get("/test/slow")
    assert (answer.status, await answer.text()) == (200, "build 2\n")
