"""`aggregator preview`: what a source yields, field by field, and what produced each field."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime

from aggregator.config import Config, SourceConfig
from aggregator.extract import Collected, collect
from aggregator.fetcher import Fetcher
from aggregator.follow import article_problem, read_article
from aggregator.netpolicy import allowed_hosts
from aggregator.operate import TerminalLine
from aggregator.robots import Robots
from feeds.attribution import body_credit, credit_in_body_counts
from feeds.errors import AggregatorError
from feeds.identity import item_key
from feeds.model import ParsedItem
from feeds.sanitize import html_to_text
from storage import FetchState

_FIELDS = (
    "title", "url", "published", "updated", "author", "origin", "tags", "enclosures", "summary",
)  # fmt: skip


def _credited(item: ParsedItem) -> ParsedItem:
    """The item with the origin its body credits when its document names none, as it is
    stored (`records.to_record`)."""
    if not credit_in_body_counts(item):
        return item
    credit = body_credit(html_to_text(item.content_html), item.content_html, item.url)
    if credit is None:
        return item
    return replace(item, origin=credit, provenance=(*item.provenance, ("origin", "detected")))


def _value(item: ParsedItem, name: str) -> object:
    value = getattr(item, name)
    if name in ("published", "updated"):
        return value.isoformat() if value else None
    if name == "origin":
        return asdict(value) if value else None
    if name == "tags":
        return list(value)
    if name == "enclosures":
        return [asdict(enclosure) for enclosure in value]
    return value


def item_as_dict(
    item: ParsedItem, pages: tuple[str, ...], charset: str | None = None
) -> dict[str, object]:
    provenance = dict(item.provenance)
    fields = {name: _value(item, name) for name in _FIELDS}
    fields["content_html"] = item.content_html
    return {
        "key": item_key(item),
        "fields": fields,
        "provenance": {name: provenance.get(name) for name in [*_FIELDS, "content"]},
        "article_pages": list(pages),
        "article_charset": charset,
    }


def _print_item(
    number: int, item: ParsedItem, pages: tuple[str, ...], charset: str | None = None
) -> None:
    provenance = dict(item.provenance)
    print(f"\n#{number}  {item.title}")
    for name in _FIELDS:
        value = _value(item, name)
        how = provenance.get(name, "")
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        print(f"  {name:<10} {how and f'[{how}]':<12} {shown if shown is not None else '—'}")
    text = " ".join(item.content_html.split())
    how = provenance.get("content", "")
    print(
        f"  {'content':<10} {how and f'[{how}]':<12} {len(item.content_html)} chars: {text[:160]}"
    )
    if len(pages) > 1:  # an article in several pages: which were read, so `next_page` shows
        print(f"  {'pages':<10} {'':<12} {len(pages)}: {' '.join(pages)}")
    if charset:  # the article's own: a portal's articles may lie otherwise than its list
        print(f"  {'charset':<10} {'':<12} {charset}")


async def preview_article(config: Config, source: SourceConfig, url: str, *, as_json: bool) -> int:
    """One article page of `source` (and its later pages), read as a fetch reads it: for
    writing `[sources.article]` against the page that needs it, without the list."""
    async with Fetcher(config.fetch) as fetcher:
        try:
            read = await read_article(
                source,
                url,
                fetcher,
                Robots(fetcher, config.fetch.user_agent),
                allowed_hosts(source.url, source.follow_hosts),
                config.service.timezone,
                datetime.now(UTC),
            )
        except AggregatorError as exc:
            print(f"{source.id}: {article_problem(url, exc)}", file=sys.stderr)
            return 1
    warnings = [read.problem] if read.problem else []
    if as_json:
        document = {"source": source.id, "url": url, "warnings": warnings,
                    "items": [item_as_dict(read.item, read.pages, read.charset)]}  # fmt: skip
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"{source.id}: the article {url}")
    for warning in warnings:
        print(f"warning: {warning}")
    _print_item(1, read.item, read.pages, read.charset)
    return 0


async def preview(config: Config, source: SourceConfig, *, as_json: bool) -> int:
    line = TerminalLine(shown=sys.stderr.isatty())  # how far the article pages are
    with line.over_logs():
        async with Fetcher(config.fetch) as fetcher:
            try:
                collected = await collect(
                    source,
                    fetcher=fetcher,
                    robots=Robots(fetcher, config.fetch.user_agent),
                    state=FetchState(),
                    default_tz=config.service.timezone,
                    articles=lambda done, total: line.draw(f"article {done}/{total}"),
                )
            except AggregatorError as exc:
                line.clear()
                print(f"{source.id}: {exc}", file=sys.stderr)
                return 1
    items = [_credited(item) for item, _ in collected.items]
    feed = collected.feed

    def article(item: ParsedItem) -> tuple[tuple[str, ...], str | None]:
        key = item_key(item)
        return collected.article_pages.get(key, ()), collected.article_charsets.get(key)

    notes = [*collected.notes, *_textless(items, collected)]
    if as_json:
        document = {
            "source": source.id,
            "url": collected.response.url if collected.response else source.url,
            "format": feed.format if feed else None,
            "charset": feed.charset if feed else None,
            "warnings": list(collected.warnings),
            "notes": notes,
            "items": [item_as_dict(item, *article(item)) for item in items],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"{source.id}: {len(items)} items from {source.url}")
    if feed:
        print(f"format {feed.format or '?'}, charset {feed.charset or '?'}")
    for warning in collected.warnings:
        print(f"warning: {warning}")
    for note in notes:
        print(f"note: {note}")
    for number, item in enumerate(items, start=1):
        _print_item(number, item, *article(item))
    return 0


def _textless(items: Sequence[ParsedItem], collected: Collected) -> list[str]:
    """A note on items whose article pages were read and gave no text: a page its script
    fills in from another request (a portal built with a script framework) reads as empty,
    which no selector can help."""
    empty = [
        item
        for item in items
        if not item.content_html and collected.article_pages.get(item_key(item))
    ]
    if not empty:
        return []
    return [
        f"{len(empty)} of {len(items)} items have no text: their article page ({empty[0].url})"
        " shows none; a page its script fills in is not read"
    ]
