"""Fetch durations of this process, per source, as Prometheus-style cumulative buckets.

Counts and times persist in the database (`fetches`, `failures`, `fetch_seconds`); only the
distribution of durations lives here, since the process started, as a histogram should.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from aggregator.pipeline import SourceReport

BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(slots=True)
class Histogram:
    """Observations per bucket (not cumulative: `cumulative` sums them), their count and sum."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """(`le` label, observations ≤ it), ending with `+Inf`, as the text format wants."""
        running = 0
        rows = []
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            rows.append(("+Inf" if bound == float("inf") else f"{bound:g}", running))
        return rows


class FetchStats:
    """Fed by the pipeline with every report; read by `/metrics`."""

    def __init__(self) -> None:
        self.durations: dict[str, Histogram] = {}

    def observe(self, report: SourceReport) -> None:
        self.durations.setdefault(report.source_id, Histogram()).observe(report.seconds)

    def snapshot(self) -> FetchStats:
        """A copy for another thread to read while the loop goes on observing."""
        copy = FetchStats()
        copy.durations = {
            source_id: Histogram(list(histogram.counts), histogram.total)
            for source_id, histogram in self.durations.items()
        }
        return copy

    def keep_only(self, source_ids: set[str]) -> None:
        """Forget sources no longer configured: their series end, as a removed target's do."""
        for source_id in self.durations.keys() - source_ids:
            del self.durations[source_id]
