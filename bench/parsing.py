"""Parsing alone, on the farm's documents: feedparser, our two paths, and lxml as the floor.

CPU time (process_time), best of three rounds, so other load on the box matters less.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import feedparser
from lxml import etree

from bench.farm import ITEMS, render
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed

URL = "http://127.0.0.1/f.xml"


@dataclass(frozen=True, slots=True)
class ParseResult:
    name: str
    items_per_second: float


def _best_rate(parse: Callable[[bytes], object], documents: list[bytes], items: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for document in documents:
            parse(document)
        best = min(best, time.process_time() - started)
    return items / best


def parsing(feeds: int = 100) -> list[ParseResult]:
    documents = [render(n, 0) for n in range(feeds)]
    assert all(parse_fast(d, url=URL) is not None for d in documents), "fast path refused"
    contenders: dict[str, Callable[[bytes], object]] = {
        "feedparser.parse alone": lambda d: feedparser.parse(io.BytesIO(d)),
        "feeds.feedxml (feedparser path, records)": lambda d: parse_xml_feed(d, url=URL),
        "feeds.fastxml (fast path, records)": lambda d: parse_fast(d, url=URL),
        "lxml tree building alone": etree.fromstring,
    }
    return [
        ParseResult(name, _best_rate(parse, documents, feeds * ITEMS))
        for name, parse in contenders.items()
    ]


def corpus_acceptance(corpus: Path) -> tuple[int, int] | None:
    """(accepted, total) over feedparser's test corpus, if `make corpus` has unpacked it."""
    files = sorted((corpus / "tests").rglob("*.xml"))
    if not files:
        return None
    accepted = sum(parse_fast(path.read_bytes(), url=URL) is not None for path in files)
    return accepted, len(files)
