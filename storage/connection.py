"""The only module that opens SQLite: one writer thread, separate readers, WAL; and a
read-only connection for processes that only read the store another one writes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

import aiosqlite

from feeds.errors import AggregatorError
from feeds.searchtext import search_text
from feeds.stories import keys_made_by
from storage.schema import MIGRATIONS, SEARCH_TEXT_FUNCTION
from storage.searchindex import index_damaged, index_made_by, reindex, reindex_if_stale

# How long a statement waits for another process's lock (`aggregator fetch` beside `serve`)
# before it fails with "database is locked".
BUSY_TIMEOUT_MS = 10_000


# SQLite's primary result codes for a database that cannot be used now, as opposed to a
# statement at fault: busy, locked, read-only, I/O error, full, cannot open, lock protocol.
_UNAVAILABLE = frozenset({5, 6, 8, 10, 13, 14, 15})


def unavailable(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the database cannot be used now (locked past the busy timeout, a
    read-only file, a full disk), which an operator fixes, not a bug in a statement, whose
    traceback must reach the log."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _UNAVAILABLE


# SQLITE_CORRUPT and SQLITE_NOTADB: the file is no intact database of ours, whatever the
# statement. A traceback would leave the operator to guess; a backup restores it.
_DAMAGED = frozenset({11, 26})


def damage(path: Path, exc: sqlite3.Error) -> str | None:
    """What to tell the operator when `exc` says the file at `path` is damaged, else None."""
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in _DAMAGED:
        return None
    return (
        f"{path}: the database is damaged ({exc}): stop the service and restore a backup"
        " (aggregator restore FILE)"
    )


class StorageError(AggregatorError):
    """The database could not be opened, migrated or written."""


log = logging.getLogger("storage")
Row = sqlite3.Row
T = TypeVar("T")
# Writes waiting when the writer frees up share one transaction, up to this many: a commit and
# each full-text segment flush then serve dozens of fetches (halving the index's cost per item).
MAX_GROUPED_WRITES = 64


# Statements a transaction runs last, by writer connection (see `run_last`).
_LAST: dict[int, list[tuple[str, list[tuple[Any, ...]]]]] = {}


def run_last(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """`executemany(sql, rows)` just before the transaction commits, after every other write
    of its group; at once outside a grouped transaction.

    For the full-text index: FTS5 flushes its pending terms to a new segment whenever a later
    statement opens a statement journal (any insert into `items`, whose triggers need one).
    Written last, a group's terms make one segment instead of one per fetch, which halves
    the index's cost per item.
    """
    last = _LAST.get(id(conn))
    if last is None:
        conn.executemany(sql, rows)
    else:
        last.append((sql, rows))


class Reader(Protocol):
    """What the read queries need: `Connections`, or an `InlineReader`."""

    @property
    def path(self) -> Path: ...

    async def read(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]: ...


@dataclass(frozen=True, slots=True)
class _Write(Generic[T]):
    work: Callable[[sqlite3.Connection], T]
    done: asyncio.Future[T]


def _uri(path: Path, *, readonly: bool) -> str:
    return f"{path.absolute().as_uri()}?mode={'ro' if readonly else 'rwc'}"


# What opening does with the store's schema: "upgrade" runs the migrations it lacks (and
# rebuilds a stale search index); "current" refuses one older or newer than this program's;
# "as is" takes any. Only the commands that write upgrade: `status` run by a new release
# beside an older one's server migrated the store under it, whose fetches then all failed,
# and `backup` copied the store migrated, so no backup of what the old release wrote was left.
Schema = Literal["upgrade", "current", "as is"]


def _open_writer(path: Path, schema: Schema = "upgrade") -> sqlite3.Connection:
    conn = _connect_writer(path)
    try:
        _prepare_writer(conn, schema)
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_writer(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        _uri(path, readonly=False), uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # The search index's delete trigger and its rebuild call it (storage/searchindex.py).
        conn.create_function(SEARCH_TEXT_FUNCTION, 3, search_text, deterministic=True)
        _write_ahead(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        # Statement journals in memory: an item insert (triggers, overflow pages) outgrows the
        # 64 KiB they may hold before spilling to a temporary file, which then took 26 of the
        # 34 writes a stored item cost (page by page, each with its 4-byte page number).
        conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare_writer(
    conn: sqlite3.Connection, schema: Schema, stopping: threading.Event | None = None
) -> None:
    """The schema as `schema` asks, which may take minutes: an upgrade of a large store
    (re-indexing 45,000 long items took 110 s). Once `stopping` is set, the statement under
    way or the next one fails with "interrupted" (`Connection.interrupt()` would miss a stop
    that came between two statements)."""
    if stopping is not None:
        conn.set_progress_handler(stopping.is_set, _STOP_CHECK_STEPS)
    try:
        if schema == "upgrade":
            _migrate(conn)
            reindex_if_stale(conn)
        elif schema == "current":
            _refuse_other_schema(conn)
    finally:
        conn.set_progress_handler(None, 0)


# Virtual machine steps between two looks at a stop during an upgrade: well under a
# millisecond of SQLite's work, a negligible cost beside it.
_STOP_CHECK_STEPS = 10_000


# Read connections of a process, each on a thread of its own: SQLite leaves the interpreter's
# lock while it runs a query, so two queries go on side by side on two cores.
_READERS = 2


async def _open_reader(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(_uri(path, readonly=True), uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class Connections:
    """Writes run one after another on one thread, all or nothing each; reads never wait
    for them.

    A write is one synchronous function run on the writer's own thread: a fetch's dozens of
    statements cost no thread hand-off each (aiosqlite's ~50 µs per call made storing slower
    than parsing). Writes that queue up while the writer is busy are committed together (group
    commit); if one fails, each is run again alone, so only that one is undone. Reads go through
    aiosqlite on connections of their own (`_READERS`), each a single `execute_fetchall` on the
    one with fewer reads in hand. WAL lets them run side by side: with one, a search of a
    common word over a large store (40 ms) held every other read of the process behind it.
    """

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        readers: Sequence[aiosqlite.Connection],
    ) -> None:
        self.path = path
        self._writer = writer
        self._executor = executor  # one thread: it serialises the writes
        self._readers = list(readers)
        self._reading = [0] * len(readers)  # reads in hand, by reader
        self._pending: deque[_Write[Any]] = deque()
        self._draining = False  # read and set on the event loop's thread only
        self._closed = False
        self._rebuilt_at: float | None = None  # the writer's last rebuild of a damaged index

    @classmethod
    async def open(
        cls, path: Path, *, existing: bool = False, schema: Schema = "upgrade"
    ) -> Connections:
        """`existing`: for commands that only look at the store (status, render, backup), a
        missing file is an error, not a new empty database: a wrong path, or a disk not yet
        mounted, made `backup` copy an empty store and report success. `schema`: see
        `Schema`."""
        if existing and not await asyncio.to_thread(path.is_file):
            raise StorageError(
                f"{path}: no database here (service.database): `aggregator serve` or"
                " `aggregator fetch` creates it"
            )
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        loop = asyncio.get_running_loop()
        try:
            writer = await _open_writer_cancellably(loop, executor, path, schema)
        except asyncio.CancelledError:
            executor.shutdown()
            raise
        except (OSError, sqlite3.Error, StorageError) as exc:
            executor.shutdown()
            if isinstance(exc, sqlite3.Error) and (problem := damage(path, exc)):
                raise StorageError(problem) from exc
            raise StorageError(f"{path}: cannot open database: {exc}") from exc
        readers: list[aiosqlite.Connection] = []
        try:
            for _ in range(_READERS):
                readers.append(await _open_reader(path))
        except (OSError, sqlite3.Error) as exc:
            for reader in readers:
                await reader.close()
            await loop.run_in_executor(executor, writer.close)
            executor.shutdown()
            raise StorageError(f"{path}: cannot open database: {exc}") from exc
        return cls(path, writer, executor, readers)

    async def close(self) -> None:
        """Close after the writes already started: a cancelled caller's write still finishes
        (whole, as one transaction), so nothing is left half-done. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        for reader in self._readers:
            with contextlib.suppress(sqlite3.Error):  # the others, and the writer, close still
                await reader.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._writer.close)
        await asyncio.to_thread(self._executor.shutdown)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` all or nothing: done when its transaction commits, undone if it raises.

        A cancelled caller's write still runs and commits: it may already be under way.
        """
        if self._closed:
            raise StorageError(f"{self.path}: database closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Write(work, done))
        if not self._draining:
            self._start_drain(loop)
        try:
            return await done
        except sqlite3.DatabaseError as exc:
            if problem := damage(self.path, exc):
                raise StorageError(problem) from exc
            if not unavailable(exc):
                raise
            raise StorageError(f"{self.path}: cannot write: {exc}") from exc

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        self._draining = True
        loop.run_in_executor(self._executor, self._drain, loop)

    def _drained(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, after a drain: a write queued since its last look starts the next.
        (A drain per write queued thousands of idle drains while the loop held the GIL.)"""
        self._draining = False
        if self._pending and self._closed:
            while self._pending:
                _settle(self._pending.popleft().done, False, StorageError("database closed"))
        elif self._pending:
            self._start_drain(loop)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the writer's thread: transactions of the queued writes until none is left."""
        try:
            while self._pending:
                self._commit_group(loop)
        finally:
            loop.call_soon_threadsafe(self._drained, loop)

    def _commit_group(self, loop: asyncio.AbstractEventLoop) -> None:
        group: list[_Write[Any]] = []
        while self._pending and len(group) < MAX_GROUPED_WRITES:
            group.append(self._pending.popleft())
        outcomes: list[tuple[bool, Any]]
        try:
            try:
                outcomes = [(True, result) for result in self._transaction(group)]
            except Exception as exc:
                # Which write failed is found by running each alone: failures are rare, and a
                # savepoint per write would make the full-text index flush at every one.
                outcomes = [self._alone(write) for write in group] if group[1:] else [(False, exc)]
        except BaseException as exc:  # interrupted: every write of the group failed with it
            outcomes = [(False, exc)] * len(group)
        for write, (ok, value) in zip(group, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, write.done, ok, value)

    def _transaction(self, group: list[_Write[Any]]) -> list[Any]:
        """The group's writes in one transaction; once more after rebuilding a damaged search
        index, which would otherwise fail every write that touches the damaged item."""
        try:
            return self._attempt(group)
        except sqlite3.DatabaseError as exc:
            # At most one rebuild a minute: one that did not help must not run again for each
            # write of the group as they are tried alone.
            recent = self._rebuilt_at is not None and time.monotonic() - self._rebuilt_at < 60
            if not index_damaged(exc) or recent:
                raise
            log.error("search index damaged, rebuilding it", extra={"error": str(exc)})
            self._rebuilt_at = time.monotonic()
            reindex(self._writer)
            return self._attempt(group)

    def _attempt(self, group: list[_Write[Any]]) -> list[Any]:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        last = _LAST[id(conn)] = []
        try:
            results = [write.work(conn) for write in group]
            for sql, rows in last:
                conn.executemany(sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            del _LAST[id(conn)]
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:  # a full disk, a lock held past the busy timeout
            if conn.in_transaction:  # else the next BEGIN fails too
                conn.execute("ROLLBACK")
            raise
        return results

    def _alone(self, write: _Write[Any]) -> tuple[bool, Any]:
        try:
            return True, self._transaction([write])[0]
        except Exception as exc:
            return False, exc

    async def read(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        index = self._reading.index(min(self._reading))
        self._reading[index] += 1
        try:
            rows = await self._readers[index].execute_fetchall(sql, tuple(parameters))
        except sqlite3.DatabaseError as exc:
            if problem := damage(self.path, exc):
                raise StorageError(problem) from exc
            if not unavailable(exc):
                raise
            raise StorageError(f"{self.path}: cannot read: {exc}") from exc
        finally:
            self._reading[index] -= 1
        return list(rows)

    async def data_version(self) -> int:
        """Changes when another connection (or process) commits: lets caches notice cheaply.
        Always the first reader's: each connection counts the commits of the others."""
        rows = await self._readers[0].execute_fetchall("PRAGMA data_version")
        return int(next(iter(rows))[0])

    async def backup(self, target: Path) -> None:
        """A consistent copy while other connections keep reading and writing. Cancelled, the
        copy stops at once: a stopped `aggregator backup` need not write the whole database
        before its temporary file is removed."""
        try:
            await asyncio.to_thread(target.unlink, missing_ok=True)
            copying = asyncio.get_running_loop().run_in_executor(
                self._executor, self._writer.execute, "VACUUM INTO ?", (str(target),)
            )
            try:
                await copying
            except asyncio.CancelledError:
                self._writer.interrupt()  # thread-safe; the copy fails with "interrupted"
                raise
        except sqlite3.DatabaseError as exc:
            problem = damage(self.path, exc)  # the database read, not the copy written
            raise StorageError(problem or f"{target}: cannot write the copy: {exc}") from exc
        except (OSError, sqlite3.Error) as exc:  # a read-only folder, a full disk...
            raise StorageError(f"{target}: cannot write the copy: {exc}") from exc


async def _open_writer_cancellably(
    loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor, path: Path, schema: Schema
) -> sqlite3.Connection:
    """The writer, opened and prepared on its thread. Cancelled (a stop signal during an
    upgrade), the upgrade is interrupted, its transaction rolled back, and the connection
    closed before the cancellation goes on: `serve` did not stop until an upgrade ended, and
    a Ctrl-C waited for it at exit."""
    writer = await loop.run_in_executor(executor, _connect_writer, path)
    stopping = threading.Event()
    try:
        await loop.run_in_executor(executor, _prepare_writer, writer, schema, stopping)
    except BaseException:
        stopping.set()
        # The executor's one thread runs this after the preparation has stopped.
        await loop.run_in_executor(executor, writer.close)
        raise
    return writer


def _settle(done: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if done.cancelled():
        return
    if ok:
        done.set_result(value)
    else:
        done.set_exception(value)


def _write_ahead(conn: sqlite3.Connection) -> None:
    """WAL, waited for as any write is: SQLite answers a change of journal mode that meets
    another connection's lock (two processes creating one store) at once, without its busy
    handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _refuse_other_schema(conn: sqlite3.Connection) -> None:
    """A store never written yet (schema 0) is given this program's: no release has it."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        _migrate(conn)
    elif version > len(MIGRATIONS):
        raise StorageError(_newer(version))
    elif version < len(MIGRATIONS):
        raise StorageError(
            f"database schema {version} is older than this program's"
            f" ({len(MIGRATIONS)}): this release's `aggregator serve` (or `aggregator fetch`)"
            " upgrades it, once a server of the release that wrote it is stopped"
        )


def schema_version(path: Path) -> int | None:
    """The schema version of the store at `path`, read without a lock; None when there is
    no database there yet (or it cannot be read: opening it will say why)."""
    try:
        with contextlib.closing(sqlite3.connect(_uri(path, readonly=True), uri=True)) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return None


def latest_schema() -> int:
    return len(MIGRATIONS)


def made_otherwise(path: Path) -> list[str]:
    """What of the store at `path` this program would make again at opening, read without a
    lock: its search index, made by other token rules, and its stories' match keys, made by
    other key rules (an upgrade within one schema). Empty when neither, or when it cannot
    tell (no store yet, an older schema: opening it says)."""
    try:
        with contextlib.closing(sqlite3.connect(_uri(path, readonly=True), uri=True)) as conn:
            tokens = conn.execute("SELECT made_by FROM search_tokens").fetchone()
            keys = conn.execute("SELECT made_by FROM story_keys").fetchone()
    except sqlite3.Error:
        return []
    stale = []
    if tokens is not None and tokens[0] != index_made_by():
        stale.append("its search index")
    if keys is not None and keys[0] != keys_made_by():
        stale.append("its stories' match keys")
    return stale


def _newer(version: int) -> str:
    return (
        f"database schema {version} is newer than this program's"
        f" ({len(MIGRATIONS)}): run the version that wrote it, or restore a backup"
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Each migration in a transaction of its own, the version read inside it: two processes
    opening a store together (a first start, an upgrade) both saw it unmigrated, and the
    second replayed what the first had just done ("table sources already exists"). A store
    already migrated takes no lock: it opens beside a writer holding one."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found == len(MIGRATIONS):
        return
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise StorageError(_newer(version))
            if version < len(MIGRATIONS):
                started = time.monotonic()
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                if found:  # an older release's store, not a new one
                    took = round(time.monotonic() - started, 2)
                    log.info("database schema upgraded",
                             extra={"schema": version + 1, "seconds": took})  # fmt: skip
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # an interrupted statement has rolled it back already
                conn.execute("ROLLBACK")
            raise
        if version >= len(MIGRATIONS) - 1:
            return


def _statements(script: str) -> list[str]:
    """A script's statements one by one (`executescript` would commit the transaction that
    holds the lock first): split at each `;` that ends a complete statement, which one inside
    a trigger's body or a string does not."""
    found: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                found.append(pending.strip())
            pending = ""
    return found


class InlineReader:
    """A read-only connection whose reads complete on the caller's thread, never suspending.

    For the parsing processes, which render cold documents from the store the server writes:
    the same read queries as the server's, on a connection of their own, with no event loop
    to hand rows back to. WAL lets them read beside the server's writer.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(_uri(path, readonly=True), uri=True, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open database: {exc}") from exc

    async def read(self, sql: str, parameters: Iterable[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(parameters)).fetchall()

    def close(self) -> None:
        self._conn.close()
