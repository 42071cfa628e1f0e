"""The only module that opens SQLite: one writer behind a lock, a separate reader, WAL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from feeds.errors import AggregatorError
from feeds.searchtext import search_text
from storage.schema import MIGRATIONS, SEARCH_TEXT_FUNCTION


class StorageError(AggregatorError):
    """The database could not be opened, migrated or written."""


Row = sqlite3.Row


def _uri(path: Path, *, readonly: bool) -> str:
    return f"{path.absolute().as_uri()}?mode={'ro' if readonly else 'rwc'}"


async def _connect(uri: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    await conn.execute("PRAGMA foreign_keys = ON")
    # The search triggers (migration 3) call it: inserts fail on a connection without it.
    await conn.create_function(SEARCH_TEXT_FUNCTION, 3, search_text, deterministic=True)
    return conn


class Connections:
    """Writes are serialised through one connection in `BEGIN IMMEDIATE`; reads never block them.

    aiosqlite runs each connection on its own thread; sharing one between concurrent coroutines
    interleaves statements, so the writer is guarded by a lock and readers only use single-call
    `execute_fetchall`.
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Connections:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = await _connect(_uri(path, readonly=False))
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = NORMAL")
            await _migrate(writer)
            reader = await _connect(_uri(path, readonly=True))
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"{path}: cannot open database: {exc}") from exc
        return cls(path, writer, reader)

    async def close(self) -> None:
        async with self._lock:
            await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; it commits on exit and rolls back on any error."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The reader connection for a multi-statement read, serialised like the writer."""
        async with self._read_lock:
            yield self._reader

    async def read(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        rows = await self._reader.execute_fetchall(sql, tuple(parameters))
        return list(rows)

    async def data_version(self) -> int:
        """Changes when another connection (or process) commits: lets caches notice cheaply."""
        rows = await self._reader.execute_fetchall("PRAGMA data_version")
        return int(next(iter(rows))[0])

    async def backup(self, target: Path) -> None:
        """A consistent copy while other connections keep reading and writing."""
        await asyncio.to_thread(target.unlink, missing_ok=True)
        async with self._lock:
            await self._writer.execute("VACUUM INTO ?", (str(target),))


async def _migrate(conn: aiosqlite.Connection) -> None:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    version = int(next(iter(rows))[0])
    if version > len(MIGRATIONS):
        raise StorageError(f"database schema {version} is newer than this program's")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{script};\nPRAGMA user_version = {number};\nCOMMIT;"
        )
