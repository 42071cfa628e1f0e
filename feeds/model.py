"""Records passed between stages: what a parser extracts, and what a renderer publishes.

Parsed data (`ParsedItem`, `ParsedFeed`) is kept apart from published data (`OutEntry`,
`OutFeed`): the first is what one upstream said, the second what we republish with provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Party:
    """A named party with an optional home page: a publisher, or where a story first appeared."""

    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A file an item carries (a podcast's audio, an attachment), made safe to republish."""

    url: str  # absolute http(s)
    media_type: str = ""  # "type/subtype" in lower case, or "" when upstream gave none usable
    length: int | None = None  # in bytes; None when unknown


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One item as an upstream document gives it. Datetimes are timezone-aware."""

    title: str
    url: str | None = None
    upstream_id: str | None = None
    content_html: str = ""
    summary: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    origin: Party | None = None
    tags: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()  # distinct URLs in document order, a few at most
    # field name -> what produced it ("selector", "automatic", "detected", "feed"); for preview
    provenance: tuple[tuple[str, str], ...] = ()
    site_name: str | None = None  # the page's own site name (og:site_name, a WeChat account)
    # Where the item's body is read from when it is not its `url`: a JSON record's detail
    # API (`[sources.detail]`). Never stored: it leads to the body, which is.
    body_url: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole upstream document: channel metadata and its items in document order."""

    items: tuple[ParsedItem, ...]
    title: str = ""
    link: str | None = None
    format: str = ""  # "rss20", "atom10", "rss10", "json11", "html", ...
    ttl_seconds: int | None = None
    charset: str | None = None  # the codec the document was decoded with
    warnings: tuple[str, ...] = ()  # lenient-parse recoveries: the source is degraded, not failed
    # The document ends before its root element does (a connection or a server cut it): its
    # validators describe a whole document, not this one (`FetchOutcome.new_validators`).
    cut_short: bool = False


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Our source an entry came from, as published feeds name it."""

    id: str
    name: str
    url: str  # our per-source feed URL
    site_url: str | None = None
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Copy:
    """Another source's copy of the same story."""

    source_id: str
    source_name: str
    url: str | None


@dataclass(frozen=True, slots=True)
class OutEntry:
    """One published entry with its full provenance (SPEC §6)."""

    id: str  # stable: a urn:uuid that never changes once published
    title: str
    url: str | None
    content_html: str
    summary: str
    published: datetime
    updated: datetime
    source: SourceRef
    author: str | None = None
    publisher: Party | None = None
    origin: Party | None = None
    tags: tuple[str, ...] = ()
    copies: tuple[Copy, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class OutFeed:
    """A published feed document: channel metadata and entries, newest first."""

    id: str  # a urn:uuid, stable for the feed
    title: str
    self_url: str  # the URL this document is served at, query included
    home_url: str
    updated: datetime
    entries: tuple[OutEntry, ...]
    description: str = ""
    language: str | None = None
    next_url: str | None = None  # RFC 5005 paging
    hub_url: str | None = None  # WebSub
    alternates: tuple[tuple[str, str], ...] = ()  # (format, URL) of the same feed elsewhere
