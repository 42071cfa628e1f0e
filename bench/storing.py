"""Storing alone: the farm's first fetch as the writer sees it, without fetching or parsing.

The records of N farm feeds (20 new items each) are built first, untimed; then every feed is
stored through `Database.store_fetch`, `fetch.concurrency` at a time as the pipeline calls it,
so writes share transactions. Prints wall time and the writer thread's CPU time per item
(read from `/proc`, Linux only), and the database's size on disk. The writer is the one stage
of a first fetch that runs on a single thread.

    python -m bench.storing [--feeds 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator import eventloop
from aggregator.config import Config, load_config
from aggregator.records import build_records, story_context
from bench.farm import render
from feeds.fastxml import parse_fast
from feeds.model import ParsedFeed
from storage import Database, FetchOutcome, ItemRecord

DATABASE = "storing.sqlite3"


def farm_config(workdir: Path, feeds: int) -> Config:
    """A config of the first `feeds` farm feeds, its database in `workdir`."""
    path = workdir / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{DATABASE}"\n\n'
        + "".join(f'[[sources]]\nid = "f{n}"\nurl = "http://127.0.0.1/f/{n}"\n\n'
                  for n in range(feeds)),
        encoding="utf-8",
    )  # fmt: skip
    return load_config(path)


@contextmanager
def stored_farm(feeds: int) -> Iterator[Config]:
    """In a temporary folder, made the current one: a config of the first `feeds` farm feeds,
    each stored once (untimed)."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        os.chdir(workdir)
        config = farm_config(workdir, feeds)
        eventloop.run(store_all(config, records_of(config, parsed_feeds(config))))
        yield config


def parsed_feeds(config: Config) -> list[ParsedFeed | None]:
    """Each configured farm feed's first version, parsed by the fast path."""
    return [parse_fast(render(n, 0), url=s.url) for n, s in enumerate(config.sources)]


def records_of(config: Config, parsed: list[ParsedFeed | None]) -> list[list[ItemRecord]]:
    """Each feed's records, every item new."""
    return [
        build_records(source, [(item, None) for item in feed.items] if feed else [],
                      config.stories, {})
        for source, feed in zip(config.sources, parsed, strict=True)
    ]  # fmt: skip


def _thread_cpu(native_id: int) -> float:
    """User and system seconds of one of this process's threads."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text("ascii").rsplit(")", 1)[1]
    utime, stime = fields.split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


async def store_all(config: Config, records: list[list[ItemRecord]]) -> tuple[float, float, int]:
    """(wall seconds, writer CPU seconds, bytes on disk) of storing every feed's records."""
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        writer = next(  # the writer's one thread, started when the database opened
            t.native_id for t in threading.enumerate() if t.name.startswith("sqlite-writer")
        )
        assert writer is not None
        context = story_context(config)
        outcome = FetchOutcome(attempted_at=time.time(), seconds=0.1, ok=True, result="ok")
        slots = asyncio.Semaphore(config.fetch.concurrency)

        async def store_one(source_id: str, batch: list[ItemRecord]) -> None:
            async with slots:
                await db.store_fetch(source_id, outcome, batch, context)

        cpu, started = _thread_cpu(writer), time.perf_counter()
        await asyncio.gather(
            *(store_one(s.id, batch) for s, batch in zip(config.sources, records, strict=True))
        )
        wall, cpu = time.perf_counter() - started, _thread_cpu(writer) - cpu
    finally:
        await db.close()
    path = config.service.database
    size = sum(f.stat().st_size for f in path.parent.glob(f"{path.name}*"))
    return wall, cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storing", description=__doc__)
    parser.add_argument("--feeds", type=int, default=2000, help="farm feeds, 20 items each")
    parser.add_argument("--runs", type=int, default=3, help="each into a new database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aggregator-storing-") as workdir:
        config = farm_config(Path(workdir), args.feeds)
        records = records_of(config, parsed_feeds(config))
        items = sum(map(len, records))
        for run in range(args.runs):
            for old in Path(workdir).glob(f"{DATABASE}*"):
                old.unlink()
            wall, cpu, size = asyncio.run(store_all(config, records))
            print(
                f"run {run + 1}: {items:,} items, {wall / items * 1e6:.0f} µs an item wall, "
                f"writer CPU {cpu / items * 1e6:.0f} µs an item, "
                f"store {size / 1e6:.0f} MB ({size / items:,.0f} bytes an item)",
                flush=True,
            )


if __name__ == "__main__":
    main()
