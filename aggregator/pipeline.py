"""The pipeline of one source: fetch → parse → follow articles → identify → store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator.config import Config, SourceConfig
from aggregator.errors import FetchError, RetryLater
from aggregator.extract import Collected, collect
from aggregator.fetcher import Fetcher
from aggregator.policy import next_delay, upstream_hint
from aggregator.records import story_context, to_record
from aggregator.robots import Robots
from feeds.errors import AggregatorError
from storage import Database, FetchOutcome, ItemRecord, WriteSummary

log = logging.getLogger("aggregator.fetch")


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one run of a source did: the row `aggregator fetch` prints and the log line."""

    source_id: str
    result: str  # "ok", "not modified", "unchanged", "degraded", "error"
    seconds: float
    status: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    next_fetch: float | None = None

    @property
    def failed(self) -> bool:
        return self.result == "error"


class Pipeline:
    """Runs sources; one source's failure is recorded on that source and never propagates."""

    def __init__(
        self,
        config: Config,
        db: Database,
        fetcher: Fetcher,
        *,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.fetcher = fetcher
        self.robots = Robots(fetcher, config.fetch.user_agent)
        self.on_change = on_change
        self._running: dict[str, asyncio.Task[SourceReport]] = {}

    async def run(self, source: SourceConfig) -> SourceReport:
        """Fetch one source now; a run already in flight for it is joined, not duplicated."""
        task = self._running.get(source.id)
        if task is None:
            task = asyncio.ensure_future(self._run(source))
            self._running[source.id] = task
            task.add_done_callback(lambda _: self._running.pop(source.id, None))
        return await asyncio.shield(task)

    async def run_many(
        self, sources: Sequence[SourceConfig], progress: Callable[[SourceReport], None]
    ) -> list[SourceReport]:
        async def one(source: SourceConfig) -> SourceReport:
            report = await self.run(source)
            progress(report)
            return report

        return list(await asyncio.gather(*(one(s) for s in sources)))

    async def _run(self, source: SourceConfig) -> SourceReport:
        started = time.time()
        clock = time.monotonic()
        state = await self.db.fetch_state(source.id)
        try:
            collected = await collect(
                source,
                fetcher=self.fetcher,
                robots=self.robots,
                state=state,
                default_tz=self.config.service.timezone,
                known_listings=self.db.listing_hashes,
            )
        except (AggregatorError, OSError) as exc:
            return await self._failed(source, state.error_streak + 1, started, clock, exc)
        seconds = time.monotonic() - clock
        response = collected.response
        hint = upstream_hint(
            started,
            ttl=collected.feed.ttl_seconds if collected.feed else None,
            cache_control=response.cache_control if response else None,
            expires=response.expires if response else None,
        )
        delay = next_delay(
            interval=source.interval, max_interval=self.config.fetch.max_interval, hint=hint
        )
        outcome = _outcome(collected, started, seconds, started + delay)
        records = [
            to_record(source, item, listing, self.config.stories)
            for item, listing in collected.items
        ]
        summary = await self.db.store_fetch(
            source.id, outcome, _unique(records), story_context(self.config)
        )
        if (summary.new or summary.updated) and self.on_change:
            self.on_change(source.id)
        return self._report(source, outcome, summary)

    async def _failed(
        self, source: SourceConfig, streak: int, started: float, clock: float, exc: BaseException
    ) -> SourceReport:
        status = exc.status if isinstance(exc, FetchError) else None
        retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
        delay = next_delay(
            interval=source.interval,
            max_interval=self.config.fetch.max_interval,
            error_streak=streak,
            retry_after=retry_after,
        )
        outcome = FetchOutcome(
            attempted_at=started,
            seconds=time.monotonic() - clock,
            ok=False,
            result="error",
            status=status,
            error=str(exc),
            next_fetch=started + delay,
        )
        await self.db.store_fetch(source.id, outcome, [])
        return self._report(source, outcome, WriteSummary())

    def _report(
        self, source: SourceConfig, outcome: FetchOutcome, summary: WriteSummary
    ) -> SourceReport:
        report = SourceReport(
            source_id=source.id,
            result=outcome.result,
            seconds=round(outcome.seconds, 3),
            status=outcome.status,
            new=summary.new,
            updated=summary.updated,
            unchanged=summary.unchanged,
            error=outcome.error,
            next_fetch=outcome.next_fetch,
        )
        level = logging.WARNING if report.failed else logging.INFO
        log.log(
            level,
            "fetched",
            extra={
                "source": source.id,
                "url": outcome.effective_url or source.url,
                "result": report.result,
                "status": report.status,
                "new": report.new,
                "updated": report.updated,
                "seconds": report.seconds,
                "error": report.error,
            },
        )
        return report


def _unique(records: list[ItemRecord]) -> list[ItemRecord]:
    """The last of several items sharing a key wins: upstreams do repeat ids."""
    return list({record.key: record for record in records}.values())


def _outcome(
    collected: Collected, started: float, seconds: float, next_fetch: float
) -> FetchOutcome:
    response = collected.response
    feed = collected.feed
    if response is not None and response.not_modified:
        result = "not modified"
    elif feed is None:
        result = "unchanged"
    elif collected.warnings:
        result = "degraded"
    else:
        result = "ok"
    return FetchOutcome(
        attempted_at=started,
        seconds=seconds,
        ok=True,
        result=result,
        status=response.status if response else None,
        error="; ".join(collected.warnings) or None,
        etag=response.etag if response else None,
        last_modified=response.last_modified if response else None,
        body_hash=collected.body_hash,
        effective_url=response.permanent_url if response else None,
        charset=feed.charset if feed else None,
        title=feed.title or None if feed else None,
        site_url=feed.link if feed else None,
        next_fetch=next_fetch,
    )
