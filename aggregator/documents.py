"""Render a published feed document from storage: shared by the web app and `aggregator render`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from aggregator.config import Config, FeedConfig
from aggregator.errors import UnknownSource
from aggregator.imageproxy import image_proxy
from aggregator.publish import build_feed
from aggregator.withdrawn import Withdrawn, withdrawn
from feeds.jsonfeed import render_json
from feeds.render import render_atom, render_rss
from storage import ItemFilter, Reads, StoredItem, StoryCopy, StoryView

RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


@dataclass(frozen=True, slots=True)
class Query:
    """A reader's request on a feed: page size and cursor, words, tag, and one of its sources."""

    limit: int | None = None
    before: tuple[float, int] | None = None
    text: str | None = None
    tag: str | None = None
    source: str | None = None

    @property
    def filter(self) -> ItemFilter:
        return ItemFilter(text=self.text, tag=self.tag)


_PICKED_OUT = 64  # sources a document's last change is looked up by, at most
_CURSOR = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)_(-?[0-9]+)")


def cursor(item: StoredItem) -> str:
    """An opaque `before` value: paging by (time, row) stays stable while items arrive."""
    return f"{item.sort_ts!r}_{item.id}"


def parse_cursor(raw: str) -> tuple[float, int]:
    """The (time, row) of a `cursor` value; raises ValueError for anything else (Python's
    numbers take `1_1` and other scripts' digits: a cursor is only what `cursor` writes)."""
    found = _CURSOR.fullmatch(raw)
    if found is None:
        raise ValueError(f"not a cursor: {raw!r}")
    stamp, row = found.groups()
    when, number = float(stamp), int(row)
    if not math.isfinite(when):
        raise ValueError(f"not a finite time: {stamp!r}")
    if not -(2**63) <= number < 2**63:  # beyond what SQLite compares with a row id
        raise ValueError(f"not a row: {row!r}")
    return when, number


def channel(config: Config, kind: str, ident: str) -> FeedConfig:
    """The feed definition behind `/feeds/{ident}` or `/sources/{ident}`."""
    if kind == "feeds":
        feed = config.feed(ident)
        if feed is not None:
            return feed
    else:
        source = config.source(ident)
        if source is not None and source.enabled:
            # the upstream address stays private: it may be a local path or an intranet host
            publisher = f" — {source.publisher.name}" if source.publisher else ""
            return FeedConfig(ident, source.name, f"{source.name}{publisher}", (ident,))
    raise UnknownSource(f"no {kind[:-1]} {ident!r}")


_LARGEST_BATCH = 2000  # rows read at a time by `select`


def _matches(feed: FeedConfig, item: StoredItem) -> bool:
    if not feed.include and not feed.exclude:
        return True
    text = f"{item.title}\n{item.summary}\n{item.content}".casefold()
    if feed.exclude and any(word in text for word in feed.exclude):
        return False
    return not feed.include or any(word in text for word in feed.include)


def _represents(item: StoredItem, story: StoryView | None, eligible: set[int]) -> bool:
    """Whether `item` is its story's one entry among the `eligible` copies of a merged feed.

    Eligible: of the feed's sources and matching the reader's query. The canonical copy when it
    is eligible; otherwise the oldest copy that is, so that every story appears exactly once
    and paging never shows it twice.
    """
    if story is None or story.canonical_item == item.id:
        return True
    if story.canonical_item in eligible:
        return False
    return item.id == min(copy.item_id for copy in story.copies if copy.item_id in eligible)


async def _eligible(
    db: Reads,
    stories: dict[int, StoryView],
    shown: list[StoredItem],
    query: Query,
    selected: tuple[FeedConfig, frozenset[str]],
    hidden: Withdrawn | None,
) -> set[int]:
    """Copies of these stories that the feed may show: of its sources, not `hidden`, with the
    feed's words (include/exclude), matching the query. `shown`: the items read, with the
    words, matching the query."""
    feed, sources = selected
    copies: list[StoryCopy] = [c for story in stories.values() for c in story.copies]
    inside = {c.item_id for c in copies if c.source_id in sources}
    if hidden is not None:
        inside = {c.item_id for c in copies if c.item_id in inside and not hidden.covers(c.url)}
    if feed.include or feed.exclude:  # a copy with the words stands in for one without
        known = {item.id for item in shown if item.id in inside}  # those have the words
        others = await db.items_by_id(sorted(inside - known))
        inside = known | {item_id for item_id, item in others.items() if _matches(feed, item)}
    if not query.filter.active:
        return inside
    matched = {item.id for item in shown} & inside
    return matched | await db.matching_ids(sorted(inside - matched), query.filter)


Selected = list[tuple[StoredItem, StoryView | None]]


def _needs_story(item: StoredItem, merged: bool) -> bool:
    """A merged feed shows the story; one source's feed only where the item's credit has no
    link, which the story's copies may give (`publish.to_entry`)."""
    return merged or bool(item.origin_name and not item.origin_url)


async def select(
    db: Reads, feed: FeedConfig, query: Query, *, merged: bool, hidden: Withdrawn | None = None
) -> Selected:
    """Entries of `feed`, newest first: one per story when `merged`, after include/exclude,
    none of them `hidden`."""
    limit = query.limit or feed.limit
    # Read ahead only where rows may be passed over: copies of one story, words left out.
    batch_size = max(limit * 2, 50) if merged or feed.include or feed.exclude else limit
    before = query.before
    sources = (query.source,) if query.source else feed.sources
    wanted = frozenset(sources) if query.source else feed.source_set
    chosen: Selected = []
    while len(chosen) < limit:
        batch = await db.latest_items(sources, limit=batch_size, before=before, where=query.filter)
        shown = [
            item
            for item in batch
            if _matches(feed, item) and (hidden is None or not hidden.covers(item.url))
        ]
        stories = await db.story_views(
            [i.story_id for i in shown if i.story_id and _needs_story(i, merged)]
        )
        eligible = (
            await _eligible(db, stories, shown, query, (feed, wanted), hidden) if merged else set()
        )
        for item in shown:
            story = stories.get(item.story_id or -1)
            if not merged or _represents(item, story, eligible):
                chosen.append((item, story))
        if len(batch) < batch_size:
            break
        before = (batch[-1].sort_ts, batch[-1].id)
        # Words that few items have (a channel's `include`) pass over most rows: larger reads
        # each time, where one of twice the limit at a time read a large store 100 rows a go.
        batch_size = min(batch_size * 2, _LARGEST_BATCH)
    return chosen[:limit]


@dataclass(frozen=True, slots=True)
class Page:
    """One document to render: `/{kind}/{ident}.{fmt}` for `query`, and its own address."""

    kind: str
    ident: str
    fmt: str
    query: Query
    self_url: str
    next_base: str  # the next page's address is this with the query's parameters and a cursor
    extra_query: tuple[tuple[str, str], ...] = ()  # the query's parameters but `before`


async def render_page(config: Config, db: Reads, page: Page) -> tuple[bytes, datetime]:
    """The document's bytes and when what it shows last changed (its `Last-Modified`: see
    `last_modified`); raises `UnknownSource` for unknown ids."""
    feed = channel(config, page.kind, page.ident)
    query = page.query
    hidden = withdrawn(config.stories)
    items = await select(db, feed, query, merged=page.kind == "feeds", hidden=hidden)
    next_url = None
    if len(items) == (query.limit or feed.limit) and items:
        params = dict(page.extra_query) | {"before": cursor(items[-1][0])}
        next_url = f"{page.next_base}?{urlencode(params)}"
    source = config.source(page.ident) if page.kind == "sources" else None
    modified = await last_modified(config, db, feed)
    document = build_feed(
        config,
        kind=page.kind,
        ident=page.ident,
        title=feed.title,
        description=feed.description,
        items=items,
        self_url=page.self_url,
        next_url=next_url,
        language=source.language if source else None,
        images=await image_proxy(config, db),
        modified=modified,
    )
    return RENDERERS[page.fmt](document), max(document.updated, modified)


async def last_modified(config: Config, db: Reads, feed: FeedConfig) -> datetime:
    """When what `feed` shows last changed, whatever its entries' dates: the config read (a
    withdrawal, a title), or the items of one of its sources written (an entry dated before
    the newest, an entry gone). A `Last-Modified` no earlier earns no 304 for a changed
    document, and is the same in every process."""
    # Picking out 2,000 sources cost 0.7 ms a render; every source's last change instead only
    # ever moves the time later (a reader asking by date may fetch an unchanged feed again).
    few = len(feed.source_set) <= _PICKED_OUT
    changed = await db.last_changed(feed.source_set if few else None)
    return datetime.fromtimestamp(max(config.modified, changed or 0.0), UTC).replace(microsecond=0)
