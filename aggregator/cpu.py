"""CPU-bound work (parsing, record building) off the event loop, in processes when it pays.

A thread keeps the loop free only while C code releases the GIL; feedparser, the SimHash glue
and record building are Python, so in a thread they still hold the one core the loop and
SQLite's writer share. Worker processes, one per core, run them beside the loop. They fork
from a server process that has already imported the parsers and the program: spawned afresh,
two workers spent 0.8 CPU-s importing them (more than the parsing of a pass where a tenth of
2,000 feeds changed), forked they cost 0.5, the server included. Short runs (`preview`, a
single `fetch`) use a thread instead.

Workers run at a lower priority (`WORKER_NICENESS`): the event loop answering readers and the
SQLite writer, a single thread every fetch waits for, come first, and parsing takes the CPU
they leave. At the same priority the writer spent a fifth of a 2,000-feed first fetch
runnable but waiting for a core; below it, the fetch took 6-16 % less time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from typing import ParamSpec, TypeVar

from aggregator.heap import call_releasing
from feeds.errors import AggregatorError

log = logging.getLogger("aggregator.cpu")
_ORPHAN_CHECK = 1.0
CLOSE_GRACE = 2.0  # seconds a call still running is given when the pool closes
# Seconds one call may run: a parser with a cost that grows faster than its input (markup
# nested 300,000 deep held one for minutes) must not hold a process, and the sources
# waiting for it, for good. A 10 MB feed of 90,000 entries parses in about 1 s.
CALL_LIMIT = 120.0
WORKER_NICENESS = 10  # added to the parent's; a CFS weight about a tenth of the parent's
# What the workers run: the parsers, and the wrapper that gives large calls' memory back.
_WORKER_MODULES = ["aggregator.records", "aggregator.heap"]
P = ParamSpec("P")
T = TypeVar("T")


class WorkerCrashed(AggregatorError):
    """A worker process died during the call (a crash in a C parser, or the OOM killer)."""


# A terminal's Ctrl-C, or a SIGHUP sent to the whole process group (`systemctl kill -s HUP`,
# a hangup) reaches every process of the group: these are the server's to handle. They killed
# the parsing processes, whose documents then failed, and the fork server and resource tracker.
_PARENTS_SIGNALS = {signal.SIGHUP, signal.SIGINT}


def _start_worker(parent_pid: int) -> None:
    os.nice(WORKER_NICENESS)
    for signum in _PARENTS_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    _exit_with_parent(parent_pid)


@contextmanager
def _parents_signals_blocked() -> Iterator[None]:
    """The processes this thread starts (the fork server, the resource tracker) are born
    with the group's SIGHUP blocked: a blocked signal stays blocked across their exec."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


def _exit_with_parent(parent_pid: int) -> None:
    """In each worker: a parent killed outright (SIGKILL, OOM) cannot stop its workers, and
    they would live on, holding its stderr open (and, through them, the fork server they came
    from). They notice within a second and exit."""
    try:
        handle = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # no pidfd (not Linux, or before 5.3): poll the pid
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])  # readable once the process has exited
        else:
            while _alive(parent_pid):
                time.sleep(_ORPHAN_CHECK)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and another user's
        pass
    return True


def _start_method(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """Forks from a clean server process, never from this one: the loop's threads and sockets
    must not be forked into the workers. Spawn where there is no fork server.

    The fork server imports only the workers' modules, once for every worker. Each worker then
    imports the main script again (`aggregator.cli`, which imports little: see its docstring).
    Preloading every module this process had imported (the server, the web app, aiohttp) made
    the pool's first answer take 0.35 s and 0.45 CPU-s, against 0.18 s and 0.26 CPU-s, in an
    `aggregator fetch` whose parsing, where a tenth of 2,000 feeds changed, takes about 0.5."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*_WORKER_MODULES, *preload])
    return context


class CpuPool:
    """Runs pure functions in worker processes, or in a thread when `processes` is 0.

    The pool starts at its first call, on another thread: started on the loop's, the fork
    server's start and its import of the parsers held the loop for 0.19 s, and a server's
    readers waited that long behind the first feed it parsed. Every worker forks then.
    """

    def __init__(
        self, processes: int, preload: Sequence[str] = (), call_limit: float = CALL_LIMIT
    ) -> None:
        """`preload`: modules of functions it will run beyond the parsers, imported once by
        the fork server rather than by each worker at its first call. A call running longer
        than `call_limit` seconds fails, and the pool's processes are replaced."""
        self.processes = processes
        self.call_limit = call_limit
        self._preload = tuple(preload)
        self._pool: asyncio.Task[ProcessPoolExecutor] | None = None

    @classmethod
    def for_this_machine(cls, preload: Sequence[str] = ()) -> CpuPool:
        return cls(os.cpu_count() or 1, preload)

    @property
    def started(self) -> bool:
        """Whether a call now goes straight to a running worker, not waiting for a start."""
        pool = self._pool
        return pool is not None and pool.done() and not pool.cancelled() and not pool.exception()

    def start(self) -> asyncio.Task[ProcessPoolExecutor]:
        """Start the workers now, on another thread, if they are not started or starting."""
        if self._pool is None:
            self._pool = asyncio.ensure_future(self._start())
            self._pool.add_done_callback(self._forget_failed)
        return self._pool

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(function, *args, **kwargs)
        if not self.processes:
            return await asyncio.to_thread(call)
        pool = self.start()
        try:
            executor = await asyncio.shield(pool)  # a cancelled caller leaves the start going
            released = functools.partial(call_releasing, call)
            running = asyncio.get_running_loop().run_in_executor(executor, released)
            try:
                return await asyncio.wait_for(running, self.call_limit)
            except TimeoutError:
                raise await self._stopped(pool, executor, function) from None
        except BrokenProcessPool as exc:
            if self._pool is pool:  # the first caller to notice starts a new pool
                self._pool = None
                _shut(pool, wait=False)
                log.error("a worker process died; starting new ones")
            name = getattr(function, "__name__", repr(function))  # a partial has none
            raise WorkerCrashed(f"worker process died while running {name}") from exc

    async def _stopped(
        self,
        pool: asyncio.Task[ProcessPoolExecutor],
        executor: ProcessPoolExecutor,
        function: object,
    ) -> WorkerCrashed:
        """After a call ran past `call_limit`: the pool's processes stopped (the executor
        cannot stop one call), the next call starting new ones; the error to raise."""
        name = getattr(function, "__name__", repr(function))
        if self._pool is pool:
            self._pool = None
            log.error("a call ran too long; its worker processes were stopped",
                      extra={"call": name, "seconds": self.call_limit})  # fmt: skip
            await asyncio.to_thread(_stop, executor, 0.0)
        return WorkerCrashed(f"{name} ran longer than {self.call_limit:g}s, and was stopped")

    def _forget_failed(self, pool: asyncio.Task[ProcessPoolExecutor]) -> None:
        """A start that failed (no process could be forked) is tried again at the next call."""
        if self._pool is pool and (pool.cancelled() or pool.exception() is not None):
            self._pool = None

    async def _start(self) -> ProcessPoolExecutor:
        with _parents_signals_blocked():  # its queues' locks start the resource tracker
            executor = ProcessPoolExecutor(
                self.processes,
                mp_context=_start_method(self._preload),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        try:
            await asyncio.to_thread(_first_answers, executor, self.processes)
        except BaseException:  # cancelled by `close`, or the first worker died
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return executor

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not pool.done():
            pool.cancel()
            with suppress(asyncio.CancelledError, BrokenProcessPool):
                await pool
            return
        if not pool.cancelled() and pool.exception() is None:
            await asyncio.to_thread(_stop, pool.result(), CLOSE_GRACE)


def _first_answers(executor: ProcessPoolExecutor, processes: int) -> None:
    """Start the fork server and every worker, all from this thread: the executor forks a
    worker at a call that finds none idle, and the loop's thread asking the fork server for
    the second one waited about 2 ms."""
    with _parents_signals_blocked():
        for answer in [executor.submit(os.getpid) for _ in range(processes)]:
            answer.result()


def _stop(executor: ProcessPoolExecutor, grace: float) -> None:
    """Shut the executor, giving the calls running `grace` seconds; then their processes are
    killed: one parsing hostile input for minutes held the service's stop as long."""
    # the executor's own record of its processes: no public way to stop a call running
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.exitcode is None:
            process.kill()
            process.join()
    executor.shutdown(wait=True)


def _shut(pool: asyncio.Task[ProcessPoolExecutor], *, wait: bool) -> None:
    """Shut the executor a finished start gave; a start that failed shut its own."""
    if pool.done() and not pool.cancelled() and pool.exception() is None:
        pool.result().shutdown(wait=wait, cancel_futures=True)
