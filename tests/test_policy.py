"""The scheduling policy alone: intervals, upstream hints, backoff, failing, Retry-After."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from aggregator.policy import is_failing, next_delay, phased, prune_every, upstream_hint

NOW = 1_700_000_000.0
HOUR = 3600.0
DAY = 86400.0


def _http_date(stamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(stamp, UTC), usegmt=True)


def test_success_waits_the_interval_without_hints() -> None:
    assert next_delay(interval=900, max_interval=DAY) == 900


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(60.0, 900.0), (2 * HOUR, 2 * HOUR), (30 * DAY, DAY)],
    ids=["shorter hint ignored", "longer hint honoured", "hint capped at max_interval"],
)
def test_success_takes_the_later_of_interval_and_hint(hint: float, expected: float) -> None:
    assert next_delay(interval=900, max_interval=DAY, hint=hint) == expected


def test_an_interval_longer_than_max_interval_is_kept() -> None:
    assert next_delay(interval=2 * DAY, max_interval=DAY, hint=5 * DAY) == 2 * DAY


def test_expires_counts_from_the_upstreams_own_clock() -> None:
    """An upstream whose clock is a day fast: `Expires` 30 s after its `Date` is 30 s."""
    ahead, expires = _http_date(NOW + DAY), _http_date(NOW + DAY + 30)
    found = upstream_hint(NOW, ttl=None, cache_control=None, expires=expires, date=ahead)
    assert found == pytest.approx(30)
    garbled = upstream_hint(NOW, ttl=None, cache_control=None, expires=expires, date="soon")
    assert garbled == pytest.approx(DAY + 30), "an unreadable Date: our own clock"


def test_upstream_hints() -> None:
    assert upstream_hint(NOW, ttl=None, cache_control=None, expires=None) == 0
    assert upstream_hint(NOW, ttl=3600, cache_control=None, expires=None) == 3600
    assert upstream_hint(NOW, ttl=None, cache_control="public, max-age=1800", expires=None) == 1800
    assert (
        upstream_hint(NOW, ttl=None, cache_control='s-maxage=5, max-age="60"', expires=None) == 60
    )
    expires = _http_date(NOW + 7200)
    assert upstream_hint(NOW, ttl=None, cache_control=None, expires=expires) == pytest.approx(7200)
    # max-age wins over Expires (RFC 9111 §5.3); the longest of ttl and the header counts
    assert upstream_hint(NOW, ttl=None, cache_control="max-age=10", expires=expires) == 10
    assert upstream_hint(NOW, ttl=600, cache_control="max-age=10", expires=None) == 600


@pytest.mark.parametrize("expires", ["0", "-1", "yesterday", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_garbage_or_past_expires_is_no_hint(expires: str) -> None:
    assert upstream_hint(NOW, ttl=0, cache_control="no-cache", expires=expires) == 0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for streak, base in [(1, 1800.0), (2, 3600.0), (3, 7200.0), (4, 14400.0)]:
        delays = [
            next_delay(interval=900, max_interval=DAY, error_streak=streak, rng=rng)
            for _ in range(200)
        ]
        assert all(0.9 * base <= d <= 1.1 * base for d in delays), streak
        assert len(set(delays)) > 100, "jittered, so failed sources do not retry in lockstep"
    assert next_delay(interval=900, max_interval=DAY, error_streak=40, rng=rng) == DAY


def test_success_resets_the_backoff() -> None:
    failed = next_delay(interval=900, max_interval=DAY, error_streak=5)
    assert failed > 900 * 16
    assert next_delay(interval=900, max_interval=DAY, error_streak=0) == 900


def test_failing_sources_retry_at_the_slowest_rate() -> None:
    assert not is_failing(2, 3)
    assert is_failing(3, 3)
    delay = next_delay(interval=60, max_interval=HOUR, error_streak=3, failing_after=3)
    assert delay == HOUR, "never given up, never faster than max_interval"
    before = next_delay(interval=60, max_interval=HOUR, error_streak=2, failing_after=3)
    assert before < 300


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(7200.0, 7200.0), (10.0, None), (30 * DAY, DAY)],
    ids=["longer than backoff", "shorter than backoff", "capped at max_interval"],
)
def test_retry_after_is_a_floor(retry_after: float, expected: float | None) -> None:
    rng = random.Random(1)
    backoff = next_delay(interval=600, max_interval=DAY, error_streak=1, rng=random.Random(1))
    delay = next_delay(
        interval=600, max_interval=DAY, error_streak=1, retry_after=retry_after, rng=rng
    )
    assert delay == (expected if expected is not None else backoff)


def test_sources_fetched_together_spread_over_their_interval() -> None:
    """2,000 sources fetched in one moment (a first start) are next due all over the interval,
    not in the same moment again."""
    due = [phased(f"s{n}", NOW, 900.0, 900.0) - NOW for n in range(2000)]
    assert all(450 <= delay < 1350 for delay in due), "half an interval to one and a half"
    counts = Counter(int((delay - 450) // 90) for delay in due)  # ten slices of the interval
    assert sorted(counts) == list(range(10))
    assert all(140 <= count <= 260 for count in counts.values()), counts


def test_a_source_fetched_on_its_instant_keeps_a_steady_cadence() -> None:
    at = phased("hzfb", NOW, HOUR, HOUR)
    for late in (0.0, 3.0, 25.0, 1200.0):  # the fetch began this long after it was due
        assert phased("hzfb", at + late, HOUR, HOUR) == pytest.approx(at + HOUR)
    assert phased("hzfb", NOW, HOUR, HOUR) == at, "the same instants in every process"
    assert phased("other", NOW, HOUR, HOUR) != at


def test_a_delay_an_upstream_asked_for_is_kept_as_it_is() -> None:
    assert phased("hzfb", NOW, 2 * HOUR, HOUR) == NOW + 2 * HOUR


@pytest.mark.parametrize(
    ("retention", "every"),
    [(365 * DAY, 6 * HOUR), (DAY, 6 * HOUR), (HOUR, 900.0), (600.0, 150.0), (60.0, 60.0)],
)
def test_a_retention_is_kept_to_within_a_quarter_of_itself(retention: float, every: float) -> None:
    assert prune_every(retention) == every
