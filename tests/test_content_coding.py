"""Bodies as upstreams code them, read by the fetcher over a local socket: each coding undone
only when its stream reaches its end, several codings in turn, within `fetch.max_bytes`; and
no upstream's cookies carried to another's requests."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import brotli
import pytest
from aiohttp import web

from aggregator.errors import BodyTooLarge, FetchError
from aggregator.fetcher import Fetcher
from tests.test_fetcher import CONFIG, _own
from tests.upstream import local_site

TEXT = ("<rss><channel><title>汉中发布</title>" + "<item><title>朱鹮</title></item>" * 400
        + "</channel></rss>").encode()  # fmt: skip


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


BODIES = {  # path -> (the body as sent, its Content-Encoding)
    "gzip": (gzip.compress(TEXT), "gzip"),
    "x-gzip": (gzip.compress(TEXT), "X-GZIP"),
    "deflate": (zlib.compress(TEXT), "deflate"),
    "raw-deflate": (_raw_deflate(TEXT), "deflate"),  # what some servers send as deflate
    "br": (brotli.compress(TEXT), "br"),
    "gzip-br": (brotli.compress(gzip.compress(TEXT)), "gzip, br"),
    "deflate-gzip": (gzip.compress(zlib.compress(TEXT)), "deflate,gzip"),
    "identity": (TEXT, "identity"),
    "empty": (b"", "gzip"),  # `empty body`, as without a coding
    # `cat a.gz b.gz` is one gzip body of both texts
    "members": (gzip.compress(TEXT[:1000]) + gzip.compress(TEXT[1000:]), "gzip"),
    # zeros after the end (a padding server): ignored, as browsers and curl ignore them
    "padded": (gzip.compress(TEXT) + bytes(64), "gzip"),
}
BROKEN = {  # path -> (the body as sent, its Content-Encoding, the error)
    "cut": (gzip.compress(TEXT)[:-100], "gzip", "body cut short: the gzip stream ends early"),
    "no-trailer": (gzip.compress(TEXT)[:-8], "gzip", "body cut short: the gzip stream ends early"),
    "br-cut": (brotli.compress(TEXT)[:-20], "br", "body cut short: the br stream ends early"),
    "inner-cut": (brotli.compress(gzip.compress(TEXT)[:-50]), "gzip, br",
                  "body cut short: the gzip stream ends early"),
    "not-gzip": (TEXT, "gzip", "the gzip stream is corrupt (incorrect header check)"),
    "compress": (TEXT, "compress", "Content-Encoding 'compress' is not one this service decodes"),
    "bomb-inside": (brotli.compress(gzip.compress(bytes(CONFIG.max_bytes * 4))), "gzip, br",
                    "exceeds fetch.max_bytes (262144) once decompressed"),
}  # fmt: skip


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async def coded(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body, coding = BODIES[name] if name in BODIES else BROKEN[name][:2]
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": coding}
        return web.Response(body=body, headers=headers)

    async def echo(request: web.Request) -> web.Response:
        seen = f"{request.headers.get('Accept-Encoding')}\n{request.headers.get('Cookie')}"
        return web.Response(text=seen, headers={"Set-Cookie": "track=1; Path=/; Max-Age=9999"})

    app = web.Application()
    app.router.add_get("/coded/{name}", coded)
    app.router.add_get("/echo", echo)
    async with local_site(app) as origin:
        yield origin


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_every_coding_is_undone(upstream: str, name: str) -> None:
    url = f"{upstream}/coded/{name}"
    async with Fetcher(CONFIG) as fetcher:
        response = await fetcher.get(url, source_url=url, hosts=_own(url))
    assert response.body == (b"" if name == "empty" else TEXT)


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_a_body_that_cannot_be_decoded_whole_is_an_error(upstream: str, name: str) -> None:
    url = f"{upstream}/coded/{name}"
    error = BodyTooLarge if name == "bomb-inside" else FetchError
    async with Fetcher(CONFIG) as fetcher:
        with pytest.raises(error) as raised:
            await fetcher.get(url, source_url=url, hosts=_own(url))
    assert BROKEN[name][2] in str(raised.value)
    assert raised.value.status == 200


async def test_codings_are_offered_and_cookies_not_kept(upstream: str) -> None:
    """An upstream's `Set-Cookie` goes with no later request, its own or another source's:
    one portal's cookies for all of `.cn` once grew other sources' requests past their
    servers' header limits."""
    url = f"{upstream}/echo".replace("127.0.0.1", "localhost")  # no cookie jar keeps an IP's
    async with Fetcher(CONFIG) as fetcher:
        first = await fetcher.get(url, source_url=url, hosts=_own(url))
        second = await fetcher.get(url, source_url=url, hosts=_own(url))
    assert first.body.decode().splitlines() == ["gzip, deflate, br", "None"]
    assert second.body.decode().splitlines() == ["gzip, deflate, br", "None"]
