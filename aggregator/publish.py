"""Turn stored items into published feed documents (`OutFeed`) with their provenance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from aggregator.config import Config, SourceConfig
from aggregator.imageproxy import ImageProxy
from aggregator.withdrawn import Withdrawn, withdrawn
from feeds.dates import EARLIEST_PLAUSIBLE
from feeds.model import Copy, OutEntry, OutFeed, Party, SourceRef
from storage import StoredItem, StoryView

FORMATS = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
_FEED_NAMESPACE = uuid.UUID("0b8e5f0e-7d1a-4c59-8a52-5f3e7e1c9d21")
# Dates outside [EARLIEST_PLAUSIBLE, when we saw the item] are upstream mistakes (a zero
# timestamp, a misread zone, a pinned "sticky" post); the W3C validator calls them implausible.
# An empty feed has no entry to date it; it is as new as the process that serves it.
_STARTED = datetime.now(UTC).replace(microsecond=0)


def feed_url(config: Config, kind: str, ident: str, fmt: str) -> str:
    return f"{config.service.base_url}/{kind}/{ident}.{fmt}"


def source_ref(config: Config, source: SourceConfig) -> SourceRef:
    return SourceRef(
        id=source.id,
        name=source.name,
        url=feed_url(config, "sources", source.id, "atom"),
        site_url=source.publisher.url if source.publisher else None,
    )


def _story_fields(
    config: Config, item: StoredItem, story: StoryView
) -> tuple[str, Party | None, tuple[Copy, ...]]:
    """A merged entry's id, origin and other copies: the story's, not the item's."""
    copies = []
    hidden = withdrawn(config.stories)
    for copy in story.copies:
        copy_source = config.source(copy.source_id)
        shown = hidden is None or not hidden.covers(copy.url)
        if copy.item_id != item.id and copy_source is not None and copy_source.enabled and shown:
            copies.append(Copy(copy.source_id, copy_source.name, copy.url))
    origin = None
    if story.origin_name:
        origin = Party(story.origin_name, story.origin_url or _credited_url(config, story, hidden))
    elif (first := config.source(story.origin_source or "")) and _configured(config, story) > 1:
        origin = Party(first.name, item.url if first.id == item.source_id else None)
    return story.entry_id, origin, tuple(copies)


def _configured(config: Config, story: StoryView) -> int:
    """The story's copies of sources in the config: those of a source gone from it (renamed,
    re-added under another id) are no earlier publisher, and an entry credited itself."""
    return sum(config.source(copy.source_id) is not None for copy in story.copies)


def _credited_url(config: Config, story: StoryView, hidden: Withdrawn | None) -> str | None:
    """Where a credit without a link leads when it names one of our sources: its own copy of
    the story, unless withdrawn, else its publisher's site. Atom can say where a story was
    first published only with a link."""
    source = config.source(story.origin_source or "")
    if source is None:
        return None
    own = next(
        (
            copy.url
            for copy in story.copies
            if copy.source_id == source.id and (hidden is None or not hidden.covers(copy.url))
        ),
        None,
    )
    return own or (source.publisher.url if source.publisher else None)


def to_entry(
    config: Config,
    item: StoredItem,
    story: StoryView | None = None,
    images: ImageProxy | None = None,
    *,
    merged: bool = True,
) -> OutEntry | None:
    """The published form of an item (with its story's provenance in merged feeds), its
    pictures at `images`' addresses where it proxies their hosts. In one source's feed
    (`merged` false) the item is shown as it is, its story only giving a link to a credit
    without one, as the merged feed links it: Atom says where a story began only by a link."""
    source = config.source(item.source_id)
    if source is None or not source.enabled:
        return None
    entry_id = item.entry_id
    origin = Party(item.origin_name, item.origin_url) if item.origin_name else None
    copies: tuple[Copy, ...] = ()
    if story is not None and merged:
        entry_id, story_origin, copies = _story_fields(config, item, story)
        origin = story_origin or origin
    elif story is not None and origin is not None and origin.url is None:
        credited = config.source(story.origin_source or "")
        names = {story.origin_name, *((credited.name, *credited.aliases) if credited else ())}
        if origin.name in names:  # the credit the story's origin was decided by
            origin = Party(origin.name, _credited_url(config, story, withdrawn(config.stories)))
    seen = datetime.fromtimestamp(item.first_seen, UTC)
    published = _plausible(item.published, seen) or seen
    changed = datetime.fromtimestamp(item.last_changed, UTC)
    updated = max(_plausible(item.updated, changed) or published, published)
    # An edit we found, or another copy now shown under the story's id, is news to a reader
    # who has the entry: its `updated` moves, and never back.
    if item.last_changed > item.first_seen:
        updated = max(updated, changed)
    if story is not None and story.changed is not None:
        updated = max(updated, datetime.fromtimestamp(story.changed, UTC))
    return OutEntry(
        id=entry_id,
        title=item.title,
        url=item.url,
        content_html=images.rewrite(item.content) if images else item.content,
        summary=item.summary,
        published=published,
        updated=updated,
        source=source_ref(config, source),
        author=item.author,
        publisher=source.publisher,
        origin=origin,
        tags=item.tags,
        copies=copies,
        enclosures=item.enclosures,
    )


def _plausible(when: datetime | None, latest: datetime) -> datetime | None:
    if when is None:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when if EARLIEST_PLAUSIBLE <= when <= latest else None


def build_feed(
    config: Config,
    *,
    kind: str,
    ident: str,
    title: str,
    description: str,
    items: Sequence[tuple[StoredItem, StoryView | None]],
    self_url: str,
    next_url: str | None = None,
    language: str | None = None,
    images: ImageProxy | None = None,
    modified: datetime | None = None,
) -> OutFeed:
    """`updated` is its newest entry's, so the bytes (and the ETag made from them) stay the
    same while the entries do: taken from when its sources last changed, it moved whenever
    another source stored a copy of a story it shows, or the config was saved, and every
    reader downloaded an unchanged feed again. `modified` dates a document without entries."""
    entries = tuple(
        entry
        for item, story in items
        if (entry := to_entry(config, item, story, images, merged=kind == "feeds")) is not None
    )
    updated = max((e.updated for e in entries), default=modified or _STARTED)
    return OutFeed(
        id=f"urn:uuid:{uuid.uuid5(_FEED_NAMESPACE, f'{kind}/{ident}')}",
        title=title,
        self_url=self_url,
        home_url=config.service.base_url + "/",
        updated=updated,
        entries=entries,
        description=description or title,
        language=language,
        next_url=next_url,
        # Only where the hub hears of changes: it is told of each feed's own URL, not of every
        # search or page of it, whose subscribers would wait in vain.
        hub_url=None if "?" in self_url else config.service.websub_hub,
        alternates=tuple(
            (fmt, feed_url(config, kind, ident, fmt)) for fmt in FORMATS if fmt != "json"
        ),
    )
