"""`aggregator serve`: the scheduler and the HTTP server together until a stop signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from aggregator import renderjobs
from aggregator.config import Config
from aggregator.cpu import CpuPool
from aggregator.errors import ConfigError, DatabaseLost
from aggregator.eventloop import loop_name
from aggregator.service import Service, running_service
from aggregator.web.app import make_admin_app, make_app
from aggregator.web.tally import open_tally
from aggregator.workers import Workers, start_site

log = logging.getLogger("aggregator.serve")
# A stop finishes within workers.HTTP_GRACE + FETCH_GRACE (and a database close): supervisors
# such as systemd wait 90 s by default, container runtimes 10 s.
FETCH_GRACE = 3.0


async def _reload(service: Service) -> None:
    """SIGHUP's reload. Nothing awaits this task: an error not caught here would surface only
    as asyncio's "Task exception was never retrieved", with no word that the old config stays."""
    try:
        await service.reload()
    except ConfigError as exc:
        log.error("config reload refused, the running config stays", extra={"errors": exc.problems})
        return
    except Exception:  # a bug of ours: logged with its traceback, not left to asyncio
        log.exception("config reload failed")
        return
    _log_warnings(service.config)


def _log_warnings(config: Config) -> None:
    for warning in config.warnings():
        log.warning("config warning", extra={"warning": warning})


async def serve(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    started = asyncio.Event()

    def on_stop_signal() -> None:
        # Starting may take minutes (an upgrade of a large store): a stop ends it at once.
        if not started.is_set() and not stop.is_set() and main is not None:
            main.cancel()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_stop_signal)
    cpu = CpuPool.for_this_machine(preload=renderjobs.PRELOAD)
    try:
        async with running_service(config, schedule=True, cpu=cpu) as service:
            started.set()
            await _serve(config, service, stop)
    except asyncio.CancelledError:
        if started.is_set() or main is None or main.uncancel() > 0:
            raise
        log.info("stopped while starting")
        return
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    log.info("stopped")
    if service.database_problem:
        raise DatabaseLost(f"stopped: {service.database_problem}; start the service again")


async def _serve(config: Config, service: Service, stop: asyncio.Event) -> None:
    """The HTTP sites and the workers beside the running service, until `stop`."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()
    settings = config.service
    shared = settings.workers > 1
    # With workers, a POST to the public port could land in any process: the admin API
    # lives on admin_port only, or nowhere.
    tally = open_tally(settings.database, 0, fresh=True) if shared else None
    public = make_app(service, admin=settings.admin_port is None and not shared, tally=tally)
    runners = [await start_site(public, settings.host, settings.port, shared=shared)]
    extra: dict[str, object] = {
        "url": f"http://{settings.host}:{settings.port}/",
        "sources": len(config.sources),
        "workers": settings.workers,
        "event_loop": loop_name(),
    }
    if settings.admin_port is not None:
        admin_host = settings.admin_host or settings.host
        admin = make_admin_app(service, public)
        runners.append(await start_site(admin, admin_host, settings.admin_port, shared=False))
        extra["admin_url"] = f"http://{admin_host}:{settings.admin_port}/"
    elif shared:
        log.warning("admin API off: with service.workers > 1 it needs service.admin_port")
    workers = Workers(lambda: service.config, settings.workers - 1, settings)
    workers.start()
    watcher = asyncio.create_task(workers.watch())
    service.on_reload.append(workers.reload)

    def on_hangup() -> None:
        task = asyncio.ensure_future(_reload(service))
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    # Its file removed or replaced, the store this server writes is lost at its stop: it
    # stops now, rather than fetch every source into it for hours, and serve stale feeds
    # beside a second server started meanwhile on the new file (the lock went with the
    # old folder, and `workers` share the port).
    service.on_database_lost.append(stop.set)
    log.info("serving", extra=extra)
    _log_warnings(config)
    await stop.wait()
    log.info("stopping", extra={"fetches_in_flight": len(service.pipeline.in_flight)})
    if service.scheduler is not None:
        service.scheduler.shutdown()
    await asyncio.gather(workers.stop(), *(runner.cleanup() for runner in runners))
    watcher.cancel()
    await service.drain(FETCH_GRACE)
