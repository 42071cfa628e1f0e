"""One document listing 90,000 entries, fetched by `aggregator fetch` with and without the
`fetch.max_entries` bound: wall time, peak RSS and rows stored.

`python -m bench.hugefeed [--entries N]`. The feed is a local file of tiny entries (a title, a
link and a description, about 100 bytes each): the shape that packs the most entries into
`fetch.max_bytes`. Each run starts from an empty database, in a child process whose peak RSS
(the aggregator's, parsing included: one source parses in a thread) is read from
`RUSAGE_CHILDREN` by a parent that runs nothing else.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, check=False)
sys.stderr.buffer.write(done.stderr[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""


def _feed(entries: int) -> bytes:
    items = "".join(
        f"<item><title>t{n}</title><link>http://e.example/{n}</link>"
        f"<description>d{n} x</description></item>"
        for n in range(entries)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>huge</title>'
        f"<link>http://e.example/</link>{items}</channel></rss>"
    ).encode()


def _run(folder: Path, max_entries: int) -> tuple[float, float, int]:
    """Seconds, peak RSS in MB and rows stored for one `aggregator fetch`."""
    config = folder / f"config-{max_entries}.toml"
    database = folder / f"db-{max_entries}.sqlite3"
    config.write_text(
        f'[service]\ndatabase = "{database}"\n[fetch]\nmax_bytes = "20MB"\n'
        f'max_entries = {max_entries}\n[[sources]]\nid = "huge"\nurl = "huge.xml"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "aggregator.cli", "fetch", "-c", str(config)]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
    )
    seconds = time.monotonic() - started
    peak_kib, code = (int(word) for word in done.stdout.split())
    if code not in (0, 1):
        raise RuntimeError(f"aggregator fetch exited {code}: {done.stderr}")
    with sqlite3.connect(database) as db:
        rows = int(db.execute("SELECT count(*) FROM items").fetchone()[0])
    return seconds, peak_kib / 1024, rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hugefeed", description=__doc__)
    parser.add_argument("--entries", type=int, default=90_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aggregator-hugefeed-"))
    body = _feed(args.entries)
    (folder / "huge.xml").write_bytes(body)
    print(f"one document of {len(body) / 1e6:.1f} MB listing {args.entries:,} entries")
    print("| fetch.max_entries | seconds | peak RSS MB | rows stored |")
    print("| ---: | ---: | ---: | ---: |")
    for bound in (1000, args.entries):
        seconds, peak, rows = _run(folder, bound)
        print(f"| {bound:,} | {seconds:.1f} | {peak:.0f} | {rows:,} |", flush=True)


if __name__ == "__main__":
    main()
