"""`aggregator serve` run for real, in a subprocess: live reload by SIGHUP and the API, a
separate admin listener, backups while serving, SIGKILL at random moments, SIGTERM mid-fetch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import pytest
from aiohttp import web

from storage import Database
from tests.conftest import cli_command, free_port
from tests.test_storage import ok, record
from tests.upstream import local_site

TOKEN = "test-token"


@dataclass
class Farm:
    """A local upstream whose feeds grow by `per_fetch` items on every request."""

    base: str = ""
    per_fetch: int = 5
    served: dict[str, int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.xml"


def _feed(name: str, count: int) -> bytes:
    """The newest 200 of `count` items, as a real feed slides."""
    body = "汉中新闻正文。" * 40
    items = "".join(
        f"<item><title>{name} {n}</title><link>http://example.org/{name}/{n}</link>"
        f"<guid>{name}-{n}</guid><description>{name} {n} {body}</description></item>"
        for n in range(max(0, count - 200), count)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}'
        f"</title><link>http://example.org/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


@asynccontextmanager
async def farm() -> AsyncIterator[Farm]:
    site = Farm()

    async def feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        site.requests.append(name)
        if name.startswith("slow"):
            await asyncio.wait_for(site.release.wait(), 60)
        count = site.served[name] = site.served.get(name, 0) + site.per_fetch
        return web.Response(body=_feed(name, count), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{name}.xml", feed)
    async with local_site(app, shutdown_timeout=0.2) as origin:
        site.base = origin
        try:
            yield site
        finally:
            site.release.set()


def write_config(
    path: Path, port: int, sources: dict[str, str], extra: str = "", interval: str = "1s"
) -> Path:
    blocks = "".join(
        f'[[sources]]\nid = "{source_id}"\nurl = "{url}"\ninterval = "{interval}"\n'
        for source_id, url in sources.items()
    )
    path.write_text(
        f'[service]\nport = {port}\nbase_url = "http://127.0.0.1:{port}"\n'
        f'database = "{path.parent / "agg.sqlite3"}"\n{extra}\n'
        f'[fetch]\ntimeout = "30s"\nretention = "3650d"\n\n{blocks}',
        encoding="utf-8",
    )
    return path


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base: str

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()


# Servers started by the running test: one its assertion left running kept uvloop from closing
# the test's loop, and the whole run hung there.
_STARTED: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def no_server_left() -> AsyncIterator[None]:
    """Kill what a failed test left running, in the test's own loop, before it closes."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if _leads(process):  # its parsing processes with it
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.kill()
            await process.communicate()


def _leads(process: asyncio.subprocess.Process) -> bool:
    try:
        return os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        return False


async def start(
    config: Path, port: int, env: dict[str, str] | None = None, *, group: bool = False
) -> Server:
    """`group`: the server leads a process group of its own, as under a service manager."""
    process = await asyncio.create_subprocess_exec(
        *cli_command("serve", config),
        start_new_session=group,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=config.parent,
        env={**os.environ, "AGGREGATOR_ADMIN_TOKEN": TOKEN, **(env or {})},
    )
    _STARTED.append(process)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return Server(process, base)
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.03)
    with contextlib.suppress(ProcessLookupError):  # it may have exited, with its reason
        process.kill()
    raise AssertionError("server did not start: " + (await process.communicate())[1].decode())


async def stop(server: Server, *, within: float = 10.0) -> tuple[int, str]:
    server.signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(server.process.communicate(), timeout=within)
    return server.process.returncode or 0, err.decode()


async def eventually(check: Any, within: float = 20.0) -> Any:
    """Poll an async check until it returns something truthy; the bound is generous, since a
    check that holds returns at once, and a loaded machine is slow to get there."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


def events(stderr: str, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == name]


def database_items(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT source_id, count(*) FROM items GROUP BY source_id")
        return dict(rows.fetchall())


async def test_live_reload_admin_listener_and_backup(tmp_path: Path) -> None:
    port, admin_port = free_port(), free_port()
    async with farm() as site, aiohttp.ClientSession() as http:
        admin = f'admin_port = {admin_port}\nadmin_host = "127.0.0.1"\n'
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, admin)
        server = await start(config, port)
        admin_base = f"http://127.0.0.1:{admin_port}"
        bearer = {"Authorization": f"Bearer {TOKEN}"}

        async def entries(source_id: str) -> int:
            async with http.get(f"{server.base}/sources/{source_id}.atom") as response:
                if response.status != 200:
                    return 0
                return len(feedparser.parse(await response.read()).entries)

        assert await eventually(lambda: entries("one"))

        # SIGHUP: an added source is fetched and published without a restart
        write_config(config, port, {"one": site.url("one"), "two": site.url("two")}, admin)
        server.signal(signal.SIGHUP)
        assert await eventually(lambda: entries("two")), "the added source never appeared"

        # a broken edit is refused, by SIGHUP and by the API, and serving goes on
        good = config.read_text("utf-8")
        config.write_text(good + '[[sources]]\nid = "Three"\ninterval = "often"\n', "utf-8")
        server.signal(signal.SIGHUP)
        async with http.post(f"{admin_base}/api/reload", headers=bearer) as response:
            assert response.status == 422
            errors = (await response.json())["errors"]
        assert errors == [
            "sources[2].id: 'Three' must match [a-z0-9_-]+",
            'sources[2].url: is required (source "Three")',
            'sources[2].interval: not a duration like "30s", "15m", "2h", "1d": \'often\''
            ' (source "Three")',
        ]
        assert await entries("two")

        # the admin API lives on its own listener only
        async with http.post(f"{server.base}/api/reload", headers=bearer) as response:
            assert response.status == 404
        async with http.post(f"{admin_base}/api/sources/one/fetch", headers=bearer) as response:
            assert response.status == 202
        async with http.post(f"{admin_base}/api/reload") as response:
            assert response.status == 401
        async with http.get(f"{admin_base}/metrics") as response:
            assert 'aggregator_items{source="two"}' in await response.text()

        # a removed source is unpublished and no longer fetched, its items kept
        write_config(config, port, {"two": site.url("two")}, admin)
        async with http.post(f"{admin_base}/api/reload", headers=bearer) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{server.base}/sources/one.atom") as response:
            assert response.status == 404
        fetched_before = site.requests.count("one")
        await asyncio.sleep(1.5)
        assert site.requests.count("one") <= fetched_before + 1, "an in-flight fetch may finish"

        # a backup while serving is a whole, consistent database
        backup = tmp_path / "backup.sqlite3"
        process = await asyncio.create_subprocess_exec(
            *cli_command("backup", config, str(backup)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "backed up" in out.decode()
        copied = database_items(backup)
        assert copied["one"] > 0
        assert copied["two"] > 0

        code, stderr = await stop(server)
    assert code == 0, stderr
    refused = events(stderr, "config reload refused, the running config stays")
    assert refused, stderr
    assert 'sources[2].url: is required (source "Three")' in refused[0]["errors"]
    reloaded = events(stderr, "config reloaded")
    assert reloaded[0]["added"] == ["two"]
    # every source here is fetched each second: said at start and after each reload
    warned = [line["warning"] for line in events(stderr, "config warning")]
    assert "sources[0].interval: 1s is under a minute" in warned[0]
    assert reloaded[-1]["removed"] == ["one"]
    stored = database_items(tmp_path / "agg.sqlite3")
    assert stored["one"] >= copied["one"], "a removed source's items stay"


async def test_sigkill_at_random_moments_loses_nothing_committed(tmp_path: Path) -> None:
    rng = random.Random(20260114)
    port = free_port()
    async with farm() as site:
        site.per_fetch = 40
        names = ["alpha", "beta", "gamma", "delta"]
        sources = {n: site.url(n) for n in names}
        config = write_config(tmp_path / "config.toml", port, sources, interval="200ms")
        committed = dict.fromkeys(names, 0)
        database = tmp_path / "agg.sqlite3"
        for _ in range(8):
            server = await start(config, port)  # after a crash: no manual step
            before = sum(database_items(database).values())

            async def storing(since: int = before) -> bool:
                return sum(database_items(database).values()) > since

            # Timed from the first commit, not from the start: on a busy machine the first
            # fetch can end later than any fixed delay, and the kills would miss every fetch.
            assert await eventually(storing, within=30), "the server stored nothing"
            await asyncio.sleep(rng.uniform(0.0, 0.8))
            server.signal(signal.SIGKILL)
            stderr = await server.stderr()
            await server.process.wait()
            for line in events(stderr, "fetched"):
                committed[line["source"]] += line["new"]
            stored = database_items(database)  # integrity_check = ok
            for name in names:
                assert stored.get(name, 0) >= committed[name], (name, stored, committed)
    fetches = sum(site.served.values()) // site.per_fetch
    assert sum(committed.values()) > 0, "the kills must land while fetching"
    # A busy server, fetching again and again, so that kills land mid-fetch: more fetches
    # than rounds (about 30 on an idle machine, 18 beside two processes burning the CPU).
    assert fetches > 8, "a busy server: fetching all the time, so kills land mid-fetch"


async def test_sigterm_stops_within_bounds_with_a_fetch_in_flight(tmp_path: Path) -> None:
    port = free_port()
    async with farm() as site:
        sources = {"fast": site.url("fast"), "slow": site.url("slow")}
        config = write_config(tmp_path / "config.toml", port, sources)
        server = await start(config, port)

        async def fast_stored_slow_in_flight() -> bool:
            return "slow" in site.requests and "fast" in database_items(
                config.parent / "agg.sqlite3"
            )

        assert await eventually(fast_stored_slow_in_flight)
        started = time.monotonic()
        code, stderr = await stop(server, within=12)
        seconds = time.monotonic() - started
    assert code == 0, stderr
    assert seconds < 10, f"took {seconds:.1f}s to stop"
    assert events(stderr, "fetches cancelled at shutdown")
    assert events(stderr, "stopped")
    logged = [json.loads(line) for line in stderr.splitlines()]
    assert not [line for line in logged if line["level"] == "error"], stderr
    stored = database_items(tmp_path / "agg.sqlite3")
    assert stored.get("fast", 0) > 0
    assert "slow" not in stored


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_stop_signals_are_graceful(tmp_path: Path, signum: int) -> None:
    port = free_port()
    async with farm() as site:
        config = write_config(tmp_path / "config.toml", port, {"a": site.url("a")})
        server = await start(config, port)
        server.signal(signum)
        _, err = await asyncio.wait_for(server.process.communicate(), 10)
    assert server.process.returncode == 0, err.decode()


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_serve_runs_on_the_chosen_event_loop(tmp_path: Path, choice: str, loop: str) -> None:
    port = free_port()
    async with farm() as site:
        config = write_config(tmp_path / "config.toml", port, {"a": site.url("a")})
        server = await start(config, port, {"AGGREGATOR_EVENT_LOOP": choice})
        async with aiohttp.ClientSession() as http:

            async def stored() -> bool:
                async with http.get(f"{server.base}/sources/a.atom") as response:
                    return response.status == 200 and b"<entry>" in await response.read()

            assert await eventually(stored)
        code, stderr = await stop(server)
    assert code == 0, stderr
    assert events(stderr, "serving")[0]["event_loop"] == loop


async def test_a_second_server_on_the_same_database_is_refused(tmp_path: Path) -> None:
    """It would fetch every source again; `fetch` beside a server stays allowed."""
    port, other_port = free_port(), free_port()
    async with farm() as site:
        sources = {"a": site.url("a")}
        config = write_config(tmp_path / "config.toml", port, sources, interval="1h")
        other = write_config(tmp_path / "other.toml", other_port, sources, interval="1h")
        first = await start(config, port)

        second = await asyncio.create_subprocess_exec(
            *cli_command("serve", other),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        try:
            _, err = await asyncio.wait_for(second.communicate(), timeout=20)
        finally:
            if second.returncode is None:  # not refused: stop it before failing
                second.kill()
        assert second.returncode == 1, err.decode()
        database = tmp_path / "agg.sqlite3"
        assert f"{database} is already served by another `aggregator serve` (pid " in err.decode()
        assert str(first.process.pid) in err.decode()

        fetched = await asyncio.create_subprocess_exec(
            *cli_command("fetch", other),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        _, err = await asyncio.wait_for(fetched.communicate(), timeout=30)
        assert fetched.returncode == 0, err.decode()

        first.signal(signal.SIGKILL)  # the kernel releases the lock with the process
        await first.process.wait()
        replacement = await start(other, other_port)
        code, stderr = await stop(replacement)
    assert code == 0, stderr


async def test_a_server_whose_database_file_is_replaced_stops(tmp_path: Path) -> None:
    """A file moved over the database while serving (a restore done by hand): the server's
    writes go to the old file, lost at its stop, and a second server could start on the new
    one beside it (with `workers`, on the same port). It stops, and says why."""
    async with farm() as site:
        port = free_port()
        config = write_config(tmp_path / "config.toml", port, {"a": site.url("a")},
                              extra="workers = 2")  # fmt: skip
        server = await start(config, port)
        database = tmp_path / "agg.sqlite3"
        with sqlite3.connect(database) as live, sqlite3.connect(tmp_path / "copy") as copy:
            live.backup(copy)
        os.replace(tmp_path / "copy", database)
        _, said = await asyncio.wait_for(server.process.communicate(), timeout=20)
    err = said.decode()
    assert server.process.returncode == 1, err
    assert f"serve: stopped: {database} is another file now" in err
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_a_hangup_sent_to_the_whole_group_reloads_and_kills_nothing(tmp_path: Path) -> None:
    """`systemctl kill -s HUP` (or a terminal's hangup) signals every process of the group:
    the parsing processes, the fork server and the resource tracker died of it, each reload
    logged errors and tracebacks, and a document being parsed failed."""
    async with farm() as site:
        port = free_port()
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")})
        server = await start(config, port, group=True)
        database = tmp_path / "agg.sqlite3"
        assert await eventually(lambda: _stored(database, 1)), "parsed in a parsing process"
        for _ in range(2):
            os.killpg(server.process.pid, signal.SIGHUP)
            await asyncio.sleep(1)
        count = database_items(database).get("one", 0)
        assert await eventually(lambda: _stored(database, count + 1)), "and parsing goes on"
        code, err = await stop(server)
    assert code == 0, err
    assert len(events(err, "config reloaded")) == 2
    assert not events(err, "a worker process died; starting new ones")
    assert "Traceback" not in err, err
    assert "resource_tracker" not in err, err


async def test_a_hangup_to_the_group_reloads_each_http_worker_once(tmp_path: Path) -> None:
    """A worker process of `service.workers` reloaded at the group's SIGHUP, and again when
    the main process, reloaded, told it to."""
    async with farm() as site:
        port = free_port()
        sources = {"one": site.url("one")}
        config = write_config(tmp_path / "config.toml", port, sources, extra="workers = 2")
        server = await start(config, port, group=True)
        await asyncio.sleep(1)
        for _ in range(2):
            os.killpg(server.process.pid, signal.SIGHUP)
            await asyncio.sleep(1.5)
        code, err = await stop(server)
    assert code == 0, err
    reloaded = events(err, "config reloaded")
    assert len([line for line in reloaded if line.get("worker") is None]) == 2, err
    assert len([line for line in reloaded if line.get("worker") == 1]) == 2, err
    assert not events(err, "worker died, starting another")
    assert "Traceback" not in err, err


async def _stored(database: Path, at_least: int) -> bool:
    if not await asyncio.to_thread(database.exists):
        return False
    return database_items(database).get("one", 0) >= at_least


async def test_a_stop_during_a_long_upgrade_ends_it_at_once(tmp_path: Path) -> None:
    """Re-indexing a large store at an upgrade took 110 s, during which `serve` did not act on
    SIGTERM (a service manager then kills it). It now stops at once, the upgrade rolled back
    whole, so the next start does it again."""
    database = tmp_path / "agg.sqlite3"
    store = await Database.open(database)
    await store.register_sources([("one", "http://127.0.0.1:9/one.xml")])
    await store.store_fetch("one", ok(), [record(1, content="汉中市召开常务会议。" * 900)])
    await store.close()
    with sqlite3.connect(database) as conn:  # many long items, indexed by an older release
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
            "INSERT INTO items (source_id, key, entry_id, title, content, summary, sort_ts, "
            "first_seen, last_changed, content_hash) SELECT source_id, key || i, entry_id || i, "
            "title, content || i, summary, sort_ts, first_seen, last_changed, content_hash "
            "FROM items, n"
        )
        conn.execute("UPDATE search_tokens SET made_by = 'older rules'")
    port = free_port()
    config = write_config(tmp_path / "config.toml", port, {"one": "http://127.0.0.1:9/one.xml"})
    process = await asyncio.create_subprocess_exec(
        *cli_command("serve", config), stderr=asyncio.subprocess.PIPE, cwd=tmp_path
    )
    assert process.stderr is not None
    seen: list[str] = []
    while not any('"rebuilding the search index"' in line for line in seen):
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        assert line, "".join(seen)
        seen.append(line)
    process.send_signal(signal.SIGTERM)
    rest = (await asyncio.wait_for(process.communicate(), 10))[1].decode()
    stderr = "".join(seen) + rest
    assert process.returncode == 0, stderr
    assert events(stderr, "stopped while starting"), stderr
    assert not events(stderr, "search index rebuilt"), stderr
    assert "Traceback" not in stderr, stderr
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT made_by FROM search_tokens").fetchall() == [("older rules",)]
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (4001,)
