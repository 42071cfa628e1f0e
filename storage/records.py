"""Records that cross the storage boundary, in both directions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feeds.model import Enclosure
from feeds.stories import SourceNames


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """An item ready to store: parsed fields plus its identity within the source."""

    key: str
    entry_id: str
    title: str
    url: str | None
    upstream_id: str | None
    content: str
    summary: str
    author: str | None
    origin_name: str | None
    origin_url: str | None
    tags: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    content_hash: str
    listing_hash: str | None = None  # what led to the article page; unchanged = not refetched
    # story matching keys (SPEC §7); all None for a source with `dedupe = false`
    norm_link: str | None = None
    norm_title: str | None = None
    fingerprint: int | None = None
    body_chars: int | None = None  # the normalised characters the fingerprint was made of
    body_days: str | None = None  # the days its body's opening names (`feeds.stories`)
    bands: tuple[int, ...] = ()
    search_text: str | None = None  # the full-text index's tokens; None: built when written
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class HeldItem:
    """A stored item as a fetch compares it with what it read: its content digest, and its
    dates as stored (ISO 8601) with when it was first seen and last changed."""

    content_hash: str
    first_seen: float
    last_changed: float
    published: str | None = None
    updated: str | None = None


@dataclass(frozen=True, slots=True)
class MatchKeys:
    """What finds an item's copies at other sources (SPEC §7), as `ItemRecord` carries them."""

    norm_link: str | None
    norm_title: str | None
    fingerprint: int | None
    body_chars: int | None
    bands: tuple[int, ...]
    body_days: str | None = None


@dataclass(frozen=True, slots=True)
class StoredText:
    """A stored item's text, from which its `MatchKeys` are made again."""

    id: int
    source_id: str
    url: str | None
    title: str
    content: str
    summary: str
    # the stored digest of its fields when read: keys made from this text are written only
    # while the item still has it (an item changed meanwhile was given its keys then)
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, with when we first saw it and when it last changed."""

    id: int
    source_id: str
    key: str
    entry_id: str
    title: str
    url: str | None
    content: str
    summary: str
    author: str | None
    origin_name: str | None
    origin_url: str | None
    tags: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    sort_ts: float
    first_seen: float
    last_changed: float
    story_id: int | None = None
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryCopy:
    item_id: int
    source_id: str
    url: str | None
    rule: str | None  # how this copy joined the story: "link", "title", "body"; None = first


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story as merged feeds publish it: its stable id, canonical item, origin and copies."""

    id: int
    entry_id: str
    canonical_item: int | None
    origin_name: str | None
    origin_url: str | None
    origin_source: str | None
    reason: str | None
    copies: tuple[StoryCopy, ...]
    changed: float | None = None  # when another copy last became the canonical one


@dataclass(frozen=True, slots=True)
class StoryContext:
    """What origin decisions need from the config: names and aliases, and config order."""

    source_names: SourceNames
    source_order: dict[str, int]


@dataclass(frozen=True, slots=True)
class FetchState:
    """What the next request of a source needs to be conditional and polite."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    effective_url: str | None = None
    error_streak: int = 0
    reread_at: float | None = None  # from then, the document is read whole: see FetchOutcome
    rules: str | None = None  # the digest of the config its last stored read was made with


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """The result of one fetch attempt, written with its items in one transaction."""

    attempted_at: float
    seconds: float
    ok: bool
    result: str  # "ok", "not modified", "unchanged", "degraded", "error"
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # The validators above replace the stored ones, absent ones too: a whole document came.
    # Else (a 304, a document cut short) the stored ones stay where these are absent.
    new_validators: bool = False
    body_hash: str | None = None
    effective_url: str | None = None
    charset: str | None = None
    title: str | None = None
    site_url: str | None = None
    next_fetch: float | None = None
    # When a page it led to failed and is to be tried again: the first fetch from then asks for
    # the document without validators, and parses it even if its body is the same.
    reread_at: float | None = None
    rules: str | None = None  # see `FetchState.rules`; kept as it was when None
    # The keys of the items the document read lists; None when no document was read (a 304,
    # the same body, an error): the last listing stands.
    listed: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class WriteSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # of the new items, those that joined another source's story
    # (source id, its items version after this write) of each source whose published
    # documents may read differently now: this one, and those sharing a story with its items
    versions: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One row of `aggregator status` and `/api/sources`."""

    id: str
    url: str
    effective_url: str | None
    title: str | None
    charset: str | None
    last_attempt: float | None
    last_success: float | None
    last_status: int | None
    last_result: str | None
    last_error: str | None
    error_streak: int
    next_fetch: float | None
    fetches: int
    failures: int
    average_seconds: float | None
    items: int
    items_last_day: int
    reread_at: float | None = None  # see `FetchOutcome.reread_at`
