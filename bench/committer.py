"""Commits fetch outcomes into a store at a steady rate, as `aggregator fetch` run beside a
server does: each a source answering 304, which changes no published document.

Usage: python -m bench.committer DATABASE RATE SOURCES (source ids f0 … f{SOURCES-1}).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from storage import Database, FetchOutcome


async def commit(database: Path, rate: float, sources: int) -> None:
    db = await Database.open(database)
    try:
        number = 0
        while True:
            outcome = FetchOutcome(
                attempted_at=time.time(), seconds=0.01, ok=True, result="not modified", status=304
            )
            await db.store_fetch(f"f{number % sources}", outcome, [])
            number += 1
            await asyncio.sleep(1 / rate)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(commit(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
