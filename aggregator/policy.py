"""When to fetch a source next: interval, upstream hints, backoff; pure so it is tested alone."""

from __future__ import annotations

import email.utils
import random
import re
from contextlib import suppress

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def upstream_hint(
    now: float, *, ttl: int | None, cache_control: str | None, expires: str | None
) -> float:
    """The longest delay the upstream asked for: RSS `<ttl>`, `max-age`, `Expires` (seconds)."""
    hints = [0.0]
    if ttl:
        hints.append(float(ttl))
    if cache_control and (match := _MAX_AGE.search(cache_control)):
        hints.append(float(match.group(1)))
    if expires:
        with suppress(TypeError, ValueError):
            hints.append(email.utils.parsedate_to_datetime(expires).timestamp() - now)
    return max(hints)


def next_delay(
    *,
    interval: float,
    max_interval: float,
    error_streak: int = 0,
    hint: float = 0.0,
    retry_after: float | None = None,
    jitter: random.Random | None = None,
) -> float:
    """Seconds until the next fetch.

    On success: the later of the interval and the upstream's hint, capped at `max_interval`.
    On errors: the interval doubled per consecutive error with ±10 % jitter, capped at
    `max_interval`, and never earlier than a `Retry-After`.
    """
    rng = jitter or random
    delay = max(interval, min(hint, max_interval))
    if error_streak > 0:
        delay = interval * 2 ** min(error_streak, 20) * rng.uniform(0.9, 1.1)
    delay = min(delay, max(max_interval, interval))
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(max_interval, interval)))
    return delay
