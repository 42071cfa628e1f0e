"""Rendered feed documents kept in memory until the data they show changes.

A reader polling an unchanged feed costs a dictionary lookup: no query, no rendering. Each
document is stored with its strong ETag and Last-Modified computed once, and each compressed
form the first time a client asks for it. After a change, the requests that miss together
share one render. What is kept is bounded by bytes as well as by count: each query string is
a document of its own, and 400 requests for `?limit=300` … `?limit=400` of a store with long
articles held 1 GB.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aggregator.config import DEFAULT_CACHE_BYTES
from aggregator.web.encoding import COMPRESSORS

_MAX_ENTRIES = 512
# With processes sharing the port, each dates what it renders, and two that rendered two
# versions of one second gave them one date: a reader sending only `If-Modified-Since` with
# the first's was answered 304 for the second. So a date is sent, and honoured, only once no
# other version can share it: its second over, and every process has seen the commits made
# in it (each notices a commit within a second).
SETTLE_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Variant:
    """One content coding of a document with the headers of its 200 and its 304, built once:
    building them per request was about half of our share of answering a cached feed's 304."""

    body: bytes
    etag: str
    headers: dict[str, str]
    not_modified_headers: dict[str, str]
    undated_headers: dict[str, str]  # the same without `Last-Modified`, while it settles
    undated_not_modified_headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Rendered:
    generation: Hashable  # what the data it shows stood at: see `Service.version`
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    modified_at: datetime
    headers: Mapping[str, str]  # sent with every answer: caching, CORS, the route's own
    dated_from: float = 0.0  # Unix time from which `Last-Modified` is sent (SETTLE_SECONDS)
    variants: dict[str | None, Variant] = field(default_factory=dict, compare=False)
    compressing: dict[str | None, asyncio.Future[Variant]] = field(
        default_factory=dict, compare=False
    )

    async def variant(self, coding: str | None) -> Variant:
        """The body in `coding` (None: as is), each coding its own representation with its own
        strong ETag; compressed the first time a client asks for it, on a thread: zlib and
        brotli let go of the GIL, and a page of 500 entries took 15-20 ms to compress on the
        loop's thread, where every other reader waited for it. Requests that ask together
        share one compression."""
        found = self.variants.get(coding)
        if found is not None:
            return found
        pending = self.compressing.get(coding)
        if pending is None:
            pending = self.compressing[coding] = asyncio.ensure_future(self._encode(coding))
        return await asyncio.shield(pending)

    async def _encode(self, coding: str | None) -> Variant:
        body, etag = self.body, self.etag
        if coding is not None:
            try:
                body = await asyncio.to_thread(COMPRESSORS[coding], self.body)
            finally:
                self.compressing.pop(coding, None)
            etag = f'{self.etag[:-1]}-{coding}"'
        undated_not_modified = {"ETag": etag, **self.headers}
        not_modified = {**undated_not_modified, "Last-Modified": self.last_modified}
        content = {"Content-Encoding": coding} if coding is not None else {}
        headers = {**not_modified, **content, "Content-Type": self.content_type}
        undated = {**undated_not_modified, **content, "Content-Type": self.content_type}
        found = self.variants[coding] = Variant(
            body, etag, headers, not_modified, undated, undated_not_modified
        )
        return found

    def dated(self) -> bool:
        """Whether answers carry `Last-Modified` now, and `If-Modified-Since` is honoured."""
        return not self.dated_from or self.dated_from <= time.time()


def make_rendered(
    generation: Hashable,
    body: bytes,
    content_type: str,
    modified: datetime,
    headers: Mapping[str, str],
    *,
    settle: float = 0.0,
) -> Rendered:
    """`settle`: seconds after its date before a document is dated (`SETTLE_SECONDS` with
    processes sharing the port; `math.inf`, never, for a page each process dates itself)."""
    modified = modified.astimezone(UTC).replace(microsecond=0)
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return Rendered(
        generation=generation,
        body=body,
        content_type=content_type,
        etag=f'"{digest}"',
        last_modified=format_datetime(modified, usegmt=True),
        modified_at=modified,
        headers=headers,
        dated_from=modified.timestamp() + settle if settle else 0.0,
    )


def _kept_bytes(rendered: Rendered) -> int:
    """The document and each compressed form made of it so far (the identity form is the
    document itself)."""
    compressed = (variant.body for coding, variant in rendered.variants.items() if coding)
    return len(rendered.body) + sum(map(len, compressed))


def _dated(rendered: Rendered, modified: datetime) -> Rendered:
    last_modified = format_datetime(modified, usegmt=True)
    settle = rendered.dated_from - rendered.modified_at.timestamp() if rendered.dated_from else 0
    dated_from = modified.timestamp() + settle if settle else 0.0
    return replace(
        rendered, last_modified=last_modified, modified_at=modified, dated_from=dated_from
    )


@dataclass(frozen=True, slots=True)
class _Render:
    generation: Hashable
    task: asyncio.Future[Rendered]


class FeedCache:
    """`max_bytes` is asked at each store, so that a reload's `service.cache_max_bytes`
    applies at once."""

    def __init__(self, max_bytes: Callable[[], int] = lambda: DEFAULT_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._entries: dict[str, Rendered] = {}
        self._rendering: dict[str, _Render] = {}
        self.hits = 0  # lookups answered from memory, for /metrics
        self.misses = 0  # documents rendered
        self.evictions = 0  # documents let go, or not kept, to stay within bounds: /metrics

    @property
    def kept_bytes(self) -> int:
        return sum(map(_kept_bytes, self._entries.values()))

    def get(self, key: str, generation: Hashable) -> Rendered | None:
        found = self._entries.get(key)
        if found is not None and found.generation == generation:
            self.hits += 1
            self._entries[key] = self._entries.pop(key)  # the last to go when full
            return found
        return None

    def put(self, key: str, rendered: Rendered) -> None:
        """Kept; when full, the documents asked for least recently go: readers polling many
        per-source feeds must not push out the merged feed everyone reads. A document of more
        than a quarter of the bytes allowed is served and not kept, or one request for it
        would push out everything else.

        Compressed forms count from the next store on: between two, what is kept may exceed
        the bound by the compressed forms made meanwhile, a fraction of their documents."""
        self.misses += 1
        self._entries.pop(key, None)
        budget = self._max_bytes()
        if _kept_bytes(rendered) > budget // 4:
            self.evictions += 1
            return
        self._entries[key] = rendered
        kept = self.kept_bytes
        while kept > budget or len(self._entries) > _MAX_ENTRIES:
            kept -= _kept_bytes(self._entries.pop(next(iter(self._entries))))
            self.evictions += 1

    async def render_once(
        self, key: str, generation: Hashable, render: Callable[[], Awaitable[Rendered]]
    ) -> Rendered:
        """`render()`, stored under `key`; a render of `key` for `generation` already under
        way is awaited instead. Without this, the requests waiting when a feed changed (or
        when a process started) each rendered it: 26 and 38 times in the two processes of a
        `workers = 2` benchmark, whose p99 went from 5 to 42 ms.

        The render runs in a task of its own, so a client that goes away cancels only its
        wait. `render` should not raise for a bad request: its error reaches every waiter.
        """
        pending = self._rendering.get(key)
        if pending is None or pending.generation != generation:
            pending = _Render(generation, asyncio.ensure_future(self._render(key, render)))
            self._rendering[key] = pending
            pending.task.add_done_callback(lambda _: self._rendered(key, pending))
        return await asyncio.shield(pending.task)

    async def _render(self, key: str, render: Callable[[], Awaitable[Rendered]]) -> Rendered:
        """`render()`; when it gives the bytes already kept, the document as it was,
        `Last-Modified` and compressed forms included. What its sources store can change
        without changing it (another source's copy of a story it shows), and a reader asking
        by date downloaded it again."""
        rendered = await render()
        kept = self._entries.get(key)
        if kept is None:
            return rendered
        if kept.etag != rendered.etag:
            # Other bytes are dated after the ones served, whatever the clock says: stepped
            # back an hour (an NTP correction), it dated a changed feed as the old one, and a
            # reader asking by date got 304 for an hour.
            if rendered.modified_at > kept.modified_at:
                return rendered
            if rendered.dated_from and rendered.modified_at == kept.modified_at:
                # processes sharing the port date by the data alone, and every one dates
                # this version alike: the one before, of the same second, was never dated
                return rendered
            return _dated(rendered, kept.modified_at + timedelta(seconds=1))
        if (kept.headers, kept.content_type) == (rendered.headers, rendered.content_type):
            return replace(kept, generation=rendered.generation)
        # a reload changed what answers carry (`cache_max_age`)
        return _dated(rendered, kept.modified_at)

    def _rendered(self, key: str, pending: _Render) -> None:
        if self._rendering.get(key) is pending:
            del self._rendering[key]
        if not pending.task.cancelled() and pending.task.exception() is None:
            self.put(key, pending.task.result())
