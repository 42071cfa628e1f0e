"""A backup checked before it is restored: put in place of the database as it was, a damaged
copy, another program's database or one of a newer schema would fail the service only later."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from storage.connection import StorageError, _uri
from storage.schema import SCHEMA_VERSION

_OURS = frozenset({"sources", "items"})  # since the first schema


def copy_backup(backup: Path, into: Path) -> None:
    """Copy `backup`, read-only, into the empty file `into` (`VACUUM INTO`: a consistent
    copy, which reads the backup's own write-ahead log if it has one), if it is an intact
    database of this service no newer than this program; else raise `StorageError` naming
    the file at fault."""
    try:
        conn = sqlite3.connect(_uri(backup, readonly=True), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"{backup}: cannot open: {exc}") from exc
    try:
        try:
            problem = _problem(conn)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            problem = f"not an intact SQLite database ({exc})"
        if problem:
            raise StorageError(f"{backup}: {problem}")
        try:
            conn.execute("VACUUM INTO ?", (str(into),))
            _changed_now(into)
        except sqlite3.Error as exc:  # a full disk, a read-only folder
            raise StorageError(f"{into}: cannot write the copy of {backup}: {exc}") from exc
    finally:
        conn.close()


def _changed_now(copy: Path) -> None:
    """Every source's items changed now, in the copy: what the store shows changed under
    readers who hold what it showed until the restore, and `Last-Modified` taken from the
    backup, older than theirs, answered them 304."""
    with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sources)")}
        if "items_changed" in columns:  # since schema 11
            conn.execute("UPDATE sources SET items_changed = ?", (time.time(),))


def _problem(conn: sqlite3.Connection) -> str | None:
    found = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if found != ["ok"]:
        return f"damaged: {'; '.join(found)}"
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version < 1 or not tables >= _OURS:
        return "not a database of this service (no sources and items tables)"
    if version > SCHEMA_VERSION:
        return (
            f"database schema {version} is newer than this program's ({SCHEMA_VERSION}):"
            " restore it with the version that wrote it"
        )
    return None
