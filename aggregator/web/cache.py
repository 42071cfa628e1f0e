"""Rendered feed documents kept in memory until the data they show changes.

A reader polling an unchanged feed costs a dictionary lookup: no query, no rendering. Each
document is stored with its strong ETag and Last-Modified computed once, and each compressed
form the first time a client asks for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aggregator.web.encoding import COMPRESSORS

_MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class Rendered:
    generation: int
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    modified_at: datetime
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False)

    def variant(self, coding: str | None) -> tuple[bytes, str]:
        """The body in `coding` and its strong ETag: each coding is its own representation."""
        if coding is None:
            return self.body, self.etag
        body = self.encoded.get(coding)
        if body is None:
            body = self.encoded[coding] = COMPRESSORS[coding](self.body)
        return body, f'{self.etag[:-1]}-{coding}"'


def make_rendered(generation: int, body: bytes, content_type: str, modified: datetime) -> Rendered:
    modified = modified.astimezone(UTC).replace(microsecond=0)
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return Rendered(
        generation=generation,
        body=body,
        content_type=content_type,
        etag=f'"{digest}"',
        last_modified=format_datetime(modified, usegmt=True),
        modified_at=modified,
    )


class FeedCache:
    def __init__(self) -> None:
        self._entries: dict[str, Rendered] = {}
        self.hits = 0  # lookups answered from memory, for /metrics
        self.misses = 0

    def get(self, key: str, generation: int) -> Rendered | None:
        found = self._entries.get(key)
        if found is not None and found.generation == generation:
            self.hits += 1
            return found
        self.misses += 1
        return None

    def put(self, key: str, rendered: Rendered) -> None:
        if len(self._entries) >= _MAX_ENTRIES and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = rendered
