"""When to fetch a source next: interval, upstream hints, backoff; pure so it is tested alone."""

from __future__ import annotations

import email.utils
import hashlib
import random
import re
from contextlib import suppress

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_JITTER = 0.1  # ±10 %: sources that failed together do not retry together
_MAX_DOUBLINGS = 30  # 2**30 intervals is past any max_interval; keeps the float finite


def upstream_hint(
    now: float,
    *,
    ttl: int | None,
    cache_control: str | None,
    expires: str | None,
    date: str | None = None,
) -> float:
    """The longest delay the upstream asked for: RSS `<ttl>`, `max-age`, `Expires` (seconds).

    `max-age` wins over `Expires` as in RFC 9111 §5.3; a malformed value is no hint at all.
    `Expires` counts from the upstream's `Date` when it sends one (RFC 9111 §4.2.1): a clock a
    day fast made a 30-second lifetime a day's.
    """
    hints = [0.0]
    if ttl and ttl > 0:
        hints.append(float(ttl))
    if cache_control and (match := _MAX_AGE.search(cache_control)):
        hints.append(float(match.group(1)))
    elif expires:
        with suppress(TypeError, ValueError, OverflowError):
            until = email.utils.parsedate_to_datetime(expires).timestamp()
            hints.append(until - _timestamp(date, now))
    return max(hints)


def _timestamp(date: str | None, default: float) -> float:
    """An HTTP date's Unix time, else `default`."""
    if date:
        with suppress(TypeError, ValueError, OverflowError):
            return email.utils.parsedate_to_datetime(date).timestamp()
    return default


def is_failing(error_streak: int, failing_after: int) -> bool:
    """A source is shown as failing after `fetch.failing_after` consecutive failed fetches."""
    return error_streak >= failing_after


def next_delay(
    *,
    interval: float,
    max_interval: float,
    error_streak: int = 0,
    failing_after: int | None = None,
    hint: float = 0.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next fetch.

    On success: the later of the interval and the upstream's hint, the hint capped at
    `max_interval` (an upstream cannot silence a source for a year).
    On errors: the interval doubled per consecutive error with ±10 % jitter, capped at
    `max_interval`; a failing source (`failing_after` errors in a row) waits `max_interval`,
    the slowest rate, but is never given up.
    Never earlier than a `Retry-After`, which is itself capped at the slowest rate.
    An interval longer than `max_interval` is the operator's word and is kept.
    """
    slowest = max(max_interval, interval)
    if error_streak <= 0:
        delay = max(interval, min(hint, slowest))
    elif failing_after is not None and is_failing(error_streak, failing_after):
        delay = slowest
    else:
        uniform = rng.uniform if rng is not None else random.uniform
        backoff = interval * 2 ** min(error_streak, _MAX_DOUBLINGS)
        delay = min(backoff * uniform(1 - _JITTER, 1 + _JITTER), slowest)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, slowest))
    return delay


def phased(source_id: str, started: float, delay: float, interval: float) -> float:
    """When a source whose fetch began at `started` and succeeded runs next.

    A delay of exactly the interval (no upstream asked for longer) ends at the next of the
    source's own instants: one interval apart, at an offset its id fixes, at least half an
    interval after `started`. Without this, sources fetched together (all of them at a first
    start) fetched together for good: 2,000 sources at one interval in the same 44 s window
    every round, the parsing of all of them in a burst while readers waited. With it they
    spread over the interval within a round and keep a steady cadence after: a fetch begun
    on its instant is next due one interval later.
    """
    if delay != interval or interval <= 0:
        return started + delay
    offset = int.from_bytes(hashlib.blake2b(source_id.encode(), digest_size=8).digest())
    phase = offset / 2**64 * interval
    earliest = started + interval / 2
    return earliest + (phase - earliest) % interval


PRUNE_EVERY = 6 * 3600.0
_PRUNE_AT_MOST = 60.0


def prune_every(retention: float) -> float:
    """Seconds between two prunes: every 6 hours, or a quarter of a shorter `retention` (at
    most once a minute). Every 6 hours, a 10-minute retention kept items for hours: 3,687
    where it should have kept a few dozen."""
    return min(PRUNE_EVERY, max(_PRUNE_AT_MOST, retention / 4))
