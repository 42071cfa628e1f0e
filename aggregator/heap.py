"""Keep freed heap from staying with a process: given back after a worker's long call, and
never kept in the server's per-thread heaps.

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
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
# Blocks from this size up are mapped for themselves and unmapped when freed.
MMAP_THRESHOLD = 256 * 1024


def call_releasing(call: Callable[[], T]) -> T:
    """`call()`; afterwards, if it ran for `LARGE_CALL` or longer, the heap it freed goes back."""
    started = time.process_time()
    try:
        return call()
    finally:
        if _TRIM is not None and time.process_time() - started >= LARGE_CALL:
            _TRIM(0)


def fix_mmap_threshold() -> bool:
    """Map every block of `MMAP_THRESHOLD` bytes or more for itself, in this process, for good;
    False where the C library has no `mallopt` (musl, macOS).

    A server compresses feeds (brotli's window is megabytes) on its executor's threads, each
    with a heap of its own. glibc maps a big block the first time, then raises that threshold
    to the size freed, so the next ones came from the thread's heap, whose freed top it never
    gives back: 6 heaps of 12 MiB, 97 % free, and the server's memory crept up to them over an
    hour (+23 MiB, 163 MiB in all at 155 sources). A fixed threshold also turns that raising
    off; compressing a 68 KiB feed then takes about 1.5 ms more, once per change."""
    try:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    except OSError:  # no dynamic loader to ask (a static build)
        return False
    return mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
