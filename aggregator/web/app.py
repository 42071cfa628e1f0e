"""The application factory; tests build the app through it, exactly as `serve` does."""

from __future__ import annotations

import logging

from aiohttp import web

from aggregator.logs import CLIENT_FAULTS
from aggregator.service import Service
from aggregator.web import api, discovery, embed, feedroutes, images, metrics, pages
from aggregator.web.cache import FeedCache
from aggregator.web.keys import CACHE, SERVED, SERVICE, Served
from aggregator.web.statuspages import STATUS_PAGES, StatusPages
from aggregator.web.tally import Tally, writing


def make_app(
    service: Service, *, admin: bool = True, tally: Tally | None = None
) -> web.Application:
    """The public app; `admin=False` leaves the admin API to `make_admin_app`'s listener;
    `tally` is this process's slot when several processes serve the port."""
    logging.getLogger("aiohttp.server").addFilter(CLIENT_FAULTS)  # once: it is one filter
    app = web.Application()
    app[SERVICE] = service
    app[CACHE] = FeedCache(lambda: service.config.service.cache_max_bytes)
    app[STATUS_PAGES] = StatusPages()
    app[SERVED] = Served()
    if tally is not None:
        app[metrics.TALLY] = tally
        app.cleanup_ctx.append(writing(tally, lambda: metrics.local_counts(app)))
    metrics.add_routes(app)
    app.router.add_get("/", pages.index)
    feedroutes.add_routes(app)
    embed.add_routes(app)
    discovery.add_routes(app)
    images.add_routes(app)
    api.add_routes(app, admin=admin)
    return app


def make_admin_app(service: Service, public: web.Application) -> web.Application:
    """The admin API, status and metrics (counting `public`'s feeds), for `admin_port`."""
    app = web.Application()
    app[SERVICE] = service
    app[CACHE] = public[CACHE]
    app[STATUS_PAGES] = StatusPages()
    app[SERVED] = public[SERVED]
    app[images.PICTURES] = public[images.PICTURES]
    if metrics.TALLY in public:
        app[metrics.TALLY] = public[metrics.TALLY]
    api.add_routes(app)
    metrics.add_routes(app)
    return app
