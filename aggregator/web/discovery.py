"""`/opml`: what we publish as an OPML 2.0 subscription list, for readers to import at once."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from aggregator.opmlio import published_outlines
from aggregator.web.cache import make_rendered
from aggregator.web.feedroutes import answer_headers, respond, settle
from aggregator.web.keys import CACHE, SERVICE
from feeds.opml import render_opml

CONTENT_TYPE = "text/x-opml; charset=utf-8"


async def opml(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    rendered = request.app[CACHE].get("opml", service.generation)
    if rendered is None:
        body = render_opml(service.config.service.title, published_outlines(service.config))
        changed = datetime.fromtimestamp(service.config.modified, UTC)  # it shows the config
        headers = answer_headers(service)
        rendered = make_rendered(
            service.generation, body, CONTENT_TYPE, changed, headers, settle=settle(service)
        )
        request.app[CACHE].put("opml", rendered)
    return await respond(request, rendered)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/opml", opml)
