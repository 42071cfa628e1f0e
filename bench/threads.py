"""Where a first fetch's CPU goes, thread by thread: on a core, or runnable and waiting for one.

`python -m bench.threads [FEEDS] [PORT]` runs our first fetch of a farm of FEEDS feeds (2,000)
in this process and reads the scheduler's counters of every thread of this process and of the
parsing workers from `/proc/<pid>/task/<tid>/schedstat` (Linux): CPU seconds, seconds spent
runnable but waiting for a core, and time slices. A thread with much waiting has lost its core
to the others: that is how the writer was found to wait beside the parsing workers.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import contenders
from bench.farm import feed_url
from bench.fetching import farm

Counters = dict[str, tuple[float, float, int]]  # label -> (cpu s, waiting s, slices)


def _read(pid: int, names: dict[int, str], into: Counters, kind: str = "") -> None:
    """The counters of every thread of `pid` as of now, labelled; a gone thread keeps its last."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tids:
        try:
            cpu, waiting, slices = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        label = names.get(int(tid)) or f"{kind} {pid}" + ("" if int(tid) == pid else f"/{tid}")
        into[label] = (int(cpu) / 1e9, int(waiting) / 1e9, int(slices))


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def first_fetch(feeds: int, port: int) -> tuple[float, Counters]:
    """(seconds, counters by thread) of one first fetch of `feeds` farm feeds."""
    seen: Counters = {}
    done = threading.Event()
    me = os.getpid()

    def watch() -> None:
        while not done.is_set():
            names = {t.native_id: t.name for t in threading.enumerate() if t.native_id}
            _read(me, names, seen, "main process")
            for child in _children(me):  # the farm, the fork server and the workers below it
                _read(child, {}, seen, "farm" if b"bench.farm" in _cmdline(child) else "process")
                for worker in _children(child):
                    _read(worker, {}, seen, "parsing worker")
            done.wait(0.1)

    with farm(feeds, port, 20):
        run = contenders._ours([feed_url(port, n) for n in range(feeds)], Path(tempfile.mkdtemp()))
        watcher = threading.Thread(target=watch, name="schedstat-watch", daemon=True)
        watcher.start()
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    return seconds, seen


def main() -> None:
    feeds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8870
    seconds, seen = first_fetch(feeds, port)
    print(f"first fetch of {feeds} feeds: {seconds:.1f} s")
    print(f"{'thread':36} {'CPU s':>7} {'waiting s':>10} {'slices':>8}")
    for label, (cpu, waiting, slices) in sorted(seen.items(), key=lambda row: -row[1][0]):
        if cpu >= 0.05:
            print(f"{label:36} {cpu:7.2f} {waiting:10.2f} {slices:8}")


if __name__ == "__main__":
    main()
