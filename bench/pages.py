"""What reading a feedless portal costs per page, without selectors: an article page made into
an item (`read_article_page` + `article_from`) over the CMS fixtures, and the seed portal's
list page read with its selectors (`parse_list_page`). CPU time, best of 5.

    python -m bench.pages
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.charset import decode
from feeds.htmlpage import article_from, read_article_page
from feeds.listpage import parse_list_page
from feeds.selectors import list_rules

HTML = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "html"
ARTICLES = (
    "discuz_article.gbk.html",
    "cms_dede_1234.gbk.html",
    "cms_phpcms_88_1.html",
    "gov_article.html",
    "wechat_article.html",
    "cms_empire_5678.html",
)
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, tzinfo=UTC)
URL = "http://www.example.net/a/1.html"


def _best(call: Callable[[], None], rounds: int, repeats: int = 5) -> float:
    """The least CPU seconds one call took, over `repeats` runs of `rounds` calls."""
    call()
    timings = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(rounds):
            call()
        timings.append((time.process_time() - started) / rounds)
    return min(timings)


def main() -> None:
    texts = [decode((HTML / name).read_bytes()).text for name in ARTICLES]

    def articles() -> None:
        for text in texts:
            page = read_article_page(text, url=URL, rules=None)
            article_from(page, rules=None, tz=TZ, now=NOW)

    listing = decode((HTML / "discuz_list.gbk.html").read_bytes()).text
    rules = list_rules(
        {"item": "div.xld dl", "link": "dt a", "title": "dt a", "summary": "dd.xs2",
         "published": "dd .xg1"},
        path="sources[0].list",
    )  # fmt: skip

    def list_page() -> None:
        parse_list_page(
            listing, url="http://www.example.net/portal.php", rules=rules, tz=TZ, now=NOW
        )

    per_article = _best(articles, 20) / len(texts)
    print(f"article page, read without selectors: {per_article * 1000:.2f} ms")
    print(f"list page, read with selectors:       {_best(list_page, 50) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
