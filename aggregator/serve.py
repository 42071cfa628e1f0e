"""`aggregator serve`: the scheduler and the HTTP server together until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from aggregator.config import Config
from aggregator.errors import ConfigError
from aggregator.service import Service, running_service
from aggregator.web.app import make_admin_app, make_app

log = logging.getLogger("aggregator.serve")
# A stop finishes within HTTP_GRACE + FETCH_GRACE (and a database close): supervisors such as
# systemd wait 90 s by default, container runtimes 10 s.
HTTP_GRACE = 2.0
FETCH_GRACE = 3.0


async def _reload(service: Service) -> None:
    try:
        await service.reload()
    except ConfigError as exc:
        log.error("config reload refused, the running config stays", extra={"errors": exc.problems})


async def _start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=HTTP_GRACE)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def serve(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_service(config, schedule=True) as service:
        pending: set[asyncio.Task[None]] = set()

        def on_hangup() -> None:
            task = asyncio.ensure_future(_reload(service))
            pending.add(task)
            task.add_done_callback(pending.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)
        settings = config.service
        admin_separate = settings.admin_port is not None
        public = make_app(service, admin=not admin_separate)
        runners = [await _start(public, settings.host, settings.port)]
        extra: dict[str, object] = {"url": f"http://{settings.host}:{settings.port}/",
                                    "sources": len(config.sources)}  # fmt: skip
        if settings.admin_port is not None:
            admin_host = settings.admin_host or settings.host
            runners.append(
                await _start(make_admin_app(service, public), admin_host, settings.admin_port)
            )
            extra["admin_url"] = f"http://{admin_host}:{settings.admin_port}/"
        log.info("serving", extra=extra)
        await stop.wait()
        log.info("stopping", extra={"fetches_in_flight": len(service.pipeline.in_flight)})
        if service.scheduler is not None:
            service.scheduler.shutdown()
        await asyncio.gather(*(runner.cleanup() for runner in runners))
        await service.drain(FETCH_GRACE)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.remove_signal_handler(signum)
    log.info("stopped")
