"""Items' story-matching keys as stored: which items have them, keys given back to items
that had none, and keys made again after a release changed how they are made. Stories
themselves are `storage.stories`'."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.connection import Reader, Row
from storage.items import INSERT_BANDS
from storage.records import ItemRecord, MatchKeys, StoredText, StoryContext
from storage.stories import published_of, rematch, sources_sharing

_KEYED_SQL = (
    "SELECT id FROM items WHERE source_id IN (SELECT value FROM json_each(?)) AND "
    "(norm_link IS NOT NULL OR norm_title IS NOT NULL OR fingerprint IS NOT NULL)"
)


def keyed_items_of(conn: sqlite3.Connection, source_ids: Sequence[str]) -> list[int]:
    """The items of these sources that still have keys which find other sources' copies."""
    return [row[0] for row in conn.execute(_KEYED_SQL, (json.dumps(list(source_ids)),))]


async def any_keyed_item_of(db: Reader, source_ids: Sequence[str]) -> bool:
    """Whether `keyed_items_of` would find any: read without asking for the write lock."""
    rows = await db.read(f"{_KEYED_SQL} LIMIT 1", (json.dumps(list(source_ids)),))
    return bool(rows)


# The partial index `items_unkeyed` (migration 16) holds exactly these rows.
_UNKEYED = "norm_link IS NULL AND norm_title IS NULL AND fingerprint IS NULL"
_UNKEYED_SQL = (
    f"SELECT id, source_id, url, title, content, summary FROM items WHERE {_UNKEYED} "
    "AND source_id IN (SELECT value FROM json_each(?))"
)


async def unkeyed_items(db: Reader, source_ids: Sequence[str]) -> list[StoredText]:
    """The items of these sources without any key that finds copies. Few: those stored while
    their source had `dedupe = false` or their link was split (`leave_stories` took their
    keys), and items with neither link, title nor text."""
    return [
        StoredText(row["id"], row["source_id"], row["url"], row["title"], row["content"],
                   row["summary"])
        for row in await db.read(_UNKEYED_SQL, (json.dumps(sorted(source_ids)),))
    ]  # fmt: skip


# Keys made again (`rekey`): the keyed items by id, up to the newest when that began (those
# written since have keys made the current way).
_KEYED_TEXTS_SQL = (
    "SELECT id, source_id, url, title, content, summary, content_hash FROM items "
    f"WHERE id > ? AND id <= ? AND NOT ({_UNKEYED}) ORDER BY id LIMIT ?"
)
# Counted as every item but the unkeyed, whose partial index holds them: a scan of the keys
# themselves would read every item's row, text and all.
_KEYED_SPAN_SQL = (
    "SELECT (SELECT count(*) FROM items) - (SELECT count(*) FROM items INDEXED BY "
    f"items_unkeyed WHERE {_UNKEYED}), (SELECT coalesce(max(id), 0) FROM items)"
)


async def keys_made_by(db: Reader) -> str | None:
    """How the stored items' keys were made (`feeds.stories.keys_made_by`); None: by a
    release that did not record it."""
    rows = await db.read("SELECT made_by FROM story_keys")
    return rows[0][0] if rows else None


async def keyed_span(db: Reader) -> tuple[int, int]:
    """How many items have keys, and the newest item's id: what `keyed_texts` goes through."""
    ((count, newest),) = await db.read(_KEYED_SPAN_SQL)
    return int(count), int(newest)


async def keyed_texts(db: Reader, after: int, newest: int, limit: int) -> list[StoredText]:
    """The text of the next `limit` items with keys, by id, after `after` and up to `newest`."""
    return [
        StoredText(row["id"], row["source_id"], row["url"], row["title"], row["content"],
                   row["summary"], row["content_hash"])
        for row in await db.read(_KEYED_TEXTS_SQL, (after, newest, limit))
    ]  # fmt: skip


def rekey(conn: sqlite3.Connection, keyed: Sequence[tuple[int, str | None, MatchKeys]]) -> int:
    """Give stored items the keys their text is given now: (id, the content hash read with the
    text, keys). Only items still keyed and as read: one changed since was given its keys by
    that write, and one taken out of stories (`leave_stories`) stays without. Keys all None
    leave an item without any, as it would be stored now. Stories stay as they are: only
    what later copies are compared with changes. Returns how many items' keys were written."""
    ids = json.dumps([item_id for item_id, _, _ in keyed])
    current = dict(
        conn.execute(
            "SELECT id, content_hash FROM items WHERE id IN (SELECT value FROM json_each(?)) "
            f"AND NOT ({_UNKEYED})",
            (ids,),
        ).fetchall()
    )
    kept = [(i, keys) for i, digest, keys in keyed if i in current and current[i] == digest]
    conn.executemany(
        "UPDATE items SET norm_link = ?, norm_title = ?, fingerprint = ?, body_chars = ?, "
        "body_days = ? WHERE id = ?",
        [(k.norm_link, k.norm_title, k.fingerprint, k.body_chars, k.body_days, i)
         for i, k in kept],
    )  # fmt: skip
    conn.executemany("DELETE FROM item_bands WHERE item_id = ?", [(i,) for i, _ in kept])
    conn.executemany(INSERT_BANDS, [(band, i, k.fingerprint) for i, k in kept for band in k.bands])
    return len(kept)


def set_keys_made_by(conn: sqlite3.Connection, made_by: str) -> None:
    conn.execute("DELETE FROM story_keys")
    conn.execute("INSERT INTO story_keys (made_by) VALUES (?)", (made_by,))


def rejoin(
    conn: sqlite3.Connection, keyed: Sequence[tuple[int, MatchKeys]], context: StoryContext
) -> set[str]:
    """Give items stored without keys (`unkeyed_items`) the keys they would be given now, and
    match them again as copies changed upstream are (`rematch`). Their content is as it was,
    so nothing else of them changes. Returns the sources whose documents changed: those of
    every story an item joined."""
    rows: dict[str, list[tuple[int, ItemRecord, bool]]] = {}
    for item_id, keys in keyed:
        cursor = conn.execute(
            "UPDATE items SET norm_link = ?, norm_title = ?, fingerprint = ?, body_chars = ?, "
            f"body_days = ? WHERE id = ? AND {_UNKEYED}",
            (keys.norm_link, keys.norm_title, keys.fingerprint, keys.body_chars, keys.body_days,
             item_id),
        )  # fmt: skip
        if not cursor.rowcount:  # written meanwhile, and matched then; or pruned
            continue
        conn.executemany(INSERT_BANDS, [(band, item_id, keys.fingerprint) for band in keys.bands])
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        rows.setdefault(row["source_id"], []).append((item_id, _as_stored(row, keys), True))
    changed: set[str] = set()
    for source_id, items in rows.items():
        changed |= rematch(conn, source_id, items, context)
        joined = [
            item_id
            for item_id, _, _ in items
            if conn.execute("SELECT match_rule FROM items WHERE id = ?", (item_id,)).fetchone()[0]
        ]
        changed |= sources_sharing(conn, joined)
    return changed


def _as_stored(row: Row, keys: MatchKeys) -> ItemRecord:
    """A stored item as the record `rematch` compares, with its new keys."""
    return ItemRecord(
        key=row["key"],
        entry_id=row["entry_id"],
        title=row["title"],
        url=row["url"],
        upstream_id=row["upstream_id"],
        content=row["content"],
        summary=row["summary"],
        author=row["author"],
        origin_name=row["origin_name"],
        origin_url=row["origin_url"],
        tags=tuple(json.loads(row["tags"])),
        published=published_of(row),
        updated=datetime.fromisoformat(row["updated"]) if row["updated"] else None,
        content_hash=row["content_hash"],
        listing_hash=row["listing_hash"],
        norm_link=keys.norm_link,
        norm_title=keys.norm_title,
        fingerprint=keys.fingerprint,
        body_chars=keys.body_chars,
        body_days=keys.body_days,
        bands=keys.bands,
    )
