"""`aggregator backup FILE` run as an operator runs it: never over the config or a file that
is no database, two at once to one FILE, and stopped by SIGTERM or Ctrl-C mid-copy."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, cli_command, run_cli


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A store of about 60 MB (a copy takes a good part of a second), fetched from a file."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[service]\ndatabase = "agg.sqlite3"\n\n'
        f'[[sources]]\nid = "hzfb"\nurl = "{FIXTURES / "upstream" / "hzfb.xml"}"\n',
        encoding="utf-8",
    )
    assert run_cli("fetch", path).returncode == 0
    with sqlite3.connect(tmp_path / "agg.sqlite3") as conn:
        conn.execute("CREATE TABLE ballast (b BLOB)")
        conn.executemany("INSERT INTO ballast VALUES (?)", [(os.urandom(1 << 20),)] * 60)
    return path


def _size(path: Path) -> int:
    """0 for a file gone meanwhile (renamed into place, or removed)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def whole(path: Path) -> bool:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return ok and int(conn.execute("SELECT count(*) FROM items").fetchone()[0]) > 0


def test_the_config_is_no_place_for_a_backup(config: Path) -> None:
    """`aggregator backup config.toml` replaced the config with a database and exited 0."""
    before = config.read_bytes()
    for file in ("config.toml", str(config)):
        done = run_cli("backup", config, file)
        assert (done.returncode, done.stderr) == (
            2,
            f"backup: {file} is the config file: name another file\n",
        )
    assert config.read_bytes() == before


def test_a_file_that_is_no_database_is_not_replaced(config: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n", encoding="utf-8")
    done = run_cli("backup", config, "notes.txt")
    assert (done.returncode, done.stderr) == (
        2,
        "backup: notes.txt exists and is not an SQLite database: name another file\n",
    )
    assert notes.read_text("utf-8") == "keep me\n"
    # an earlier backup and an empty file made ready for one are replaced
    for name in ("earlier.sqlite3", "empty.sqlite3"):
        if name.startswith("empty"):
            (tmp_path / name).touch()
        else:
            assert run_cli("backup", config, name).returncode == 0
        done = run_cli("backup", config, name)
        assert done.returncode == 0, done.stderr
        assert whole(tmp_path / name)


def test_two_backups_at_once_to_one_file(config: Path, tmp_path: Path) -> None:
    """They shared `.FILE.partial`: one failed with "disk I/O error" or "No such file", and
    FILE was for a while the other's half-written copy."""
    command = cli_command("backup", config, "copy.sqlite3")
    for _ in range(3):
        runs = [
            subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]  # fmt: skip
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert (run.returncode, err) == (0, ""), err
            assert out.startswith("backed up ")
        assert whole(tmp_path / "copy.sqlite3")
        assert hidden(tmp_path) == []


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopped_mid_copy_it_leaves_nothing_and_says_so(
    config: Path, tmp_path: Path, signum: int, status: int
) -> None:
    """SIGTERM left a database-sized hidden `.FILE.partial` (and its `-journal`) behind; a
    Ctrl-C could print "backed up" and exit 130. The copy stops at once, not when written."""
    run = subprocess.Popen(
        cli_command("backup", config, "copy.sqlite3"),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(_size(p) for p in tmp_path.glob(".copy.sqlite3*partial")):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    run.send_signal(signum)
    out, err = run.communicate(timeout=60)
    assert (run.returncode, out) == (status, "")
    name = signal.Signals(signum).name
    assert err == f"backup: stopped by {name}: {tmp_path / 'copy.sqlite3'} not written\n"
    assert hidden(tmp_path) == []
    assert not (tmp_path / "copy.sqlite3").exists()
