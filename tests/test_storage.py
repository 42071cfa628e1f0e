"""Storage on real SQLite files: migrations, upserts by identity, one writer, indexed plans."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.model import Enclosure
from storage import Database, FetchOutcome, ItemRecord
from storage.connection import Connections, StorageError
from storage.items import SAME_LINK
from storage.schema import MIGRATIONS, SCHEMA_VERSION

NOW = 1_700_000_000.0


def record(n: int, **changes: object) -> ItemRecord:
    base = ItemRecord(
        key=f"id:{n}",
        entry_id=f"urn:uuid:00000000-0000-0000-0000-{n:012d}",
        title=f"标题 {n}",
        url=f"https://example.org/{n}",
        upstream_id=str(n),
        content=f"<p>正文 {n}</p>",
        summary=f"正文 {n}",
        author="admin",
        origin_name=None,
        origin_url=None,
        tags=("汉中",),
        published=datetime(2022, 1, 14, 17, 50, tzinfo=UTC) + timedelta(minutes=n),
        updated=None,
        content_hash=f"h{n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ok(at: float = NOW) -> FetchOutcome:
    return FetchOutcome(attempted_at=at, seconds=0.1, ok=True, result="ok", status=200, etag='"1"')


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "db" / "test.sqlite3")
    await database.register_sources([("s", "https://example.org/feed")])
    yield database
    await database.close()


def test_migrations_from_empty_equal_the_schema(tmp_path: Path) -> None:
    async def open_close() -> None:
        database = await Database.open(tmp_path / "m.sqlite3")
        await database.close()

    asyncio.run(open_close())
    with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sources", "items"} <= tables
    assert len(MIGRATIONS) == SCHEMA_VERSION


async def test_new_changed_and_unchanged_items(db: Database) -> None:
    first = await db.store_fetch("s", ok(), [record(1), record(2)])
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = await db.store_fetch("s", ok(NOW + 60), [record(1), record(2)])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    changed = record(2, title="新标题", content_hash="h2-changed")
    third = await db.store_fetch("s", ok(NOW + 120), [record(1), changed])
    assert (third.new, third.updated, third.unchanged) == (0, 1, 1)
    items = await db.latest_items(["s"], limit=10)
    assert [i.title for i in items] == ["新标题", "标题 1"]
    assert items[0].last_changed == NOW + 120
    assert items[0].first_seen == NOW


async def test_fetch_state_and_status(db: Database) -> None:
    await db.store_fetch("s", ok(), [record(1)])
    state = await db.fetch_state("s")
    assert state.etag == '"1"'
    assert state.error_streak == 0
    failure = FetchOutcome(
        attempted_at=NOW + 5, seconds=1.0, ok=False, result="error", status=503, error="HTTP 503"
    )
    await db.store_fetch("s", failure, [])
    await db.store_fetch("s", failure, [])
    state = await db.fetch_state("s")
    assert state.error_streak == 2
    assert state.etag == '"1"', "a failure keeps the validators"
    (status,) = await db.statuses(NOW + 10)
    assert (status.items, status.fetches, status.failures) == (1, 3, 2)
    assert status.last_error == "HTTP 503"
    assert status.last_success == NOW


async def test_upgrading_past_migration_8_reads_every_source_in_full_once(tmp_path: Path) -> None:
    """Validators stored before meta refreshes were followed are a forwarding page's own."""
    path = tmp_path / "old.sqlite3"
    database = await Database.open(path)
    await database.register_sources([("s", "https://example.org/")])
    await database.store_fetch("s", replace(ok(), last_modified="Mon, 10 Jan 2022 00:00:00 GMT",
                               body_hash="b1"), [record(1)])  # fmt: skip
    await database.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sources DROP COLUMN reread_at")  # as version 7 had it
        conn.execute("ALTER TABLE sources DROP COLUMN items_changed")
        conn.execute("ALTER TABLE stories DROP COLUMN changed")
        conn.execute("DROP TABLE secrets")
        conn.execute("ALTER TABLE sources DROP COLUMN rules")  # migration 14's
        conn.execute("ALTER TABLE sources DROP COLUMN recorded")
        conn.execute("ALTER TABLE sources DROP COLUMN listed")  # migration 15's
        conn.execute("DROP INDEX items_unkeyed")  # migration 16\'s
        conn.execute("ALTER TABLE items DROP COLUMN body_chars")  # migration 17's
        conn.execute("ALTER TABLE items DROP COLUMN body_days")  # migration 19's
        conn.execute("DROP TABLE story_keys")  # migration 18's
        conn.execute("DROP TABLE config_state")  # migration 20's
        conn.execute("ALTER TABLE items DROP COLUMN enclosures")
        conn.execute("PRAGMA user_version = 7")
    database = await Database.open(path)
    try:
        state = await database.fetch_state("s")
        assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
        assert state.reread_at is None
        assert len(await database.secret("image_proxy")) == 32, "made by migration 10"
        assert len(await database.latest_items(["s"], limit=5)) == 1, "items stay"
    finally:
        await database.close()


async def test_upgrading_past_migration_13_reads_every_source_again_for_enclosures(
    tmp_path: Path,
) -> None:
    """Items stored before have none; an unchanged document is neither asked for again in full
    nor parsed, so without a full read its items would never get theirs."""
    path = tmp_path / "old.sqlite3"
    database = await Database.open(path)
    await database.register_sources([("s", "https://example.org/")])
    await database.store_fetch("s", replace(ok(), body_hash="b1"), [record(1)])
    await database.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sources DROP COLUMN rules")  # migration 14's
        conn.execute("ALTER TABLE sources DROP COLUMN recorded")
        conn.execute("ALTER TABLE sources DROP COLUMN listed")  # migration 15's
        conn.execute("DROP INDEX items_unkeyed")  # migration 16\'s
        conn.execute("ALTER TABLE items DROP COLUMN body_chars")  # migration 17's
        conn.execute("ALTER TABLE items DROP COLUMN body_days")  # migration 19's
        conn.execute("DROP TABLE story_keys")  # migration 18's
        conn.execute("DROP TABLE config_state")  # migration 20's
        conn.execute("ALTER TABLE items DROP COLUMN enclosures")  # as version 12 had it
        conn.execute("PRAGMA user_version = 12")
    database = await Database.open(path)
    try:
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT enclosures FROM items").fetchall() == [("[]",)]
        state = await database.fetch_state("s")
        assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
        (item,) = await database.latest_items(["s"], limit=5)
        assert item.enclosures == ()
        audio = Enclosure("https://example.org/1.mp3", "audio/mpeg", 123)
        found = record(1, enclosures=(audio,), content_hash="h1-with-audio")
        written = await database.store_fetch("s", ok(NOW + 60), [found])
        assert (written.new, written.updated) == (0, 1)
        (item,) = await database.latest_items(["s"], limit=5)
        assert item.enclosures == (audio,)
    finally:
        await database.close()


async def test_upgrading_past_migration_15_reads_every_source_in_full_once(
    tmp_path: Path,
) -> None:
    """What each source lists is unknown before: an unchanged document would not be read, and
    retention would prune items its upstream still lists."""
    path = tmp_path / "old.sqlite3"
    database = await Database.open(path)
    await database.register_sources([("s", "https://example.org/")])
    await database.store_fetch("s", replace(ok(), etag='"e"', body_hash="b1"), [record(1)])
    await database.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sources DROP COLUMN listed")
        conn.execute("DROP INDEX items_unkeyed")  # migration 16\'s
        conn.execute("ALTER TABLE items DROP COLUMN body_chars")  # migration 17's
        conn.execute("ALTER TABLE items DROP COLUMN body_days")  # migration 19's
        conn.execute("DROP TABLE story_keys")  # migration 18's
        conn.execute("DROP TABLE config_state")  # migration 20's
        conn.execute("PRAGMA user_version = 14")
    database = await Database.open(path)
    try:
        state = await database.fetch_state("s")
        assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
        await database.store_fetch("s", replace(ok(NOW + 10**6), listed=("id:1",)), [record(1)])
        assert await database.prune(NOW + 1000, ["s"]) == 0, "listed: kept"
        assert await database.prune(NOW + 1000, []) == 1, "listed by no source configured"
    finally:
        await database.close()


async def test_an_edited_item_keeps_its_place_unless_its_date_moves_back(db: Database) -> None:
    """An undated or future-dated item sorts where it was first seen; edited upstream, it
    jumped above every item dated since, and a reader paging by cursor never saw it."""
    day = datetime.fromtimestamp(NOW, UTC)
    undated, sticky = record(1, published=None), record(2, published=day + timedelta(days=400))
    await db.store_fetch("s", ok(), [undated, sticky, record(3, published=day - timedelta(days=1))])
    await db.store_fetch("s", ok(NOW + 60), [record(4, published=day + timedelta(seconds=30))])
    order = ["id:4", "id:2", "id:1", "id:3"]  # 2 before 1: the same instant, the higher id
    assert [i.key for i in await db.latest_items(["s"], limit=10)] == order
    edits = [replace(undated, title="改", content_hash="e1"), replace(sticky, content_hash="e2")]
    assert (await db.store_fetch("s", ok(NOW + 3600), edits)).updated == 2
    assert [i.key for i in await db.latest_items(["s"], limit=10)] == order
    redated = replace(undated, published=day - timedelta(days=2), content_hash="e3")
    await db.store_fetch("s", ok(NOW + 7200), [redated])
    assert [i.key for i in await db.latest_items(["s"], limit=10)] == [
        "id:4",
        "id:2",
        "id:3",
        "id:1",
    ]


async def test_a_failing_write_rolls_back_everything(db: Database) -> None:
    await db.store_fetch("s", ok(), [record(1)])
    clash = record(2, entry_id=record(1).entry_id)  # violates the unique entry id
    with pytest.raises(sqlite3.IntegrityError):
        await db.store_fetch("s", ok(NOW + 60), [record(3), clash])
    assert [i.key for i in await db.latest_items(["s"], limit=10)] == ["id:1"]
    assert (await db.statuses(NOW))[0].fetches == 1


async def test_concurrent_writers_are_serialised(db: Database) -> None:
    await db.register_sources([(f"s{n}", f"https://example.org/{n}") for n in range(20)])
    results = await asyncio.gather(
        *(
            db.store_fetch(f"s{n}", ok(), [record(n * 100 + k) for k in range(25)])
            for n in range(20)
        )
    )
    assert sum(r.new for r in results) == 500
    assert len(await db.latest_items([f"s{n}" for n in range(20)], limit=500)) == 500


async def test_a_failing_write_among_concurrent_ones_is_undone_alone(db: Database) -> None:
    """Writes queued together share a transaction: the failing one must not take the others
    with it, nor leave any of its own rows behind."""
    await db.register_sources([(f"s{n}", f"https://example.org/{n}") for n in range(8)])
    await db.store_fetch("s", ok(), [record(1)])
    clash = record(2, entry_id=record(1).entry_id)
    writes = [
        db.store_fetch(f"s{n}", ok(), [record(1000 + n * 100 + k) for k in range(3)])
        if n != 3
        else db.store_fetch("s3", ok(), [record(399), clash])
        for n in range(8)
    ]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert [r.new for n, r in enumerate(results) if n != 3] == [3] * 7  # type: ignore[union-attr]
    stored = await db.latest_items([f"s{n}" for n in range(8)], limit=100)
    assert len(stored) == 21
    assert not [s for s in await db.statuses(NOW) if s.id == "s3" and s.fetches]
    with sqlite3.connect(db.path) as conn:  # the full-text rows, written last, match exactly
        indexed = [row[0] for row in conn.execute("SELECT rowid FROM items_search ORDER BY 1")]
        assert indexed == [row[0] for row in conn.execute("SELECT id FROM items ORDER BY 1")]


async def test_writes_queued_together_share_a_transaction_but_fail_alone(tmp_path: Path) -> None:
    """While the writer is busy, writes queue; they then commit as one transaction. One that
    raises makes the group run again write by write, so only it is undone."""
    conns = await Connections.open(tmp_path / "group.sqlite3")
    started, gate = threading.Event(), threading.Event()
    runs: dict[str, int] = {}

    def busy(conn: sqlite3.Connection) -> None:
        started.set()
        gate.wait(10)

    def add(source_id: str, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
        def work(conn: sqlite3.Connection) -> str:
            runs[source_id] = runs.get(source_id, 0) + 1
            conn.execute("INSERT INTO sources (id, url) VALUES (?, ?)", (source_id, "https://x/"))
            if fail:
                raise ValueError(source_id)
            return source_id

        return work

    try:
        first = asyncio.ensure_future(conns.write(busy))
        await asyncio.to_thread(started.wait, 10)
        queued = [asyncio.ensure_future(conns.write(add(f"s{n}", fail=n == 2))) for n in range(5)]
        await asyncio.sleep(0)  # every write is queued before the writer frees up
        gate.set()
        await first
        results = await asyncio.gather(*queued, return_exceptions=True)
        assert [str(r) for r in results] == ["s0", "s1", "s2", "s3", "s4"]
        assert isinstance(results[2], ValueError)
        assert runs == {"s0": 2, "s1": 2, "s2": 2, "s3": 1, "s4": 1}, "together, then alone"
        rows = await conns.read("SELECT id FROM sources ORDER BY id")
        assert [row[0] for row in rows] == ["s0", "s1", "s3", "s4"]
    finally:
        gate.set()
        await conns.close()


def _temporary_files() -> list[str]:
    """SQLite's temporary files this process holds open (unlinked, named `etilqs_…`)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, closed
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return [link for link in links if "etilqs_" in link]


async def test_big_item_inserts_keep_their_statement_journals_in_memory(tmp_path: Path) -> None:
    """A statement journal outgrowing 64 KiB spilled to a temporary file, written page by page:
    most of a stored item's writes. The writer keeps them in memory. (Reads Linux's /proc.)"""
    conns = await Connections.open(tmp_path / "journal.sqlite3")
    body = "<p>汉中</p>" * 20_000

    def insert(conn: sqlite3.Connection) -> list[str]:
        conn.execute("INSERT INTO sources (id, url) VALUES ('s', 'https://x/')")
        conn.executemany(
            "INSERT INTO items (source_id, key, entry_id, title, content, summary, sort_ts, "
            "first_seen, last_changed, content_hash, tags) "
            "VALUES ('s', ?, ?, 't', ?, '', 0, 0, 0, 'h', '[\"汉中\"]')",
            [(str(n), f"urn:{n}", body) for n in range(20)],
        )
        return _temporary_files()  # the transaction is still open: a journal file would be too

    try:
        assert await conns.write(insert) == []
        assert (await conns.read("SELECT count(*) FROM items"))[0][0] == 20
    finally:
        await conns.close()


async def test_a_write_after_close_is_refused_clearly(tmp_path: Path) -> None:
    conns = await Connections.open(tmp_path / "closed.sqlite3")
    await conns.close()
    with pytest.raises(StorageError, match="database closed"):
        await conns.write(lambda conn: conn.execute("SELECT 1"))


async def test_paging_cursor_is_stable_under_inserts(db: Database) -> None:
    await db.store_fetch("s", ok(), [record(n) for n in range(10)])
    page = await db.latest_items(["s"], limit=4)
    await db.store_fetch("s", ok(NOW + 1), [record(n) for n in range(10, 15)])
    cursor = (page[-1].sort_ts, page[-1].id)
    rest = await db.latest_items(["s"], limit=100, before=cursor)
    assert [i.key for i in page + rest] == [f"id:{n}" for n in range(9, -1, -1)]


async def test_future_dates_do_not_pin_items_to_the_top(db: Database) -> None:
    future = record(1, published=datetime(2999, 1, 1, tzinfo=UTC))
    await db.store_fetch("s", ok(), [future, record(2)])
    (first, _) = await db.latest_items(["s"], limit=2)
    assert first.sort_ts <= NOW


async def test_backup_is_a_consistent_copy(db: Database, tmp_path: Path) -> None:
    await db.store_fetch("s", ok(), [record(n) for n in range(5)])
    target = tmp_path / "backup.sqlite3"
    await db.backup(target)
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 5


def test_identity_and_listing_queries_use_indexes(tmp_path: Path) -> None:
    async def create() -> None:
        database = await Database.open(tmp_path / "plan.sqlite3")
        await database.close()

    asyncio.run(create())
    with sqlite3.connect(tmp_path / "plan.sqlite3") as conn:
        plans = {
            "identity": "SELECT key, content_hash FROM items WHERE source_id = ? AND key IN (?, ?)",
            "listing": "SELECT * FROM items WHERE source_id IN (?, ?) "
            "ORDER BY sort_ts DESC, id DESC LIMIT 50",
            "all": "SELECT * FROM items ORDER BY sort_ts DESC, id DESC LIMIT 50",
            "many sources": "SELECT * FROM items WHERE +source_id IN (?, ?, ?) "
            "ORDER BY sort_ts DESC, id DESC LIMIT 50",
            "sources sharing a story": "SELECT DISTINCT other.source_id FROM items AS mine "
            "JOIN items AS other ON other.story_id = mine.story_id WHERE mine.id IN (?, ?)",
            "same link, new id": f"{SAME_LINK} AND norm_link IN (?, ?)",
        }
        for name, sql in plans.items():
            plan = " ".join(
                row[3]
                for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (1, 2, 3)[: sql.count("?")])
            )
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (name, plan)
            assert not plan.startswith("SCAN items") or "INDEX" in plan, (name, plan)
            if name == "same link, new id":  # not every item of the source
                assert "USING INDEX items_by_link" in plan, plan
            if name in ("all", "many sources"):
                assert "TEMP B-TREE" not in plan, (name, plan)  # newest first, stops at LIMIT


async def test_a_long_read_does_not_hold_the_reads_after_it(tmp_path: Path) -> None:
    """A search of a common word over a large store took 40 ms, and every other read of the
    process waited behind it on the one read connection."""
    conns = await Connections.open(tmp_path / "reads.sqlite3")
    try:
        long = asyncio.ensure_future(
            conns.read(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n"
                " WHERE x < 5000000) SELECT count(*) FROM n"
            )
        )
        await asyncio.sleep(0.05)  # under way
        assert [tuple(row) for row in await conns.read("SELECT 41 + 1")] == [(42,)]
        assert not long.done(), "the short read waited for the long one"
        assert [tuple(row) for row in await long] == [(5_000_000,)]
    finally:
        await conns.close()
