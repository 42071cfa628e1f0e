"""The three fetchers under test, each in its own process so its peak RSS is its own.

- ours: `aggregator fetch`'s machinery in-process (a config file, `running_service`,
  `Pipeline.run_many`) with the default fetch settings;
- reader: `make_reader(db).update_feeds(workers=16)`, every feed due (`scheduled=False`);
- naive: aiohttp + feedparser + aiosqlite, 16 at a time, ETag remembered, parsing on the loop.

A worker process sets its contender up (adding feeds is not timed), then runs one pass per
request on its pipe and answers with a `PassResult`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

WORKERS = 16  # reader's update_feeds(workers=16), and the naive loop's concurrency


@dataclass(frozen=True, slots=True)
class PassResult:
    seconds: float  # wall clock
    cpu_seconds: float  # all threads of the process and its parsing processes
    feeds: int
    failed: int
    new_items: int
    peak_rss_mb: float  # of the whole process so far
    store_mb: float  # the contender's database files on disk after the pass, WAL included

    @property
    def feeds_per_second(self) -> float:
        return self.feeds / self.seconds

    @property
    def items_per_second(self) -> float:
        return self.new_items / self.seconds


Pass = Callable[[], tuple[int, int]]  # runs one pass: (failed feeds, new items)


def _ours(urls: Sequence[str], workdir: Path) -> Pass:
    from aggregator import eventloop
    from aggregator.config import load_config
    from aggregator.operate import pool_for
    from aggregator.service import running_service

    path = workdir / "config.toml"
    sources = "".join(
        f'[[sources]]\nid = "f{n}"\nurl = "{url}"\ninterval = "1d"\n\n'
        for n, url in enumerate(urls)
    )
    path.write_text(
        '[service]\ndatabase = "ours.sqlite3"\ntimezone = "Asia/Shanghai"\n\n' + sources,
        encoding="utf-8",
    )
    config = load_config(path)

    async def run() -> tuple[int, int]:
        cpu = pool_for(len(config.sources))  # as `aggregator fetch` chooses
        async with running_service(config, schedule=False, cpu=cpu) as service:
            reports = await service.pipeline.run_many(config.sources, lambda report: None)
        return sum(r.failed for r in reports), sum(r.new for r in reports)

    return lambda: eventloop.run(run())  # as `aggregator fetch` runs it


def _reader(urls: Sequence[str], workdir: Path) -> Pass:
    from reader import make_reader

    reader = make_reader(str(workdir / "reader.sqlite3"))
    for url in urls:
        reader.add_feed(url, exist_ok=True)

    def run() -> tuple[int, int]:
        failed = new = 0
        for result in reader.update_feeds_iter(workers=WORKERS, scheduled=False):
            failed += result.error is not None
            new += result.updated_feed.new if result.updated_feed else 0
        return failed, new

    return run


def _naive(urls: Sequence[str], workdir: Path) -> Pass:
    import aiohttp
    import aiosqlite
    import feedparser

    etags: dict[str, str] = {}
    database = workdir / "naive.sqlite3"

    async def run() -> tuple[int, int]:
        slots = asyncio.Semaphore(WORKERS)
        async with aiohttp.ClientSession() as session, aiosqlite.connect(database) as db:
            await db.execute(
                "CREATE TABLE IF NOT EXISTS entries (feed TEXT, id TEXT, title TEXT, link TEXT,"
                " published TEXT, summary TEXT, content TEXT, PRIMARY KEY (feed, id))"
            )

            async def one(url: str) -> int:
                async with slots:
                    headers = {"If-None-Match": etags[url]} if url in etags else {}
                    async with session.get(url, headers=headers) as response:
                        if response.status == 304:
                            return 0
                        response.raise_for_status()
                        body = await response.read()
                    parsed = feedparser.parse(body)
                    rows = [
                        (url, e.get("id") or e.get("link"), e.get("title"), e.get("link"),
                         e.get("published"), e.get("summary"),
                         (e.get("content") or [{}])[0].get("value"))
                        for e in parsed.entries
                    ]  # fmt: skip
                    cursor = await db.executemany(
                        "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                    )
                    await db.commit()
                    etags[url] = response.headers.get("ETag", "")
                    return cursor.rowcount

            results = await asyncio.gather(*(one(url) for url in urls), return_exceptions=True)
        failed = sum(isinstance(r, BaseException) for r in results)
        return failed, sum(r for r in results if isinstance(r, int))

    return lambda: asyncio.run(run())


CONTENDERS: dict[str, Callable[[Sequence[str], Path], Pass]] = {
    "ours": _ours,
    "reader": _reader,
    "naive": _naive,
}


def _peak_rss_kb() -> int:
    """This process's own peak: ru_maxrss would start from the parent's RSS at fork time."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(status.split("VmHWM:")[1].split()[0])


def _cpu_seconds() -> float:
    """This process's threads and every process below it, alive or exited: our parsing
    processes are children of a fork server, which reaps them, so their time shows only in
    the server's own accounting until it exits."""
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    return own + sum(_tree_cpu_seconds(child) for child in _children(os.getpid()))


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _tree_cpu_seconds(pid: int) -> float:
    """A live process's own time, its reaped children's, and its live descendants'."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK") + sum(_tree_cpu_seconds(c) for c in _children(pid))


def worker(name: str, urls: Sequence[str], workdir: Path, pipe: Connection) -> None:
    """Process body: set up, then one pass per message until None arrives."""
    run = CONTENDERS[name](urls, workdir)
    pipe.send("ready")
    while pipe.recv() is not None:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        failed, new = run()
        rss_mb = _peak_rss_kb() / 1024
        pipe.send(
            PassResult(
                seconds=time.perf_counter() - wall,
                cpu_seconds=_cpu_seconds() - cpu,
                feeds=len(urls),
                failed=failed,
                new_items=new,
                peak_rss_mb=rss_mb,
                store_mb=sum(f.stat().st_size for f in workdir.glob("*.sqlite3*")) / 1e6,
            )
        )
