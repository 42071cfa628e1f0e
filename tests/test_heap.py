"""The server's heap policy, in a process of its own as `serve` has it: feeds compressed on
the executor's threads leave no megabytes behind in per-thread heaps."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

COMPRESS_ON_THREADS = """
import ctypes, json, sys
from concurrent.futures import ThreadPoolExecutor
from aggregator.heap import fix_mmap_threshold
from aggregator.web.encoding import COMPRESSORS

fixed = fix_mmap_threshold() if sys.argv[1] == "fixed" else False
body = "".join(f"<item><title>汉中新闻第{n}条</title></item>" for n in range(2000)).encode()
with ThreadPoolExecutor(6) as pool:  # asyncio's default executor, on 2 cores
    for _ in range(5):
        list(pool.map(COMPRESSORS["br"], [body] * 12))


class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Mallinfo2
print(json.dumps({"fixed": fixed, "heaps": mallinfo2().arena}))
"""


def _heaps(mode: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", COMPRESS_ON_THREADS, mode],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
    )  # fmt: skip
    found: dict[str, int] = json.loads(done.stdout)
    return found


def test_compressing_on_threads_leaves_no_heap_behind() -> None:
    """Brotli's megabytes were kept in each thread's heap: 6 heaps of 12 MiB, 97 % free."""
    plain, fixed = _heaps("plain"), _heaps("fixed")
    assert fixed["fixed"] == 1
    assert plain["heaps"] > 40 * 1024 * 1024, "what the threads' heaps keep without it"
    assert fixed["heaps"] < 16 * 1024 * 1024, "the interpreter's own, and the threads' little"
