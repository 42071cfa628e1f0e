"""What `[[stories.withdraw]]` adds to a cold render: `python -m bench.withdrawn`.

A merged page checks each item it reads, and each copy of their stories, against the
withdrawn URLs (`Withdrawn.covers`: a set lookup, then the link normalised as stories
normalise it, the answer kept for the next render). With none configured nothing is checked.
Best of 20 runs over 1,000 portal-style article URLs, none withdrawn (the common case),
against 100 withdrawn URLs: the first time each URL is checked, and again.
"""

from __future__ import annotations

import time

from aggregator.config import StoriesConfig
from aggregator.withdrawn import withdrawn

RUNS = 20
URLS = [
    f"https://www.example.net/portal.php?mod=view&aid={n}&utm_source=wechat#comments"
    for n in range(1000)
]
WITHDRAWN = frozenset(f"http://example.net/article-{n}-1.html" for n in range(100))
# A 50-entry merged page reads a batch of 100 items; say two copies a story for each.
CHECKS_A_PAGE = 100 + 200


def main() -> None:
    mirrors = {"m.example.net": "example.net"}
    first = float("inf")
    again = float("inf")
    for run in range(RUNS):
        # a new set of withdrawals each run (as after a reload), so that nothing is known yet
        hidden = withdrawn(StoriesConfig(mirror_hosts=mirrors, withdrawn=WITHDRAWN | {str(run)}))
        assert hidden is not None
        started = time.perf_counter()
        found = [hidden.covers(url) for url in URLS]
        first = min(first, time.perf_counter() - started)
        started = time.perf_counter()
        found += [hidden.covers(url) for url in URLS]
        again = min(again, time.perf_counter() - started)
    assert not any(found)
    for what, best in (("the first time", first), ("a URL checked before", again)):
        each = best / len(URLS)
        print(
            f"{what}: {each * 1e6:.2f} us a check against {len(WITHDRAWN)} withdrawn URLs, "
            f"{each * CHECKS_A_PAGE * 1e3:.3f} ms for a 50-entry merged page ({CHECKS_A_PAGE})"
        )
    print(f"with none withdrawn: {withdrawn(StoriesConfig())} (nothing is checked)")


if __name__ == "__main__":
    main()
