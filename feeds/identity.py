"""Stable identities: an item's key within its source, and the entry id we publish it under.

Versioned like reader's `_hash_utils`: changing how a key is computed would duplicate every
stored item, so the derivation is fixed and prefixed with its kind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence

from feeds.model import ParsedItem
from feeds.normalize import normalize_link

_ENTRY_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f7b-9a51-1f3f0c4b2e10")


def item_key(item: ParsedItem) -> str:
    """Upstream id, else normalised link, else a hash of title and date (SPEC §7)."""
    if item.upstream_id and item.upstream_id.strip():
        return "id:" + item.upstream_id.strip()
    if item.url:
        return "url:" + normalize_link(item.url)
    date = item.published.isoformat() if item.published else ""
    digest = hashlib.sha256(f"{item.title}\x1f{date}".encode()).hexdigest()[:32]
    return "hash:" + digest


def entry_id(source_id: str, key: str) -> str:
    """The published id of an item: a urn:uuid that never changes once published."""
    name = source_id + "\x1f" + key
    return f"urn:uuid:{uuid.uuid5(_ENTRY_NAMESPACE, name)}"


def content_hash(item: ParsedItem, tags: Sequence[str] | None = None) -> str:
    """A digest of every published field, so an unchanged item is recognised and left alone;
    `tags` stands for the item's own (a source adds its tags to every item)."""
    fields: list[object] = [
        item.title,
        item.url,
        item.upstream_id,
        item.content_html,
        item.summary,
        item.published.isoformat() if item.published else None,
        item.updated.isoformat() if item.updated else None,
        item.author,
        item.origin.name if item.origin else None,
        item.origin.url if item.origin else None,
        list(item.tags if tags is None else tags),
    ]
    if item.enclosures:  # only then: the digests of items without any stay what they were
        fields.append([[e.url, e.media_type, e.length] for e in item.enclosures])
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()
