"""`/images/{signature}/{address}`: the pictures of `service.image_proxy_hosts`, fetched
without a referrer and kept in memory a while (see `aggregator/imageproxy.py`).

A picture's address never changes what it shows, so the answer may be cached for a month,
and a reader's conditional request is answered 304 without asking upstream. Only raster
image types are passed on, with `nosniff` and a sandboxing CSP: an SVG (which can carry
script) or an HTML page served under an image's address never runs as our origin's page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from aggregator.errors import BodyTooLarge, FetchError
from aggregator.fetcher import HostSlots
from aggregator.imageproxy import ROUTE, ImageProxy, image_proxy
from aggregator.netpolicy import allowed_hosts, check_discovered
from aggregator.service import Service
from aggregator.web.keys import SERVICE
from aggregator.web.validators import none_match
from feeds.errors import AggregatorError

log = logging.getLogger("aggregator.images")
CACHE_BYTES = 32 * 1024 * 1024  # pictures kept in memory by each serving process
_LARGEST_CACHED = CACHE_BYTES // 8
# Pictures fetched at once by a process: each may hold up to `fetch.max_bytes` in memory.
# From one host too: `fetch.per_host` (2) is meant for sources' pages, and an article's
# twenty pictures, all on one picture host, would reach its first reader two at a time.
FETCHES_AT_ONCE = 8
# A picture that failed is answered with that failure for this long, without asking its host
# again: a dead picture in a popular feed would otherwise be fetched for every reader.
FAILURE_KEPT = 60.0
_FAILURES_KEPT = 1024
_KEY = "service.image_proxy_hosts"  # what a refusal names as the list of hosts
_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"
_HEADERS = {
    "Cache-Control": "public, max-age=2592000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Access-Control-Allow-Origin": "*",
}


# Types a picture host sends when it does not say: the body's first bytes tell, as a
# browser's sniffing would (WHATWG MIME Sniffing, "image type pattern"), and our answer then
# names the type, since it forbids sniffing.
_UNLABELLED = frozenset({"none sent", "application/octet-stream", "binary/octet-stream"})
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def _sniffed(body: bytes) -> str | None:
    """The raster type `body` starts as, or None."""
    for signature, content_type in _SIGNATURES:
        if body.startswith(signature):
            return content_type
    if body[:4] == b"RIFF" and body[8:14] == b"WEBPVP":
        return "image/webp"
    if body[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


@dataclass(frozen=True, slots=True)
class Picture:
    body: bytes
    content_type: str


class UpstreamProblem(AggregatorError):
    """Why a picture could not be passed on, with the status our answer carries."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(reason)


class Pictures:
    """Pictures fetched by this process: the most recently asked kept up to `CACHE_BYTES`,
    and the requests for one being fetched waiting for that fetch."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._kept: OrderedDict[str, Picture] = OrderedDict()
        self._size = 0
        self._fetching: dict[str, asyncio.Future[Picture]] = {}
        self._slots = asyncio.Semaphore(FETCHES_AT_ONCE)
        self._host_slots = HostSlots(FETCHES_AT_ONCE)
        self._failures: OrderedDict[str, tuple[float, UpstreamProblem]] = OrderedDict()
        self.served = 0  # answers with a picture, or 304, for /metrics
        self.fetched = 0  # pictures asked of their hosts
        self.failed = 0  # answers of an upstream failure

    async def get(self, url: str, proxy: ImageProxy) -> Picture:
        found = self._kept.get(url)
        if found is not None:
            self._kept.move_to_end(url)
            return found
        failed = self._failures.get(url)
        if failed is not None and failed[0] > time.monotonic():
            raise UpstreamProblem(failed[1].status, str(failed[1]))  # a new traceback each time
        pending = self._fetching.get(url)
        if pending is None:
            pending = self._fetching[url] = asyncio.ensure_future(self._fetch(url, proxy))
            pending.add_done_callback(lambda done: self._fetched(url, done))
        return await asyncio.shield(pending)

    def _fetched(self, url: str, done: asyncio.Future[Picture]) -> None:
        """Forget the fetch; its failure was said to every reader still waiting, and is not
        to be logged again as never retrieved when they all went away."""
        self._fetching.pop(url, None)
        if done.cancelled():
            return
        problem = done.exception()
        if isinstance(problem, UpstreamProblem):
            self._failures.pop(url, None)
            self._failures[url] = (time.monotonic() + FAILURE_KEPT, problem)
            if len(self._failures) > _FAILURES_KEPT:
                self._failures.popitem(last=False)

    async def _fetch(self, url: str, proxy: ImageProxy) -> Picture:
        hosts = allowed_hosts(url, proxy.hosts)
        # found in published content: a listed name that resolves to a private address
        # (DNS rebinding) is refused, as a discovered URL is; a listed address is the
        # operator's word
        if reason := await check_discovered(url, source_url=url, hosts=hosts, hosts_key=_KEY):
            raise UpstreamProblem(502, f"{url}: {reason}")
        try:
            async with self._slots:
                self.fetched += 1
                response = await self.service.fetcher.get(
                    url,
                    source_url=url,
                    hosts=hosts,
                    hosts_key=_KEY,
                    headers=(("Accept", _ACCEPT),),
                    host_slots=self._host_slots,
                )
        except BodyTooLarge as exc:
            raise UpstreamProblem(502, str(exc)) from None
        except FetchError as exc:
            status = 404 if exc.status in (404, 410) else 502
            raise UpstreamProblem(status, str(exc)) from None
        content_type = response.content_type or "none sent"
        if content_type in _UNLABELLED:
            content_type = _sniffed(response.body) or content_type
        if not content_type.startswith("image/") or "svg" in content_type:
            raise UpstreamProblem(502, f"{url}: not a raster image: Content-Type {content_type}")
        picture = Picture(response.body, content_type)
        self._keep(url, picture)
        return picture

    def _keep(self, url: str, picture: Picture) -> None:
        if len(picture.body) > _LARGEST_CACHED:
            return
        self._kept[url] = picture
        self._size += len(picture.body)
        while self._size > CACHE_BYTES:
            _, gone = self._kept.popitem(last=False)
            self._size -= len(gone.body)


async def picture(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    proxy = await image_proxy(service.config, service.db)
    match = request.match_info
    url = proxy.target(match["signature"], match["address"]) if proxy else None
    if proxy is None or url is None:
        raise web.HTTPNotFound(text="no such picture: not an address this service published\n")
    etag = f'"{match["signature"]}"'
    pictures = request.app[PICTURES]
    if none_match(request, etag):
        pictures.served += 1
        return web.Response(status=304, headers={**_HEADERS, "ETag": etag})
    try:
        found = await pictures.get(url, proxy)
    except UpstreamProblem as exc:
        pictures.failed += 1
        log.warning("picture not passed on", extra={"url": url, "error": str(exc)})
        return web.Response(status=exc.status, text=f"{exc}\n")
    pictures.served += 1
    headers = {**_HEADERS, "ETag": etag, "Content-Type": found.content_type}
    return web.Response(body=found.body, headers=headers)


PICTURES = web.AppKey("pictures", Pictures)


def add_routes(app: web.Application) -> None:
    app[PICTURES] = Pictures(app[SERVICE])
    app.router.add_get(ROUTE, picture)
