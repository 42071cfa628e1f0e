"""Serving a 50-entry merged feed: `aggregator serve` beside nginx serving the same bytes, and
beside aiohttp alone (bench/bare.py), the ceiling of any aiohttp server here.

wrk drives both at 64 connections: the cached document, a 304 answer to If-None-Match, and
(ours only) a cold render, where every request is a new URL (a `before` cursor past every item)
so each one queries the database and renders, and 400 per-source feeds read in turn while another
process commits fetch outcomes into the store (none of which changes what they show), and the
cached document while the server itself fetches, every 1.5 s, a feed of 1,000 entries all new
(parsed in its worker processes, stored by its writer, and changing the merged feed each time),
and the cached document while one client pages back through the archive 500 entries at a time.
wrk shares the two cores with the server.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from bench.farm import render

PATH = "/feeds/all.atom"
# Each request a new URL: (sort_ts, id) cursors beyond every stored item, distinct per thread.
_COLD_SCRIPT = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, "PATH?limit=50&before=9999999999.0_" .. (tid * 100000000 + n))
end
""".replace("PATH", PATH)
# Readers polling many per-source feeds while fetches commit beside the server: each request
# one of `_PER_SOURCE` documents, all of which fit in the server's cache.
_PER_SOURCE = 400
_PER_SOURCE_SCRIPT = """
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, "/sources/f" .. (n % COUNT) .. ".atom")
end
""".replace("COUNT", str(_PER_SOURCE))
_COMMITS_PER_SECOND = 20  # a 304 each: 2,000 sources fetched every 100 s
# A big feed fetched by the server while it serves: a new version of all its entries each time.
_BIG_ENTRIES = 1000
_BIG_EVERY = 1.5  # seconds between its fetches
_BIG_CASE = f"cached 50 entries, {_BIG_ENTRIES:,}-entry fetches beside"
_BIG_VERSIONS = itertools.count(1)  # across rounds: each fetch brings entries never stored
# One client paging back through the archive 500 entries at a time, compressed, while wrk reads
# the cached merged feed: each page a new cursor, so each one queried, rendered and compressed.
_PAGES_EVERY = 0.5
_PAGES_CASE = "cached 50 entries, 500-entry pages beside"
_PAGE_CURSORS = itertools.count(1)
_ADMIN_TOKEN = secrets.token_urlsafe(16)
_NGINX_CONF = """{user}worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {root}/www;
    location / {{ types {{ }} default_type "application/atom+xml; charset=utf-8"; }}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class ServeResult:
    server: str
    case: str
    requests_per_second: float
    p99_ms: float  # wrk stops waiting at 2 s: see timeouts
    timeouts: int


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read(), response.headers.get("ETag", "")


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(240):
        try:
            _get(url)
            return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up")


WrkFigures = tuple[float, float, int]


def wrk(url: str, seconds: int, *extra: str) -> WrkFigures:
    """(requests/s, p99 latency in ms, requests given up after 2 s) from wrk at 64 connections."""
    output = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", output).groups()  # type: ignore[union-attr]
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)
    return (
        rate,
        float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit],
        int(timeouts[1]) if timeouts else 0,
    )


def _bare_aiohttp(body: Path, etag: str, port: int, seconds: int) -> list[ServeResult]:
    """The same bytes and headers from aiohttp alone (bench/bare.py), in one process and in
    two sharing the port: aiohttp's own ceiling beside each of our configurations."""
    url = f"http://127.0.0.1:{port}{PATH}"
    command = [sys.executable, "-m", "bench.bare", str(port), str(body), etag]
    cases = {"cached 50 entries": (), "304": ("-H", f"If-None-Match: {etag}")}
    results = []
    with _process(command, url):
        for count in (1, 2):
            with _process(command, url) if count == 2 else nullcontext():
                if count == 2:
                    time.sleep(2)  # the first process answers the readiness check
                name = f"aiohttp alone, {count} process{'es' if count > 1 else ''}"
                results += [
                    ServeResult(name, case, *wrk(url, seconds, *extra))
                    for case, extra in cases.items()
                ]
    return results


_PER_SOURCE_CASE = f"{_PER_SOURCE} source feeds, fetches beside"


def _per_source(workdir: Path, base: str, seconds: int) -> WrkFigures:
    """wrk over `_PER_SOURCE` per-source feeds, each rendered before by every process (a
    first wrk run), while another process commits fetch outcomes into the same store."""
    script = workdir / "per_source.lua"
    script.write_text(_PER_SOURCE_SCRIPT, encoding="utf-8")
    wrk(base, 3, "-s", str(script))
    database = str(workdir / "ours.sqlite3")
    command = [sys.executable, "-m", "bench.committer", database, str(_COMMITS_PER_SECOND),
               str(_PER_SOURCE)]  # fmt: skip
    committer = subprocess.Popen(command)
    try:
        time.sleep(1)
        return wrk(base, seconds, "-s", str(script))
    finally:
        committer.terminate()
        committer.wait(timeout=30)


def _big_feed(path: Path) -> None:
    """`_BIG_ENTRIES` of the farm's items, none of them stored before."""
    version = next(_BIG_VERSIONS)
    path.with_suffix(".tmp").write_bytes(render(7777, version * _BIG_ENTRIES, _BIG_ENTRIES))
    path.with_suffix(".tmp").replace(path)


def _wrk_beside(base: str, seconds: int, every: float, act: Callable[[], None]) -> WrkFigures:
    """wrk on the cached document while a thread does `act`, then waits `every` s, in turn."""
    stopped = threading.Event()

    def in_turn() -> None:
        while not stopped.is_set():
            act()
            stopped.wait(every)

    acting = threading.Thread(target=in_turn, name="beside-wrk")
    acting.start()
    try:
        return wrk(base + PATH, seconds)
    finally:
        stopped.set()
        acting.join(timeout=60)


def _fetch_big_feed(workdir: Path, admin: str) -> None:
    """A new version of the big feed, fetched by the server through its admin API."""
    _big_feed(workdir / "big.xml")
    request = urllib.request.Request(
        f"{admin}/api/sources/big/fetch",
        method="POST",
        headers={"Authorization": f"Bearer {_ADMIN_TOKEN}"},
    )
    urllib.request.urlopen(request, timeout=30).close()


def _ask_big_page(base: str) -> None:
    """A cold 500-entry page further back, compressed: a new cursor each time."""
    cursor = f"9999999999.0_{next(_PAGE_CURSORS) + 10**12}"
    url = f"{base}{PATH}?limit=500&before={cursor}"
    request = urllib.request.Request(url, headers={"Accept-Encoding": "br, gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


@contextmanager
def _process(
    command: Sequence[str], ready_url: str, env: dict[str, str] | None = None
) -> Iterator[None]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        _wait(ready_url, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def serving(ours_workdir: Path, port: int, seconds: int) -> list[ServeResult]:
    """Our server on the database the fetch passes filled, with one process and with
    `service.workers = 2`, then nginx (one worker per core) on the bytes it served."""
    base = f"http://127.0.0.1:{port}"
    admin = f"http://127.0.0.1:{port + 3}"  # the admin API, on a port of its own with workers
    big_source = '\n[[sources]]\nid = "big"\nurl = "big.xml"\ninterval = "1d"\n'
    _big_feed(ours_workdir / "big.xml")
    results: list[ServeResult] = []
    for workers in (1, 2):
        config = ours_workdir / f"serve-{workers}.toml"
        service = (
            f'port = {port}\nadmin_port = {port + 3}\nbase_url = "{base}"\nworkers = {workers}'
        )
        config.write_text(
            (ours_workdir / "config.toml")
            .read_text(encoding="utf-8")
            .replace("[service]\n", f"[service]\n{service}\n")
            + big_source,
            encoding="utf-8",
        )
        name = f"ours, {workers} process{'es' if workers > 1 else ''}"
        command = [sys.executable, "-m", "aggregator.cli", "serve", "-c", str(config)]
        env = os.environ | {"AGGREGATOR_ADMIN_TOKEN": _ADMIN_TOKEN}
        with _process(command, f"{base}/healthz", env):
            time.sleep(2)  # the workers start after the main process answers
            status, body, etag = _get(base + PATH)
            if status != 200 or body.count(b"<entry>") != 50:
                raise RuntimeError(f"{PATH} answered {status} without 50 entries")
            cases = {"cached 50 entries": (), "304": ("-H", f"If-None-Match: {etag}")}
            for case, extra in cases.items():
                results.append(ServeResult(name, case, *wrk(base + PATH, seconds, *extra)))
            script = ours_workdir / "cold.lua"
            script.write_text(_COLD_SCRIPT, encoding="utf-8")
            results.append(ServeResult(name, "cold render", *wrk(base, seconds, "-s", str(script))))
            results.append(
                ServeResult(name, _PER_SOURCE_CASE, *_per_source(ours_workdir, base, seconds))
            )
            fetch = functools.partial(_fetch_big_feed, ours_workdir, admin)
            figures = _wrk_beside(base, seconds, _BIG_EVERY, fetch)
            results.append(ServeResult(name, _BIG_CASE, *figures))
            ask = functools.partial(_ask_big_page, base)
            figures = _wrk_beside(base, seconds, _PAGES_EVERY, ask)
            results.append(ServeResult(name, _PAGES_CASE, *figures))
    root = ours_workdir / "nginx"
    (root / "www" / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "www" / "feeds" / "all.atom").write_bytes(body)
    results += _bare_aiohttp(root / "www" / "feeds" / "all.atom", etag, port + 2, seconds)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(_NGINX_CONF.format(user=user, root=root, port=port + 1))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    base = f"http://127.0.0.1:{port + 1}"
    with _process([nginx, "-c", str(root / "nginx.conf"), "-g", "daemon off;"], base + PATH):
        etag = _get(base + PATH)[2]
        cases = {"cached 50 entries": (), "304": ("-H", f"If-None-Match: {etag}")}
        for case, extra in cases.items():
            results.append(ServeResult("nginx", case, *wrk(base + PATH, seconds, *extra)))
    return results
