"""A cold render of a channel whose `include` words few items have: `python -m bench.rarewords`.

Such a channel passes over most of the store to fill a page: its first render after each
change reads every row. The farm's first `--feeds` feeds (20 items each) are stored, then the
merged feed `all` and a channel including a word no item has are rendered cold (best of
`--runs`), as `aggregator render` does.

    python -m bench.rarewords [--feeds 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from aggregator import eventloop
from aggregator.config import Config, load_config
from aggregator.documents import Page, Query, render_page
from bench.storing import DATABASE, parsed_feeds, records_of, store_all
from storage import Database

CHANNELS = {"nowhere": ["zzrareword"]}  # id -> include words


def _config(workdir: Path, feeds: int) -> Config:
    path = workdir / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{DATABASE}"\nbase_url = "http://agg.example"\n\n'
        + "".join(f'[[sources]]\nid = "f{n}"\nurl = "http://127.0.0.1/f/{n}"\n\n'
                  for n in range(feeds))
        + "".join(f'[[feeds]]\nid = "{ident}"\ninclude = {words!r}\n\n'
                  for ident, words in CHANNELS.items()),
        encoding="utf-8",
    )  # fmt: skip
    return load_config(path)


async def _render(config: Config, ident: str) -> tuple[float, int]:
    db = await Database.open(config.service.database, existing=True)
    try:
        url = f"http://agg.example/feeds/{ident}.json"
        started = time.perf_counter()
        body, _ = await render_page(config, db, Page("feeds", ident, "json", Query(), url, url))
        return time.perf_counter() - started, len(json.loads(body)["items"])
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        os.chdir(workdir)
        config = _config(workdir, args.feeds)
        eventloop.run(store_all(config, records_of(config, parsed_feeds(config))))
        rows = args.feeds * 20
        best = {}
        for ident in ("all", *CHANNELS):
            timings = [eventloop.run(_render(config, ident)) for _ in range(args.runs)]
            best[ident] = min(seconds for seconds, _ in timings)
            print(f"{ident}: {best[ident] * 1e3:.0f} ms, {timings[0][1]} entries, "
                  f"over a store of {rows} items")  # fmt: skip
        for ident in CHANNELS:
            print(f"{ident} / all: {best[ident] / best['all']:.1f}x")


if __name__ == "__main__":
    main()
