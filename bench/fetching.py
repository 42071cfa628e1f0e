"""Fetch passes against the farm: first fetch, all 304, a fraction changed; contenders interleaved.

Each pass runs every contender one after the other against the same farm state, so load on the
machine in between (this box is shared) hits them alike.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bench.contenders import PassResult, worker
from bench.farm import feed_url, host

PASSES = ("first fetch", "all 304", "changed")


@contextmanager
def farm(feeds: int, port: int, items: int) -> Iterator[None]:
    """The farm in its own process, ready (every feed rendered) when this yields."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.farm", f"--feeds={feeds}", f"--port={port}",
         f"--items={items}"]
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60 + feeds / 50
        while True:
            try:
                with urllib.request.urlopen(feed_url(port, feeds - 1), timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the feed farm did not start") from None
                time.sleep(0.5)
        yield
    finally:
        process.terminate()
        process.wait()


def change(port: int, fraction: float, among: int) -> int:
    request = urllib.request.Request(
        f"http://{host(0)}:{port}/_change?fraction={fraction}&among={among}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(json.load(response)["changed"])


@dataclass
class Contender:
    name: str
    process: multiprocessing.process.BaseProcess
    pipe: Connection

    def run_pass(self) -> PassResult:
        self.pipe.send("run")
        result: PassResult = self.pipe.recv()
        return result

    def stop(self) -> None:
        self.pipe.send(None)
        self.process.join(timeout=60)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def start(name: str, urls: Sequence[str], workdir: Path) -> Contender:
    """A contender's worker process, its feeds added (untimed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=worker, args=(name, list(urls), workdir, theirs), daemon=False
    )  # not a daemon: ours starts parsing processes of its own
    process.start()
    if ours.recv() != "ready":
        raise RuntimeError(f"{name} did not start")
    return Contender(name, process, ours)


def round_dir(workdir: Path, name: str, number: int) -> Path:
    """Where a contender keeps its database in a round: each round starts from an empty one."""
    return workdir / name / f"round-{number}"


def passes(
    names: Sequence[str], feeds: int, port: int, fraction: float, workdir: Path, rounds: int = 1
) -> dict[str, dict[str, list[PassResult]]]:
    """{pass: {contender: one result a round}}: each round starts every contender afresh and
    runs the three passes, contenders interleaved in each, so a ratio is taken within a round."""
    urls = [feed_url(port, n) for n in range(feeds)]
    results: dict[str, dict[str, list[PassResult]]] = {
        name: {contender: [] for contender in names} for name in PASSES
    }
    for number in range(rounds):
        print(f" round {number + 1} of {rounds}", flush=True)
        contenders = [start(name, urls, round_dir(workdir, name, number)) for name in names]
        try:
            for name in PASSES:
                if name == "changed":
                    print(f"  {change(port, fraction, feeds)} feeds changed", flush=True)
                for contender in contenders:
                    result = contender.run_pass()
                    if result.failed > feeds // 2:
                        raise RuntimeError(
                            f"{contender.name} failed {result.failed} of {feeds} feeds"
                        )
                    results[name][contender.name].append(result)
                    print(
                        f"  {name:12} {contender.name:7} {result.seconds:7.1f} s "
                        f"{result.feeds_per_second:7.1f} feeds/s {result.new_items:6} new "
                        f"{result.failed} failed  peak {result.peak_rss_mb:.0f} MB",
                        flush=True,
                    )
        finally:
            for contender in contenders:
                contender.stop()
    return results


def peak_rss(sizes: Sequence[int], port: int, workdir: Path) -> dict[int, PassResult]:
    """Our pipeline's first fetch of `size` sources, each size in a fresh process."""
    found: dict[int, PassResult] = {}
    for size in sizes:
        contender = start("ours", [feed_url(port, n) for n in range(size)], workdir / f"rss{size}")
        try:
            found[size] = contender.run_pass()
        finally:
            contender.stop()
        if found[size].failed > size // 2:
            raise RuntimeError(f"ours failed {found[size].failed} of {size} feeds")
        print(f"  {size:6} sources: peak {found[size].peak_rss_mb:.0f} MB", flush=True)
    return found
