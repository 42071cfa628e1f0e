"""The storage facades the service talks to; the SQL lives in the domain modules beside them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from feeds.stories import SourceNames
from storage import configstate, items, search, secrets, sources, stories, storykeys
from storage.batched import BatchedLookup
from storage.connection import Connections, InlineReader, Reader, Schema
from storage.records import (
    FetchOutcome,
    FetchState,
    HeldItem,
    ItemRecord,
    MatchKeys,
    SourceStatus,
    StoredItem,
    StoredText,
    StoryContext,
    StoryView,
    WriteSummary,
)

_NO_CONTEXT = StoryContext(source_names=SourceNames.of({}), source_order={})


class Reads:
    """The store's read queries: over the server's connections (`Database`), or over a
    read-only connection of a process's own (`ReadOnlyDatabase`)."""

    def __init__(self, reader: Reader) -> None:
        self._reads = reader
        self._secrets: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        return self._reads.path

    async def secret(self, name: str) -> bytes:
        """A key the store made once (`image_proxy`), read once per process."""
        found = self._secrets.get(name)
        if found is None:
            found = self._secrets[name] = await secrets.secret(self._reads, name)
        return found

    async def config_state(self) -> tuple[str, float] | None:
        """The digest of the settings the server last ran by, and since when; None before."""
        return await configstate.config_state(self._reads)

    async def story_views(self, story_ids: Sequence[int]) -> dict[int, StoryView]:
        return await stories.story_views(self._reads, story_ids)

    async def multi_source_stories(
        self, source_ids: Sequence[str], since: float, limit: int
    ) -> list[StoryView]:
        return await stories.multi_source_stories(self._reads, source_ids, since, limit)

    async def items_by_id(self, item_ids: Sequence[int]) -> dict[int, StoredItem]:
        return {item.id: item for item in await items.by_ids(self._reads, item_ids)}

    async def held_items(self, source_id: str, keys: Sequence[str]) -> dict[str, HeldItem]:
        """What a fetch compares with of each of these items that is stored."""
        return await items.held_items(self._reads, source_id, keys)

    async def recent_held(self, source_id: str, limit: int) -> dict[str, HeldItem]:
        """`held_items` of a source's `limit` most recent stored items, by key: a feed lists
        its newest items, so these are the ones a fetch can find unchanged."""
        return await items.recent_held(self._reads, source_id, limit)

    async def listing_hashes(self, source_id: str, keys: Sequence[str]) -> dict[str, str]:
        """Which listed items were already read from their article page, by listing digest."""
        return await items.listing_hashes(self._reads, source_id, keys)

    async def latest_items(
        self,
        source_ids: Sequence[str],
        *,
        limit: int,
        before: tuple[float, int] | None = None,
        where: search.ItemFilter | None = None,
    ) -> list[StoredItem]:
        """Newest first; `where` narrows by full text and tag through their indexes."""
        if where is not None and where.active:
            return await search.filtered_items(
                self._reads, source_ids, where, limit=limit, before=before
            )
        return await items.latest_items(self._reads, source_ids, limit=limit, before=before)

    async def matching_ids(self, item_ids: Sequence[int], where: search.ItemFilter) -> set[int]:
        return await search.matching_ids(self._reads, item_ids, where)

    async def unlinked_items(self) -> list[tuple[str, str]]:
        return await stories.unlinked_items(self._reads)

    async def statuses(self, now: float) -> list[SourceStatus]:
        return await sources.statuses(self._reads, now)

    async def last_changed(self, source_ids: Collection[str] | None = None) -> float | None:
        """When the documents of these sources (None: of any) last read differently."""
        return await sources.last_changed(self._reads, source_ids)

    async def recorded_since(self, since: float) -> list[tuple[str, float, float | None]]:
        """(source id, when recorded, next fetch) of the fetches recorded after `since`."""
        return await sources.recorded_since(self._reads, since)

    async def items_versions(self) -> dict[str, int]:
        """Each source's items version (see `WriteSummary.versions`)."""
        return await sources.items_versions(self._reads)


class Database(Reads):
    """Open with `await Database.open(path)`; migrations run before it is returned."""

    def __init__(self, connections: Connections) -> None:
        super().__init__(connections)
        self._db = connections
        self._states = BatchedLookup(partial(sources.fetch_states, connections), FetchState())

    @classmethod
    async def open(
        cls, path: Path, *, existing: bool = False, schema: Schema = "upgrade"
    ) -> Database:
        """`existing`: refuse to create it; `schema`: upgrade it, or refuse or take another
        schema (see `Connections.open`)."""
        return cls(await Connections.open(path, existing=existing, schema=schema))

    async def close(self) -> None:
        await self._db.close()

    async def register_sources(self, configured: Sequence[tuple[str, str]]) -> None:
        await self._db.write(lambda conn: sources.register(conn, configured))

    async def fetch_state(self, source_id: str) -> FetchState:
        """A source's state; the sources starting together share one read."""
        return await self._states.get(source_id)

    async def store_fetch(
        self,
        source_id: str,
        outcome: FetchOutcome,
        fetched: Sequence[ItemRecord],
        context: StoryContext | None = None,
        relisted: Sequence[tuple[str, str | None]] = (),
    ) -> WriteSummary:
        """Items, their stories and the fetch outcome of one source, in one transaction.
        `relisted` (key, listing digest): stored items left as they are but that digest."""

        def store(conn: sqlite3.Connection) -> WriteSummary:
            now = outcome.attempted_at
            summary, inserted, written, restory = items.upsert_items(
                conn, source_id, fetched, now, outcome.listed
            )
            items.relist(conn, source_id, relisted)
            joined = stories.assign_stories(conn, source_id, inserted, context or _NO_CONTEXT, now)
            left = stories.rematch(conn, source_id, restory, context or _NO_CONTEXT)
            sources.record_outcome(conn, source_id, outcome)
            if outcome.listed is not None:
                listed = items.ids_of(conn, source_id, outcome.listed)
                sources.record_listed(conn, source_id, listed)
            if not written:
                return summary
            shown = stories.sources_sharing(conn, written) | left | {source_id}
            return replace(summary, duplicates=joined, versions=sources.touch(conn, shown))

        return await self._db.write(store)

    async def split_stories(self, links: Sequence[str], context: StoryContext) -> set[str]:
        """Apply `[[stories.split]]`: the items with these normalised links stand alone from
        now on. Without any, no write is asked for: every start and reload applies them.
        Returns the sources whose documents changed."""
        if not links:
            return set()

        return await self._restory(lambda conn: stories.split_off(conn, links, context))

    async def leave_stories(self, source_ids: Sequence[str], context: StoryContext) -> set[str]:
        """The items of these sources (`dedupe = false`) that still have keys which find other
        sources' copies lose them, and leave the stories they joined before. Returns the
        sources whose documents changed."""
        if not source_ids:
            return set()
        if not await storykeys.any_keyed_item_of(
            self._reads, source_ids
        ):  # every start and reload asks: without any, no write is asked for
            return set()

        return await self._restory(
            lambda conn: stories.leave_stories(
                conn, storykeys.keyed_items_of(conn, source_ids), context
            )
        )

    async def unkeyed_items(self, source_ids: Sequence[str]) -> list[StoredText]:
        """See `storykeys.unkeyed_items`: read without asking for the write lock."""
        return await storykeys.unkeyed_items(self._reads, source_ids)

    async def rejoin_stories(
        self, keyed: Sequence[tuple[int, MatchKeys]], context: StoryContext
    ) -> set[str]:
        """Items stored without keys take part in stories again (`storykeys.rejoin`). Returns
        the sources whose documents changed."""
        if not keyed:
            return set()

        return await self._restory(lambda conn: storykeys.rejoin(conn, keyed, context))

    async def keys_made_by(self) -> str | None:
        """How the stored items' story keys were made; None: by an older release."""
        return await storykeys.keys_made_by(self._reads)

    async def keyed_span(self) -> tuple[int, int]:
        """How many items have story keys, and the newest item's id."""
        return await storykeys.keyed_span(self._reads)

    async def keyed_texts(self, after: int, newest: int, limit: int) -> list[StoredText]:
        """See `storykeys.keyed_texts`: read without asking for the write lock."""
        return await storykeys.keyed_texts(self._reads, after, newest, limit)

    async def rekey_stories(self, keyed: Sequence[tuple[int, str | None, MatchKeys]]) -> int:
        """Stored items take the keys their text is given now (`storykeys.rekey`), in one
        transaction; no document changes. Returns how many did."""
        if not keyed:
            return 0
        return await self._db.write(lambda conn: storykeys.rekey(conn, keyed))

    async def set_config_state(self, digest: str, since: float) -> None:
        await self._db.write(lambda conn: configstate.set_config_state(conn, digest, since))

    async def set_keys_made_by(self, made_by: str) -> None:
        await self._db.write(lambda conn: storykeys.set_keys_made_by(conn, made_by))

    async def shown_anew(self, links: Sequence[str], when: float) -> set[str]:
        """Mark changed at `when` the stories of the items with these normalised links, whose
        shown copy a withdrawal changed; the sources whose documents show them."""
        return await self._restory(lambda conn: stories.shown_anew(conn, links, when))

    async def _restory(self, work: Callable[[sqlite3.Connection], set[str]]) -> set[str]:
        """A change to stories in one transaction; the sources whose documents it changed
        (which `work` returns) get a new items version."""

        def restory(conn: sqlite3.Connection) -> set[str]:
            changed = work(conn)
            if changed:
                sources.touch(conn, changed)
            return changed

        return await self._db.write(restory)

    async def store_next_fetch(self, timings: Sequence[tuple[str, float]]) -> None:
        if timings:
            await self._db.write(lambda conn: sources.store_next_fetch(conn, timings))

    async def prune(self, cutoff: float, listing_sources: Collection[str]) -> int:
        """Items older than `cutoff`, except those the last reads of `listing_sources` list."""

        def prune(conn: sqlite3.Connection) -> int:
            removed = items.delete_older_than(conn, cutoff, listing_sources)
            if removed:  # stories lost copies, or their canonical item: any source may show it
                sources.touch(conn, None)
            return removed

        return await self._db.write(prune)

    async def data_version(self) -> int:
        return await self._db.data_version()

    async def backup(self, target: Path) -> None:
        await self._db.backup(target)


class ReadOnlyDatabase(Reads):
    """Reads that complete on the caller's thread (see `InlineReader`); `close()` when done."""

    def __init__(self, path: Path) -> None:
        self._inline = InlineReader(path)
        super().__init__(self._inline)

    def close(self) -> None:
        self._inline.close()
