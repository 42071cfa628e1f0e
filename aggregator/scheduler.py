"""The only module that uses APScheduler: one date job per source, re-armed after every run.

A date job re-armed from the run's own result (instead of a fixed interval trigger) is what
lets backoff, `Retry-After` and upstream cache hints move each source's next fetch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("aggregator.scheduler")

RunSource = Callable[[str], Awaitable[float | None]]  # runs a source, returns its next fetch time
_PRUNE_JOB = "__prune__"
_AFTER_CRASH = 300.0


class Scheduler:
    def __init__(self, run_source: RunSource) -> None:
        self._run_source = run_source
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start(paused=False)

    def schedule(self, source_id: str, at: float | None, *, stagger: float = 30.0) -> None:
        """Run `source_id` at `at` (epoch seconds), or soon with jitter when unknown or past."""
        now = time.time()
        when = at if at is not None and at > now else now + random.uniform(0, stagger)
        self._scheduler.add_job(
            self._job,
            "date",
            args=[source_id],
            id=source_id,
            run_date=datetime.fromtimestamp(when, UTC),
            replace_existing=True,
            misfire_grace_time=None,
        )

    def unschedule(self, source_id: str) -> None:
        if self._scheduler.get_job(source_id):
            self._scheduler.remove_job(source_id)

    def scheduled(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if job.id != _PRUNE_JOB}

    def sync(self, wanted: Iterable[tuple[str, float | None]]) -> None:
        """Schedule new sources, keep the timing of known ones, drop the ones no longer wanted."""
        by_id = dict(wanted)
        for source_id in self.scheduled() - by_id.keys():
            self.unschedule(source_id)
        for source_id, at in by_id.items():
            if not self._scheduler.get_job(source_id):
                self.schedule(source_id, at)

    def every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        self._scheduler.add_job(job, "interval", seconds=seconds, id=_PRUNE_JOB,
                                replace_existing=True)  # fmt: skip

    async def _job(self, source_id: str) -> None:
        try:
            next_fetch = await self._run_source(source_id)
        except Exception:  # one source's bug must not stop its schedule
            log.exception("source run crashed", extra={"source": source_id})
            next_fetch = time.time() + _AFTER_CRASH
        if next_fetch is not None:
            self.schedule(source_id, next_fetch)

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=False)
