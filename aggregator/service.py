"""The running service: config, database, fetcher, pipeline and scheduler with one lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from pathlib import Path

from aggregator.config import Config, ServiceConfig, SourceConfig, load_config
from aggregator.configdate import as_recorded, dated
from aggregator.cpu import CpuPool, WorkerCrashed
from aggregator.errors import ConfigError, UnknownSource
from aggregator.fetcher import Fetcher
from aggregator.fetchstats import FetchStats
from aggregator.freshness import Freshness
from aggregator.logs import apply_level
from aggregator.pipeline import Pipeline, SourceReport
from aggregator.policy import phased, prune_every
from aggregator.records import apply_config, rekey_stories
from aggregator.robots import Robots
from aggregator.scheduler import DEFAULT_STAGGER, Scheduler, Timing
from aggregator.websub import WebSubNotifier
from aggregator.withdrawn import Withdrawn, withdrawn
from feeds.errors import AggregatorError
from storage import Database

log = logging.getLogger("aggregator.service")
_DATA_VERSION_POLL = 1.0
_FIRST_PRUNE = 60.0  # soon after start, so a service restarted often still prunes
_SAME_TIME = 1.0  # seconds apart that two schedules of a source count as one
_RESTART_KEYS = ("host", "port", "database", "admin_host", "admin_port", "workers")


def started_as(config: Config, started: ServiceConfig) -> Config:
    """`config` with the settings that apply at a start (`_RESTART_KEYS`) as the server started
    with them (`started`): a worker started again after they were edited served another
    database on the shared port."""
    kept = {key: getattr(started, key) for key in _RESTART_KEYS}
    return replace(config, service=replace(config.service, **kept))


class Service:
    """Shared state of `serve`: published-data generation, config, and the running parts.

    A cached document is valid for its `version`: `generation` moves for what may change any
    document (a reload, pruning), `freshness` for what changes the documents of some sources,
    written by this process (a fetch) or another (`aggregator fetch` beside a running server).
    Caches compare them instead of querying.
    """

    def __init__(
        self,
        config: Config,
        db: Database,
        fetcher: Fetcher,
        *,
        writes: bool = True,
        cpu: CpuPool | None = None,
    ) -> None:
        self.config = config
        self.writes = writes  # False in a worker process, which only serves
        # processes serving the port: `service.workers` as the start read it (a reload of
        # it applies at the next start)
        self.processes = config.service.workers
        self.db = db
        self._database_file = _file_identity(db.path)
        # Why the database this process writes is no longer the file at its path (removed,
        # replaced), or None: `/healthz` fails with it.
        self.database_problem: str | None = None
        self.fetcher = fetcher
        self.cpu = cpu or CpuPool(0)  # parses fetched documents; renders cold feeds if processes
        self.stats = FetchStats()
        self.pipeline = Pipeline(
            config,
            db,
            fetcher,
            cpu=self.cpu,
            on_change=self._changed,
            on_report=self.stats.observe,
        )
        self.generation = 0
        self.freshness = Freshness()
        self.scheduler: Scheduler | None = None
        self.started = time.time()
        self._recorded_seen = self.started  # the last record `_follow_other_fetches` saw
        self.websub = WebSubNotifier()
        self._reloading = asyncio.Lock()
        # awaited after each reload: the worker processes reloading too
        self.on_reload: list[Callable[[], Awaitable[object]]] = []
        self.on_database_lost: list[Callable[[], object]] = []  # e.g. stop serving
        self.rekeying: asyncio.Task[int] | None = None  # stored story keys made anew, if stale

    def version(self, kind: str, ident: str) -> tuple[int, int]:
        """What a cached `/{kind}/{ident}` document stays valid for."""
        return self.generation, self.freshness.version(kind, ident)

    def _changed(self, versions: tuple[tuple[str, int], ...]) -> None:
        for source_id in self.freshness.saw(self.config, versions):
            self.websub.notify(self.config, source_id)

    async def fetch_now(self, source_id: str) -> SourceReport:
        """A fetch asked for by the operator; the source's next one is timed from it, as from a
        scheduled one: after a recovery, not at the end of the backoff it was waiting out."""
        source = self.config.source(source_id)
        if source is None:
            raise UnknownSource(source_id)
        report = await self.pipeline.run(source)
        if self.scheduler is not None:
            self.scheduler.rearm(source_id, await self._next_after(source, report))
        return report

    async def _scheduled_run(self, source_id: str) -> float | None:
        source = self.config.source(source_id)
        if source is None or not source.enabled:
            return None
        return await self._next_after(source, await self.pipeline.run(source))

    async def _next_after(self, started: SourceConfig, report: SourceReport) -> float | None:
        """`_next_for`, stored where it differs from what the fetch stored: the status shows
        it, and a restart keeps it."""
        at = self._next_for(started, report)
        if at is not None and at != report.next_fetch:
            await self.db.store_next_fetch([(started.id, at)])
        return at

    def _next_for(self, started: SourceConfig, report: SourceReport) -> float | None:
        """When a source fetched with `started`'s settings runs next, by the config now: a
        reload during the fetch may have removed or disabled it (None), changed its `url`
        (fetched at once) or its interval (re-timed from this fetch, as `_sync_schedule`
        re-times the sources it finds idle). The report's time is the old settings'."""
        current = self.config.source(started.id)
        if current is None or not current.enabled:
            return None
        if current.url != started.url:
            return time.time()
        if current.interval != started.interval and report.result != "error":
            attempted = time.time() - report.seconds
            return _retimed(
                started.id, attempted, started.interval, current.interval, report.next_fetch
            )
        return report.next_fetch

    async def start_scheduler(self) -> None:
        self.scheduler = Scheduler(self._scheduled_run)
        await self._sync_schedule(None)
        every = prune_every(self.config.fetch.retention)
        self.scheduler.every("prune", every, self.prune, first=min(_FIRST_PRUNE, every))

    async def _sync_schedule(self, previous: Config | None) -> None:
        """Schedule what the config wants; a changed interval or URL re-times its source. The
        status shows the time of each source re-timed or added (again) at once: a source added
        back showed the past time its last schedule had, as if stuck."""
        assert self.scheduler is not None
        stored = {s.id: s for s in await self.db.statuses(time.time())}
        wanted: dict[str, Timing] = {}
        changed = set()
        for source in self.config.sources:
            if not source.enabled:
                continue
            status = stored.get(source.id)
            at = status.next_fetch if status else None
            old = previous.source(source.id) if previous else None
            if old is not None and old.url != source.url:
                at = None
                changed.add(source.id)
            elif old is not None and old.interval != source.interval:
                idle = status is not None and not status.error_streak  # not backing off
                last = status.last_attempt if status is not None and idle else None
                at = _retimed(source.id, last, old.interval, source.interval, at)
                changed.add(source.id)
            wanted[source.id] = (at, min(DEFAULT_STAGGER, source.interval))
        added = wanted.keys() - self.scheduler.scheduled()  # their status shows no time yet
        self.scheduler.sync(wanted, changed=changed)
        retimed = [(i, self.scheduler.next_run(i)) for i in sorted(changed | added)]
        await self.db.store_next_fetch([(i, at) for i, at in retimed if at is not None])

    async def _follow_other_fetches(self) -> None:
        """Re-time the sources another process fetched (`aggregator fetch` beside this server):
        a source it found recovered is not left waiting out the backoff this one timed."""
        if self.scheduler is None:
            return
        # The clock stepped back (an NTP correction): records stamped from then on are older
        # than the last one seen, and went unseen for as long as the step.
        self._recorded_seen = min(self._recorded_seen, time.time() - 2 * _DATA_VERSION_POLL)
        scheduled = self.scheduler.scheduled()
        for source_id, recorded, due in await self.db.recorded_since(self._recorded_seen):
            self._recorded_seen = max(self._recorded_seen, recorded)
            planned = self.scheduler.next_run(source_id)
            if source_id not in scheduled or due is None or planned is None:
                continue
            if abs(planned - due) > _SAME_TIME:
                log.info("re-timed from a fetch outside the schedule",
                         extra={"source": source_id, "next_fetch": due})  # fmt: skip
                self.scheduler.rearm(source_id, due)

    async def reload(self) -> Config:
        """Apply a changed config file; an invalid one raises `ConfigError` and changes nothing.

        Fetches in flight finish with the settings they started with.
        """
        async with self._reloading:
            config = (await self._read_config()).dated_as(self.config)
            if self.config.sources and not config.sources:
                raise ConfigError(
                    ["no [[sources]]: the reload would stop publishing every source. A file"
                     " caught while being written reads so (write another file, then rename it"
                     " over this one); to run without sources, restart the service"],
                    path=str(config.path),
                )  # fmt: skip
            if config is not self.config:
                config = await dated(self.db, config, record=self.scheduler is not None)
            elif not config.dated_by_store:
                config = await as_recorded(self.db, config)
            split = await apply_config(self.db, config) if self.writes else set()
            previous, self.config = self.config, config
            self.pipeline.reconfigure(config)
            if config.fetch.user_agent != previous.fetch.user_agent:
                self.pipeline.robots = Robots(self.fetcher, config.fetch.user_agent)
            self.stats.keep_only({source.id for source in config.sources})
            self.fetcher.reconfigure(config.fetch)
            if config.service.log_level != previous.service.log_level:
                apply_level(config.service.log_level)
            self.generation += 1
            if self.scheduler is not None:
                await self._sync_schedule(previous)
                every = prune_every(config.fetch.retention)
                if every != prune_every(previous.fetch.retention):
                    self.scheduler.every("prune", every, self.prune, first=every)
            if self.writes:
                self.tell_hub(split | await self._withdrawals_changed(previous, config))
        for listener in self.on_reload:
            await listener()
        _log_reload(previous, config)
        return config

    def tell_hub(self, source_ids: set[str]) -> None:
        """Changes made by the config (a split, a withdrawal) reach the hub as a fetch's do,
        so partners subscribed through it see a story split or an item taken down at once."""
        for source_id in sorted(source_ids):
            self.websub.notify(self.config, source_id)

    async def _withdrawals_changed(self, previous: Config, config: Config) -> set[str]:
        """The sources showing items withdrawn by this reload, or withdrawn no more; the
        stories of those items changed now, as another of their copies is shown."""
        before, after = (withdrawn(c.stories) for c in (previous, config))
        if before == after:
            return set()
        changed = withdrawn(replace(config.stories, withdrawn=_changed_urls(before, after)))
        if changed is None:
            return set()
        showing = await self.db.shown_anew(sorted(changed.links), time.time())
        if not config.service.websub_hub:
            return showing
        # Items without a normalised link cannot be found through the index: check each.
        unlinked = await self.db.unlinked_items()
        return showing | {source_id for source_id, url in unlinked if changed.covers(url)}

    async def _read_config(self) -> Config:
        """The config file, parsed in a worker process if the service's have started: on the
        loop, 2,000 sources held it for about 60 ms. A serving worker's pool, started only by
        big and archive pages, is not started for this; nor does a dead worker stop a reload."""
        path = self.config.path
        if self.cpu.started:
            try:
                return await self.cpu.run(load_config, path)
            except WorkerCrashed:
                log.warning("reading the config on the event loop: a worker died")
        return load_config(path)

    async def prune(self) -> None:
        # A source no longer configured or fetched lists nothing any more.
        fetched = [source.id for source in self.config.sources if source.enabled]
        removed = await self.db.prune(time.time() - self.config.fetch.retention, fetched)
        if removed:
            self.generation += 1
        log.info("pruned", extra={"items": removed})

    async def drain(self, grace: float) -> None:
        """Start no more fetches; give those in flight `grace` seconds, then cancel them.

        A cancelled fetch rolls its transaction back, so the database keeps either all of a
        fetch or none of it, and the next start fetches that source again.
        """
        if self.scheduler is not None:
            self.scheduler.shutdown()
        tasks = self.pipeline.in_flight
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("fetches cancelled at shutdown", extra={"fetches": len(pending)})
            await asyncio.wait(pending)

    def _check_database_file(self) -> None:
        """Notice the database file removed or replaced under a running server: it goes on
        writing to a file nobody will read again, so everything stored from then on is lost at
        its stop, and the next server starts on an empty store."""
        now = _file_identity(self.db.path)
        problem = None
        if now is None:
            problem = f"{self.db.path} is gone: what is stored from now on is lost at the stop"
        elif self._database_file is not None and now != self._database_file:
            problem = f"{self.db.path} is another file now: what is stored goes to the old one"
        if problem and problem != self.database_problem:
            log.error("database file lost: restart the service", extra={"problem": problem})
            for listener in self.on_database_lost:
                listener()
        self.database_problem = problem

    async def watch_data_version(self) -> None:
        """Notice commits by other processes, so caches never serve stale feeds for long: the
        items versions tell which sources' documents they changed, if any."""
        seen = None
        while True:
            self._check_database_file()
            try:
                current = await self.db.data_version()
                if current != seen:
                    self.freshness.saw(self.config, (await self.db.items_versions()).items())
                    await self._follow_other_fetches()
            except (AggregatorError, ValueError, sqlite3.Error):
                log.exception("cannot read what changed in the database: every feed renders again")
                current = None
            if current != seen:
                if seen is None or current is None:  # the first look, or a failed one
                    self.generation += 1
                seen = current
            await asyncio.sleep(_DATA_VERSION_POLL)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _retimed(
    source_id: str,
    last_attempt: float | None,
    old_interval: float,
    interval: float,
    at: float | None,
) -> float | None:
    """After an interval change: the source's next instant by the new interval from its last
    attempt (None when backing off), and never before what an upstream's cache hint asked
    for: a wait longer than the old interval that is not the instant it would have given."""
    if last_attempt is None:
        return at
    retimed = phased(source_id, last_attempt, interval, interval)
    planned = phased(source_id, last_attempt, old_interval, old_interval)
    if at is not None and abs(at - planned) > _SAME_TIME and at - last_attempt > old_interval:
        return max(at, retimed)
    return retimed


def _changed_urls(before: Withdrawn | None, after: Withdrawn | None) -> frozenset[str]:
    """The withdrawn URLs a reload added or took back; all of them if the mirror hosts,
    which decide what each URL matches, changed."""
    if before is None or after is None:
        either = before or after
        return either.urls if either else frozenset()
    if before.mirrors != after.mirrors:
        return before.urls | after.urls
    return before.urls ^ after.urls


def _log_reload(previous: Config, config: Config) -> None:
    old = {s.id: s for s in previous.sources}
    new = {s.id: s for s in config.sources}
    changed = sorted(i for i in old.keys() & new.keys() if old[i] != new[i])
    log.info(
        "config reloaded",
        extra={"sources": len(new), "added": sorted(new.keys() - old.keys()),
               "removed": sorted(old.keys() - new.keys()), "changed": changed},
    )  # fmt: skip
    needs_restart = [
        f"service.{key}"
        for key in _RESTART_KEYS
        if getattr(previous.service, key, None) != getattr(config.service, key, None)
    ]
    if needs_restart:
        log.warning("these changes apply at the next start", extra={"keys": needs_restart})


@asynccontextmanager
async def running_service(
    config: Config, *, schedule: bool, writes: bool = True, cpu: CpuPool | None = None
) -> AsyncIterator[Service]:
    """The service for one process; `writes=False` for a worker that only serves. Parsing
    runs in `cpu`'s processes (closed with the service), or in threads without one."""
    try:
        db = await Database.open(config.service.database)
    except BaseException:  # refused, or stopped during an upgrade
        if cpu is not None:
            await cpu.close()
        raise
    try:
        config = await dated(db, config, record=schedule)
        split = await apply_config(db, config) if writes else set()
        async with Fetcher(config.fetch) as fetcher:
            service = Service(config, db, fetcher, writes=writes, cpu=cpu)
            service.tell_hub(split)
            watcher = asyncio.create_task(service.watch_data_version())
            if schedule:
                # a server's: `aggregator fetch` rekeys before it fetches (`operate.fetch`)
                service.rekeying = asyncio.create_task(
                    rekey_stories(db, lambda: service.config, service.cpu)
                )
                service.pipeline.keys_ready = service.rekeying
                await service.start_scheduler()
            try:
                yield service
            finally:
                await service.drain(0)
                if service.rekeying is not None:
                    service.rekeying.cancel()
                    with suppress(asyncio.CancelledError):
                        await service.rekeying
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
                await service.websub.aclose()
    finally:
        if cpu is not None:
            await cpu.close()
        await db.close()
