"""Where a first fetch's time goes, per new item, stage by stage, on the farm's documents.

Parsing both ways, building the stored record (story keys, the body's SimHash, the search
text written to the full-text index), and storing (`Database.store_fetch`, 20 new items per
source, `fetch.concurrency` sources at a time as the pipeline calls it, so writes share
transactions) with the cost of one aiosqlite round trip beside it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bench.farm import render
from bench.storing import farm_config, parsed_feeds, records_of, store_all
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.fingerprint import simhash
from feeds.normalize import normalize_text
from feeds.sanitize import html_to_text
from feeds.searchtext import search_text

FEEDS = 50
URL = "http://127.0.0.1/f/"


def _per_item(run: Callable[[Any], object], inputs: Sequence[Any], items: int) -> float:
    """CPU µs per item of `run` over every input."""
    started = time.process_time()
    for value in inputs:
        run(value)
    return (time.process_time() - started) / items * 1e6


async def _store(workdir: Path) -> tuple[float, float, float]:
    """µs: building the records per item (CPU), store_fetch per item and one aiosqlite round
    trip (wall)."""
    config = farm_config(workdir, FEEDS)
    parsed = parsed_feeds(config)
    started = time.process_time()
    records = records_of(config, parsed)
    record = (time.process_time() - started) / sum(map(len, records)) * 1e6
    wall, _, _ = await store_all(config, records)
    store = wall / sum(map(len, records)) * 1e6
    async with aiosqlite.connect(":memory:") as conn:
        started = time.perf_counter()
        for _ in range(2000):
            await conn.execute("SELECT 1")
        hop = (time.perf_counter() - started) / 2000 * 1e6
    return record, store, hop


def breakdown() -> list[tuple[str, float]]:
    """(stage, µs per item)."""
    feeds = [render(n, 0) for n in range(FEEDS)]
    items = [item for body in feeds for item in getattr(parse_fast(body, url=URL), "items", ())]
    texts = [normalize_text(html_to_text(item.content_html)) for item in items]
    n = len(items)
    with tempfile.TemporaryDirectory() as workdir:
        record, store, hop = asyncio.run(_store(Path(workdir)))
    return [
        ("parse, fast path (feeds.fastxml)", _per_item(lambda f: parse_fast(f, url=URL), feeds, n)),
        ("parse, feedparser path (feeds.feedxml)",
         _per_item(lambda f: parse_xml_feed(f, url=URL), feeds, n)),
        ("to_record: identity, hashes, story keys, search text", record),
        ("  of which normalize_text of the body",
         _per_item(lambda i: normalize_text(html_to_text(i.content_html)), items, n)),
        ("  of which simhash of the body", _per_item(simhash, texts, n)),
        ("  of which the search text",
         _per_item(lambda i: search_text(i.title, i.summary, i.content_html), items, n)),
        ("store_fetch, wall (20 new items a source, 32 sources at a time)", store),
        ("one aiosqlite round trip, wall (not per item)", hop),
    ]  # fmt: skip
