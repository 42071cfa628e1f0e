"""bench/RESULTS.md: the figures of one run with the machine and versions that produced them.

Everything below the ANALYSIS marker in an existing file is hand-written and kept as it is.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from bench.contenders import PassResult
from bench.parsing import ParseResult
from bench.serving import ServeResult

ANALYSIS = "<!-- analysis: hand-written below this line, kept by `make bench` -->"
_PACKAGES = ("aiohttp", "aiosqlite", "feedparser", "lxml", "nh3", "reader", "requests", "uvloop")


def _command_version(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    return (done.stdout + done.stderr).strip().splitlines()[0]


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    memory = Path("/proc/meminfo").read_text().split()[1]
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in _PACKAGES)
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {int(memory) // 1024**2} GB, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- {_command_version('nginx', '-v')}; {_command_version('wrk', '--version')}",
    ]


def _header(*columns: str, text: int = 1) -> list[str]:
    """A table head: `text` columns of words, then right-aligned numbers."""
    return [f"| {' | '.join(columns)} |", "|" + " --- |" * text + " ---: |" * (len(columns) - text)]


def _fetch_table(results: Mapping[str, Mapping[str, Sequence[PassResult]]]) -> list[str]:
    """One row per pass and contender: its median round by feeds/s, and the ratio to reader
    taken within each round (median and range), as the box's load moves every contender."""
    rows = _header("pass", "fetcher", "seconds", "feeds/s", "range", "new items/s", "CPU s",
                   "peak RSS MB", "store MB", "vs reader", "vs reader, range",
                   text=2)  # fmt: skip
    for name, by_contender in results.items():
        readers = by_contender.get("reader")
        for contender, rounds in by_contender.items():
            rates = sorted(r.feeds_per_second for r in rounds)
            r = next(r for r in rounds if r.feeds_per_second == rates[(len(rates) - 1) // 2])
            ratios = (
                [mine.feeds_per_second / theirs.feeds_per_second
                 for mine, theirs in zip(rounds, readers, strict=True)]
                if readers else []
            )  # fmt: skip
            ratio, spread = (
                (f"{median(ratios):.2f}×", f"{min(ratios):.2f}–{max(ratios):.2f}×")
                if ratios
                else ("—", "—")
            )
            failed = sum(result.failed for result in rounds)
            label = f"{contender} ({failed} failed)" if failed else contender
            rows.append(
                f"| {name} | {label} | {r.seconds:.1f} | {r.feeds_per_second:.0f} | "
                f"{rates[0]:.0f}–{rates[-1]:.0f} | {r.items_per_second:.0f} | "
                f"{r.cpu_seconds:.1f} | {r.peak_rss_mb:.0f} | {r.store_mb:.0f} | {ratio} | "
                f"{spread} |"
            )
    return rows


def _serving_table(rounds: Sequence[Sequence[ServeResult]]) -> list[str]:
    """One row per server and case over every round: nginx's rate moves by ±10 % between runs
    here, so a ratio is taken within each round, against that round's nginx."""
    rows = _header("server", "case", "requests/s", "range", "p99 ms", "timeouts", "vs nginx",
                   "vs nginx, range", text=2)  # fmt: skip
    for first in rounds[0]:
        same = [r for results in rounds for r in results
                if (r.server, r.case) == (first.server, first.case)]  # fmt: skip
        rates = [r.requests_per_second for r in same]
        ratios = [
            r.requests_per_second / n.requests_per_second
            for results in rounds
            for r in results
            if (r.server, r.case) == (first.server, first.case)
            for n in results
            if (n.server, n.case) == ("nginx", first.case)
        ]
        ratio, spread = (
            (f"{median(ratios):.2f}×", f"{min(ratios):.2f}–{max(ratios):.2f}×")
            if ratios
            else ("—", "—")
        )
        rows.append(
            f"| {first.server} | {first.case} | {median(rates):,.0f} | "
            f"{min(rates):,.0f}–{max(rates):,.0f} | {median(r.p99_ms for r in same):.1f} | "
            f"{sum(r.timeouts for r in same)} | {ratio} | {spread} |"
        )
    return rows


def write(
    path: Path,
    *,
    command: str,
    load: Sequence[str],
    sizes: tuple[int, int, float],
    fetching: Mapping[str, Mapping[str, Sequence[PassResult]]],
    rss: Mapping[int, PassResult],
    parsing: Sequence[ParseResult],
    corpus: tuple[int, int] | None,
    serving: Sequence[Sequence[ServeResult]],
    stages: Sequence[tuple[str, float]],
) -> None:
    feeds, items, fraction = sizes
    rounds = len(next(iter(next(iter(fetching.values())).values())))
    lines = [
        "# Benchmark results",
        "",
        f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load average before and after: "
        f"{load[0]} / {load[1]} (a shared box: other work ran beside the benchmark).",
        "",
        *machine(),
        "",
        f"## Fetching {feeds:,} feeds × {items} items ({fraction:.0%} changed in the last pass), "
        f"median of {rounds} round{'s' if rounds > 1 else ''}",
        "",
        *_fetch_table(fetching),
    ]
    if rss:
        lines += ["", "## Peak RSS of our pipeline by number of sources (first fetch)", "",
                  *_header("sources", "seconds", "feeds/s", "peak RSS MB", "store MB")]  # fmt: skip
        lines += [f"| {n:,} | {r.seconds:.1f} | {r.feeds_per_second:.0f} | {r.peak_rss_mb:.0f} | "
                  f"{r.store_mb:.0f} |" for n, r in rss.items()]  # fmt: skip
    lines += ["", "## Parsing alone (CPU time, best of 3)", "",
              *_header("documents", "parser", "items/s", "vs feeds.feedxml")]  # fmt: skip
    for documents in dict.fromkeys(p.documents for p in parsing):
        rows = [p for p in parsing if p.documents == documents]
        base = next((p.items_per_second for p in rows if "feedxml" in p.name), 1.0)
        lines += [f"| {documents} | {p.name} | {p.items_per_second:,.0f} | "
                  f"{p.items_per_second / base:.2f}× |" for p in rows]  # fmt: skip
    if corpus:
        lines += ["", f"The fast path answers for {corpus[0]:,} of the {corpus[1]:,} documents "
                  "of feedparser's test corpus (identical records: tests/test_fastxml_differential"
                  ".py); feedparser reads the rest."]  # fmt: skip
    lines += ["", f"## Serving /feeds/all.atom (50 entries), wrk -t2 -c64, median of "
              f"{len(serving)} round{'s' if len(serving) > 1 else ''}", "",
              *_serving_table(serving)]  # fmt: skip
    lines += ["", "## Where a first fetch's time goes, per new item (bench/breakdown.py)", "",
              *_header("stage", "µs")]  # fmt: skip
    lines += [f"| {stage} | {micros:,.0f} |" for stage, micros in stages]
    kept = path.read_text(encoding="utf-8").partition(ANALYSIS)[2] if path.exists() else "\n"
    path.write_text("\n".join([*lines, "", ANALYSIS]) + kept, encoding="utf-8")
