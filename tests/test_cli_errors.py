"""Commands given a place they cannot write: a clear line naming it, never a traceback."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, WriteConfig, cli_command, run_cli


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "aggregator.sqlite3").touch()  # made at a first start, empty
    return tmp_path / "config.toml"


def test_render_to_a_missing_folder(config: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "all.atom"
    result = run_cli("render", config, "all", "-o", str(target))
    assert (result.returncode, result.stderr) == (
        1,
        f"render: cannot write {target}: No such file or directory\n",
    )


@pytest.mark.parametrize("limit", ["0", "501", "-3", "ten", "²"])
def test_render_limit_within_the_routes_bounds(config: Path, limit: str) -> None:
    result = run_cli("render", config, "all", f"--limit={limit}")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "aggregator render: error: argument --limit: must be an integer from 1 to 500,"
        f" not {limit!r}"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("where", "code", "message"),
    [
        ("folder", 2, "{target} is a folder: name a file"),
        ("missing/copy.sqlite3", 2, "{target} is in a folder that does not exist: name a file"),
        ("/proc/copy.sqlite3", 1, "cannot write in /proc: "),
    ],
)
def test_backup_to_a_place_it_cannot_write(
    config: Path, tmp_path: Path, where: str, code: int, message: str
) -> None:
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    result = run_cli("backup", config, str(target))
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("backup: " + message.format(target=target)), result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_serve_on_a_taken_port(write_config: WriteConfig) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(f'[service]\nport = {port}\ndatabase = "db.sqlite3"\n')
        result = run_cli("serve", config, timeout=30)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"serve: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in result.stderr


def test_serve_on_a_host_name_nothing_resolves(write_config: WriteConfig) -> None:
    """The resolver's error has a negative errno: it read "Unknown error -2"."""
    config = write_config('[service]\nhost = "no-such-host.invalid"\ndatabase = "db.sqlite3"\n')
    result = run_cli("serve", config, timeout=30)
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("serve: cannot listen on no-such-host.invalid:8080: "), last
    assert "service.host: a name this machine does not resolve" in last
    assert "Unknown error" not in last


@pytest.mark.parametrize(
    "command", [("preview", "hz1w"), ("preview", "hz1w", "--json"), ("render", "all")]
)
def test_output_cut_short_by_its_reader(config: Path, command: tuple[str, ...]) -> None:
    """`aggregator preview hz1w | head`: the reader closes the pipe; no traceback follows.
    (`true` closes it at once, long before the command has started and written.)"""
    line = shlex.join(cli_command(command[0], config, *command[1:]))
    result = subprocess.run(
        ["bash", "-c", f"{line} | true; exit ${{PIPESTATUS[0]}}"],
        capture_output=True, text=True, timeout=60, cwd=config.parent, check=False,
    )  # fmt: skip
    assert result.returncode == 141, result.stderr
    assert result.stderr == "", "nothing but what the command says of itself"


def test_the_config_may_come_before_the_command(config: Path) -> None:
    result = run_cli("check", config)
    before = subprocess.run(
        [*cli_command("check", config)[:-3], "-c", str(config), "check"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert (
        (before.returncode, before.stdout)
        == (result.returncode, result.stdout)
        == (
            0,
            f'{config}: ok — 4 sources, 2 feeds besides "all"\n',
        )
    )


@pytest.mark.parametrize(
    "name",
    [
        "aggregator.sqlite3",
        "aggregator.sqlite3-wal",
        "aggregator.sqlite3-shm",
        "aggregator.sqlite3-journal",
        "aggregator.sqlite3.lock",
        "aggregator.sqlite3.served",
    ],
)
def test_backup_refuses_the_database_and_the_files_beside_it(
    config: Path, tmp_path: Path, name: str
) -> None:
    """Over the write-ahead log, a backup lost every commit not yet checkpointed; over the
    server lock, it let a second server start on the same database. A link is followed."""
    assert run_cli("backup", config, str(tmp_path / "first.sqlite3")).returncode == 0
    database = tmp_path / "var" / "aggregator.sqlite3"
    companion = database.with_name(name)
    if companion != database:
        companion.write_bytes(b"live")
    link = tmp_path / "link"
    link.symlink_to(companion)
    before = companion.read_bytes()
    for file in (f"var/{name}", str(link)):
        result = run_cli("backup", config, file)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"backup: {file} "), result.stderr
        assert "database" in result.stderr
    assert companion.read_bytes() == before


def test_unknown_ids_are_named_alike_by_every_command(config: Path) -> None:
    for command, kind in (("fetch", "source"), ("preview", "source"), ("render", "feed")):
        result = run_cli(command, config, "nosuch")
        assert (result.returncode, result.stderr) == (
            2,
            f'{command}: unknown {kind} "nosuch"\n',
        )
    result = run_cli("fetch", config, "hz1w", "no\nsuch", "x")
    assert (result.returncode, result.stderr) == (
        2,
        'fetch: unknown source "no\\nsuch"\nfetch: unknown source "x"\n',
    )


def test_a_static_render_keeps_its_limit_in_its_links(config: Path, tmp_path: Path) -> None:
    """`--limit 2`'s `next` and self links lacked the limit: a reader following `next` got a
    page of the feed's default size. The file is replaced whole, a symlink to it kept."""
    assert run_cli("fetch", config).returncode == 0
    target = tmp_path / "public" / "all.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)  # readable by the web server's group, say
    link = tmp_path / "all.json"
    link.symlink_to(target)
    result = run_cli("render", config, "all", "--format", "json", "--limit", "2", "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    document = json.loads(target.read_text(encoding="utf-8"))
    assert len(document["items"]) == 2
    assert document["feed_url"].endswith("/feeds/all.json?limit=2")
    assert "limit=2&before=" in document["next_url"]
    assert list(target.parent.iterdir()) == [target], "no temporary file left"
    assert target.stat().st_mode & 0o777 == 0o640, "the file's mode is kept"
    piped = run_cli("render", config, "all", "--format", "json", "-o", "/dev/stdout")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["items"], "a target that is no file is written as it is"
