"""The CPU pool: work runs in other processes, errors come back whole, a crash is survived."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest

from aggregator.config import config_from_mapping
from aggregator.cpu import WORKER_NICENESS, CpuPool, WorkerCrashed
from aggregator.errors import (
    AlreadyServing,
    BodyTooLarge,
    CannotListen,
    ConfigError,
    FetchError,
    Refused,
    RetryLater,
    UnknownSource,
)
from aggregator.records import parse_and_build
from feeds.errors import AggregatorError, NotAFeed, ParseError, SelectorErrors
from feeds.parse import parse_feed
from storage import StorageError
from tests.conftest import ROOT


@pytest.fixture
async def pool() -> AsyncIterator[CpuPool]:
    cpu = CpuPool(1)
    yield cpu
    await cpu.close()


def _refuse(url: str) -> None:
    raise NotAFeed("an HTML page, not a feed", url=url, alternates=("http://example.org/feed",))


def _die(code: int = 3) -> None:
    os._exit(code)


async def test_work_runs_in_another_process_and_returns_records(pool: CpuPool) -> None:
    assert await pool.run(os.getpid) != os.getpid()
    body = (ROOT / "examples" / "hzfb.xml").read_bytes()
    feed = await pool.run(parse_feed, body, url="http://example.org/hzfb.xml")
    assert feed == parse_feed(body, url="http://example.org/hzfb.xml")


def _resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def test_a_worker_gives_back_the_memory_a_huge_document_took(pool: CpuPool) -> None:
    """40,000 tiny entries within 4 MB: the parse peaks at about 140 MB, and without handing
    the freed heap back the worker went on holding about 45 MB more than before it."""
    items = "".join(
        f"<item><title>t{n}</title><link>http://e.example/{n}</link><description>d{n}"
        "</description></item>"
        for n in range(40_000)
    )
    body = f'<rss version="2.0"><channel><title>huge</title>{items}</channel></rss>'.encode()
    await pool.run(parse_feed, (ROOT / "examples" / "hzfb.xml").read_bytes(), url="http://e/")
    before = await pool.run(_resident_mb)
    feed = await pool.run(parse_feed, body, url="http://e.example/f.xml", max_entries=10)
    assert len(feed.items) == 10
    assert await pool.run(_resident_mb) - before < 20


async def test_workers_yield_the_cpu_to_the_loop_and_the_writer(pool: CpuPool) -> None:
    ours = os.nice(0)
    assert await pool.run(os.nice, 0) == min(ours + WORKER_NICENESS, 19)  # 19: the lowest
    assert os.nice(0) == ours, "only the workers yield"


async def test_a_feed_and_its_records_come_back_from_one_call(pool: CpuPool) -> None:
    """What the pipeline sends a worker for a feed: the records equal those built here, and
    a broken body fails the call with the parser's own error."""
    config = config_from_mapping(
        {"sources": [{"id": "hzfb", "url": "http://example.org/hzfb.xml"}]},
        path=ROOT / "config.toml",
    )
    source = config.sources[0]
    body = (ROOT / "examples" / "hzfb.xml").read_bytes()
    build = functools.partial(
        parse_and_build, url=source.url, header_charset=None, encoding=None, default_tz=UTC
    )
    feed, records = await pool.run(build, body, source, config.stories, {})
    assert (feed, records) == build(body, source, config.stories, {})
    assert records
    assert not feed.items, "the items travel as records only"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>'
    )
    with pytest.raises(ParseError, match="declares XML entities"):
        await pool.run(build, bomb, source, config.stories, {})


async def test_errors_come_back_with_their_type_and_details(pool: CpuPool) -> None:
    with pytest.raises(NotAFeed) as raised:
        await pool.run(_refuse, "http://example.org/page")
    assert raised.value.url == "http://example.org/page"
    assert raised.value.alternates == ("http://example.org/feed",)


async def test_a_dead_worker_fails_its_call_only(pool: CpuPool) -> None:
    with pytest.raises(WorkerCrashed, match="worker process died while running _die"):
        await pool.run(_die)
    assert await pool.run(sum, [1, 2, 3]) == 6  # new workers answer the next calls
    with pytest.raises(WorkerCrashed, match=r"while running functools\.partial\(.*_die"):
        await pool.run(functools.partial(_die, 4))


async def test_no_processes_means_a_thread() -> None:
    assert await CpuPool(0).run(os.getpid) == os.getpid()


async def test_workers_exit_when_their_parent_is_killed() -> None:
    """A parent killed outright leaves no process behind (nor its stderr held open): neither
    the workers nor the fork server they came from."""
    script = (
        "import asyncio, os, sys\n"
        "from aggregator.cpu import CpuPool\n"
        "async def main():\n"
        "    pool = CpuPool(2)\n"
        "    pids = {await pool.run(os.getpid) for _ in range(8)}\n"
        "    pids |= {await pool.run(os.getppid) for _ in range(8)} - {os.getpid()}\n"
        "    print(*pids, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
    finally:
        process.kill()
        await process.wait()
    workers = [int(pid) for pid in line.split()]
    assert len(workers) >= 2, "a worker and the server it forked from"
    for _ in range(50):
        if not any(_alive(pid) for pid in workers):
            break
        await asyncio.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a worker outlived its parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


SERVER_MODULES = ("aiohttp", "apscheduler", "feedgen", "trafilatura")


async def _python(code: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    return out.decode().strip()


async def test_workers_start_with_the_parsers_not_the_server() -> None:
    """The fork server imports what parsing needs; importing the server's modules too (the web
    app, aiohttp, the scheduler) doubled the time to a pool's first answer."""
    loaded = f"sorted(__import__('sys').modules.keys() & {set(SERVER_MODULES)!r})"
    parsers = "'aggregator.records' in __import__('sys').modules"
    script = (
        "import asyncio, aggregator.service, aggregator.web.app\n"
        "from aggregator.cpu import CpuPool\n"
        "async def main():\n"
        "    pool = CpuPool(1)\n"
        f"    print(await pool.run(eval, {loaded!r}), await pool.run(eval, {parsers!r}))\n"
        "    await pool.close()\n"
        "asyncio.run(main())\n"
    )
    assert await _python(script) == "[] True"


async def test_the_loop_keeps_answering_while_a_pool_starts() -> None:
    """The fork server imports the parsers before its first worker answers. Started on the
    loop's thread, that held the loop for the whole wait (0.19 s here), and every reader of a
    server waited behind the first feed it parsed."""
    script = (
        "import asyncio, os, time\n"
        "from aggregator.cpu import CpuPool\n"
        "async def main():\n"
        "    gaps = [0.0]\n"
        "    async def tick():\n"
        "        while True:\n"
        "            before = time.monotonic()\n"
        "            await asyncio.sleep(0.005)\n"
        "            gaps.append(time.monotonic() - before - 0.005)\n"
        "    ticker = asyncio.ensure_future(tick())\n"
        "    await asyncio.sleep(0.05)\n"
        "    pool = CpuPool(1)\n"
        "    started = time.monotonic()\n"
        "    await pool.run(os.getpid)\n"
        "    waited = time.monotonic() - started\n"
        "    ticker.cancel()\n"
        "    await pool.close()\n"
        "    print(max(gaps) < waited / 2, round(max(gaps), 3), round(waited, 3))\n"
        "asyncio.run(main())\n"
    )
    assert (await _python(script)).startswith("True ")


async def test_a_pool_that_could_not_start_starts_at_the_next_call() -> None:
    """A start that fails (here the fork server's interpreter is missing, as after an upgrade
    removed it) fails the calls waiting for it, and the next call starts the pool afresh."""
    script = (
        "import asyncio, multiprocessing, os, sys\n"
        "from aggregator.cpu import CpuPool\n"
        "async def main():\n"
        "    pool = CpuPool(1)\n"
        "    multiprocessing.set_executable('/nonexistent/python3')\n"
        "    try:\n"
        "        await pool.run(os.getpid)\n"
        "    except Exception:  # OSError here; which one depends on where the start broke\n"
        "        print('failed', pool.started, end=' ')\n"
        "    multiprocessing.set_executable(sys.executable)\n"
        "    print(await pool.run(os.getpid) != os.getpid(), pool.started)\n"
        "    await pool.close()\n"
        "asyncio.run(main())\n"
    )
    assert await _python(script) == "failed False True True"


async def test_every_worker_forks_while_the_pool_starts() -> None:
    """The executor forks a worker at a call that finds none idle: the second worker used to
    fork at the second call, the loop's thread waiting on the fork server (about 2 ms)."""
    script = (
        "import asyncio, os\n"
        "from aggregator.cpu import CpuPool\n"
        "def children(pid):\n"
        "    found = []\n"
        "    for task in os.listdir(f'/proc/{pid}/task'):\n"
        "        with open(f'/proc/{pid}/task/{task}/children') as listed:\n"
        "            found += [int(child) for child in listed.read().split()]\n"
        "    return found\n"
        "async def main():\n"
        "    pool = CpuPool(2)\n"
        "    await pool.start()\n"
        "    print(sum(len(children(child)) for child in children(os.getpid())))\n"
        "    await pool.close()\n"
        "asyncio.run(main())\n"
    )
    assert await _python(script) == "2"


async def test_the_command_line_imports_a_command_s_modules_when_it_runs() -> None:
    """Each worker imports the main script again; `--help` and `check` start in a tenth of
    the time."""
    code = f"import sys, aggregator.cli; print(sorted(sys.modules.keys() & {set(SERVER_MODULES)}))"
    assert await _python(code) == "[]"


def _raise(error: BaseException) -> None:
    raise error


async def test_every_error_of_ours_crosses_from_a_worker_whole(pool: CpuPool) -> None:
    """Pickling rebuilds an exception by calling its class with its message: the keyword
    arguments of ours were missing there, and the pool broke (a `ConfigError` came back as
    a dead worker)."""
    errors: list[AggregatorError] = [
        ConfigError(["fetch.timeout: expected a duration"], path="config.toml"),
        FetchError("gone", url="http://example.org/a", status=410),
        RetryLater("busy", url="http://example.org/a", status=503, retry_after=30.0),
        BodyTooLarge("over 10 MB", url="http://example.org/a"),
        Refused("a private address", url="http://10.0.0.1/"),
        ParseError("not XML", url="http://example.org/a"),
        NotAFeed("an HTML page", url="http://example.org/", alternates=("http://example.org/f",)),
        SelectorErrors(("list.item: needs a CSS selector", "list.link: needs one too")),
        StorageError("db: cannot open database"),
        UnknownSource("no source 'x'"),
        AlreadyServing("pid 12 serves db"),
        CannotListen("cannot listen on 127.0.0.1:80"),
        WorkerCrashed("worker process died"),
    ]
    for error in errors:
        with pytest.raises(type(error)) as raised:
            await pool.run(_raise, error)
        assert type(raised.value) is type(error)
        assert str(raised.value) == str(error)
        assert vars(raised.value) == vars(error), type(error).__name__
    assert await pool.run(sum, [1, 2]) == 3, "the workers that raised them still answer"


async def test_closing_stops_a_call_that_runs_on(pool: CpuPool) -> None:
    """A parser held by hostile input for minutes must not hold the service's stop: the
    call is given `CLOSE_GRACE` seconds, then its process is killed."""
    worker = await pool.run(os.getpid)  # the pool's one process
    running = asyncio.ensure_future(pool.run(time.sleep, 600))
    await asyncio.sleep(0.5)  # the call has reached it
    await asyncio.wait_for(pool.close(), 30)
    assert not _alive(worker)
    with pytest.raises((WorkerCrashed, asyncio.CancelledError)):
        await asyncio.wait_for(running, 30)


async def test_a_call_running_past_its_limit_fails_and_the_pool_goes_on() -> None:
    """A parser whose cost grows faster than its input must not hold a process for good."""
    cpu = CpuPool(1, call_limit=1.0)
    try:
        worker = await cpu.run(os.getpid)
        with pytest.raises(WorkerCrashed, match="sleep ran longer than 1s, and was stopped"):
            await asyncio.wait_for(cpu.run(time.sleep, 600), 30)
        assert not _alive(worker)
        assert await cpu.run(sum, [1, 2, 3]) == 6, "new processes answer the next calls"
    finally:
        await cpu.close()


async def test_a_service_that_cannot_open_its_store_closes_its_processes(tmp_path: Path) -> None:
    """`serve` starts its parsing processes before it opens the store: refused (a file that
    is no database) or stopped during an upgrade, nothing closed them."""
    from aggregator.service import running_service

    cpu = CpuPool(1)
    worker = await cpu.run(os.getpid)
    database = tmp_path / "db.sqlite3"
    database.write_bytes(b"not a database, " * 256)
    config = config_from_mapping(
        {"service": {"database": str(database)}, "sources": [{"id": "s", "url": "a.xml"}]},
        path=tmp_path / "config.toml",
    )
    with pytest.raises(StorageError):
        async with running_service(config, schedule=False, cpu=cpu):
            pass
    assert not _alive(worker)
