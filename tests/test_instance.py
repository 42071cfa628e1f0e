"""The one-server-per-database guard, in this process: the real lock file, two holders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aggregator.errors import AlreadyServing
from aggregator.instance import lock_path, only_server


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    database = tmp_path / "var" / "agg.sqlite3"  # a first start: no folder yet
    with only_server(database):
        assert lock_path(database).read_text(encoding="ascii") == f"{os.getpid()}\n"
        refused = pytest.raises(AlreadyServing, match=rf"agg.sqlite3 is .* \(pid {os.getpid()}\)")
        with refused, only_server(database):
            raise AssertionError("a second holder")
    with only_server(database):  # released with the first
        pass


def test_a_lock_that_cannot_be_opened_warns_and_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "agg.sqlite3"
    lock_path(database).mkdir()  # a directory in the way
    with only_server(database):
        pass
    assert "cannot open the server lock" in caplog.text


def test_the_same_database_through_a_symlink_is_refused(tmp_path: Path) -> None:
    """A symlinked data folder (`/var/lib/aggregator` to a disk) or database file: the lock
    was taken beside the path as written, and a second server started."""
    database = tmp_path / "data" / "agg.sqlite3"
    database.parent.mkdir()
    database.touch()
    (tmp_path / "linked").symlink_to(tmp_path / "data")
    (tmp_path / "alias.sqlite3").symlink_to(database)
    with only_server(database):
        for other in (tmp_path / "linked" / "agg.sqlite3", tmp_path / "alias.sqlite3"):
            with pytest.raises(AlreadyServing), only_server(other):
                raise AssertionError(f"a second server through {other}")
