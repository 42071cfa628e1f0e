"""Links of list pages and JSON records are published as URIs: upstreams write `/新闻/汉中
要闻.html` as it is, and a space or a `<` is valid in no feed's link."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from feeds.identity import item_key
from feeds.jsonlist import parse_json_list
from feeds.jsonpaths import json_list_rules
from feeds.listpage import parse_list_page
from feeds.selectors import list_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
RAW = ["/新闻/汉中 要闻.html", "  /art/sp ace.html?x=1&y=<2>  ", "http://汉中.中国/a?b=c d"]
AS_URIS = [
    "http://api.example/%E6%96%B0%E9%97%BB/%E6%B1%89%E4%B8%AD%20%E8%A6%81%E9%97%BB.html",
    "http://api.example/art/sp%20ace.html?x=1&y=%3C2%3E",
    "http://xn--fiqw74e.xn--fiqs8s/a?b=c%20d",
]


def test_json_record_links_are_published_as_uris() -> None:
    records = [{"title": f"稿件{n}", "url": link} for n, link in enumerate(RAW)]
    rules = json_list_rules({"item": "data", "link": "url", "title": "title"}, path="list")
    page = parse_json_list(
        json.dumps({"data": records}), url="http://api.example/list", rules=rules,
        tz=SHANGHAI, now=NOW,
    )  # fmt: skip
    assert [item.url for item in page.items] == AS_URIS


def test_list_page_links_are_published_as_uris() -> None:
    rows = "".join(
        f'<li><a href="{link.replace("<", "&lt;")}">稿件{n}</a></li>' for n, link in enumerate(RAW)
    )
    page = parse_list_page(
        f"<html><body><ul>{rows}</ul></body></html>", url="http://api.example/list.html",
        rules=list_rules({"item": "li", "link": "a"}, path="list"), tz=SHANGHAI, now=NOW,
    )  # fmt: skip
    assert [item.url for item in page.items] == AS_URIS


def test_an_item_keeps_its_identity_when_its_link_is_encoded() -> None:
    """Stored items keyed by their link as written are the same items after the upgrade."""
    rules = json_list_rules({"item": "data", "link": "url", "title": "title"}, path="list")
    page = parse_json_list(
        json.dumps({"data": [{"title": "稿件", "url": RAW[0]}]}), url="http://api.example/l",
        rules=rules, tz=SHANGHAI, now=NOW,
    )  # fmt: skip
    (item,) = page.items
    assert item_key(item) == item_key(replace(item, url="http://api.example" + RAW[0]))
