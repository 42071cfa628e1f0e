"""Turn stored items into published feed documents (`OutFeed`) with their provenance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from aggregator.config import Config, SourceConfig
from feeds.model import OutEntry, OutFeed, SourceRef
from storage import StoredItem

FORMATS = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
_FEED_NAMESPACE = uuid.UUID("0b8e5f0e-7d1a-4c59-8a52-5f3e7e1c9d21")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def feed_url(config: Config, kind: str, ident: str, fmt: str) -> str:
    return f"{config.service.base_url}/{kind}/{ident}.{fmt}"


def source_ref(config: Config, source: SourceConfig) -> SourceRef:
    return SourceRef(
        id=source.id,
        name=source.name,
        url=feed_url(config, "sources", source.id, "atom"),
        site_url=source.publisher.url if source.publisher else None,
    )


def to_entry(config: Config, item: StoredItem) -> OutEntry | None:
    """The published form of a stored item; None when its source left the config."""
    source = config.source(item.source_id)
    if source is None or not source.enabled:
        return None
    published = item.published or datetime.fromtimestamp(item.first_seen, UTC)
    updated = max(item.updated or published, published)
    return OutEntry(
        id=item.entry_id,
        title=item.title,
        url=item.url,
        content_html=item.content,
        summary=item.summary,
        published=published,
        updated=updated,
        source=source_ref(config, source),
        author=item.author,
        publisher=source.publisher,
        origin=None,
        tags=item.tags,
    )


def build_feed(
    config: Config,
    *,
    kind: str,
    ident: str,
    title: str,
    description: str,
    items: Sequence[StoredItem],
    self_url: str,
    next_url: str | None = None,
    language: str | None = None,
) -> OutFeed:
    entries = tuple(e for e in (to_entry(config, item) for item in items) if e is not None)
    updated = max((e.updated for e in entries), default=_EPOCH)
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
        hub_url=config.service.websub_hub,
        alternates=tuple(
            (fmt, feed_url(config, kind, ident, fmt)) for fmt in FORMATS if fmt != "json"
        ),
    )
