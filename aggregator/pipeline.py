"""The pipeline of one source: fetch → parse → follow articles → identify → store."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from aggregator.config import Config, SourceConfig
from aggregator.cpu import CpuPool
from aggregator.errors import FetchError, RetryLater
from aggregator.extract import Collected, RecordPlan, collect
from aggregator.fetcher import Fetcher, HostSlots, printable
from aggregator.netpolicy import host_of
from aggregator.policy import next_delay, phased, upstream_hint
from aggregator.records import build_records, story_context
from aggregator.robots import Robots
from feeds.errors import AggregatorError, ParseError
from feeds.identity import item_key
from storage import (
    Database,
    FetchOutcome,
    FetchState,
    ItemRecord,
    StorageError,
    StoryContext,
    WriteSummary,
)

log = logging.getLogger("aggregator.fetch")
# After this many failures in a row on a remembered (301/308) URL, the configured one is tried:
# a site that moved back, or a redirect that was permanent only in name, heals by itself.
_BACK_TO_CONFIGURED = 3
_NOTHING_NEW = frozenset({"not modified", "unchanged"})  # results logged at debug level


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
    duplicates: int = 0  # new items that joined a story another source already had
    error: str | None = None
    next_fetch: float | None = None
    url: str | None = None  # the URL requested: the remembered one after a permanent redirect
    bytes: int | None = None  # body size of the source document, None when none arrived

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
        cpu: CpuPool,
        on_change: Callable[[tuple[tuple[str, int], ...]], None] | None = None,
        on_report: Callable[[SourceReport], None] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.fetcher = fetcher
        self.cpu = cpu
        self.robots = Robots(fetcher, config.fetch.user_agent)
        self.on_change = on_change
        self.on_report = on_report
        # (source id, articles read, listed): how far a source's article pages are, for a
        # terminal to show
        self.on_articles: Callable[[str, int, int], None] | None = None
        self.clock: Callable[[], float] = time.time  # the wall clock runs are dated by
        self._running: dict[str, asyncio.Task[SourceReport]] = {}
        # Sources in flight at once, fetch to commit: what bounds memory, whatever their number.
        self._slots = asyncio.Semaphore(config.fetch.concurrency)
        # Sources of one host in flight at once: no more than its requests may be. Beyond that,
        # a source waiting for its host held one of `_slots`, and a slow host with many sources
        # held all of them while every other host waited.
        self._hosts = HostSlots(config.fetch.per_host)
        self._limits = (config.fetch.concurrency, config.fetch.per_host)
        self._context = (config, story_context(config))
        # Stored keys being made anew (`records.rekey_stories`): a copy stored meanwhile could miss
        # its story for good, as stories formed are not matched again, so storing waits for it.
        self.keys_ready: asyncio.Future[int] | None = None

    @property
    def in_flight(self) -> tuple[asyncio.Task[SourceReport], ...]:
        return tuple(self._running.values())

    async def run(self, source: SourceConfig) -> SourceReport:
        """Fetch one source now; a run already in flight for it is joined, not duplicated."""
        task = self._running.get(source.id)
        if task is None:
            task = asyncio.ensure_future(self._bounded(source))
            self._running[source.id] = task
            task.add_done_callback(lambda _: self._running.pop(source.id, None))
        return await asyncio.shield(task)

    async def run_many(
        self, sources: Sequence[SourceConfig], progress: Callable[[SourceReport], None]
    ) -> list[SourceReport]:
        """Run `sources`, reports in their order, at most `fetch.concurrency` started at a time.

        A fixed set of workers takes the next source as one finishes: a task per source up
        front would hold a task, a coroutine and a semaphore waiter (several KB) for every
        source until its turn, memory that grows with the number of sources, not the
        concurrency.
        """
        reports: list[SourceReport | None] = [None] * len(sources)
        queue = iter(enumerate(sources))

        async def worker() -> None:
            for index, source in queue:
                report = await self.run(source)
                progress(report)
                reports[index] = report

        workers = [
            asyncio.ensure_future(worker())
            for _ in range(min(self.config.fetch.concurrency, len(sources)))
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:  # after a failure, start no more sources
                task.cancel()
        return [report for report in reports if report is not None]

    async def _records(self, source: SourceConfig, collected: Collected) -> list[ItemRecord]:
        if collected.records is not None:
            return list(collected.records)
        if not collected.items:
            return []
        keys = [item_key(item) for item, _ in collected.items]
        known = await self.db.held_items(source.id, keys)
        return await self.cpu.run(
            build_records, source, collected.items, self.config.stories, known
        )

    def _story_context(self) -> StoryContext:
        """The story context of the current config, rebuilt only when a reload replaced it."""
        if self._context[0] is not self.config:
            self._context = (self.config, story_context(self.config))
        return self._context[1]

    def reconfigure(self, config: Config) -> None:
        """Apply a reloaded config; runs in flight keep the slots they hold."""
        limits = (config.fetch.concurrency, config.fetch.per_host)
        if limits != self._limits:
            self._slots = asyncio.Semaphore(config.fetch.concurrency)
            self._hosts = HostSlots(config.fetch.per_host)
            self._limits = limits
        self.config = config

    async def _bounded(self, source: SourceConfig) -> SourceReport:
        host = host_of(source.url)  # none for a local file: those share no server
        async with self._hosts.slot(host) if host else nullcontext(), self._slots:
            return await self._run(source)

    async def _run(self, source: SourceConfig) -> SourceReport:
        started = self.clock()
        clock = time.monotonic()
        state = await self.db.fetch_state(source.id)
        if state.effective_url and state.error_streak >= _BACK_TO_CONFIGURED:
            state = replace(state, effective_url=None, etag=None, last_modified=None)
        rules = source.rules_digest()
        # New selectors, charset or type: an unchanged document, and articles whose listing
        # did not change, are read again, else the stored items keep what the old rules read.
        rules_changed = state.rules is not None and state.rules != rules
        if rules_changed:
            state = replace(state, etag=None, last_modified=None, body_hash=None)
        url = state.effective_url or source.url
        # the digests of as many stored items as one document may list
        recent = functools.partial(self.db.recent_held, source.id, self.config.fetch.max_entries)
        try:
            collected = await collect(
                source,
                fetcher=self.fetcher,
                robots=self.robots,
                state=state,
                default_tz=self.config.service.timezone,
                known_listings=None if rules_changed else self.db.listing_hashes,
                cpu=self.cpu,
                plan=RecordPlan(self.config.stories, recent),
                now=datetime.fromtimestamp(started, UTC),
                articles=functools.partial(self.on_articles, source.id)
                if self.on_articles
                else None,
            )
            records = await self._records(source, collected)
        except (AggregatorError, OSError) as exc:
            return await self._failed(source, url, state.error_streak + 1, started, clock, exc)
        except Exception as exc:  # a parser bug on hostile input stays on this source
            log.exception("source run crashed", extra={"source": source.id, "url": url})
            problem = AggregatorError(f"{url}: internal error: {exc!r}")
            return await self._failed(source, url, state.error_streak + 1, started, clock, problem)
        seconds = time.monotonic() - clock
        response = collected.response
        hint = upstream_hint(
            started,
            ttl=collected.feed.ttl_seconds if collected.feed else None,
            cache_control=response.cache_control if response else None,
            expires=response.expires if response else None,
            date=response.date if response else None,
        )
        delay = next_delay(
            interval=source.interval, max_interval=self.config.fetch.max_interval, hint=hint
        )
        moved = response.permanent_url if response else None
        if moved and moved != state.effective_url:
            log.warning(
                "source moved permanently: update its url in the config",
                extra={"source": source.id, "url": source.url, "effective_url": moved},
            )
        records, clash = _unique(records)
        if clash:
            collected = replace(collected, warnings=(*collected.warnings, clash))
        effective = moved or state.effective_url
        now_configured = self.config.source(source.id)
        if now_configured is not None and now_configured.url != source.url:
            effective = None  # a reload changed the url meanwhile: the old one's move is not its
        at = phased(source.id, started, delay, source.interval)
        outcome = _outcome(collected, state, started, seconds, at, effective)
        listed = collected.listed if collected.feed is not None else None
        outcome = replace(outcome, rules=rules, listed=listed)
        if records and self.keys_ready is not None and not self.keys_ready.done():
            await asyncio.shield(self.keys_ready)
        try:
            summary = await self.db.store_fetch(
                source.id, outcome, records, self._story_context(), collected.relisted
            )
        except StorageError as exc:  # locked past the busy timeout, read-only, disk full
            return await self._failed(source, url, state.error_streak + 1, started, clock, exc)
        if summary.versions and self.on_change:
            self.on_change(summary.versions)
        size = len(response.body) if response and not response.not_modified else None
        return self._report(source, url, outcome, summary, size)

    async def _failed(
        self,
        source: SourceConfig,
        url: str,
        streak: int,
        started: float,
        clock: float,
        exc: BaseException,
    ) -> SourceReport:
        status = exc.status if isinstance(exc, FetchError | ParseError) else None
        retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
        delay = next_delay(
            interval=source.interval,
            max_interval=self.config.fetch.max_interval,
            error_streak=streak,
            failing_after=self.config.fetch.failing_after,
            retry_after=retry_after,
        )
        outcome = FetchOutcome(
            attempted_at=started,
            seconds=time.monotonic() - clock,
            ok=False,
            result="error",
            status=status,
            error=printable(str(exc)),  # a message quoting what an upstream sent
            next_fetch=started + delay,
        )
        try:
            await self.db.store_fetch(source.id, outcome, [])
        except StorageError as stored:  # the report still says why, and the backoff holds
            log.error("cannot record the fetch", extra={"source": source.id, "error": str(stored)})
        return self._report(source, url, outcome, WriteSummary(), None)

    def _report(
        self,
        source: SourceConfig,
        url: str,
        outcome: FetchOutcome,
        summary: WriteSummary,
        size: int | None,
    ) -> SourceReport:
        report = SourceReport(
            source_id=source.id,
            result=outcome.result,
            seconds=round(outcome.seconds, 3),
            status=outcome.status,
            new=summary.new,
            updated=summary.updated,
            unchanged=summary.unchanged,
            duplicates=summary.duplicates,
            error=outcome.error,
            next_fetch=outcome.next_fetch,
            url=url,
            bytes=size,
        )
        level = logging.WARNING if report.failed else logging.INFO
        stored = report.new or report.updated or report.duplicates
        # most fetches, and a document made anew around the same items (dated when made, its
        # ids new at each fetch): `service.log_level = "debug"` shows them
        if report.result in _NOTHING_NEW or (report.result == "ok" and not stored):
            level = logging.DEBUG
        fields = ("url", "result", "status", "bytes", "new", "updated", "duplicates", "seconds",
                  "error")  # fmt: skip
        extra = {"source": source.id} | {name: getattr(report, name) for name in fields}
        log.log(level, "fetched", extra=extra)
        if self.on_report is not None:
            self.on_report(report)
        return report


def _unique(records: list[ItemRecord]) -> tuple[list[ItemRecord], str | None]:
    """The last of several items sharing a key wins: upstreams do repeat items. Different
    items under one id (a CMS giving every item the same guid) are all lost but the last:
    the warning says so, where they went silently."""
    kept: dict[str, ItemRecord] = {}
    clashing: set[str] = set()
    for record in records:
        earlier = kept.get(record.key)
        if earlier is not None and earlier.content_hash != record.content_hash:
            clashing.add(record.key)
        kept[record.key] = record
    if not clashing:
        return list(kept.values()), None
    shared = min(clashing).partition(":")[2]
    many = f"{len(clashing)} ids each" if len(clashing) > 1 else "an id"
    warning = f"{many} given to different items (such as {shared!r}): only the last is stored"
    return list(kept.values()), warning


def _outcome(
    collected: Collected,
    state: FetchState,
    started: float,
    seconds: float,
    next_fetch: float,
    effective_url: str | None,
) -> FetchOutcome:
    response = collected.response
    feed = collected.feed
    cut = feed is not None and feed.cut_short  # its validators are a whole document's
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
        etag=response.etag if response and not cut else None,
        last_modified=response.last_modified if response and not cut else None,
        new_validators=response is not None and not response.not_modified and not cut,
        body_hash=collected.body_hash,
        # an unchanged document was not due to be read whole: the retry stays where it was
        reread_at=collected.reread_at if feed is not None else state.reread_at,
        effective_url=effective_url,
        charset=feed.charset if feed else None,
        title=feed.title or None if feed else None,
        site_url=feed.link if feed else None,
        next_fetch=next_fetch,
    )
