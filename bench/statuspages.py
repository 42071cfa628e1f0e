"""Status pages at scale: `python -m bench.statuspages [--feeds 2000] [--seconds 3]`.

The farm's first `--feeds` feeds (20 items each) are stored, then `aggregator serve` answers
`/`, `/api/sources` and `/metrics` (median of 5 requests each, plain and gzip) and the
cached merged feed, one request every 10 ms, alone and then while three clients poll the
status pages in a loop. Prints the timings, the sizes and the feed's median and p99.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from bench.storing import stored_farm

_STATUS_PAGES = ("/", "/api/sources", "/metrics")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(seconds, bytes, Content-Encoding) of one request."""
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as answer:
        size = len(answer.read())
        return time.perf_counter() - started, size, answer.headers.get("Content-Encoding", "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _feed_latencies(base: str, seconds: float) -> list[float]:
    timings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        timings.append(_get(base + "/feeds/all.atom")[0])
        time.sleep(0.01)
    return sorted(timings)


def _report(label: str, timings: list[float]) -> None:
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"cached feed, {label}: median {statistics.median(timings) * 1e3:.1f} ms, "
          f"p99 {p99 * 1e3:.1f} ms ({len(timings)} requests)")  # fmt: skip


def _measure(base: str, seconds: float) -> None:
    for path in _STATUS_PAGES:
        for coding in ("identity", "gzip"):
            runs = [_get(base + path, {"Accept-Encoding": coding}) for _ in range(5)]
            median = statistics.median(seconds for seconds, _, _ in runs)
            print(f"{path} ({coding}): median {median * 1e3:.1f} ms, {runs[-1][1]:,} bytes")
    _report("alone", _feed_latencies(base, seconds))
    polling = True

    def poll() -> None:
        while polling:
            for path in _STATUS_PAGES:
                _get(base + path)

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for poller in pollers:
        poller.start()
    try:
        _report("three clients polling the status pages", _feed_latencies(base, seconds))
    finally:
        polling = False
        for poller in pollers:
            poller.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with stored_farm(args.feeds) as config:
        workdir = config.path.parent
        port = _free_port()
        path = config.path
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("[service]\n", f"[service]\nport = {port}\n", 1), "utf-8")
        server = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "serve", "-c", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "serve.log").open("wb"),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    _get(base + "/healthz")
                    break
                except OSError:
                    time.sleep(0.25)
            print(f"{args.feeds} sources, {args.feeds * 20} items")
            _measure(base, args.seconds)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
