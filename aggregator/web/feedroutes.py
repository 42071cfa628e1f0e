"""`/feeds/{id}.{fmt}` and `/sources/{id}.{fmt}`: cached documents with HTTP caching."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable, Hashable

from aiohttp import web

from aggregator.config import FeedConfig
from aggregator.documents import Page, Query, channel, render_page
from aggregator.errors import UnknownSource
from aggregator.publish import FORMATS
from aggregator.renderjobs import PooledRenderer
from aggregator.service import Service
from aggregator.web.cache import SETTLE_SECONDS, Rendered, Variant, make_rendered
from aggregator.web.encoding import accepted, negotiate
from aggregator.web.keys import CACHE, SERVED, SERVICE
from aggregator.web.queries import (
    CROSS_ORIGIN,
    NoSuchFeed,
    canonical_target,
    check_page,
    known_parameters,
    parse_query,
)
from aggregator.web.validators import none_match

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CLOCK_SKEW = 60.0  # seconds a client's date may be ahead of ours and still be honoured


async def _render(
    service: Service,
    renderer: PooledRenderer | None,
    feed: FeedConfig,
    query: Query,
    request: web.Request,
    kind: str,
    fmt: str,
    target: str,
) -> Rendered:
    """The document for a request already checked: every request sharing this render (the
    same path and known parameters, `target`) would render the same bytes. Big and archive
    pages render in the service's worker processes where it has them (see
    `aggregator.renderjobs`)."""
    config = service.config
    generation = service.version(kind, feed.id)
    page = Page(
        kind,
        feed.id,
        fmt,
        query,
        self_url=config.service.base_url + target,
        next_base=config.service.base_url + request.path,
        extra_query=tuple((k, v) for k, v in known_parameters(request) if k != "before"),
    )
    if renderer is not None and renderer.takes(page, query.limit or feed.limit):
        body, updated = await renderer.render(config, service.db, page)
    else:
        body, updated = await render_page(config, service.db, page)
    content_type = f"{FORMATS[fmt]}; charset=utf-8"
    hub = config.service.websub_hub
    # WebSub's discovery is by these headers: a JSON Feed names its hub only in its own words.
    # The hub hears of the feed's own URL only, as the documents say (`publish.out_feed`).
    found = {"Link": f'<{hub}>; rel="hub", <{page.self_url}>; rel="self"'} if hub else None
    headers = answer_headers(service, found if "?" not in target else None)
    return make_rendered(generation, body, content_type, updated, headers, settle=settle(service))


def answer_headers(service: Service, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What every answer of a cached document carries besides its validators and content:
    the config's caching, CORS for partner sites' scripts, and the route's own `extra`."""
    return {
        "Cache-Control": f"public, max-age={int(service.config.service.cache_max_age)}",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        # a partner's script reads them to send its own `If-None-Match`/`If-Modified-Since`
        "Access-Control-Expose-Headers": "ETag, Last-Modified",
        **(extra or {}),
    }


def settle(service: Service) -> float:
    """How long after its date a document is dated (`SETTLE_SECONDS`): with processes sharing
    the port, until no other version can share its date."""
    return SETTLE_SECONDS if service.processes > 1 else 0.0


def _not_modified(request: web.Request, rendered: Rendered, etag: str, dated: bool) -> bool:
    if request.headers.get("If-None-Match") == etag:  # what a reader sends back, not parsed
        return True
    matched = none_match(request, etag, rendered.etag)
    if matched is not None:
        return matched
    since = request.if_modified_since  # any of HTTP's three date forms, in UTC
    if since is None or not dated or since < rendered.modified_at:
        return False
    # A date later than ours is no date we served (RFC 2616 14.25 called it invalid): honoured,
    # a client whose clock is years ahead got 304 for every change until then.
    return since.timestamp() <= time.time() + _CLOCK_SKEW


class _FeedRoutes:
    """The feed routes of one app, bound once to its service, cache and counter.

    A cached feed's answer is aiohttp's cost and little more: no lookup in the app, and the
    count for `/metrics` taken here (a middleware on every request cost about a tenth of
    serving a cached feed)."""

    def __init__(self, app: web.Application) -> None:
        self.service = app[SERVICE]
        self.cache = app[CACHE]
        self.served = app[SERVED].by_format
        cpu = self.service.cpu
        self.renderer = PooledRenderer(cpu) if cpu.processes else None

    async def any_feed(self, request: web.Request) -> web.StreamResponse:
        match = request.match_info
        return await self.serve(request, match["kind"], match["ident"], match["fmt"])

    def one_feed(self, kind: str, ident: str, fmt: str) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, kind, ident, fmt)

        return serve

    async def serve(
        self, request: web.Request, kind: str, ident: str, fmt: str
    ) -> web.StreamResponse:
        generation = self.service.version(kind, ident)
        # as sent first: what readers poll is found without reading the query
        rendered = self.cache.get(request.raw_path, generation)
        if rendered is None:
            rendered = await self._document(request, kind, ident, fmt, generation)
        self.served[fmt] += 1
        coding = negotiate(accepted(request))
        variant = rendered.variants.get(coding) or await rendered.variant(coding)
        return answer(request, rendered, variant)

    async def _document(
        self, request: web.Request, kind: str, ident: str, fmt: str, generation: Hashable
    ) -> Rendered:
        """The document asked for, under its canonical target: found, or rendered once."""
        key = canonical_target(request)
        check_page(request)
        rendered = self.cache.get(key, generation) if key != request.raw_path else None
        if rendered is not None:
            return rendered
        service = self.service
        try:
            feed = channel(service.config, kind, ident)
        except UnknownSource as exc:
            raise NoSuchFeed(exc.args[0]) from None
        query = parse_query(request, feed)  # a bad one answers 400 here, not in the render
        render = functools.partial(
            _render, service, self.renderer, feed, query, request, kind, fmt, key
        )
        return await self.cache.render_once(key, generation, render)


async def respond(request: web.Request, rendered: Rendered) -> web.Response:
    """A cached document with validators, 304 on a match, compressed when accepted."""
    variant = await rendered.variant(negotiate(accepted(request)))
    return answer(request, rendered, variant)


def answer(request: web.Request, rendered: Rendered, variant: Variant) -> web.Response:
    """`variant` of `rendered`, or 304 when the request's validators match it."""
    dated = rendered.dated()
    if _not_modified(request, rendered, variant.etag, dated):
        headers = variant.not_modified_headers if dated else variant.undated_not_modified_headers
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=variant.body, headers=variant.headers if dated else variant.undated_headers
    )


def add_routes(app: web.Application) -> None:
    """The merged feeds configured at start each get a plain route: aiohttp finds it by one
    dict lookup, where the pattern costs a regex per candidate route (a cached 304 is
    answered 13 % faster). Sources, and feeds a reload adds, go through the pattern; a feed a
    reload removes answers 404 on its own route as on the pattern."""
    routes = _FeedRoutes(app)
    for feed in app[SERVICE].config.feeds:
        for fmt in FORMATS:
            app.router.add_get(f"/feeds/{feed.id}.{fmt}", routes.one_feed("feeds", feed.id, fmt))
    pattern = r"/{kind:feeds|sources}/{ident:[a-z0-9_-]+}.{fmt:rss|atom|json}"
    app.router.add_get(pattern, routes.any_feed)
    for prefix in ("/feeds/", "/sources/", "/embed/"):
        app.router.add_route("OPTIONS", prefix + "{tail:.*}", preflight)
    app.router.add_get("/{kind:feeds|sources}/{tail:.*}", no_such_document)


_PREFLIGHT = {
    **CROSS_ORIGIN,
    "Access-Control-Allow-Methods": "GET, HEAD",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Cache-Control",
    "Access-Control-Max-Age": "86400",
}


async def preflight(request: web.Request) -> web.Response:
    """A partner's script that sends a validator of its own asks first (CORS preflight)."""
    return web.Response(status=204, headers=_PREFLIGHT)


_NAMED = re.compile(r"(?P<ident>[^/]+)\.(?:rss|atom|json)")


async def no_such_document(request: web.Request) -> web.Response:
    """A path under the feed routes that names no document (`/feeds/all.xml`): a 404 that a
    partner's script may read, as the others, saying what is wrong with it."""
    kind, tail = request.match_info["kind"], request.match_info["tail"]
    path = request.path
    if tail.endswith("/") and _NAMED.fullmatch(tail.rstrip("/")):
        why = f"no such document: {path}; without the slash at its end: {path.rstrip('/')}"
    elif named := _NAMED.fullmatch(tail):
        why = (f"no such {kind[:-1]}: {named['ident']!r}; ids are written in lower-case letters,"
               " digits, - and _")  # fmt: skip
    else:
        why = f"no such document: {path}; feeds end in .rss, .atom or .json"
    raise NoSuchFeed(why)
