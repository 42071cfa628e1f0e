"""`aggregator restore FILE` run as an operator runs it: a backup put back over a store that
changed since, with a crash's write-ahead log beside it; refused beside a server, and for a
file that is no intact backup of this service, leaving the database as it was."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from storage.schema import SCHEMA_VERSION
from tests.conftest import cli_command, free_port, run_cli


def rss(count: int) -> str:
    items = "".join(
        f"<item><title>news {n}</title><link>http://example.org/{n}</link>"
        f"<guid>n-{n}</guid><description>body {n}</description></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link><description>d</description>{items}</channel></rss>"
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A store with 3 items from a local feed, and a config that fetches it."""
    (tmp_path / "feed.xml").write_text(rss(3), encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\nport = {free_port()}\ndatabase = "var/agg.sqlite3"\n\n'
        '[[sources]]\nid = "local"\nurl = "feed.xml"\n',
        encoding="utf-8",
    )
    assert run_cli("fetch", path).returncode == 0
    return path


def database(config: Path) -> Path:
    return config.parent / "var" / "agg.sqlite3"


def items(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def crash_leaving_a_log(path: Path) -> None:
    """A process killed with commits still only in the write-ahead log, as a server is."""
    script = (
        "import os, signal, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA journal_mode = WAL')\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"UPDATE items SET title = title || ' (edited)'\")\n"
        "conn.execute('CREATE TABLE scratch (b BLOB)')\n"
        "conn.execute('INSERT INTO scratch VALUES (zeroblob(200000))')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=False, timeout=30)
    assert path.with_name(path.name + "-wal").stat().st_size > 0


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_backup_restored_over_a_changed_store_and_a_crashs_log(
    config: Path, tmp_path: Path
) -> None:
    """Copied over the database by hand, the backup had the leftover log replayed into it:
    malformed for good. Restored, it is the backup exactly, and the old store is kept."""
    db = database(config)
    backup = tmp_path / "backup.sqlite3"
    assert run_cli("backup", config, str(backup)).returncode == 0
    (tmp_path / "feed.xml").write_text(rss(8), encoding="utf-8")
    assert run_cli("fetch", config).returncode == 0
    assert items(db) == 8
    crash_leaving_a_log(db)

    restored_at = time.time()
    done = run_cli("restore", config, str(backup))
    kept = db.with_name("agg.sqlite3.before-restore")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == (
        f"restored {backup} to {db} ({db.stat().st_size} bytes);"
        f" the previous database is kept as {kept}\n"
    )
    assert not db.with_name("agg.sqlite3-wal").exists()
    assert not db.with_name("agg.sqlite3-shm").exists()
    assert kept.with_name("agg.sqlite3.before-restore-wal").stat().st_size > 0
    assert items(db) == 3
    with sqlite3.connect(db) as conn:  # `Last-Modified` is dated from the restore
        (changed,) = conn.execute("SELECT min(items_changed) FROM sources").fetchone()
    assert changed >= restored_at, "a backup's dates answered readers of the later store 304"
    status = run_cli("status", config, "--json")
    assert status.returncode == 0, status.stderr
    assert [(s["id"], s["items"]) for s in json.loads(status.stdout)] == [("local", 3)]
    rendered = run_cli("render", config, "all", "--format", "json")
    assert rendered.returncode == 0, rendered.stderr
    titles = sorted(item["title"] for item in json.loads(rendered.stdout)["items"])
    assert titles == ["news 0", "news 1", "news 2"]
    # the old store with its log: every commit of the crashed process is there
    assert items(kept) == 8
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT count(*) FROM scratch").fetchone()[0] == 1
    assert leftovers(db.parent) == []
    again = run_cli("restore", config, str(backup))
    assert again.returncode == 1
    assert again.stderr == (
        f"restore: {kept} is kept from an earlier restore: move it away first\n"
    )


def test_a_first_restore_where_there_is_no_database_yet(tmp_path: Path, config: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert run_cli("backup", config, str(backup)).returncode == 0
    other = tmp_path / "other.toml"
    other.write_text(config.read_text("utf-8").replace("var/", "new/"), encoding="utf-8")
    done = run_cli("restore", other, str(backup))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("; none was there\n")
    assert items(tmp_path / "new" / "agg.sqlite3") == 3


def test_refused_beside_a_server(config: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert run_cli("backup", config, str(backup)).returncode == 0
    port = int(config.read_text("utf-8").split("port = ")[1].split("\n")[0])
    server = subprocess.Popen(
        cli_command("serve", config),
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        done = run_cli("restore", config, str(backup))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert done.returncode == 1
    assert done.stderr == (
        f"restore: {database(config)} is already served by another `aggregator serve`"
        f" (pid {server.pid}): stop it first\n"
    )
    assert not database(config).with_name("agg.sqlite3.before-restore").exists()


def damaged(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 3] = os.urandom(4096 * 2)  # the pages after the first: tables, rows
    path.write_bytes(bytes(data))


def newer(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def anothers(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE moz_places (url TEXT)")


@pytest.mark.parametrize(
    ("spoil", "code", "says"),
    [
        (damaged, 1, "{file}: "),
        (newer, 1, f"{{file}}: database schema {SCHEMA_VERSION + 1} is newer than this"),
        (anothers, 1, "{file}: not a database of this service"),
        (lambda p: p.write_text("[service]\n"), 1, "{file}: not an intact SQLite database"),
        (lambda p: p.unlink(), 2, "{file} is no file: name a backup file"),
        (lambda p: (p.unlink(), p.mkdir()), 2, "{file} is a folder: name a backup file"),
    ],
)
def test_a_file_that_is_no_intact_backup_changes_nothing(
    config: Path, tmp_path: Path, spoil: object, code: int, says: str
) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert run_cli("backup", config, str(backup)).returncode == 0
    spoil(backup)  # type: ignore[operator]
    db = database(config)
    before = db.read_bytes()
    done = run_cli("restore", config, str(backup))
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("restore: " + says.format(file=backup)), done.stderr
    assert "Traceback" not in done.stderr
    assert db.read_bytes() == before
    assert {p.name for p in db.parent.iterdir()} <= {"agg.sqlite3", "agg.sqlite3.lock"}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["agg.sqlite3", "agg.sqlite3-wal", "agg.sqlite3.lock"])
def test_the_database_and_its_files_are_no_backup(config: Path, name: str) -> None:
    companion = database(config).with_name(name)
    companion.touch()
    done = run_cli("restore", config, f"var/{name}")
    assert (done.returncode, done.stderr) == (
        2,
        f"restore: var/{name} is the database itself or one of its files\n",
    )
