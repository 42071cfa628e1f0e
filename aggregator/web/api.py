"""JSON API: source status for everyone, fetch-now and reload for the admin token."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from functools import partial

from aiohttp import web

from aggregator.errors import ConfigError
from aggregator.service import Service
from aggregator.status import views_of
from aggregator.web.keys import SERVICE
from aggregator.web.statuspages import Writer, status_page

log = logging.getLogger("aggregator.api")

TOKEN_VARIABLE = "AGGREGATOR_ADMIN_TOKEN"  # noqa: S105 - the name of a variable, not a secret
_background: set[asyncio.Task[object]] = set()


def _require_admin(request: web.Request) -> None:
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        raise web.HTTPForbidden(text=f"admin API disabled: {TOKEN_VARIABLE} is not set\n")
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    # the scheme is case-insensitive (RFC 9110 11.1); a bare token is no bearer credential
    bearer = scheme.lower() == "bearer"
    # bytes no UTF-8 reads arrive as lone surrogates, as the environment's do: kept as bytes
    given_bytes = given.strip().encode(errors="surrogateescape")
    if not hmac.compare_digest(given_bytes, token.encode(errors="surrogateescape")) or not bearer:
        raise web.HTTPUnauthorized(
            text="missing or wrong bearer token\n", headers={"WWW-Authenticate": "Bearer"}
        )


async def sources(request: web.Request) -> web.Response:
    async def gather(service: Service) -> Writer:
        config, statuses = service.config, await service.db.statuses(time.time())
        return lambda: _dumps(
            {"sources": [view.as_dict() for view in views_of(config, statuses)]}
        ).encode()

    return await status_page(
        request, gather, "application/json; charset=utf-8", {"Access-Control-Allow-Origin": "*"}
    )


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


async def fetch_source(request: web.Request) -> web.Response:
    _require_admin(request)
    service = request.app[SERVICE]
    source_id = request.match_info["ident"]
    if service.config.source(source_id) is None:
        raise web.HTTPNotFound(text=f"no source {source_id!r}\n")
    task: asyncio.Task[object] = asyncio.ensure_future(service.fetch_now(source_id))
    _background.add(task)
    task.add_done_callback(_background.discard)
    task.add_done_callback(partial(_log_failure, source_id))
    return web.json_response({"source": source_id, "status": "fetch started"}, status=202)


def _log_failure(source_id: str, task: asyncio.Task[object]) -> None:
    """What stopped a fetch asked for (the database unreadable): answered 202 already, it
    goes to the log instead of asyncio's "exception was never retrieved"."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("fetch asked for failed", extra={"source": source_id, "error": str(exc)})


async def reload(request: web.Request) -> web.Response:
    _require_admin(request)
    try:
        config = await request.app[SERVICE].reload()
    except ConfigError as exc:
        return web.json_response({"errors": list(exc.problems)}, status=422, dumps=_dumps)
    return web.json_response({"status": "reloaded", "sources": len(config.sources)})


async def healthz(request: web.Request) -> web.Response:
    """Alive, and writing where the next start will read: a supervisor restarts a server whose
    database file was removed under it."""
    if problem := request.app[SERVICE].database_problem:
        return web.Response(status=503, text=f"database: {problem}\n")
    return web.Response(text="ok\n")


def add_routes(app: web.Application, *, admin: bool = True) -> None:
    """The read-only routes, and the admin ones unless `service.admin_port` serves them."""
    app.router.add_get("/api/sources", sources)
    app.router.add_get("/healthz", healthz)
    if admin:
        add_admin_routes(app)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_post("/api/sources/{ident}/fetch", fetch_source)
    app.router.add_post("/api/reload", reload)
