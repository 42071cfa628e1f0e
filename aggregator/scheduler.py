"""The only module that uses APScheduler: one date job per source, re-armed after every run.

A date job re-armed from the run's own result (instead of a fixed interval trigger) is what
lets backoff, `Retry-After` and upstream cache hints move each source's next fetch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feeds.errors import AggregatorError

log = logging.getLogger("aggregator.scheduler")

RunSource = Callable[[str], Awaitable[float | None]]  # runs a source, returns its next fetch time
Timing = tuple[float | None, float]  # (when, epoch seconds or None = soon; stagger seconds)
_PERIODIC = "__periodic__:"
_AFTER_CRASH = 300.0
DEFAULT_STAGGER = 30.0


class Scheduler:
    def __init__(self, run_source: RunSource) -> None:
        self._run_source = run_source
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start(paused=False)
        self._running: set[str] = set()

    def schedule(
        self, source_id: str, at: float | None, *, stagger: float = DEFAULT_STAGGER
    ) -> None:
        """Run `source_id` at `at` (epoch seconds), or within `stagger` seconds when unknown
        or past: sources due together at start-up do not all hit the network at once."""
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

    def rearm(self, source_id: str, at: float | None) -> None:
        """Time a source's next run from a run made outside the schedule; one running now
        re-arms itself when it ends."""
        if at is not None and source_id not in self._running and self._scheduler.running:
            self.schedule(source_id, at)

    def scheduled(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if not job.id.startswith(_PERIODIC)}

    def next_run(self, source_id: str) -> float | None:
        job = self._scheduler.get_job(source_id)
        return job.next_run_time.timestamp() if job and job.next_run_time else None

    def sync(self, wanted: Mapping[str, Timing], *, changed: Collection[str] = ()) -> None:
        """Schedule new sources, drop the ones no longer wanted, re-time the `changed` ones,
        and keep the timing of the others. A source being fetched is left to re-arm itself."""
        for source_id in self.scheduled() - wanted.keys():
            self.unschedule(source_id)
        for source_id, (at, stagger) in wanted.items():
            if source_id in self._running:
                continue
            if source_id in changed or not self._scheduler.get_job(source_id):
                self.schedule(source_id, at, stagger=stagger)

    def every(
        self, name: str, seconds: float, job: Callable[[], Awaitable[None]], *, first: float
    ) -> None:
        """A housekeeping job every `seconds`, the first run `first` seconds from now."""
        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=_PERIODIC + name,
            next_run_time=datetime.fromtimestamp(time.time() + first, UTC),
            replace_existing=True,
        )

    def next_housekeeping(self, name: str) -> float | None:
        """When the housekeeping job `name` (see `every`) runs next."""
        return self.next_run(_PERIODIC + name)

    async def _job(self, source_id: str) -> None:
        self._running.add(source_id)
        try:
            next_fetch = await self._run_source(source_id)
        except asyncio.CancelledError:
            # APScheduler cancels its job tasks at shutdown. The fetch itself is shielded and
            # goes on; `Service.drain` decides its fate. Nothing to re-arm, nothing to report.
            return
        except AggregatorError as exc:  # the database unreadable: said, with no traceback
            log.error("source run failed", extra={"source": source_id, "error": str(exc)})
            next_fetch = time.time() + _AFTER_CRASH
        except Exception:  # one source's bug must not stop its schedule
            log.exception("source run crashed", extra={"source": source_id})
            next_fetch = time.time() + _AFTER_CRASH
        finally:
            self._running.discard(source_id)
        if next_fetch is not None and self._scheduler.running:
            self.schedule(source_id, next_fetch)

    def shutdown(self) -> None:
        """Start nothing more; runs in flight are the caller's to finish or cancel."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
