"""What the image proxy adds to a cold render: `python -m bench.pictures`.

A 50-entry Atom page of farm bodies, each with three WeChat pictures (one a `<picture>` with a
`srcset` of two), rendered with feedgen alone and with each entry's content rewritten first
(`ImageProxy.rewrite`, as `aggregator.publish.to_entry` does; the proxy keeps the addresses
it signed, so a render after a change signs only new pictures), and the rewrite of bodies that
hold no picture of a proxied host (the check that skips them). Best of 20 runs each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from aggregator.imageproxy import ImageProxy
from feeds.model import OutEntry, OutFeed, SourceRef
from feeds.render import render_atom

ENTRIES = 50
RUNS = 20
PICTURES = (
    '<p><img src="https://mmbiz.qpic.cn/mmbiz_jpg/{n}a/640?wx_fmt=jpeg&amp;from=appmsg" '
    'alt="现场" referrerpolicy="no-referrer"></p>'
    '<picture><source srcset="https://mmbiz.qpic.cn/mmbiz_png/{n}b/640 1x, '
    'https://mmbiz.qpic.cn/mmbiz_png/{n}b/1280 2x"><img src="https://mmbiz.qpic.cn/mmbiz_png/'
    '{n}b/640" referrerpolicy="no-referrer"></picture>'
)
PARAGRAPH = "<p>" + "汉中市召开2022年全市经济工作会议，安排部署今年重点工作。" * 4 + "</p>"


def _body(n: int, pictures: bool) -> str:
    middle = PICTURES.format(n=n) if pictures else ""
    return PARAGRAPH * 2 + middle + PARAGRAPH * 2


def _feed(contents: list[str]) -> OutFeed:
    when = datetime(2022, 1, 14, tzinfo=UTC)
    source = SourceRef(id="hzfb", name="汉中发布", url="http://feeds.example/sources/hzfb.atom")
    entry = OutEntry(id="", title="汉中", url=None, content_html="", summary="汉中",
                     published=when, updated=when, source=source)  # fmt: skip
    entries = tuple(
        replace(entry, id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}", content_html=content)
        for n, content in enumerate(contents)
    )
    return OutFeed(id="urn:uuid:00000000-0000-4000-8000-000000000000", title="汉中",
                   self_url="http://feeds.example/feeds/all.atom",
                   home_url="http://feeds.example/", updated=when, entries=entries)  # fmt: skip


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    proxy = _fresh()
    with_pictures = [_body(n, True) for n in range(ENTRIES)]
    without = [_body(n, False) for n in range(ENTRIES)]
    render = _best(lambda: render_atom(_feed(with_pictures)))
    rewritten = _best(lambda: render_atom(_feed([proxy.rewrite(c) for c in with_pictures])))
    rewrite = _best(lambda: [proxy.rewrite(c) for c in with_pictures])
    first = _best(lambda: [_fresh().rewrite(c) for c in with_pictures])
    skipped = _best(lambda: [proxy.rewrite(c) for c in without])
    print(f"render, {ENTRIES} entries: {render * 1e3:.2f} ms")
    print(f"render with pictures rewritten: {rewritten * 1e3:.2f} ms "
          f"({rewritten / render:.2f}x)")  # fmt: skip
    print(f"rewrite of an entry with 4 picture addresses: {rewrite / ENTRIES * 1e6:.1f} us, "
          f"{first / ENTRIES * 1e6:.1f} us the first time each address is signed")  # fmt: skip
    print(f"rewrite of an entry without one: {skipped / ENTRIES * 1e6:.2f} us")


def _fresh() -> ImageProxy:
    return ImageProxy(b"k" * 32, ("mmbiz.qpic.cn", "sinaimg.cn"), "http://feeds.example")


if __name__ == "__main__":
    main()
