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
