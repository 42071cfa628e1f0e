"""The application factory; tests build the app through it, exactly as `serve` does."""

from __future__ import annotations

from aiohttp import web

from aggregator.service import Service
from aggregator.web import api, feedroutes, pages
from aggregator.web.cache import FeedCache
from aggregator.web.keys import CACHE, SERVICE


def make_app(service: Service) -> web.Application:
    app = web.Application()
    app[SERVICE] = service
    app[CACHE] = FeedCache()
    app.router.add_get("/", pages.index)
    feedroutes.add_routes(app)
    api.add_routes(app)
    return app
