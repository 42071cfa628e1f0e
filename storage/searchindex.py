"""The full-text index kept true to how tokens are made now.

The index holds no copy of the text (schema migration 7): deleting an item's tokens means
making them again from the item, and FTS5 removes exactly the tokens it is given. Tokens made
by other rules, another Unicode version, other OpenCC dictionaries or another SQLite's
tokenizer would leave the old ones behind (and two deletes of one item's tokens corrupt the
index), so a store records how its tokens were made (`search_tokens`, `index_made_by`) and is
re-indexed when that differs, on the writer's thread, before any write.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from functools import cache
from importlib import metadata

from feeds.searchtext import tokens_made_by

log = logging.getLogger("storage.search")
_BATCH = 5000  # items indexed between progress lines


@cache
def index_made_by() -> str:
    """What the index's tokens depend on: how our text is made, with the OpenCC release whose
    dictionaries fold it, and the SQLite whose FTS5 tokenizer (`unicode61`, with its own
    Unicode tables) splits it."""
    return (
        f"{tokens_made_by()}; OpenCC {metadata.version('opencc')}; SQLite {sqlite3.sqlite_version}"
    )


def reindex_if_stale(conn: sqlite3.Connection) -> int:
    """Rebuild the index in one transaction if its tokens were made otherwise; how many
    items it indexed (0 when it was current)."""
    if _current(conn):
        return 0
    return reindex(conn, stale_only=True)


def _current(conn: sqlite3.Connection) -> bool:
    made_by = conn.execute("SELECT made_by FROM search_tokens").fetchone()
    return made_by is not None and bool(made_by[0] == index_made_by())


def index_damaged(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite found the index, its one virtual table, inconsistent: FTS5 says so when
    it is told to delete tokens it does not hold (an item deleted or edited outside the
    service, its tokens given twice). Every later write touching that item would fail."""
    return error.sqlite_errorcode == sqlite3.SQLITE_CORRUPT_VTAB


def reindex(conn: sqlite3.Connection, *, stale_only: bool = False) -> int:
    """Rebuild the index from the items, in one transaction; how many items it indexed.
    `stale_only`: not if it is current once the transaction holds the lock, as when another
    process opening the store at the same moment has just rebuilt it (both did, in turn)."""
    current = index_made_by()
    conn.execute("BEGIN IMMEDIATE")
    if stale_only and _current(conn):
        conn.execute("ROLLBACK")
        return 0
    total = int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    if total:
        log.info("rebuilding the search index", extra={"items": total, "tokens": current})
    started = time.monotonic()
    done = last_id = 0
    try:
        conn.execute("INSERT INTO items_search (items_search) VALUES ('delete-all')")
        while True:
            batch = conn.execute(
                "SELECT min(id), max(id), count(*) FROM "
                "(SELECT id FROM items WHERE id > ? ORDER BY id LIMIT ?)",
                (last_id, _BATCH),
            ).fetchone()
            if not batch[2]:
                break
            conn.execute(
                "INSERT INTO items_search (rowid, text) SELECT id, "
                "aggregator_search_text(title, summary, content) FROM items "
                "WHERE id BETWEEN ? AND ?",
                batch[:2],
            )
            done, last_id = done + batch[2], batch[1]
            log.info("search index", extra={"indexed": done, "of": total})
        conn.execute("DELETE FROM search_tokens")
        conn.execute("INSERT INTO search_tokens (made_by) VALUES (?)", (current,))
    except BaseException:
        if conn.in_transaction:  # an interrupted statement has rolled it back already
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    if total:
        log.info(
            "search index rebuilt",
            extra={"items": done, "seconds": round(time.monotonic() - started, 1)},
        )
    return done
