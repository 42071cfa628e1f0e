"""Lookups by key that callers make one at a time, answered many keys to a statement.

Every read crosses to the reader's thread and back, and that hand-off costs several times a
primary-key lookup itself: an all-304 pass spent more on fetching each source's state than on
reading it. A key asked for while a load is running waits for the next load, together with
every other key asked for meanwhile; with nothing running, the load starts on the next turn
of the event loop (a new task's first step), so callers of the same turn share it and a lone
caller waits for no one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# Keys per statement: a JSON array of this many source ids stays a few kilobytes.
MAX_BATCH = 500


class BatchedLookup(Generic[K, V]):
    """`await lookup.get(key)`: `load(keys)` answers for many keys at once; a key it leaves
    out gets `missing`. A failed load fails the callers of that load only."""

    def __init__(self, load: Callable[[Sequence[K]], Awaitable[dict[K, V]]], missing: V) -> None:
        self._load = load
        self._missing = missing
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._loading: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[V] = loop.create_future()
        self._waiting.setdefault(key, []).append(answer)
        if self._loading is None:
            self._loading = loop.create_task(self._load_waiting())
        return await answer

    async def _load_waiting(self) -> None:
        try:
            while self._waiting:
                keys = list(islice(self._waiting, MAX_BATCH))
                batch = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await self._load(keys)
                except Exception as exc:
                    _fail(batch.values(), exc)
                    continue
                except BaseException:
                    _fail(batch.values(), None)
                    raise
                for key, answers in batch.items():
                    value = found.get(key, self._missing)
                    for answer in answers:
                        if not answer.done():  # done: its caller was cancelled
                            answer.set_result(value)
        finally:
            self._loading = None
            _fail(self._waiting.values(), None)  # only when the loop itself is going away
            self._waiting.clear()


def _fail(batch: Iterable[list[asyncio.Future[V]]], exc: Exception | None) -> None:
    """Fail every caller of `batch` with `exc`, or cancel them when there is none."""
    for answers in batch:
        for answer in answers:
            if answer.done():
                continue
            if exc is None:
                answer.cancel()
            else:
                answer.set_exception(exc)
