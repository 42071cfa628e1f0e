"""Shared fixtures: fixture files, temporary configs, and the real CLI in a subprocess."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aggregator import eventloop

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

WriteConfig = Callable[[str], Path]

# A proxy set for the machine would carry the suite's loopback requests away from the upstreams
# the tests serve; tests/test_proxy.py gives the commands a proxy of its own.
for _variable in ("http_proxy", "https_proxy", "no_proxy"):
    os.environ.pop(_variable, None)
    os.environ.pop(_variable.upper(), None)


def _ephemeral_from() -> int:
    """The first port the kernel hands out for port 0 and outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


# Ports for the servers the tests start come from below the ephemeral range: one found by
# binding port 0 was itself ephemeral, so until the server bound it, any connection the suite
# opened (a /healthz poll, an upstream site on port 0) could take it and the server not start.
def _ports_of_this_process() -> tuple[int, int]:
    """This test process's share of the ports below the ephemeral range: under pytest-xdist
    each worker draws from its own slice, so two never pick one port at the same moment."""
    first, end = 20000, _ephemeral_from()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = (end - first) // max(count, 1)
    start = first + int(worker or 0) * share
    return start, start + share


_PORTS_FROM, _PORTS_TO = _ports_of_this_process()
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing is bound to, that no earlier call returned."""
    while _PORTS_TO - _PORTS_FROM > 500:
        port = random.randrange(_PORTS_FROM, _PORTS_TO)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # no room below the ephemeral range: as the kernel chooses
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command(command: str, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator.cli", command, "-c", str(config), *args]


def run_cli(
    command: str, config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `aggregator` exactly as a user does: a separate process with its own config file."""
    return subprocess.run(
        cli_command(command, config, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=config.parent,
        check=False,
    )


async def run_cli_async(
    command: str, config: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """`run_cli` for a test whose own loop serves the upstreams the command fetches: the
    subprocess is awaited, not waited for. Returns the exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *cli_command(command, config, *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=config.parent,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """The tests in this process run on the loop the commands run on (uvloop where installed)."""
    factory = eventloop.loop_factory()
    return {"uvloop": factory} if factory is not None else {"asyncio": asyncio.new_event_loop}


# What a module must mention to run an event loop, in the test process or in a command it
# starts; one that mentions none is the same on every loop.
_LOOP_WORDS = ("async def", "asyncio", "run_cli", "subprocess", "aiohttp", "eventloop")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `loopless` the tests of modules that never run an event loop: CI runs the rest
    again on asyncio's own loop (`-m "not loopless"`), and these would only repeat."""
    verdicts: dict[Path, bool] = {}
    for item in items:
        path = item.path
        if path not in verdicts:
            text = path.read_text(encoding="utf-8")
            verdicts[path] = not any(word in text for word in _LOOP_WORDS)
        if verdicts[path]:
            item.add_marker(pytest.mark.loopless)
