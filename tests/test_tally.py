"""The serving counters shared by the processes of one port, in a real file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.web.tally import FIELDS, Tally, open_tally, tally_path


def counts(n: int) -> tuple[int, ...]:
    return tuple(n * (index + 1) for index in range(len(FIELDS)))


def test_every_slot_is_summed_and_a_replaced_process_goes_on_from_its_slot(
    tmp_path: Path,
) -> None:
    path = tally_path(tmp_path / "aggregator.sqlite3")
    assert path.name == "aggregator.sqlite3.served"
    main, worker = Tally(path, 0, fresh=True), Tally(path, 1, fresh=False)
    main.write(counts(1))
    worker.write(counts(10))
    assert main.totals(counts(2)) == counts(12), "its own slot from memory, the others as written"
    worker.close()
    replacement = Tally(path, 1, fresh=False)  # a worker started in place of a dead one
    assert replacement.totals(counts(0)) == counts(11), "the sum does not go backwards"
    replacement.write(counts(3))
    assert main.totals(counts(1)) == counts(14)
    replacement.close()
    main.close()


def test_a_main_process_starting_clears_the_slots(tmp_path: Path) -> None:
    path = tally_path(tmp_path / "db.sqlite3")
    old = Tally(path, 5, fresh=True)
    old.write(counts(7))
    old.close()
    restarted = Tally(path, 0, fresh=True)
    assert restarted.totals(counts(0)) == counts(0)
    restarted.close()


def test_a_file_that_cannot_be_opened_leaves_each_process_counting_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "db.sqlite3"
    tally_path(database).mkdir()  # something in the way: a directory of that name
    assert open_tally(database, 0, fresh=True) is None
    (record,) = [r for r in caplog.records if "not shared" in r.getMessage()]
    assert record.path == str(tally_path(database))  # type: ignore[attr-defined]


def test_a_short_or_foreign_file_is_made_whole(tmp_path: Path) -> None:
    path = tally_path(tmp_path / "db.sqlite3")
    path.write_bytes(b"\xff" * 7)  # cut short, not ours
    tally = open_tally(tmp_path / "db.sqlite3", 0, fresh=True)
    assert tally is not None
    assert tally.totals(counts(1)) == counts(1), "a fresh start ignores what was there"
    tally.close()
