"""Our fixtures, mutated: every parser fails only with `ParseError`, returns only text XML can
carry, and the fast feed path agrees with feedparser's wherever it answers.

Mutations insert what broke parsers before (numeric references to forbidden characters, with
and without `;`, nested so that dropping one forms another; broken IPv6 hosts; stray markup),
delete spans and insert random bytes. Seeds are fixed, so a failure reproduces.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.errors import ParseError
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.htmlpage import parse_article
from feeds.listpage import parse_list_page
from feeds.model import ParsedFeed
from feeds.parse import parse_feed
from feeds.selectors import list_rules
from tests.conftest import FIXTURES

URL = "http://a.example/news/feed.xml"
NOW = datetime(2022, 1, 15, 12, 0, tzinfo=UTC)
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
JUNK = (
    b"&#1;", b"&#1", b"&#xFFFE;", b"&#x&#xD800;1b;", b"&amp;#1;", b"&amp;#x&amp;#0;1b;",
    b"\x01", b"\x00", b"\xff\xfe", b"\xe4\xb8", b"<![CDATA[&#2;<script>x</script>]]>",
    b"<base href='http://[x/'>", b"<a href='http://[::1/a'>v6</a>",
    b"<a href=' java&#x09;script:1'>j</a>", b"&lt;p title=&quot;&amp;#3;&quot;&gt;",
    b"\\u0001", b"\\ud800", b"<", b"&", b"]]>", b"\"", b"{", b"}",
)  # fmt: skip
FEEDS = sorted(
    path
    for path in (FIXTURES / "feeds").iterdir()
    if path.suffix in (".xml", ".rdf", ".json") and "entity" not in path.name
)
PAGES = sorted((FIXTURES / "html").iterdir())
LIST = list_rules({"item": "div.xld dl", "link": "dt a", "title": "dt a"}, path="list")


def _mutations(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            at, roll = rng.randint(0, len(mutated)), rng.random()
            if roll < 0.6:
                mutated[at:at] = rng.choice(JUNK)
            elif roll < 0.8:
                del mutated[at : at + rng.randint(1, 30)]
            else:
                mutated[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        yield bytes(mutated)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for element in value:
            yield from _strings(element)


def _forbidden(value: object) -> list[str]:
    return [text for text in _strings(value) if XML_FORBIDDEN.search(text)]


@pytest.mark.parametrize("path", FEEDS, ids=lambda path: path.name)
def test_mutated_feeds(path: Path) -> None:
    rng = random.Random(path.name)
    for body in _mutations(path.read_bytes(), rng, 120):
        try:
            feed = parse_feed(body, url=URL)
        except ParseError:
            continue
        assert _forbidden(feed) == [], body
        fast = parse_fast(body, url=URL)
        if fast is not None:
            slow: ParsedFeed = parse_xml_feed(body, url=URL)
            assert fast == slow, body


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_mutated_pages(path: Path) -> None:
    rng = random.Random(path.name)
    codec = "gbk" if ".gbk." in path.name else "utf-8"
    for body in _mutations(path.read_bytes(), rng, 60):
        text = body.decode(codec, "replace")
        try:
            page = parse_list_page(text, url="http://a.example/l.html", rules=LIST, tz=UTC, now=NOW)
            article = parse_article(
                text, url="http://a.example/a.html", rules=None, tz=UTC, now=NOW
            )
        except ParseError:
            continue
        assert _forbidden(page) == [], body
        assert _forbidden(article) == [], body
