"""SQL for items: batched upserts by identity key, and newest-first listings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from feeds.dates import EARLIEST_PLAUSIBLE
from feeds.model import Enclosure
from feeds.searchtext import search_text
from storage.connection import Reader, Row, run_last
from storage.records import HeldItem, ItemRecord, StoredItem, WriteSummary

_COLUMNS = (
    "id, source_id, key, entry_id, upstream_id, url, title, content, summary, author, origin_name, "
    "origin_url, tags, enclosures, published, updated, sort_ts, first_seen, last_changed, "
    "content_hash, listing_hash, norm_link, norm_title, published_ts, fingerprint, body_chars, "
    "body_days"
)
_INSERT = f"INSERT INTO items ({_COLUMNS}) VALUES ({', '.join('?' * 27)})"
_UPDATE = """
    UPDATE items SET upstream_id = ?, url = ?, title = ?, content = ?, summary = ?, author = ?,
        origin_name = ?, origin_url = ?, tags = ?, enclosures = ?, published = ?, updated = ?,
        sort_ts = min(coalesce(?, first_seen), first_seen), last_changed = ?, content_hash = ?,
        listing_hash = ?, norm_link = ?, norm_title = ?, published_ts = ?, fingerprint = ?,
        body_chars = ?, body_days = ?
    WHERE source_id = ? AND key = ?
"""
# A stored item listed under a new id (`_reissued`): only its key and what depends on it change.
_REISSUED = """
    UPDATE items SET key = ?, upstream_id = ?, content_hash = ?, listing_hash = ?
    WHERE source_id = ? AND key = ?
"""
# What must be the same for a new id to be the stored item's: all that is published of it.
_SHOWN = "title, content, summary, author, origin_name, origin_url, tags, enclosures, published"
# By the link index (`+source_id`: not by the source's, which would read all its items).
SAME_LINK = f"SELECT key, norm_link, {_SHOWN} FROM items WHERE +source_id = ?"
# An item whose article was read again and found unchanged, or failed to read and kept what
# was read before: only what led to it is new.
_RELISTED = "UPDATE items SET listing_hash = ? WHERE source_id = ? AND key = ?"
# By rowid, from ids read in one statement: `INSERT INTO items_search … SELECT` per row cost
# FTS5 more than twice as much as the whole insert of plain values. Run last (`run_last`).
_SEARCH_INSERT = "INSERT INTO items_search (rowid, text) VALUES (?, ?)"
# An item's SimHash band keys, each with its fingerprint (see `stories._near_ids`).
INSERT_BANDS = "INSERT OR IGNORE INTO item_bands (band, item_id, fingerprint) VALUES (?, ?, ?)"
# The index keeps no text (schema migration 7): an item's old tokens go by being given again.
_SEARCH_DELETE = "INSERT INTO items_search (items_search, rowid, text) VALUES ('delete', ?, ?)"
_LOOKUP_BATCH = 500
_FEW_SOURCES = 16


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _enclosures_json(enclosures: Sequence[Enclosure]) -> str:
    """The `enclosures` column; most items have none, written without a call to `json`."""
    if not enclosures:
        return "[]"
    listed = [{"url": e.url, "type": e.media_type, "length": e.length} for e in enclosures]
    return json.dumps(listed, ensure_ascii=False)


def _enclosures(text: str) -> tuple[Enclosure, ...]:
    if text == "[]":
        return ()
    return tuple(Enclosure(e["url"], e["type"], e["length"]) for e in json.loads(text))


def _match_keys(item: ItemRecord) -> tuple[Any, ...]:
    published = item.published.timestamp() if item.published else None
    return item.norm_link, item.norm_title, published, item.fingerprint


def _sort_ts(item: ItemRecord, now: float) -> float:
    # An item dated in the future would pin itself to the top of every feed; one dated
    # before 1990 is published as first seen, and must sort so, not below every page.
    published = _published_ts(item)
    return min(published, now) if published is not None else now


def _published_ts(item: ItemRecord) -> float | None:
    """Where an updated item sorts (`_UPDATE`): by its date, but never after we first saw it,
    as `_sort_ts` placed it then. An undated or future-dated item edited upstream kept
    jumping to the top of every feed, and readers paging by cursor never saw it. A date
    before 1990 is none."""
    if item.published is None or item.published < EARLIEST_PLAUSIBLE:
        return None
    return item.published.timestamp()


def upsert_items(
    conn: sqlite3.Connection,
    source_id: str,
    items: Sequence[ItemRecord],
    now: float,
    listed: Collection[str] | None = None,
) -> tuple[
    WriteSummary, list[tuple[int, ItemRecord]], list[int], list[tuple[int, ItemRecord, bool]]
]:
    """Insert new items, update changed ones in place, leave unchanged ones alone.

    Returns the counts, the inserted records with their ids (they still need a story), the
    ids of every item inserted or changed, and the changed items whose story must be looked
    at again: (id, record, whether a key that finds copies changed), for those whose keys or
    credit changed (`stories.rematch`). `listed`: the keys of every item the document lists,
    those not written included (`_reissued`).
    """
    # A feed listing an item twice (a repeated guid) stores its last version, written once:
    # the index can delete an item's tokens only as often as it was given them.
    items = list({item.key: item for item in items}.values())
    known = _stored_hashes(conn, source_id, [item.key for item in items])
    reissued = _reissued(conn, source_id, items, known, listed or ())
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    relisted: list[tuple[str | None, str, str]] = []
    unchanged = 0
    inserted: list[tuple[int, ItemRecord]] = []
    changed: list[ItemRecord] = []
    # The ids SQLite would give, chosen here so no statement has to read them back: this
    # transaction holds the only write lock.
    next_id = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM items").fetchone()[0])
    for item in items:
        tags = json.dumps(item.tags, ensure_ascii=False)
        if item.key in reissued:
            unchanged += 1
        elif item.key not in known:
            item_id = next_id + len(inserted)
            inserted.append((item_id, item))
            inserts.append(
                (item_id, source_id, item.key, item.entry_id, item.upstream_id, item.url,
                 item.title, item.content, item.summary, item.author, item.origin_name,
                 item.origin_url, tags, _enclosures_json(item.enclosures), _iso(item.published),
                 _iso(item.updated), _sort_ts(item, now), now, now, item.content_hash,
                 item.listing_hash, *_match_keys(item), item.body_chars, item.body_days)
            )  # fmt: skip
        elif known[item.key][0] != item.content_hash:
            changed.append(item)
            updates.append(
                (item.upstream_id, item.url, item.title, item.content, item.summary, item.author,
                 item.origin_name, item.origin_url, tags, _enclosures_json(item.enclosures),
                 _iso(item.published), _iso(item.updated), _published_ts(item), now,
                 item.content_hash, item.listing_hash, *_match_keys(item), item.body_chars,
                 item.body_days, source_id, item.key)
            )  # fmt: skip
        else:
            unchanged += 1
            if known[item.key][1] != item.listing_hash:  # its article read again, the same
                relisted.append((item.listing_hash, source_id, item.key))
    written: list[int] = []
    restory: list[tuple[int, ItemRecord, bool]] = []
    if reissued:
        conn.executemany(_REISSUED, [
            (item.key, item.upstream_id, item.content_hash, item.listing_hash, source_id, old)
            for item in items if (old := reissued.get(item.key)) is not None
        ])  # fmt: skip
    if relisted:
        conn.executemany(_RELISTED, relisted)
    if inserts:
        conn.executemany(_INSERT, inserts)
        run_last(conn, _SEARCH_INSERT, [(i, _search_text(item)) for i, item in inserted])
        written += (i for i, _ in inserted)
    if updates:
        indexed = _indexed(conn, source_id, [item.key for item in changed])
        before = _story_keys(conn, source_id, [item.key for item in changed])
        conn.executemany(_UPDATE, updates)
        run_last(conn, _SEARCH_DELETE, [indexed[item.key] for item in changed])
        ids = {key: item_id for key, (item_id, _) in indexed.items()}
        run_last(conn, _SEARCH_INSERT, [(ids[item.key], _search_text(item)) for item in changed])
        _replace_bands(conn, [(ids[item.key], item) for item in changed])
        written += ids.values()
        for item in changed:
            keys, credit = before[item.key]
            rekeyed = keys != _match_keys(item)
            if rekeyed or credit != (item.origin_name, item.origin_url):
                restory.append((ids[item.key], item, rekeyed))
    summary = WriteSummary(new=len(inserts), updated=len(updates), unchanged=unchanged)
    return summary, inserted, written, restory


def _reissued(
    conn: sqlite3.Connection,
    source_id: str,
    items: Sequence[ItemRecord],
    known: Mapping[str, object],
    listed: Collection[str],
) -> dict[str, str]:
    """New keys of `items` that are stored items under another id: the same link, and all
    that is published of it, as one of the source's items whose own key the document no
    longer lists (a CMS giving every item a new `<guid>` at each fetch). Such an item keeps
    its row and its entry, under its new key; one whose text changed too is a new item."""
    fresh = [item for item in items if item.key not in known and item.norm_link is not None]
    by_link: dict[str, list[tuple[Any, ...]]] = {}
    links = sorted({item.norm_link for item in fresh if item.norm_link})
    for start in range(0, len(links), _LOOKUP_BATCH):  # one indexed read a batch, not an item
        batch = links[start : start + _LOOKUP_BATCH]
        sql = f"{SAME_LINK} AND norm_link IN ({', '.join('?' * len(batch))})"
        for key, link, *stored in conn.execute(sql, (source_id, *batch)):
            by_link.setdefault(link, []).append((key, *stored))
    listed = {*listed, *(item.key for item in items)}
    found: dict[str, str] = {}
    claimed: set[str] = set()
    for item in fresh:
        if not (rows := by_link.get(item.norm_link or "")):
            continue
        shown = (
            item.title, item.content, item.summary, item.author, item.origin_name,
            item.origin_url, json.dumps(item.tags, ensure_ascii=False),
            _enclosures_json(item.enclosures), _iso(item.published),
        )  # fmt: skip
        for key, *stored in rows:
            if key not in listed and key not in claimed and tuple(stored) == shown:
                found[item.key] = key
                claimed.add(key)
                break
    return found


def _story_keys(
    conn: sqlite3.Connection, source_id: str, keys: Sequence[str]
) -> dict[str, tuple[tuple[Any, ...], tuple[str | None, str | None]]]:
    """Each stored item's keys that find copies (as `_match_keys` gives them) and its credit,
    read before an update replaces them."""
    columns = "norm_link, norm_title, published_ts, fingerprint, origin_name, origin_url"
    found: dict[str, tuple[tuple[Any, ...], tuple[str | None, str | None]]] = {}
    for sql, params in _lookups(source_id, keys, columns):
        for key, link, title, published, fingerprint, name, url in conn.execute(sql, params):
            found[key] = ((link, title, published, fingerprint), (name, url))
    return found


def _replace_bands(conn: sqlite3.Connection, changed: Sequence[tuple[int, ItemRecord]]) -> None:
    """A changed body is found by its new fingerprint, and no longer by its old one. An edit
    that leaves the fingerprint as it was (a title, a tag) rewrites nothing."""
    conn.executemany(
        "DELETE FROM item_bands WHERE item_id = ? AND fingerprint IS NOT ?",
        [(i, item.fingerprint) for i, item in changed],
    )
    conn.executemany(
        INSERT_BANDS, [(band, i, item.fingerprint) for i, item in changed for band in item.bands]
    )


def _lookups(
    source_id: str, keys: Sequence[str], column: str
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Statements reading `column` of the stored items among `keys`, in batches through the
    unique index."""
    for start in range(0, len(keys), _LOOKUP_BATCH):
        batch = keys[start : start + _LOOKUP_BATCH]
        sql = (
            f"SELECT key, {column} FROM items WHERE source_id = ? "
            f"AND key IN ({', '.join('?' * len(batch))})"
        )
        yield sql, (source_id, *batch)


def _search_text(item: ItemRecord) -> str:
    """Built by the caller off this thread, or here if it was not."""
    if item.search_text is not None:
        return item.search_text
    return search_text(item.title, item.summary, item.content)


def _indexed(
    conn: sqlite3.Connection, source_id: str, keys: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """Each stored item's id and the tokens the index holds for it, made again from it."""
    found: dict[str, tuple[int, str]] = {}
    for sql, params in _lookups(source_id, keys, "id, title, summary, content"):
        for key, item_id, title, summary, content in conn.execute(sql, params):
            found[key] = (item_id, search_text(title, summary, content))
    return found


def relist(
    conn: sqlite3.Connection, source_id: str, listings: Sequence[tuple[str, str | None]]
) -> None:
    """Give stored items (key, listing digest) a new listing digest and nothing else: their
    article failed to read again, and they keep what was read before."""
    if listings:
        conn.executemany(_RELISTED, [(listing, source_id, key) for key, listing in listings])


def _stored_hashes(
    conn: sqlite3.Connection, source_id: str, keys: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """Each stored item's content hash and listing digest."""
    found: dict[str, tuple[str, str | None]] = {}
    for sql, params in _lookups(source_id, keys, "content_hash, listing_hash"):
        rows = conn.execute(sql, params)
        found.update((key, (content, listing)) for key, content, listing in rows)
    return found


def ids_of(conn: sqlite3.Connection, source_id: str, keys: Sequence[str]) -> list[int]:
    """The ids of the stored items among `keys`, in no particular order."""
    lookups = _lookups(source_id, keys, "id")
    return [row[1] for sql, params in lookups for row in conn.execute(sql, params)]


async def _read_column_by_key(
    db: Reader, source_id: str, keys: Sequence[str], column: str
) -> dict[str, str]:
    found: dict[str, str] = {}
    for sql, params in _lookups(source_id, keys, column):
        found.update((row[0], row[1]) for row in await db.read(sql, params) if row[1] is not None)
    return found


_HELD = "content_hash, first_seen, last_changed, published, updated"


async def held_items(db: Reader, source_id: str, keys: Sequence[str]) -> dict[str, HeldItem]:
    found: dict[str, HeldItem] = {}
    for sql, params in _lookups(source_id, keys, _HELD):
        found.update((row[0], HeldItem(*row[1:])) for row in await db.read(sql, params))
    return found


async def recent_held(db: Reader, source_id: str, limit: int) -> dict[str, HeldItem]:
    rows = await db.read(
        f"SELECT key, {_HELD} FROM items WHERE source_id = ? "
        "ORDER BY sort_ts DESC, id DESC LIMIT ?",
        (source_id, limit),
    )
    return {row[0]: HeldItem(*row[1:]) for row in rows}


async def listing_hashes(db: Reader, source_id: str, keys: Sequence[str]) -> dict[str, str]:
    return await _read_column_by_key(db, source_id, keys, "listing_hash")


# `StoredItem`'s fields are columns of `items`, selected in its order and read by position: a
# `Row` looked up by name compares names one by one (4.7 µs a row, against 2.5 by position).
_STORED_FIELDS = [field.name for field in fields(StoredItem)]
STORED_COLUMNS = ", ".join(f"items.{name}" for name in _STORED_FIELDS)
_TAGS = _STORED_FIELDS.index("tags")
_ENCLOSURES = _STORED_FIELDS.index("enclosures")
_DATES = (_STORED_FIELDS.index("published"), _STORED_FIELDS.index("updated"))


def stored_item(row: Row) -> StoredItem:
    """The item of a row selected as `STORED_COLUMNS`."""
    values = list(row)
    values[_TAGS] = tuple(json.loads(values[_TAGS]))
    values[_ENCLOSURES] = _enclosures(values[_ENCLOSURES])
    for at in _DATES:
        values[at] = datetime.fromisoformat(values[at]) if values[at] else None
    return StoredItem(*values)


async def latest_items(
    db: Reader,
    source_ids: Sequence[str],
    *,
    limit: int,
    before: tuple[float, int] | None = None,
) -> list[StoredItem]:
    """Newest first; `before` is a (sort_ts, id) cursor so paging is stable under inserts."""
    if not source_ids:
        return []
    # Few sources: read their own items through items_by_source and sort them. Many: walk
    # items_by_time newest first and stop at the limit ("+" keeps SQLite off the source index,
    # which would read and sort every item of every source).
    column = "source_id" if len(source_ids) <= _FEW_SOURCES else "+source_id"
    where = [f"{column} IN ({', '.join('?' * len(source_ids))})"]
    params: list[Any] = list(source_ids)
    if before is not None:
        where.append("(sort_ts < ? OR (sort_ts = ? AND id < ?))")
        params += [before[0], before[0], before[1]]
    sql = (
        f"SELECT {STORED_COLUMNS} FROM items WHERE {' AND '.join(where)} "
        "ORDER BY sort_ts DESC, id DESC LIMIT ?"
    )
    return [stored_item(row) for row in await db.read(sql, [*params, limit])]


def delete_older_than(
    conn: sqlite3.Connection, cutoff: float, listing_sources: Collection[str]
) -> int:
    """Prune items dated and first seen before `cutoff`, unless still listed upstream.

    An item is still listed when the last document read of one of `listing_sources` listed it
    and that source's last successful fetch is since `cutoff`: pruned, it would come back as
    new at the next read (an old-dated item we saw recently is probably listed too). The
    canonical item of a story that still has a copy it keeps stays too: its published entry
    (id, origin) survives while any copy is in retention.
    """
    listed = (
        "SELECT j.value FROM sources s, json_each(s.listed) j WHERE s.listed IS NOT NULL "
        "AND s.last_success >= ? AND s.id IN (SELECT value FROM json_each(?))"
    )
    kept = f"m.sort_ts >= ? OR m.first_seen >= ? OR m.id IN ({listed})"
    old = (
        f"SELECT id FROM items WHERE sort_ts < ? AND first_seen < ? AND id NOT IN ({listed}) "
        "AND id NOT IN (SELECT s.canonical_item FROM stories s WHERE s.canonical_item IS NOT NULL "
        f"AND EXISTS (SELECT 1 FROM items m WHERE m.story_id = s.id AND ({kept})))"
    )
    sources = json.dumps(sorted(listing_sources))
    marks = (cutoff, cutoff, cutoff, sources, cutoff, cutoff, cutoff, sources)
    conn.execute(f"DELETE FROM item_bands WHERE item_id IN ({old})", marks)
    cursor = conn.execute(f"DELETE FROM items WHERE id IN ({old})", marks)
    conn.execute(
        "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM items WHERE story_id = stories.id)"
    )
    return cursor.rowcount


async def by_ids(db: Reader, item_ids: Sequence[int]) -> list[StoredItem]:
    if not item_ids:
        return []
    marks = ", ".join("?" * len(item_ids))
    sql = f"SELECT {STORED_COLUMNS} FROM items WHERE id IN ({marks})"
    return [stored_item(row) for row in await db.read(sql, item_ids)]
