"""SQL for sources: registration, fetch state and the status operators read."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Sequence

from storage.connection import Reader
from storage.records import FetchOutcome, FetchState, SourceStatus

_DAY = 86400.0
NOW_SQL = "(julianday('now') - 2440587.5) * 86400.0"  # Unix seconds, in SQL


def register(conn: sqlite3.Connection, sources: Sequence[tuple[str, str]]) -> None:
    """Make sure every configured (id, url) has a row; a changed URL resets its validators."""
    conn.executemany(
        "INSERT INTO sources (id, url) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET "
        "url = excluded.url, etag = NULL, last_modified = NULL, body_hash = NULL, "
        "effective_url = NULL WHERE sources.url != excluded.url",
        sources,
    )


def touch(
    conn: sqlite3.Connection, source_ids: Collection[str] | None
) -> tuple[tuple[str, int], ...]:
    """Move the items version of these sources (None: of every source): documents showing
    them are stale, and modified now. Returns each new version."""
    sql = f"UPDATE sources SET items_version = items_version + 1, items_changed = {NOW_SQL}"
    params: tuple[str, ...] = ()
    if source_ids is not None:
        sql += " WHERE id IN (SELECT value FROM json_each(?))"
        params = (json.dumps(sorted(source_ids)),)
    rows = conn.execute(f"{sql} RETURNING id, items_version", params)
    return tuple(sorted((row[0], row[1]) for row in rows))


async def last_changed(db: Reader, source_ids: Collection[str] | None) -> float | None:
    """When the items version of any of these sources (None: of any source) last moved."""
    sql = "SELECT max(items_changed) FROM sources"
    params: tuple[str, ...] = ()
    if source_ids is not None:
        sql += " WHERE id IN (SELECT value FROM json_each(?))"
        params = (json.dumps(sorted(source_ids)),)
    ((changed,),) = await db.read(sql, params)
    return float(changed) if changed is not None else None


async def items_versions(db: Reader) -> dict[str, int]:
    """Every source's items version: a server compares them to find what another process
    changed."""
    return {row[0]: row[1] for row in await db.read("SELECT id, items_version FROM sources")}


async def recorded_since(db: Reader, since: float) -> list[tuple[str, float, float | None]]:
    """(id, when recorded, next fetch) of the sources whose fetch was recorded after `since`:
    a server re-times the ones another process fetched (`aggregator fetch` beside it). By
    when recorded, not when attempted: a slow fetch commits after quicker ones began."""
    rows = await db.read(
        "SELECT id, recorded, next_fetch FROM sources WHERE recorded > ?", (since,)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def store_next_fetch(conn: sqlite3.Connection, timings: Sequence[tuple[str, float]]) -> None:
    """A schedule re-timed by a reload, so that every status surface shows it."""
    conn.executemany(
        "UPDATE sources SET next_fetch = ? WHERE id = ?",
        [(at, source_id) for source_id, at in timings],
    )


async def fetch_states(db: Reader, source_ids: Sequence[str]) -> dict[str, FetchState]:
    """The fetch state of each of these sources that has a row, in one statement."""
    rows = await db.read(
        "SELECT id, etag, last_modified, body_hash, effective_url, error_streak, reread_at, "
        "rules FROM sources WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(source_ids)),),
    )
    return {row[0]: FetchState(*row[1:]) for row in rows}


def record_outcome(conn: sqlite3.Connection, source_id: str, out: FetchOutcome) -> None:
    """Store the attempt; validators and metadata only change when the fetch succeeded, and a
    whole document's replace the stored ones even when it has none: kept, they described a
    document no longer held, and a 304 to them kept a cut one for good."""
    if out.ok:
        conn.execute(
            "UPDATE sources SET last_attempt = ?, last_success = ?, last_status = ?, "
            "last_result = ?, last_error = ?, error_streak = 0, next_fetch = ?, "
            "fetches = fetches + 1, fetch_seconds = fetch_seconds + ?, "
            "etag = iif(?, ?, coalesce(?, etag)), "
            "last_modified = iif(?, ?, coalesce(?, last_modified)), "
            "body_hash = coalesce(?, body_hash), effective_url = ?, "
            "charset = coalesce(?, charset), title = coalesce(?, title), "
            "site_url = coalesce(?, site_url), reread_at = ?, rules = coalesce(?, rules), "
            "recorded = ? WHERE id = ?",
            (out.attempted_at, out.attempted_at, out.status, out.result, out.error,
             out.next_fetch, out.seconds, out.new_validators, out.etag, out.etag,
             out.new_validators, out.last_modified, out.last_modified, out.body_hash,
             out.effective_url, out.charset, out.title, out.site_url, out.reread_at, out.rules,
             time.time(), source_id),
        )  # fmt: skip
    else:
        conn.execute(
            "UPDATE sources SET last_attempt = ?, last_status = ?, last_result = ?, "
            "last_error = ?, error_streak = error_streak + 1, next_fetch = ?, "
            "fetches = fetches + 1, failures = failures + 1, fetch_seconds = fetch_seconds + ?, "
            "recorded = ? WHERE id = ?",
            (out.attempted_at, out.status, out.result, out.error, out.next_fetch, out.seconds,
             time.time(), source_id),
        )  # fmt: skip


def record_listed(conn: sqlite3.Connection, source_id: str, item_ids: Sequence[int]) -> None:
    """The items the source's last document read lists (see `items.delete_older_than`)."""
    listed = json.dumps(sorted(item_ids))
    conn.execute(
        "UPDATE sources SET listed = ? WHERE id = ? AND listed IS NOT ?",
        (listed, source_id, listed),
    )


async def statuses(db: Reader, now: float) -> list[SourceStatus]:
    rows = await db.read(
        "SELECT s.*, "
        "(SELECT count(*) FROM items i WHERE i.source_id = s.id) AS items, "
        "(SELECT count(*) FROM items i WHERE i.source_id = s.id AND i.first_seen >= ?) AS day "
        "FROM sources s ORDER BY s.id",
        (now - _DAY,),
    )
    return [
        SourceStatus(
            id=row["id"],
            url=row["url"],
            effective_url=row["effective_url"],
            title=row["title"],
            charset=row["charset"],
            last_attempt=row["last_attempt"],
            last_success=row["last_success"],
            last_status=row["last_status"],
            last_result=row["last_result"],
            last_error=row["last_error"],
            error_streak=row["error_streak"],
            next_fetch=row["next_fetch"],
            fetches=row["fetches"],
            failures=row["failures"],
            average_seconds=row["fetch_seconds"] / row["fetches"] if row["fetches"] else None,
            items=row["items"],
            items_last_day=row["day"],
            reread_at=row["reread_at"],
        )
        for row in rows
    ]
