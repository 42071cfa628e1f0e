"""`aggregator serve`: the scheduler and the HTTP server together until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from aggregator.config import Config
from aggregator.errors import ConfigError
from aggregator.service import Service, running_service
from aggregator.web.app import make_app

log = logging.getLogger("aggregator.serve")
STOP_GRACE = 10.0


async def _reload(service: Service) -> None:
    try:
        await service.reload()
    except ConfigError as exc:
        log.error("config reload refused, the running config stays", extra={"errors": exc.problems})


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
        runner = web.AppRunner(make_app(service), handle_signals=False, access_log=None,
                               shutdown_timeout=STOP_GRACE)  # fmt: skip
        await runner.setup()
        site = web.TCPSite(runner, config.service.host, config.service.port)
        await site.start()
        log.info(
            "serving",
            extra={"url": f"http://{config.service.host}:{config.service.port}/",
                   "sources": len(config.sources)},
        )  # fmt: skip
        await stop.wait()
        log.info("stopping")
        await runner.cleanup()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.remove_signal_handler(signum)
