"""`/images/{signature}/{address}`: the pictures of `service.image_proxy_hosts`, fetched
without a referrer and kept in memory a while (see `aggregator/imageproxy.py`).

A picture's address never changes what it shows, so the answer may be cached for a month,
and a reader's conditional request is answered 304 without asking upstream. Only raster
image types are passed on, with `nosniff` and a sandboxing CSP: an SVG (which can carry
script) or an HTML page served under an image's address never runs as our origin's page.

Memory is bounded by the pictures in hand, not by the readers: a picture is sent in chunks,
each to be taken within `fetch.timeout`, so readers of one kept picture share its bytes, and
a picture too big to keep holds its place among the `FETCHES_AT_ONCE` until it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
# Pictures in hand at once in a process, each up to `fetch.max_bytes`: being fetched, or (too
# big to keep) being sent. An article's twenty pictures, all on one picture host, come
# `HOST_SHARE` at a time, not `fetch.per_host` (2, meant for sources' pages); a host whose
# pictures hang takes no more than its share, and other hosts' pictures still come.
FETCHES_AT_ONCE = 8
HOST_SHARE = FETCHES_AT_ONCE // 2
CHUNK = 64 * 1024  # sent at a time; the next waits until the reader has taken it
SLOWEST_READER = 32 * 1024  # bytes a second: a 4 MB picture is sent within 2 minutes or dropped
# A picture that failed is answered with that failure for this long, without asking its host
# again: a dead picture in a popular feed would otherwise be fetched for every reader.
FAILURE_KEPT = 60.0
_FAILURES_KEPT = 1024
_KEY = "service.image_proxy_hosts"  # what a refusal names as the list of hosts
_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"
_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
_HEADERS = {
    "Cache-Control": "public, max-age=2592000, immutable",
    **_SAFE,
    "Access-Control-Allow-Origin": "*",
}
# Raster types a reader shows as a picture, and a few old names of them. Anything else,
# SVG (`image/svg+xml`, or any `+xml` type a browser reads as XML) above all, is refused.
_RASTER = frozenset(
    f"image/{name}"
    for name in ("png", "apng", "jpeg", "gif", "webp", "avif", "bmp", "x-icon",
                 "vnd.microsoft.icon", "jxl", "heic", "heif", "tiff",
                 "jpg", "pjpeg", "x-png", "x-ms-bmp")
)  # fmt: skip


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


class _Places:
    """`FETCHES_AT_ONCE` places for pictures in hand, at most `HOST_SHARE` for one host's.
    Taken by one task and given back by another (the last reader sent the picture)."""

    def __init__(self) -> None:
        self._all = asyncio.Semaphore(FETCHES_AT_ONCE)
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}  # and its users

    async def take(self, host: str) -> None:
        share, users = self._hosts.setdefault(host, (asyncio.Semaphore(HOST_SHARE), [0]))
        users[0] += 1
        try:
            await share.acquire()  # the host's share first: a hung host's queue takes no place
            try:
                await self._all.acquire()
            except BaseException:
                share.release()
                raise
        except BaseException:
            self._forget(host)
            raise

    def give_back(self, host: str) -> None:
        self._all.release()
        self._hosts[host][0].release()
        self._forget(host)

    def _forget(self, host: str) -> None:
        """A host's share lives only while a request holds or awaits it."""
        users = self._hosts[host][1]
        users[0] -= 1
        if not users[0]:
            del self._hosts[host]


class _Fetch:
    """A picture being fetched, then sent to its readers; `place` names the host whose place
    it holds while a picture too big to keep is being sent."""

    def __init__(self) -> None:
        self.done: asyncio.Future[Picture] | None = None
        self.readers = 0
        self.place: str | None = None


class Pictures:
    """Pictures fetched by this process: the most recently asked kept up to `CACHE_BYTES`,
    and the requests for one being fetched waiting for that fetch."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._kept: OrderedDict[str, Picture] = OrderedDict()
        self._size = 0
        self._fetching: dict[str, _Fetch] = {}
        self._places = _Places()
        # limits nothing the places do not: a redirect's hop to another host is one request
        self._host_slots = HostSlots(FETCHES_AT_ONCE)
        self._failures: OrderedDict[str, tuple[float, UpstreamProblem]] = OrderedDict()
        self.served = 0  # answers with a picture, or 304, for /metrics
        self.fetched = 0  # pictures asked of their hosts
        self.failed = 0  # answers of an upstream failure

    @asynccontextmanager
    async def get(self, url: str, proxy: ImageProxy) -> AsyncIterator[Picture]:
        """The picture at `url`, held for the reader until it has been sent."""
        found = self._kept.get(url)
        if found is not None:
            self._kept.move_to_end(url)
            yield found
            return
        failed = self._failures.get(url)
        if failed is not None and failed[0] > time.monotonic():
            raise UpstreamProblem(failed[1].status, str(failed[1]))  # a new traceback each time
        fetch = self._fetching.get(url)
        if fetch is None:
            fetch = self._fetching[url] = _Fetch()
            fetch.done = asyncio.ensure_future(self._fetch(url, proxy, fetch))
            fetch.done.add_done_callback(lambda done: self._fetched(url, fetch, done))
        assert fetch.done is not None
        fetch.readers += 1
        try:
            yield await asyncio.shield(fetch.done)
        finally:
            fetch.readers -= 1
            self._sent(url, fetch)

    def _fetched(self, url: str, fetch: _Fetch, done: asyncio.Future[Picture]) -> None:
        """Keep the failure a while; it was said to every reader still waiting, and is not
        to be logged again as never retrieved when they all went away."""
        if not done.cancelled():
            problem = done.exception()
            if isinstance(problem, UpstreamProblem) and problem.status != 503:  # 503: ours
                self._failures.pop(url, None)
                self._failures[url] = (time.monotonic() + FAILURE_KEPT, problem)
                if len(self._failures) > _FAILURES_KEPT:
                    self._failures.popitem(last=False)
        self._sent(url, fetch)

    def _sent(self, url: str, fetch: _Fetch) -> None:
        """Once fetched and sent to every reader, forget the fetch and give its place back."""
        if fetch.readers or fetch.done is None or not fetch.done.done():
            return
        if self._fetching.get(url) is fetch:
            del self._fetching[url]
        if fetch.place is not None:
            self._places.give_back(fetch.place)
            fetch.place = None

    def waited(self) -> float:
        """How long a picture waits for a place, at most: then it is answered 503."""
        return self.service.config.fetch.timeout / 2

    async def _fetch(self, url: str, proxy: ImageProxy, fetch: _Fetch) -> Picture:
        # Subdomains of a listed host are listed, for a redirect (`wx1.` to `wx2.`) too.
        hosts = allowed_hosts(url, proxy.hosts) | {f".{host}" for host in proxy.hosts}
        # found in published content: a listed name that resolves to a private address
        # (DNS rebinding) is refused, as a discovered URL is; a listed address is the
        # operator's word
        if reason := await check_discovered(url, source_url=url, hosts=hosts, hosts_key=_KEY):
            raise UpstreamProblem(502, f"{url}: {reason}")
        # the listed entry's share: a picture CDN's rotating hosts (`wx1.`…`wx4.sinaimg.cn`)
        # take one share, not one each
        host = proxy.listed_entry(url) or url  # covered: `ImageProxy.target` checked it
        try:
            async with asyncio.timeout(self.waited()):
                await self._places.take(host)
        except TimeoutError:
            busy = f"{url}: too many pictures in hand, of {host} or of all hosts; try again later"
            raise UpstreamProblem(503, busy) from None
        try:
            picture = await self._picture(url, hosts)
            if not self._keep(url, picture):
                fetch.place = host  # given back once sent (`_sent`)
            return picture
        finally:
            if fetch.place is None:
                self._places.give_back(host)

    async def _picture(self, url: str, hosts: frozenset[str]) -> Picture:
        self.fetched += 1
        try:
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
        if content_type not in _RASTER:
            raise UpstreamProblem(502, f"{url}: not a raster image: Content-Type {content_type}")
        return Picture(response.body, content_type)

    def _keep(self, url: str, picture: Picture) -> bool:
        """Whether the picture is kept (small enough)."""
        if len(picture.body) > _LARGEST_CACHED:
            return False
        self._kept[url] = picture
        self._size += len(picture.body)
        while self._size > CACHE_BYTES:
            _, gone = self._kept.popitem(last=False)
            self._size -= len(gone.body)
        return True


async def picture(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    proxy = await image_proxy(service.config, service.db)
    match = request.match_info
    url = proxy.target(match["signature"], match["address"]) if proxy else None
    if proxy is None or url is None:
        text = "no such picture: not an address this service published\n"
        return web.Response(status=404, text=text, headers=_SAFE)
    etag = f'"{match["signature"]}"'
    pictures = request.app[PICTURES]
    if none_match(request, etag):
        pictures.served += 1
        return web.Response(status=304, headers={**_HEADERS, "ETag": etag})
    try:
        async with pictures.get(url, proxy) as found:
            pictures.served += 1
            headers = {**_HEADERS, "ETag": etag, "Content-Type": found.content_type}
            return await _send(request, found.body, headers, service.config.fetch.timeout)
    except UpstreamProblem as exc:
        pictures.failed += 1
        log.warning("picture not passed on", extra={"url": url, "error": str(exc)})
        headers = dict(_SAFE)
        if exc.status == 503:
            headers["Retry-After"] = str(math.ceil(pictures.waited()))
        return web.Response(status=exc.status, text=f"{exc}\n", headers=headers)


async def _send(
    request: web.Request, body: bytes, headers: dict[str, str], seconds: float
) -> web.StreamResponse:
    """`body` in chunks, each taken by the reader within `seconds`, and the whole at
    `SLOWEST_READER` bytes a second or faster, or the connection closed: a reader that stops
    reading, or trickles (a chunk a little before each deadline), holds no copy of the
    picture, nor its place, for long."""
    response = web.StreamResponse(headers=headers)
    response.content_length = len(body)
    view = memoryview(body)
    try:
        await response.prepare(request)
        async with asyncio.timeout(seconds + len(body) / SLOWEST_READER):
            for start in range(0, len(body) if request.method != "HEAD" else 0, CHUNK):
                async with asyncio.timeout(seconds):
                    await response.write(view[start : start + CHUNK])
    except TimeoutError:
        if request.transport is not None:
            request.transport.abort()  # what it has not taken is dropped, not kept to send
        log.info("picture reader too slow: connection closed", extra={"path": request.path})
    except ConnectionError:
        pass  # the reader went away: nothing to tell anyone
    return response


PICTURES = web.AppKey("pictures", Pictures)


def add_routes(app: web.Application) -> None:
    app[PICTURES] = Pictures(app[SERVICE])
    app.router.add_get(ROUTE, picture)
