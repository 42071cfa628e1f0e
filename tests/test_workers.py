"""`service.workers`: several real server processes on one port, as an operator runs them.

Which process answers a connection is the kernel's choice, so each check opens many fresh
connections; which processes listen is read from /proc (Linux, like SO_REUSEPORT itself).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import aiohttp
import feedparser
import pytest

from aggregator.config import Config, load_config
from aggregator.errors import ConfigError
from aggregator.web.cache import SETTLE_SECONDS
from aggregator.workers import Reloads, _reloaded
from tests.conftest import FIXTURES, free_port, run_cli_async
from tests.test_running import (
    TOKEN,
    Server,
    events,
    eventually,
    farm,
    no_server_left,  # noqa: F401 - autouse: a failed test leaves no server running
    start,
    stop,
    write_config,
)

CONNECTIONS = 24  # fresh connections per check: all reach one process with odds of 2**-23


@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    """Servers a test started: one left running by a failed assertion is killed (its workers
    then stop by themselves)."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


def listeners(port: int) -> set[int]:
    """Pids of the processes holding a listening TCP socket on 127.0.0.1:`port`."""
    inodes = set()
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                pids.add(int(pid))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return pids


async def answers(base: str, path: str) -> list[tuple[int, int]]:
    """(status, entries) from `CONNECTIONS` requests, each on a new connection."""
    results = []
    for _ in range(CONNECTIONS):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(base + path) as response,
        ):
            body = await response.read()
            results.append((response.status, len(feedparser.parse(body).entries)))
    return results


async def served_atom(base: str) -> set[int]:
    """The Atom documents served, as `/metrics` says on `CONNECTIONS` new connections."""
    totals = set()
    for _ in range(CONNECTIONS):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(base + "/metrics") as response,
        ):
            text = await response.text()
        found = re.search(r'^aggregator_feeds_served_total\{format="atom"\} (\d+)$', text, re.M)
        assert found is not None, text
        totals.add(int(found[1]))
    return totals


async def test_workers_share_the_port_follow_changes_and_stop_together(
    tmp_path: Path, servers: list[Server]
) -> None:
    port, admin_port = free_port(), free_port()
    extra = f"workers = 3\nadmin_port = {admin_port}\n"
    async with farm() as site, aiohttp.ClientSession() as http:
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, extra, "1h")
        server = await start(config, port)
        servers.append(server)
        main = server.process.pid
        assert await eventually(lambda: _count(port, 3)), "three processes should listen"

        # Data committed by the main process reaches every worker's cache within a second.
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        url = f"http://127.0.0.1:{admin_port}/api/sources/one/fetch"

        async def published(at_least: int) -> bool:
            served = site.served.get("one", 0)  # every item the farm has handed out so far
            answered = set(await answers(server.base, "/sources/one.atom"))
            return served >= at_least and answered == {(200, served)}

        for expected in (5, 10):  # the first fetch may also come from the schedule
            async with http.post(url, headers=bearer) as response:
                assert response.status == 202
            fresh = functools.partial(published, expected)
            assert await eventually(fresh), "a worker served a stale feed"

        # The admin API is not on the shared port: a POST there could reach any process.
        async with http.post(f"{server.base}/api/reload", headers=bearer) as response:
            assert response.status == 404

        # SIGHUP to the main process reloads the workers too.
        channel = '[[feeds]]\nid = "only-one"\nsources = ["one"]\n'
        config.write_text(config.read_text("utf-8") + channel, "utf-8")
        server.signal(signal.SIGHUP)

        async def channel_everywhere() -> bool:
            expected = {(200, site.served["one"])}
            return set(await answers(server.base, "/feeds/only-one.atom")) == expected

        assert await eventually(channel_everywhere), "a worker did not reload"

        # Whichever process answers /metrics counts the feeds that every process served.
        await asyncio.sleep(1.5)  # each process writes its counts once a second
        admin_base = f"http://127.0.0.1:{admin_port}"
        (before,) = await served_atom(admin_base)
        assert before >= CONNECTIONS
        await answers(server.base, "/feeds/only-one.atom")

        async def summed_everywhere() -> bool:
            return await served_atom(server.base) == {before + CONNECTIONS}

        assert await eventually(summed_everywhere), "a process counted its own feeds only"

        # A worker that dies is replaced.
        killed = min(listeners(port) - {main})
        os.kill(killed, signal.SIGKILL)
        assert await eventually(lambda: _replaced(port, killed)), "the dead worker stayed dead"

        code, stderr = await stop(server)
    assert code == 0, stderr
    assert not listeners(port), "a worker outlived the main process"
    assert len(events(stderr, "worker serving")) == 3  # two at start, one replacement
    # each process logs its reload; a worker's lines name it, the main process's do not
    reloaded = [event.get("worker") for event in events(stderr, "config reloaded")]
    assert sorted(reloaded, key=str) == [1, 2, None], stderr
    assert all(event["worker"] in (1, 2) for event in events(stderr, "worker serving"))
    died = events(stderr, "worker died, starting another")
    assert [event["exit_code"] for event in died] == [-signal.SIGKILL], stderr


async def test_workers_stop_when_the_main_process_is_killed(
    tmp_path: Path, servers: list[Server]
) -> None:
    port = free_port()
    async with farm() as site:
        _, server = await _two_processes(tmp_path, port, site.url("one"), servers)
        server.signal(signal.SIGKILL)
        await server.process.wait()

        async def gone() -> bool:
            return not listeners(port)

        assert await eventually(gone, within=5.0), "an orphaned worker kept serving"
        assert "main process gone, worker stopping" in await server.stderr()


async def _two_processes(
    tmp_path: Path, port: int, feed: str, servers: list[Server]
) -> tuple[Path, Server]:
    """A server with `workers = 2`, both processes listening."""
    config = write_config(tmp_path / "config.toml", port, {"one": feed}, "workers = 2\n", "1h")
    server = await start(config, port)
    servers.append(server)
    assert await eventually(lambda: _count(port, 2))
    return config, server


async def _count(port: int, expected: int) -> bool:
    await asyncio.sleep(0)
    return len(listeners(port)) == expected


async def _replaced(port: int, dead: int, count: int = 3) -> bool:
    await asyncio.sleep(0)
    pids = listeners(port)
    return len(pids) == count and dead not in pids


async def _lines_until(server: Server, text: str, count: int) -> str:
    """The server's log lines up to the `count`th that holds `text`."""
    assert server.process.stderr is not None
    lines: list[str] = []
    while sum(text in line for line in lines) < count:
        line = (await server.process.stderr.readline()).decode()
        if not line:
            break
        lines.append(line)
    return "".join(lines)


async def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly(
    tmp_path: Path, servers: list[Server]
) -> None:
    port = free_port()
    async with farm() as site:
        config, server = await _two_processes(tmp_path, port, site.url("one"), servers)
        config.write_text("[service\n", "utf-8")  # a new worker cannot load it and exits
        os.kill(min(listeners(port) - {server.process.pid}), signal.SIGKILL)
        # three deaths take 0 + 1 + 3 s of waiting and three starts: read until they are in,
        # however slowly a loaded machine starts each one
        logged = await asyncio.wait_for(_lines_until(server, "worker died", 3), timeout=60)
        code, rest = await stop(server)
        stderr = logged + rest
    assert code == 0, stderr
    died = events(stderr, "worker died, starting another")
    assert [event["exit_code"] for event in died][:3] == [-signal.SIGKILL, 2, 2]
    assert [event["restart_in"] for event in died][:3] == [0, 1, 3]


async def _last_modified(base: str, path: str) -> set[str]:
    """The `Last-Modified` headers of `path` on `CONNECTIONS` new connections."""
    dates = set()
    for _ in range(CONNECTIONS):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(base + path) as response,
        ):
            assert response.status == 200
            dates.add(response.headers["Last-Modified"])
    return dates


async def test_a_replaced_worker_dates_feeds_as_the_others_after_an_unchanged_save(
    tmp_path: Path, servers: list[Server]
) -> None:
    port = free_port()
    async with farm() as site:
        sources = {"one": site.url("one")}
        config = write_config(tmp_path / "config.toml", port, sources, "workers = 2\n", "1s")
        server = await start(config, port)
        servers.append(server)
        assert await eventually(lambda: _count(port, 2))

        async def fetched() -> bool:
            served = site.served.get("one", 0)
            if not served:
                return False
            site.per_fetch = 0  # fetched again and again from now on, the feed stays as it is
            return set(await answers(server.base, "/sources/one.atom")) == {
                (200, site.served["one"])
            }

        assert await eventually(fetched)
        await asyncio.sleep(SETTLE_SECONDS + 1)  # until its date is sent
        (dated,) = await _last_modified(server.base, "/sources/one.atom")
        config.write_text(config.read_text("utf-8") + "# a comment\n", "utf-8")
        server.signal(signal.SIGHUP)
        await asyncio.wait_for(_lines_until(server, "config reloaded", 2), timeout=30)
        killed = min(listeners(port) - {server.process.pid})
        os.kill(killed, signal.SIGKILL)
        assert await eventually(lambda: _replaced(port, killed, 2)), "the dead worker stayed dead"
        assert await _last_modified(server.base, "/sources/one.atom") == {dated}
        code, stderr = await stop(server)
    assert code == 0, stderr


async def _dated_answers(base: str, path: str) -> list[tuple[float, int, str | None]]:
    """(when answered, entries, `Last-Modified`) from `CONNECTIONS` new connections."""
    found = []
    for _ in range(CONNECTIONS):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(base + path) as response,
        ):
            entries = len(feedparser.parse(await response.read()).entries)
            found.append((time.time(), entries, response.headers.get("Last-Modified")))
    return found


async def test_processes_date_a_changed_feed_only_once_no_other_version_can_share_its_date(
    tmp_path: Path, servers: list[Server]
) -> None:
    """Two versions committed within one second, each rendered by another process, were given
    one date: a reader holding the first, asking by date only, got 304 for the second. A date
    is sent once its second is over and every process has seen its commits."""
    port, admin_port = free_port(), free_port()
    extra = f"workers = 2\nadmin_port = {admin_port}\n"
    path = "/sources/one.atom"
    async with farm() as site, aiohttp.ClientSession() as http:
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, extra, "1h")
        server = await start(config, port)
        servers.append(server)
        assert await eventually(lambda: _count(port, 2))
        fetch = f"http://127.0.0.1:{admin_port}/api/sources/one/fetch"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        early: list[str | None] = []
        for _ in range(3):  # a loaded machine may take the whole window to fetch
            asked = time.time()
            async with http.post(fetch, headers=bearer) as response:
                assert response.status == 202
            seen: list[tuple[float, int, str | None]] = []

            async def changed(seen: list[tuple[float, int, str | None]] = seen) -> bool:
                seen.extend(answers := await _dated_answers(server.base, path))
                return {entries for _, entries, _ in answers} == {site.served["one"]}

            assert await eventually(changed)
            window = int(asked) + SETTLE_SECONDS  # the earliest a date of this version is due
            early = [dated for when, n, dated in seen if n == site.served["one"] and when < window]
            if early:
                break
        assert early, "no answer of the changed feed came within its first seconds"
        assert early == [None] * len(early), "a version was dated while another could share it"

        async def dated_everywhere() -> set[str | None]:
            dates = {dated for _, _, dated in await _dated_answers(server.base, path)}
            return dates if None not in dates else set()

        dates = await eventually(dated_everywhere)  # its date is the change's, not the asking's
        assert len(dates) == 1
        (date,) = dates
        assert date is not None
        for since, status in (
            (date, 304),
            (format_datetime(parsedate_to_datetime(date) - timedelta(seconds=1), usegmt=True), 200),
        ):
            async with http.get(server.base + path, headers={"If-Modified-Since": since}) as answer:
                assert answer.status == status
        code, stderr = await stop(server)
    assert code == 0, stderr


async def _statuses_at_once(url: str) -> set[int]:
    """The statuses of `CONNECTIONS` requests sent together, each on a new connection."""
    connector = aiohttp.TCPConnector(force_close=True, limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def status() -> int:
            async with http.get(url) as response:
                return response.status

        return set(await asyncio.gather(*(status() for _ in range(CONNECTIONS))))


async def test_a_reload_is_answered_once_every_process_serves_by_the_new_config(
    tmp_path: Path, servers: list[Server]
) -> None:
    """Answered once the main process had reloaded, a channel removed was still served by a
    worker for a moment after `POST /api/reload` said it was done (a withdrawal too)."""
    port, admin_port = free_port(), free_port()
    extra = f"workers = 2\nadmin_port = {admin_port}\n"
    channel = '[[feeds]]\nid = "only-one"\nsources = ["one"]\n'
    async with farm() as site, aiohttp.ClientSession() as http:
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, extra, "1h")
        plain = config.read_text("utf-8")
        server = await start(config, port)
        servers.append(server)
        assert await eventually(lambda: _count(port, 2))
        reload = f"http://127.0.0.1:{admin_port}/api/reload"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for shown in (True, False) * 8:  # the older config was served for a few ms
            config.write_text(plain + channel if shown else plain, "utf-8")
            async with http.post(reload, headers=bearer) as response:
                assert response.status == 200
            statuses = await _statuses_at_once(server.base + "/feeds/only-one.atom")
            assert statuses == {200 if shown else 404}, "a worker served by the older config"
        code, stderr = await stop(server)
    assert code == 0, stderr


async def test_a_worker_that_could_not_reload_says_so_to_the_main_process() -> None:
    """Its reload refused (the file changed between the main process's read and its own), it
    serves the config it had: the main process logs it, where it took the reload as done."""
    context = multiprocessing.get_context("spawn")
    reloads = Reloads(
        context.Value("Q", 3, lock=False),
        context.Array("Q", 2, lock=False),
        context.Array("Q", 2, lock=False),
    )

    async def refused() -> Config:
        raise ConfigError(["not valid TOML"], path="config.toml")

    async def done() -> Config:
        return load_config(FIXTURES.parent.parent / "config.toml")

    for slot, reload in enumerate((refused, done)):
        task = asyncio.ensure_future(reload())
        await asyncio.wait([task])
        _reloaded(reloads, slot, 3, task)
    assert (list(reloads.made), list(reloads.refused)) == ([3, 3], [3, 0])


async def test_a_replaced_worker_serves_the_database_the_server_started_with(
    tmp_path: Path, servers: list[Server]
) -> None:
    """`database` and `workers` apply at the next start: a worker started again after they were
    edited made and served another, empty, database on the shared port."""
    port = free_port()
    async with farm() as site:
        config, server = await _two_processes(tmp_path, port, site.url("one"), servers)
        fetch = await run_cli_async("fetch", config)
        assert fetch[0] == 0, fetch[2]
        text = config.read_text("utf-8").replace("workers = 2", "workers = 1")
        config.write_text(text.replace(str(tmp_path / "agg.sqlite3"), "other.sqlite3"), "utf-8")
        server.signal(signal.SIGHUP)
        await asyncio.wait_for(_lines_until(server, "config reloaded", 2), timeout=30)
        killed = min(listeners(port) - {server.process.pid})
        os.kill(killed, signal.SIGKILL)
        assert await eventually(lambda: _replaced(port, killed, 2)), "the dead worker stayed dead"
        assert set(await answers(server.base, "/sources/one.atom")) == {(200, site.served["one"])}
        code, stderr = await stop(server)
    assert code == 0, stderr
    assert not (tmp_path / "other.sqlite3").exists()
