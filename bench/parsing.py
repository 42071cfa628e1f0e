"""Parsing alone, on the farm's documents: feedparser, our two paths, and lxml as the floor.

The farm's RSS; the same with bodies as news sites write them (links from the site's root, an
image, a list); and the farm's items as a blog's Atom feed (xml:base on the feed as WordPress
writes it, XHTML content, relative links). CPU time (process_time), best of three rounds, so
other load on the box matters less.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import feedparser
from lxml import etree

from bench.farm import ITEMS, host, render
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed

URL = "http://127.0.0.1/f.xml"


RSS = "RSS 2.0"
LINKED = "RSS 2.0, bodies with links and an image"
ATOM = "Atom 1.0 with xml:base and XHTML content"
_ITEM = re.compile(
    rb"<item><title>(.*?)</title><link>http://[^/]+(/a/\d+\.html)</link>.*?<pubDate>(.*?)"
    rb"</pubDate><dc:creator>(.*?)</dc:creator>.*?<content:encoded><!\[CDATA\[(.*?)\]\]>",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class ParseResult:
    documents: str
    name: str
    items_per_second: float


def atom(n: int) -> bytes:
    """Farm feed `n`'s items as a blog's Atom feed: relative links under the feed's xml:base,
    each body an XHTML `<div>` (the farm's dates are RFC 822, which Atom readers accept too)."""
    entries = b"".join(
        b"<entry><title>%s</title><link href='%s'/><id>tag:%s,2024:%s</id><updated>%s</updated>"
        b"<author><name>%s</name></author><content type='xhtml'><div xmlns="
        b"'http://www.w3.org/1999/xhtml'>%s</div></content></entry>"
        % (title, path, host(n).encode(), path, date, author, body)
        for title, path, date, author, body in _ITEM.findall(render(n, 0))
    )
    return (
        b"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
        b"xml:base='http://%s/blog/'><title>Farm blog %d</title><link href='./'/>%s</feed>"
        % (host(n).encode(), n, entries)
    )


def linked(n: int) -> bytes:
    """Farm feed `n` with bodies as news sites write them: each paragraph opens with a link from
    the site's root, and an image and a list of related links follow."""
    text = render(n, 0).decode()

    def rewrite(body: re.Match[str]) -> str:
        paragraphs = re.findall("<p>(.*?)</p>", body[1])
        linked = "".join(
            f'<p><a href="/news/{n}-{k}.html"><strong>{p[:8]}</strong></a>{p[8:]}</p>'
            for k, p in enumerate(paragraphs)
        )
        related = "".join(f'<li><a href="/news/{n}-{k}.html">{p[:12]}</a></li>'
                          for k, p in enumerate(paragraphs[:3]))  # fmt: skip
        image = f'<p><img src="/images/{n}.jpg" alt="{paragraphs[0][:6]}" width="600"></p>'
        return f"<![CDATA[{linked}{image}<ul>{related}</ul>]]>"

    return re.sub(r"<!\[CDATA\[(.*?)\]\]>", rewrite, text, flags=re.DOTALL).encode()


def _best_rate(parse: Callable[[bytes], object], documents: list[bytes], items: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for document in documents:
            parse(document)
        best = min(best, time.process_time() - started)
    return items / best


def parsing(feeds: int = 100) -> list[ParseResult]:
    return [
        *_contenders(RSS, [render(n, 0) for n in range(feeds)], lxml_too=True),
        *_contenders(LINKED, [linked(n) for n in range(feeds)]),
        *_contenders(ATOM, [atom(n) for n in range(feeds)]),
    ]


def _contenders(name: str, documents: list[bytes], lxml_too: bool = False) -> list[ParseResult]:
    assert all(parse_fast(d, url=URL) is not None for d in documents), f"fast path refused {name}"
    assert all(len(parse_fast(d, url=URL).items) == ITEMS for d in documents)  # type: ignore[union-attr]
    contenders: dict[str, Callable[[bytes], object]] = {
        "feedparser.parse alone": lambda d: feedparser.parse(io.BytesIO(d)),
        "feeds.feedxml (feedparser path, records)": lambda d: parse_xml_feed(d, url=URL),
        "feeds.fastxml (fast path, records)": lambda d: parse_fast(d, url=URL),
    }
    if lxml_too:
        contenders["lxml tree building alone"] = etree.fromstring
    return [
        ParseResult(name, parser, _best_rate(parse, documents, len(documents) * ITEMS))
        for parser, parse in contenders.items()
    ]


def corpus_acceptance(corpus: Path) -> tuple[int, int] | None:
    """(accepted, total) over feedparser's test corpus, if `make corpus` has unpacked it."""
    files = sorted((corpus / "tests").rglob("*.xml"))
    if not files:
        return None
    accepted = sum(parse_fast(path.read_bytes(), url=URL) is not None for path in files)
    return accepted, len(files)
