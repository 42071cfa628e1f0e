"""Serving counters of every server process, summed: with `service.workers`, a scrape of
`/metrics` lands on any one of them and must still count the whole port's traffic.

Each process owns one slot of a small file beside the database, writes its counts there once a
second, and answers `/metrics` with the sum of the slots (its own from memory). A worker that
is replaced starts from what its slot holds, so the sums never go backwards; the main process
clears the file when it starts, as every counter starts again with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from aggregator.config import MAX_WORKERS

# Feed documents answered by format, cache hits, renders and evictions, and the image proxy's
# answers, fetches and failures: the counters `/metrics` sums.
FIELDS = (
    "rss",
    "atom",
    "json",
    "hits",
    "misses",
    "evictions",
    "pictures",
    "picture_fetches",
    "picture_failures",
)
_SLOT = struct.Struct(f"<{len(FIELDS)}Q")
_WRITE_EVERY = 1.0

log = logging.getLogger("aggregator.web")
Counts = tuple[int, ...]
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def tally_path(database: Path) -> Path:
    return database.with_name(database.name + ".served")


class Tally:
    """This process's slot in the shared counter file; `fresh` clears every slot first."""

    def __init__(self, path: Path, slot: int, *, fresh: bool) -> None:
        self._slot = slot
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if fresh:
            os.ftruncate(self._fd, 0)
        os.ftruncate(self._fd, _SLOT.size * MAX_WORKERS)  # zeros past the end
        self._base: Counts = self._read()[slot]

    def _read(self) -> list[Counts]:
        data = os.pread(self._fd, _SLOT.size * MAX_WORKERS, 0)
        return [_SLOT.unpack_from(data, offset) for offset in range(0, len(data), _SLOT.size)]

    def _own(self, counts: Counts) -> Counts:
        return tuple(base + count for base, count in zip(self._base, counts, strict=True))

    def write(self, counts: Counts) -> None:
        os.pwrite(self._fd, _SLOT.pack(*self._own(counts)), self._slot * _SLOT.size)

    def totals(self, counts: Counts) -> Counts:
        """Every process's counts, this one's as of now."""
        slots = self._read()
        slots[self._slot] = self._own(counts)
        return tuple(sum(column) for column in zip(*slots, strict=True))

    def close(self) -> None:
        os.close(self._fd)


def open_tally(database: Path, slot: int, *, fresh: bool) -> Tally | None:
    """This process's slot beside `database`, or None (each process then counts alone, as
    the warning says) when the file cannot be opened."""
    path = tally_path(database)
    try:
        return Tally(path, slot, fresh=fresh)
    except OSError as exc:
        log.warning(
            "serving counters not shared: /metrics counts this process's requests only",
            extra={"path": str(path), "error": exc.strerror or str(exc)},
        )
        return None


def writing(tally: Tally, counts: Callable[[], Counts]) -> CleanupContext:
    """An aiohttp cleanup context: the slot written once a second, and at the end."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def keep_writing() -> None:
            while True:
                await asyncio.sleep(_WRITE_EVERY)
                tally.write(counts())

        task = asyncio.create_task(keep_writing())
        yield
        task.cancel()
        tally.write(counts())
        tally.close()

    return context
