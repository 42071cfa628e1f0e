"""A reload at scale: `python -m bench.reload [--feeds 2000] [--channels 50] [--runs 3]`.

The farm's first `--feeds` feeds (20 items each) are stored, with `--channels` channels; a
service runs with its parsing processes, every source's next fetch a day away, and the config
is reloaded `--runs` times (one source renamed each time). Prints each reload's time and the
longest the event loop went without running a ready callback meanwhile: what a reader waited.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from aggregator import eventloop
from aggregator.config import Config, load_config
from aggregator.cpu import CpuPool
from aggregator.service import running_service
from bench.storing import stored_farm
from storage import Database


async def _next_fetch_later(config: Config) -> None:
    db = await Database.open(config.service.database)
    try:
        await db.store_next_fetch([(s.id, time.time() + 86400) for s in config.sources])
    finally:
        await db.close()


async def _reloads(path: Path, text: str, runs: int) -> None:
    cpu = CpuPool(os.cpu_count() or 1)
    async with running_service(load_config(path), schedule=True, cpu=cpu) as service:
        await cpu.start()
        gaps: list[float] = []
        ticking = True

        async def tick() -> None:
            last = time.perf_counter()
            while ticking:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0.5)
        for run in range(runs):
            renamed = text.replace('id = "f7"\n', f'id = "f7"\nname = "f7 {run}"\n')
            await asyncio.to_thread(path.write_text, renamed, encoding="utf-8")
            gaps.clear()
            started = time.perf_counter()
            await service.reload()
            took = time.perf_counter() - started
            await asyncio.sleep(0.2)
            print(f"reload {run + 1}: {took * 1e3:.0f} ms, longest stall {max(gaps) * 1e3:.0f} ms")
        ticking = False
        await ticker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with stored_farm(args.feeds) as config:
        eventloop.run(_next_fetch_later(config))
        path = config.path
        text = path.read_text(encoding="utf-8") + "".join(
            f'[[feeds]]\nid = "c{n}"\ninclude = ["w{n}"]\n\n' for n in range(args.channels)
        )
        path.write_text(text, encoding="utf-8")
        eventloop.run(_reloads(path, text, args.runs))


if __name__ == "__main__":
    main()
