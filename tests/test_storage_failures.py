"""A database that cannot be written or is not there: an error naming the file, on the
source's report and in the log, never a traceback, and nothing stored is lost."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

import storage.connection
from aggregator.config import load_config
from aggregator.service import running_service
from storage import Database, StorageError
from storage.schema import SCHEMA_VERSION
from tests.conftest import FIXTURES, run_cli
from tests.upstream import local_site


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's write lock, as a long `aggregator backup` or a sqlite3 shell holds."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def config_file(tmp_path: Path, url: str, database: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{database}"\n\n[[sources]]\nid = "hzfb"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return path


async def test_a_locked_database_fails_the_fetch_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The store_fetch's OperationalError escaped the pipeline: `source run crashed` with a
    traceback, a status still `ok`, and a retry in 5 minutes instead of the backoff."""
    monkeypatch.setattr(storage.connection, "BUSY_TIMEOUT_MS", 200)
    body = (FIXTURES / "upstream" / "hzfb.xml").read_bytes()

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    database = tmp_path / "db.sqlite3"
    async with local_site(app) as origin:
        config = load_config(config_file(tmp_path, f"{origin}/feed.xml", database))
        async with running_service(config, schedule=False) as service:
            with locked(database):
                report = await service.fetch_now("hzfb")
            assert report.failed
            assert report.error == f"{database}: cannot write: database is locked"
            assert report.next_fetch is not None
            interval = config.sources[0].interval
            assert report.next_fetch > time.time() + 1.5 * interval, "the backoff, doubled"
            assert "cannot record the fetch" in caplog.text
            assert "Traceback" not in caplog.text
            again = await service.fetch_now("hzfb")  # the lock gone, it stores
            assert not again.failed
            assert again.new > 0


def test_read_only_commands_refuse_a_missing_database(tmp_path: Path) -> None:
    """A wrong `service.database` (or a disk not mounted yet) made `backup` copy a new empty
    store and report success, and `status` show every source never fetched."""
    missing = tmp_path / "nowhere" / "db.sqlite3"
    config = config_file(tmp_path, str(FIXTURES / "upstream" / "hzfb.xml"), missing)
    for command, *args in (("backup", str(tmp_path / "copy.sqlite3")), ("status",),
                           ("render", "all"), ("stories",)):  # fmt: skip
        done = run_cli(command, config, *args)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert f"{missing}: no database here (service.database)" in done.stderr
        assert "Traceback" not in done.stderr
    assert not missing.parent.exists()
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_a_newer_schema_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match=rf"^{path}: cannot open database: database schema"):
        await Database.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_write_refused_on_the_command_line_names_the_file(tmp_path: Path) -> None:
    """`aggregator fetch` while another process holds the lock past the busy timeout."""
    database = tmp_path / "db.sqlite3"
    config = config_file(tmp_path, str(FIXTURES / "upstream" / "hzfb.xml"), database)
    assert run_cli("fetch", config).returncode == 0
    with locked(database):
        done = run_cli("fetch", config, timeout=120)
    assert done.returncode == 1
    assert f"{database}: cannot write: database is locked" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


async def test_a_statement_at_fault_is_no_storage_failure(tmp_path: Path) -> None:
    """Only a database that cannot be used now (locked, read-only, full) is an operator's
    `StorageError`; a bug in a statement keeps its own error, and its traceback."""
    from storage.connection import Connections

    connections = await Connections.open(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            await connections.write(lambda conn: conn.execute("SELECT nosuch FROM items"))
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            await connections.read("SELECT nosuch FROM items")
    finally:
        await connections.close()


_OPEN_AT = """
import asyncio, sys, time
from pathlib import Path
from storage import Database

async def main() -> None:
    while time.time() < float(sys.argv[2]):
        await asyncio.sleep(0.0005)
    await (await Database.open(Path(sys.argv[1]))).close()

asyncio.run(main())
"""


def test_two_processes_creating_one_store_at_once_both_open_it(tmp_path: Path) -> None:
    """`serve` and an `aggregator fetch` at a first start (or an upgrade adding a migration):
    both found the store unmigrated, and the second replayed the first's migrations and
    failed, "table sources already exists"."""
    import subprocess
    import sys

    for attempt in range(5):
        path = tmp_path / f"db{attempt}.sqlite3"
        at = str(time.time() + 1.5)
        runs = [
            subprocess.Popen([sys.executable, "-c", _OPEN_AT, str(path), at],
                             stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        errors = [run.communicate(timeout=60)[1] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], errors
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _damage(database: Path, *, header: bool) -> None:
    """Pages of the store overwritten, as a disk fault or two servers through a hard link
    leave them: its tables' root pages, or the file's header."""
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        roots = [row[0] for row in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name IN ('sources', 'items')")]  # fmt: skip
    with database.open("r+b") as handle:
        if header:
            handle.write(b"not a database, nor anything else")
        for page in () if header else roots:
            handle.seek((page - 1) * 4096)
            handle.write(b"\x0d" + b"\xff" * 4095)


@pytest.mark.parametrize("header", [False, True], ids=["pages", "header"])
def test_a_damaged_database_is_named_by_every_command(tmp_path: Path, header: bool) -> None:
    """A damaged store gave tracebacks (`serve`, `status`), or blamed the copy being written
    (`backup`): each command now says which file is damaged and what to do, and exits 1."""
    database = tmp_path / "db.sqlite3"
    config = config_file(tmp_path, str(FIXTURES / "upstream" / "hzfb.xml"), database)
    assert run_cli("fetch", config).returncode == 0
    _damage(database, header=header)
    said = "the database is damaged (" + (
        "file is not a database" if header else "database disk image is malformed"
    )
    for command in (["status"], ["fetch"], ["render", "all"], ["stories"],
                    ["backup", str(tmp_path / "copy.sqlite3")], ["serve"]):  # fmt: skip
        done = run_cli(command[0], config, *command[1:], timeout=60)
        assert done.returncode == 1, (command, done.stderr)
        assert f"{database}: {said}" in done.stderr, (command, done.stderr)
        assert "restore a backup" in done.stderr
        assert "Traceback" not in done.stderr, command
