"""How long the event loop goes without a turn while some work runs: what readers of other
feeds would wait. Tests compare it with the work's own time, never with a fixed figure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def longest_pause(work: Awaitable[T]) -> tuple[T, float, float]:
    """(what `work` gave, the loop's longest pause meanwhile, how long `work` took), in
    seconds; a ticker asks for a turn every millisecond."""
    pauses: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            pauses.append(time.perf_counter() - started)

    ticking = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    try:
        result = await work
    finally:
        took = time.perf_counter() - started
        done.set()
        await ticking
    return result, max(pauses), took
