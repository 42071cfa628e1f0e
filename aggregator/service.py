"""The running service: config, database, fetcher, pipeline and scheduler with one lifecycle."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aggregator.config import Config, load_config
from aggregator.errors import UnknownSource
from aggregator.fetcher import Fetcher
from aggregator.pipeline import Pipeline, SourceReport
from aggregator.records import apply_config
from aggregator.scheduler import Scheduler
from feeds.errors import AggregatorError
from storage import Database

log = logging.getLogger("aggregator.service")
_DATA_VERSION_POLL = 1.0
_PRUNE_EVERY = 6 * 3600.0


class Service:
    """Shared state of `serve`: published-data generation, config, and the running parts.

    `generation` changes whenever stored data may have changed, from this process (a fetch) or
    another (`aggregator fetch` beside a running server); caches compare it instead of querying.
    """

    def __init__(self, config: Config, db: Database, fetcher: Fetcher) -> None:
        self.config = config
        self.db = db
        self.fetcher = fetcher
        self.pipeline = Pipeline(config, db, fetcher, on_change=self._changed)
        self.generation = 0
        self.scheduler: Scheduler | None = None
        self.started = time.time()

    def _changed(self, source_id: str) -> None:
        self.generation += 1

    async def fetch_now(self, source_id: str) -> SourceReport:
        source = self.config.source(source_id)
        if source is None:
            raise UnknownSource(source_id)
        return await self.pipeline.run(source)

    async def _scheduled_run(self, source_id: str) -> float | None:
        source = self.config.source(source_id)
        if source is None or not source.enabled:
            return None
        report = await self.pipeline.run(source)
        return report.next_fetch

    async def start_scheduler(self) -> None:
        self.scheduler = Scheduler(self._scheduled_run)
        await self._sync_schedule()
        self.scheduler.every(_PRUNE_EVERY, self.prune)

    async def _sync_schedule(self) -> None:
        assert self.scheduler is not None
        next_fetch = {s.id: s.next_fetch for s in await self.db.statuses(time.time())}
        self.scheduler.sync((s.id, next_fetch.get(s.id)) for s in self.config.sources if s.enabled)

    async def reload(self) -> Config:
        """Apply a changed config file; an invalid one raises `ConfigError` and changes nothing."""
        config = load_config(self.config.path)
        await apply_config(self.db, config)
        self.config = config
        self.pipeline.config = config
        self.generation += 1
        if self.scheduler is not None:
            await self._sync_schedule()
        log.info("config reloaded", extra={"sources": len(config.sources)})
        return config

    async def prune(self) -> None:
        removed = await self.db.prune(time.time() - self.config.fetch.retention)
        if removed:
            self.generation += 1
            log.info("pruned", extra={"items": removed})

    async def watch_data_version(self) -> None:
        """Notice commits by other processes, so caches never serve stale feeds for long."""
        seen = None
        while True:
            try:
                current = await self.db.data_version()
            except (AggregatorError, ValueError, sqlite3.Error):
                log.exception("cannot read the database's data version")
                current = None
            if current != seen:
                seen = current
                self.generation += 1
            await asyncio.sleep(_DATA_VERSION_POLL)


@asynccontextmanager
async def running_service(config: Config, *, schedule: bool) -> AsyncIterator[Service]:
    db = await Database.open(config.service.database)
    try:
        await apply_config(db, config)
        async with Fetcher(config.fetch) as fetcher:
            service = Service(config, db, fetcher)
            watcher = asyncio.create_task(service.watch_data_version())
            if schedule:
                await service.start_scheduler()
            try:
                yield service
            finally:
                if service.scheduler is not None:
                    service.scheduler.shutdown()
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
    finally:
        await db.close()
