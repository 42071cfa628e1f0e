"""Extra HTTP server processes for `service.workers`, sharing the public port by SO_REUSEPORT.

One Python process tops out at one core; the kernel spreads connections over every process
listening with SO_REUSEPORT. The main process keeps everything that writes (scheduler,
fetches, admin API, WebSub); a worker only reads the database, and notices commits through
`PRAGMA data_version` like any other reader, so its cached feeds follow within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from aiohttp import web

from aggregator import eventloop, renderjobs
from aggregator.config import Config, ServiceConfig, load_config
from aggregator.cpu import CpuPool
from aggregator.errors import CannotListen, ConfigError
from aggregator.heap import fix_mmap_threshold
from aggregator.logs import apply_level, setup_logging
from aggregator.service import running_service, started_as
from aggregator.web.app import make_app
from aggregator.web.tally import open_tally

log = logging.getLogger("aggregator.workers")
SharedCount = ctypes.c_ulonglong  # a `multiprocessing` Value("Q", lock=False)
SharedCounts = ctypes.Array[ctypes.c_ulonglong]  # an Array("Q", …, lock=False)


@dataclass(frozen=True)
class Reloads:
    """The reloads the main process asked of the workers, and, for each worker, the last it
    made and the last it refused (a config it could not load): in memory the processes share."""

    asked: SharedCount
    made: SharedCounts
    refused: SharedCounts


HTTP_GRACE = 2.0  # requests in flight get this long at a stop
_CHECK_EVERY = 1.0  # how soon a worker notices an orphaned state, and the main a dead worker
_STOP_WAIT = 5.0
_RESPAWN_MAX = 60.0  # a worker that keeps dying is restarted at most this often
_RELOAD_WAIT, _RELOAD_POLL = 5.0, 0.005  # how long a reload waits for the workers, how often
# The main process's word to reload, after its own reload: a worker ignores SIGHUP, which a
# whole process group gets (`systemctl kill -s HUP`, a terminal), and reloaded twice for it.
RELOAD = signal.SIGUSR1


async def start_site(app: web.Application, host: str, port: int, *, shared: bool) -> web.AppRunner:
    """Listen on `host:port`; `shared` lets several processes listen on it (SO_REUSEPORT)."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=HTTP_GRACE)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
    except OSError as exc:
        await runner.cleanup()
        if isinstance(exc, socket.gaierror):  # its errno is the resolver's, not the system's
            why = f"{exc.strerror} (service.host: a name this machine does not resolve)"
        else:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CannotListen(f"cannot listen on {host}:{port}: {why}") from exc
    return runner


class Workers:
    """The extra processes: started, told to reload, replaced when one dies, stopped."""

    def __init__(self, running: Callable[[], Config], count: int, started: ServiceConfig) -> None:
        self._running = running  # the main process's config: a new worker dates as it does
        self._service = started  # its `[service]` as it started: a new worker starts so too
        self._context = multiprocessing.get_context("spawn")  # no inherited loop or sockets
        # a reload is answered once every process serves by the new config
        self._reloads = Reloads(
            self._context.Value("Q", 0, lock=False),
            self._context.Array("Q", count, lock=False),
            self._context.Array("Q", count, lock=False),
        )
        self._processes: list[BaseProcess] = []
        self._count = count
        self._stopping = False
        self._deaths: dict[int, int] = {}  # index -> quick deaths in a row: the respawn delay
        self._started: dict[int, float] = {}

    def start(self) -> None:
        for index in range(self._count):
            self._processes.append(self._spawn(index))

    def _spawn(self, index: int) -> BaseProcess:
        self._started[index] = time.monotonic()
        process = self._context.Process(
            target=run_worker,
            args=(self._running(), self._service, os.getpid(), index + 1, self._reloads),
            daemon=False,
        )
        # Born with both blocked (a blocked signal stays blocked across the exec): a group's
        # SIGHUP, or the word to reload, killed a worker still starting.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, RELOAD})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP, RELOAD})
        return process

    async def watch(self) -> None:
        """Replace a worker that died, so the port keeps its capacity; one that keeps dying
        (a crash at start) is restarted ever more slowly, up to once a minute."""
        due: dict[int, float] = {}
        while not self._stopping:
            await asyncio.sleep(_CHECK_EVERY)
            now = time.monotonic()
            for index, process in enumerate(self._processes):
                if process.exitcode is None or self._stopping:
                    continue
                if index not in due:
                    lived = now - self._started[index]
                    quick = self._deaths.get(index, 0) if lived < _RESPAWN_MAX else 0
                    deaths = self._deaths[index] = quick + 1
                    due[index] = now + min(_RESPAWN_MAX, 2.0 ** (deaths - 1) - 1)
                    died = {"worker": index + 1, "exit_code": process.exitcode,
                            "restart_in": round(due[index] - now)}  # fmt: skip
                    log.error("worker died, starting another", extra=died)
                if now >= due[index]:
                    del due[index]
                    self._processes[index] = self._spawn(index)

    async def reload(self) -> None:
        """Have every worker reload, and wait until each has, or has died (`_RELOAD_WAIT` at
        most): answered at once, a withdrawn item was still served by a worker for a moment
        after `POST /api/reload` said it was done."""
        reloads = self._reloads
        reloads.asked.value += 1
        asked = reloads.asked.value
        self.signal(RELOAD)
        deadline = time.monotonic() + _RELOAD_WAIT
        while not all(
            reloads.made[index] >= asked or process.exitcode is not None
            for index, process in enumerate(self._processes)
        ):
            if time.monotonic() >= deadline:
                log.warning("workers slow to reload", extra={"seconds": _RELOAD_WAIT})
                return
            await asyncio.sleep(_RELOAD_POLL)
        for index in range(self._count):
            if reloads.refused[index] == asked:
                log.error("worker kept its config: it could not load the file",
                          extra={"worker": index + 1})  # fmt: skip

    def signal(self, signum: int) -> None:
        for process in self._processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

    async def stop(self) -> None:
        self._stopping = True
        self.signal(signal.SIGTERM)
        for process in self._processes:
            await asyncio.to_thread(process.join, _STOP_WAIT)
            if process.exitcode is None:
                process.kill()
                await asyncio.to_thread(process.join)


def run_worker(
    running: Config, started: ServiceConfig, parent_pid: int, index: int, reloads: Reloads
) -> None:
    """A worker process's entry point: it reads the config file itself, which may have
    changed since the main process did (its reload comes next), but serves the database and
    port the main process `started` with."""
    fix_mmap_threshold()  # it compresses feeds on threads too: see there why
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
    setup_logging(fields={"worker": index})
    reloads.made[index - 1] = reloads.asked.value  # before the file: one asked later signals
    try:
        loaded = started_as(load_config(running.path), started)
        config = loaded.dated_as(started_as(running, started))
        apply_level(config.service.log_level)
    except ConfigError as exc:
        log.error("worker cannot load the config", extra={"errors": exc.problems})
        raise SystemExit(2) from None
    eventloop.run(_serve_worker(config, parent_pid, index, reloads))


async def _serve_worker(config: Config, parent_pid: int, index: int, reloads: Reloads) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    cpu = CpuPool(1, preload=renderjobs.PRELOAD)  # renders its big and archive pages
    async with running_service(config, schedule=False, writes=False, cpu=cpu) as service:
        pending: set[asyncio.Task[Config]] = set()

        def on_reload() -> None:
            wanted = reloads.asked.value
            task = asyncio.ensure_future(service.reload())
            pending.add(task)
            task.add_done_callback(_reload_done(pending))
            task.add_done_callback(functools.partial(_reloaded, reloads, index - 1, wanted))

        loop.add_signal_handler(RELOAD, on_reload)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {RELOAD})  # one sent meanwhile comes now
        settings = config.service
        tally = open_tally(settings.database, index, fresh=False)
        runner = await start_site(
            make_app(service, admin=False, tally=tally), settings.host, settings.port, shared=True
        )
        log.info("worker serving", extra={"worker": index, "pid": os.getpid()})
        await _until_stopped(parent_pid, stop)
        await runner.cleanup()


def _reloaded(reloads: Reloads, slot: int, wanted: int, task: asyncio.Task[Config]) -> None:
    """Tell the main process this worker's reload is over, and whether it was refused."""
    if task.cancelled() or task.exception() is not None:
        reloads.refused[slot] = wanted
    reloads.made[slot] = wanted


def _reload_done(pending: set[asyncio.Task[Config]]) -> Callable[[asyncio.Task[Config]], None]:
    def done(task: asyncio.Task[Config]) -> None:
        pending.discard(task)
        if not task.cancelled() and isinstance(task.exception(), ConfigError):
            log.error("config reload refused, the running config stays")

    return done


async def _until_stopped(parent_pid: int, stop: asyncio.Event) -> None:
    """Until a stop signal, or the main process is gone: killed outright, it cannot stop us."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("main process gone, worker stopping")
            stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _CHECK_EVERY)
