"""Give a worker process's freed heap back to the system after a call that used much of it.

A worker that parsed one 10 MB document of 90,000 tiny entries peaked at 315 MB and, the
document long gone, still held 145 MB: glibc keeps freed memory in its heap for reuse, and
the lxml tree's many small blocks leave the heap too fragmented for it to shrink by itself.
Workers live as long as the service, so that memory stayed theirs until the next restart.
`malloc_trim` gave it back (47 MB) in 7 ms. Only calls long enough to have allocated that much
pay for it: most calls parse a small feed in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
# CPU seconds above which a call may have left megabytes of freed heap behind.
LARGE_CALL = 0.05


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:  # no dynamic loader to ask (a static build)
        return None


_TRIM = _malloc_trim()


def call_releasing(call: Callable[[], T]) -> T:
    """`call()`; afterwards, if it ran for `LARGE_CALL` or longer, the heap it freed goes back."""
    started = time.process_time()
    try:
        return call()
    finally:
        if _TRIM is not None and time.process_time() - started >= LARGE_CALL:
            _TRIM(0)
