"""A local upstream web site for tests: serves fixture bytes with ETag and Last-Modified.

Tests change `documents` to publish new versions, and read `requests` to see what the service
asked (conditional headers, user agent).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

LAST_MODIFIED = "Fri, 14 Jan 2022 10:00:00 GMT"


@dataclass
class Upstream:
    base_url: str = ""
    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> body, type
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> more headers

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def publish(self, path: str, body: bytes, content_type: str) -> None:
        self.documents[path] = (body, content_type)

    def seen(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


def _app(upstream: Upstream) -> web.Application:
    async def serve(request: web.Request) -> web.Response:
        upstream.requests.append((request.path, dict(request.headers)))
        found = upstream.documents.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        body, content_type = found
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Content-Type": content_type}
        headers.update(upstream.headers.get(request.path, {}))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    return app


@asynccontextmanager
async def local_site(
    app: web.Application, *, tls: ssl.SSLContext | None = None, shutdown_timeout: float = 60.0
) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1, over TLS with `tls`; yields its origin URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
        yield f"{'https' if tls else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def upstream_site() -> AsyncIterator[Upstream]:
    upstream = Upstream()
    async with local_site(_app(upstream)) as origin:
        upstream.base_url = origin
        yield upstream
