"""What the command line tells an operator: each command's help and exit statuses, error lines
that start alike, `check`'s summary and the notes under `status`'s table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from aggregator.cli import build_parser
from aggregator.operate import status_table
from aggregator.status import SourceView
from tests.conftest import WriteConfig, run_cli

COMMANDS = [
    ("serve",), ("fetch",), ("check",), ("preview",), ("status",), ("render",), ("stories",),
    ("backup",), ("restore",), ("opml", "export"), ("opml", "import"),
]  # fmt: skip
CONFIG_DEFAULT = "default: $AGGREGATOR_CONFIG, else ./config.toml"


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its name (`opml import` for a verb)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def test_every_argument_of_every_command_is_described() -> None:
    parsers = _parsers()
    assert sorted(parsers) == sorted({" ".join(c) for c in COMMANDS} | {"opml"})
    for name, parser in parsers.items():
        for action in parser._actions:
            assert action.help, (name, action.dest)
        assert (parser.epilog or "").startswith("exit status: "), name


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_gives_the_config_default_and_the_exit_statuses(
    write_config: WriteConfig, command: tuple[str, ...]
) -> None:
    config = write_config("")
    result = run_cli(command[0], config, *command[1:], "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # as wrapped to any width
    assert CONFIG_DEFAULT in text
    assert "exit status: 0 " in text
    assert "2 for " in text
    assert "a config problem" in text


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("render", ['FEED "all" or the id of a [[feeds]] table',
                    "--format {rss,atom,json} default: atom"]),
        ("status", ["--json print JSON instead of the table"]),
        ("preview", ["SOURCE id of the source", "--json print JSON"]),
        ("stories", ["--json print JSON", '--since SINCE a duration back from now (default "7d")']),
        ("fetch", ["SOURCE id of a source to fetch (default: every enabled source)",
                   "1 when a source failed; 2 for an unknown SOURCE",
                   "130 or 143 when stopped by Ctrl-C or SIGTERM"]),
        ("backup", ["FILE the copy to write", "130 or 143 when stopped"]),
        ("restore", ["FILE a backup written by `aggregator backup`"]),
    ],
)  # fmt: skip
def test_help_describes_each_argument(
    write_config: WriteConfig, command: str, says: list[str]
) -> None:
    result = run_cli(command, write_config(""), "--help")
    text = " ".join(result.stdout.split())
    for words in says:
        assert words in text, (words, text)


def test_opml_verbs_show_the_config_default(write_config: WriteConfig) -> None:
    result = run_cli("opml", write_config(""), "import", "--help")
    text = " ".join(result.stdout.split())
    assert f"-c CONFIG, --config CONFIG {CONFIG_DEFAULT}" in text
    assert "FILE an OPML file" in text


def test_error_lines_start_with_the_command(write_config: WriteConfig, tmp_path: Path) -> None:
    config = write_config('[service]\ndatabase = "missing.sqlite3"\n')
    for command in ("status", "stories", "render"):
        args = ("all",) if command == "render" else ()
        result = run_cli(command, config, *args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"{command}: {tmp_path / 'missing.sqlite3'}: "), (
            result.stderr
        )
    # a bad option is argparse's usage error, as `--limit 0` is
    for option in (("--since", "soon"), ("--limit", "0")):
        result = run_cli("stories", config, *option)
        assert result.returncode == 2
        assert result.stderr.startswith("usage: aggregator stories "), result.stderr
        assert f"aggregator stories: error: argument {option[0]}: " in result.stderr


@pytest.mark.parametrize(
    ("sources", "feeds", "summary"),
    [
        (0, 0, '0 sources, 0 feeds besides "all"'),
        (1, 0, '1 source, 0 feeds besides "all"'),
        (2, 1, '2 sources, 1 feed besides "all"'),
        (1, 2, '1 source, 2 feeds besides "all"'),
    ],
)
def test_check_counts_the_configured_feeds(
    write_config: WriteConfig, sources: int, feeds: int, summary: str
) -> None:
    text = "".join(
        f'[[sources]]\nid = "s{i}"\nurl = "http://127.0.0.1:9/{i}"\n' for i in range(sources)
    )
    text += "".join(f'[[feeds]]\nid = "f{i}"\n' for i in range(feeds))
    config = write_config(text)
    result = run_cli("check", config)
    assert (result.returncode, result.stdout) == (0, f"{config}: ok — {summary}\n")


def _view(source_id: str, result: str, error: str | None, *, enabled: bool = True,
          streak: int = 0) -> SourceView:  # fmt: skip
    return SourceView(
        id=source_id, name=source_id, type="html", enabled=enabled,
        url=f"http://127.0.0.1:9/{source_id}", effective_url=None, tls_verify=True, title=None,
        charset=None, last_attempt=100.0, last_success=100.0, last_status=200,
        last_result=result, last_error=error, error_streak=streak, failing=streak >= 10,
        next_fetch=None, fetches=3, failures=streak, average_seconds=None, items=4,
        items_last_day=4, reread_at=None,
    )  # fmt: skip


def test_status_lists_errors_marks_warnings_and_leaves_out_disabled_sources() -> None:
    views = [
        _view("down", "error", "http://127.0.0.1:9/down: HTTP 503 Service Unavailable", streak=12),
        _view("flaky", "error", "connection refused by 127.0.0.1:9", streak=1),
        _view("partial", "degraded", "article …/a-2.html: HTTP 404 Not Found"),
        _view("fine", "ok", None),
        _view(
            "off",
            "degraded",
            "article …/a-9.html: the page only says '抱歉': withdrawn?",
            enabled=False,
        ),
        _view("gone", "error", "HTTP 410 Gone", enabled=False, streak=20),
    ]
    text = status_table(views, 160.0, None)
    notes = text.split("\n\n", 1)[1].splitlines()
    assert notes == [
        "down: HTTP 503 Service Unavailable",
        "flaky: connection refused by 127.0.0.1:9",
        "partial: warning: article …/a-2.html: HTTP 404 Not Found",
        "1 of 6 sources failing",
    ]
    assert "disabled (degraded)" in text
    assert "disabled (FAILING (error))" in text
