"""Story matching through the real SQLite indexes: cost per new item as the store grows.

Run from the repository root: `python -m bench.stories_storage_bench`.

Fills a database with synthetic items of 20 sources (random titles, links and bodies made of
random Chinese characters, so SimHash bands collide only by chance), then stores batches of
new items — one per source and fetch, as the pipeline does — that each go through the
candidate lookups (link, title within seven days, SimHash bands) and the origin decision. The
cost per new item at 10k, 50k and 100k stored items shows whether it grows with the store.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.config import config_from_mapping
from aggregator.records import story_context, to_record
from feeds.model import ParsedItem
from storage import Database, FetchOutcome

SIZES = (10_000, 50_000, 100_000)
SOURCES = 20
BATCH = 50
PROBE_BATCHES = 20
_CHARS = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def _item(rng: random.Random, n: int, start: datetime) -> ParsedItem:
    body = "".join(rng.choices(_CHARS, k=300))
    title = "".join(rng.choices(_CHARS, k=14))
    return ParsedItem(
        title=title,
        url=f"https://site{n % SOURCES}.example/a/{n}.html",
        upstream_id=f"id-{n}",
        content_html=f"<p>{body}</p>",
        summary=body[:100],
        published=start + timedelta(minutes=n),
    )


async def _fill(db: Database, config: object, upto: int, have: int, rng: random.Random) -> None:
    assert hasattr(config, "sources")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    context = story_context(config)  # type: ignore[arg-type]
    for offset in range(have, upto, BATCH * SOURCES):
        for s, source in enumerate(config.sources):
            records = [
                to_record(source, _item(rng, n, start), None)
                for n in range(offset + s, min(offset + BATCH * SOURCES, upto), SOURCES)
            ]
            outcome = FetchOutcome(attempted_at=time.time(), seconds=0, ok=True, result="ok")
            await db.store_fetch(source.id, outcome, records, context)


async def run() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        sources = [{"id": f"s{i}", "url": f"s{i}.xml"} for i in range(SOURCES)]
        data = {"service": {"database": str(Path(folder) / "bench.sqlite3")}, "sources": sources}
        config = config_from_mapping(data, path=Path(folder) / "config.toml")
        db = await Database.open(config.service.database)
        await db.register_sources([(s.id, s.url) for s in config.sources])
        context = story_context(config)
        have = 0
        print("stored items   µs per new item (matching + story decision + write)")
        baseline = None
        for round_, size in enumerate(SIZES, start=1):
            await _fill(db, config, size, have, rng)
            have = size
            start = datetime(2024, 1, 1, tzinfo=UTC)
            first = 1_000_000 * round_  # keys of their own: each round's probes are new items
            probes = [
                [to_record(config.sources[b % SOURCES], _item(rng, first + b * BATCH + k, start),
                           None)
                 for k in range(BATCH)]
                for b in range(PROBE_BATCHES)
            ]  # fmt: skip
            warm, *probes = probes  # the first batch pays for caches and prepared statements
            await db.store_fetch(config.sources[0].id, FetchOutcome(time.time(), 0, True, "ok"),
                                 warm, context)  # fmt: skip
            began = time.perf_counter()
            for b, records in enumerate(probes):
                source = config.sources[b % SOURCES]
                outcome = FetchOutcome(attempted_at=time.time(), seconds=0, ok=True, result="ok")
                await db.store_fetch(source.id, outcome, records, context)
            per_item = (time.perf_counter() - began) / (len(probes) * BATCH) * 1e6
            baseline = baseline or per_item
            print(f"{size:>12,}   {per_item:10.1f}   ({per_item / baseline:.2f}× the 10k cost)")
            have += PROBE_BATCHES * BATCH
        await db.close()


if __name__ == "__main__":
    asyncio.run(run())
