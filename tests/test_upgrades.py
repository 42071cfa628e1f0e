"""An older release's store under this one: only the commands that write upgrade it, and not
while the older release's server runs on it."""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aggregator.instance import lock_path, release_rules
from feeds.searchtext import search_text
from storage.schema import MIGRATIONS, SEARCH_TEXT_FUNCTION
from tests.conftest import FIXTURES, run_cli

OLDER = len(MIGRATIONS) - 1


def version(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def older_store(database: Path, schema: int = OLDER) -> None:
    """A store as a release of `schema` wrote it (its tables empty)."""
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.create_function(SEARCH_TEXT_FUNCTION, 3, search_text, deterministic=True)
        for script in MIGRATIONS[:schema]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {schema}")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose store an older release wrote: schema one migration behind."""
    database = tmp_path / "agg.sqlite3"
    older_store(database)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{database}"\n\n'
        f'[[sources]]\nid = "hzfb"\nurl = "{FIXTURES / "upstream" / "hzfb.xml"}"\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def older_server(database: Path, release: str = "") -> Iterator[None]:
    """The lock an `aggregator serve` holds for its life, as the older release's does (this
    release's writes its `release_rules` after the pid)."""
    with lock_path(database).open("a+", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(f"4242\n{release}\n" if release else "4242\n")
        handle.flush()
        yield


@pytest.mark.parametrize("command", [("status",), ("render", "all"), ("stories",)])
def test_reading_commands_leave_an_older_store_as_it_is(
    config: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """`status` run by the new release beside the old one's server migrated the store under
    it, whose fetches then all failed."""
    done = run_cli(command[0], config, *command[1:])
    assert done.returncode == 1
    assert f"database schema {OLDER} is older than this program's ({len(MIGRATIONS)})" in (
        done.stderr
    )
    assert "upgrades it" in done.stderr
    assert "Traceback" not in done.stderr
    assert version(tmp_path / "agg.sqlite3") == OLDER


def test_a_backup_is_of_the_store_as_the_older_release_wrote_it(
    config: Path, tmp_path: Path
) -> None:
    """A backup taken before an upgrade must open in the release that wrote the store: it was
    the migrated store, and no way back was left."""
    done = run_cli("backup", config, "before-upgrade.sqlite3")
    assert done.returncode == 0, done.stderr
    assert version(tmp_path / "before-upgrade.sqlite3") == OLDER
    assert version(tmp_path / "agg.sqlite3") == OLDER


def test_a_fetch_upgrades_an_older_store_but_not_under_its_server(
    config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "agg.sqlite3"
    with older_server(database):
        refused = run_cli("fetch", config)
    assert refused.returncode == 1
    assert "`aggregator serve` (pid 4242) of the release that wrote it runs on it" in (
        refused.stderr
    )
    assert version(database) == OLDER
    done = run_cli("fetch", config)
    assert done.returncode == 0, done.stderr
    assert version(database) == len(MIGRATIONS)
    assert f'"event": "database schema upgraded", "schema": {len(MIGRATIONS)}' in done.stderr
    assert run_cli("status", config).returncode == 0


def test_a_backup_of_a_much_older_release_is_restored_then_upgraded(
    config: Path, tmp_path: Path
) -> None:
    """Schema 5 predates what a restore dates anew (`items_changed`): restored as it is."""
    backup = tmp_path / "schema5.sqlite3"
    older_store(backup, schema=5)
    done = run_cli("restore", config, str(backup))
    assert done.returncode == 0, done.stderr
    assert version(tmp_path / "agg.sqlite3") == 5
    assert run_cli("fetch", config).returncode == 0
    assert version(tmp_path / "agg.sqlite3") == len(MIGRATIONS)


def test_a_fetch_does_not_remake_an_index_or_keys_under_an_older_server(
    config: Path, tmp_path: Path
) -> None:
    """One schema, other rules (Hong Kong's forms folded since): a fetch beside the older
    release's server remade the index and keys, which that server went on writing the old
    way, and searches missed its items for good."""
    database = tmp_path / "agg.sqlite3"
    assert run_cli("fetch", config).returncode == 0
    with sqlite3.connect(database) as conn:
        (made_before,) = conn.execute("SELECT made_by FROM search_tokens").fetchone()
        conn.execute("UPDATE search_tokens SET made_by = 'rules 2; an older release'")
        conn.execute("UPDATE story_keys SET made_by = 'rules 1; an older release'")
    with older_server(database):
        refused = run_cli("fetch", config)
    assert refused.returncode == 1
    assert (
        "its search index and its stories' match keys were made by another release's rules,"
        " and `aggregator serve` (pid 4242) of the release that wrote it runs on it: stop it;"
        " this release's `aggregator serve` then makes them again by its own rules\n"
    ) in refused.stderr
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE search_tokens SET made_by = ?", (made_before,))
    with older_server(database):
        refused = run_cli("fetch", config)
    assert "its stories' match keys were made by another release's rules" in refused.stderr
    done = run_cli("fetch", config)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as conn:
        made = conn.execute("SELECT made_by FROM search_tokens").fetchone()[0]
    assert not made.startswith("rules 2; an older")


def test_a_fetch_beside_this_release_s_own_server_remakes_them_too(
    config: Path, tmp_path: Path
) -> None:
    """This release's server remakes the keys in the background after its start: a fetch
    run meanwhile is no older release's, and goes on."""
    database = tmp_path / "agg.sqlite3"
    assert run_cli("fetch", config).returncode == 0
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE story_keys SET made_by = 'rules 1; an older release'")
    with older_server(database, release=release_rules()):
        done = run_cli("fetch", config)
    assert done.returncode == 0, done.stderr


def test_a_store_from_before_changes_were_dated_counts_as_changed_at_its_upgrade(
    config: Path, tmp_path: Path
) -> None:
    """A store (or a backup restored) from before schema 11 has no date of its items' last
    change: taken as none, its feeds were dated by their newest entry, before what their
    readers held, and a reader asking by date was answered 304 for a changed feed."""
    database = tmp_path / "agg.sqlite3"
    database.unlink()
    older_store(database, schema=10)
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO sources (id, url) VALUES ('gone', 'http://example.org/')")
    upgraded_at = time.time()
    done = run_cli("fetch", config)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as conn:
        (changed,) = conn.execute("SELECT items_changed FROM sources WHERE id = 'gone'").fetchone()
    assert changed is not None
    assert changed >= int(upgraded_at)
