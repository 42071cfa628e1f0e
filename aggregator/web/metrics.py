"""`GET /metrics`: Prometheus text format 0.0.4, written by hand (no client library needed).

Per-source counters come from the database, so they include fetches by `aggregator fetch`
processes and survive restarts; the duration histogram belongs to this process since it
started, and the serving counters to every process serving the port (see `tally`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from aiohttp import web

from aggregator.fetchstats import FetchStats
from aggregator.service import Service
from aggregator.status import SourceView, views_of
from aggregator.web.images import PICTURES
from aggregator.web.keys import CACHE, SERVED
from aggregator.web.statuspages import Writer, status_page
from aggregator.web.tally import FIELDS, Counts, Tally

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TALLY = web.AppKey("tally", Tally)  # only when several processes serve the port


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, text: str) -> None:
        self.lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        inner = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
        self.lines.append(
            f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}"
        )

    def per_source(
        self, name: str, kind: str, text: str, values: Iterable[tuple[str, float | None]]
    ) -> None:
        self.family(name, kind, text)
        for source, value in values:
            if value is not None:
                self.sample(name, value, source=source)


def render(
    views: list[SourceView], stats: FetchStats, counts: Counts, started: float, cached: int
) -> str:
    out = _Text()
    rows = [(view.id, view) for view in views]
    out.per_source("aggregator_fetches_total", "counter", "Fetch attempts, stored.",
                   ((i, v.fetches) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_fetch_failures_total", "counter", "Failed fetch attempts, stored.",
                   ((i, v.failures) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_items", "gauge", "Items stored.", ((i, v.items) for i, v in rows))
    out.per_source("aggregator_items_last_day", "gauge", "Items first seen in the last 24 hours.",
                   ((i, v.items_last_day) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_error_streak", "gauge", "Consecutive failed fetches.",
                   ((i, v.error_streak) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_source_failing", "gauge", "1 when fetch.failing_after is reached.",
                   ((i, int(v.failing)) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_last_success_timestamp_seconds", "gauge",
                   "Unix time of the last successful fetch.",
                   ((i, v.last_success) for i, v in rows))  # fmt: skip
    out.per_source("aggregator_next_fetch_timestamp_seconds", "gauge",
                   "Unix time of the next scheduled fetch.",
                   ((i, v.next_fetch) for i, v in rows))  # fmt: skip
    name = "aggregator_fetch_duration_seconds"
    out.family(name, "histogram", "Fetch durations in this process, per source.")
    for source, histogram in sorted(stats.durations.items()):
        for bound, count in histogram.cumulative():
            out.sample(f"{name}_bucket", count, source=source, le=bound)
        out.sample(f"{name}_sum", round(histogram.total, 6), source=source)
        out.sample(f"{name}_count", histogram.count, source=source)
    out.family("aggregator_feeds_served_total", "counter", "Feed documents answered, 200 or 304.")
    totals = dict(zip(FIELDS, counts, strict=True))
    for fmt in ("rss", "atom", "json"):
        out.sample("aggregator_feeds_served_total", totals[fmt], format=fmt)
    out.family("aggregator_feed_cache_hits_total", "counter", "Feed lookups answered from memory.")
    out.sample("aggregator_feed_cache_hits_total", totals["hits"])
    out.family("aggregator_feed_cache_misses_total", "counter", "Feed lookups that rendered.")
    out.sample("aggregator_feed_cache_misses_total", totals["misses"])
    out.family("aggregator_feed_cache_evictions_total", "counter",
               "Rendered documents let go, or not kept, to stay within service.cache_max_bytes "
               "or 512 documents.")  # fmt: skip
    out.sample("aggregator_feed_cache_evictions_total", totals["evictions"])
    for name, field, text in (
        ("aggregator_pictures_served_total", "pictures", "Proxied pictures answered, 200 or 304."),
        ("aggregator_picture_fetches_total", "picture_fetches", "Proxied pictures fetched."),
        ("aggregator_picture_failures_total", "picture_failures",
         "Proxied pictures not passed on: upstream failed or sent no raster image."),
    ):  # fmt: skip
        out.family(name, "counter", text)
        out.sample(name, totals[field])
    out.family("aggregator_feed_cache_bytes", "gauge",
               "Bytes of rendered documents this process keeps in memory.")  # fmt: skip
    out.sample("aggregator_feed_cache_bytes", cached)
    out.family("aggregator_start_time_seconds", "gauge", "Unix time this process started.")
    out.sample("aggregator_start_time_seconds", round(started, 3))
    return "\n".join(out.lines) + "\n"


def local_counts(app: web.Application) -> Counts:
    """This process's serving counters, in `tally.FIELDS` order."""
    served = app[SERVED].by_format if SERVED in app else Counter[str]()
    cache = app[CACHE]
    pictures = app[PICTURES]
    return (served["rss"], served["atom"], served["json"], cache.hits, cache.misses,
            cache.evictions, pictures.served, pictures.fetched, pictures.failed)  # fmt: skip


async def metrics(request: web.Request) -> web.Response:
    app = request.app

    async def gather(service: Service) -> Writer:
        statuses = await service.db.statuses(time.time())
        config, stats, started = service.config, service.stats.snapshot(), service.started
        counts, cached = local_counts(app), app[CACHE].kept_bytes
        if TALLY in app:
            counts = app[TALLY].totals(counts)
        return lambda: render(views_of(config, statuses), stats, counts, started, cached).encode()

    return await status_page(request, gather, CONTENT_TYPE)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
