"""Rendered feed documents kept in memory until the data they show changes.

A reader polling an unchanged feed costs a dictionary lookup: no query, no rendering. Each
document is stored with its gzip form, strong ETags and Last-Modified computed once.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

_MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class Rendered:
    generation: int
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: str
    modified_at: datetime

    def variant(self, gzip_ok: bool) -> tuple[bytes, str]:
        """The body and its strong ETag; the gzip form is a different representation."""
        if gzip_ok:
            return self.gzipped, self.etag[:-1] + '-gz"'
        return self.body, self.etag


def make_rendered(generation: int, body: bytes, content_type: str, modified: datetime) -> Rendered:
    modified = modified.astimezone(UTC).replace(microsecond=0)
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return Rendered(
        generation=generation,
        body=body,
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
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
