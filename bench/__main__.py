"""`make bench`: fetching, parsing and serving figures, written to bench/RESULTS.md.

Needs the `bench` extra (reader), nginx and wrk; the Makefile installs them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    # Imported here: worker processes re-import this module, and must not carry what it loads.
    from bench.breakdown import breakdown
    from bench.fetching import farm, passes, peak_rss, round_dir
    from bench.parsing import corpus_acceptance, parsing
    from bench.report import write
    from bench.serving import serving

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--feeds", type=int, default=2000, help="feeds in the farm")
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    parser.add_argument("--changed", type=float, default=0.1, help="share changed, last pass")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="serving rounds; the table gives their median"
    )
    parser.add_argument(
        "--fetch-rounds", type=int, default=3, help="rounds of the three fetch passes; medians"
    )
    parser.add_argument(
        "--rss", action="store_true", help="also peak RSS at 500, 2,000 and 10,000 sources"
    )
    parser.add_argument("--port", type=int, default=8700, help="farm port; serving uses +100")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the farm and workers are stopped
    sizes = (500, 2000, 10_000) if args.rss else ()
    load_before = f"{os.getloadavg()[0]:.2f}"
    workdir = Path(tempfile.mkdtemp(prefix="aggregator-bench-"))
    try:
        print("parsing", flush=True)
        parse_results = parsing()
        corpus = corpus_acceptance(ROOT / ".cache" / "feedparser-corpus")
        stages = breakdown()
        with farm(max((args.feeds, *sizes)), args.port, args.items):
            print(f"fetching {args.feeds} feeds × {args.items} items", flush=True)
            fetch_results = passes(
                ("ours", "reader", "naive"),
                args.feeds,
                args.port,
                args.changed,
                workdir,
                args.fetch_rounds,
            )
            rss = peak_rss(sizes, args.port, workdir) if sizes else {}
        print("serving", flush=True)
        serve_results = [
            serving(
                round_dir(workdir, "ours", args.fetch_rounds - 1), args.port + 100, args.duration
            )
            for _ in range(args.rounds)
        ]
        write(
            args.out,
            command=shlex.join(["python", "-m", "bench", *sys.argv[1:]]),
            load=(load_before, f"{os.getloadavg()[0]:.2f}"),
            sizes=(args.feeds, args.items, args.changed),
            fetching=fetch_results,
            rss=rss,
            parsing=parse_results,
            corpus=corpus,
            serving=serve_results,
            stages=stages,
        )
        print(f"written to {args.out}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
