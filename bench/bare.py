"""aiohttp with nothing of ours: the same bytes and headers from one handler, a 304 on a match.

The serving table's ceiling for any aiohttp server on this machine: what separates ours from
nginx is split into what aiohttp itself costs per request and what our routing, negotiation
and caching add. It runs on the event loop `aggregator serve` runs on.
`python -m bench.bare PORT FILE ETAG`; start it twice to compare with `service.workers = 2`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

from aggregator.eventloop import loop_factory


def app(body: bytes, etag: str) -> web.Application:
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=300",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
    }
    full = {**headers, "Content-Type": "application/atom+xml; charset=utf-8"}

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=full)

    application = web.Application()
    application.router.add_get("/feeds/all.atom", feed)
    return application


if __name__ == "__main__":
    port, path, etag = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    factory = loop_factory()
    web.run_app(
        app(path.read_bytes(), etag),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        reuse_port=True,  # several of these share the port, like `service.workers`
        loop=factory() if factory is not None else None,
    )
