"""Which documents take the lxml fast path, and that everything else still reaches feedparser."""

from __future__ import annotations

import pytest

import feeds.parse
from feeds.errors import ParseError
from feeds.fastxml import parse_fast
from feeds.model import ParsedFeed
from feeds.parse import parse_feed
from tests.conftest import FIXTURES

URL = "http://example.com/feed.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / "feeds" / name).read_bytes()


def test_parse_feed_reads_well_formed_feeds_without_feedparser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_feedparser(*args: object, **kwargs: object) -> ParsedFeed:
        raise AssertionError("feedparser was asked")

    monkeypatch.setattr(feeds.parse, "parse_xml_feed", no_feedparser)

    feed = parse_feed(fixture("rss20.xml"), url=URL)

    assert feed.items[0].title == "汉中又新增一项国字号荣誉!"


def test_a_bare_ampersand_falls_back_and_keeps_every_entry() -> None:
    body = fixture("malformed.xml")

    assert parse_fast(body, url=URL) is None
    feed = parse_feed(body, url=URL)
    assert [item.title for item in feed.items] == ["Fish & Chips", "Salt & vinegar"]
    assert feed.warnings[0].startswith("malformed XML, recovered leniently")


@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml"])
def test_entity_declarations_are_left_to_feedxml_which_refuses_them(name: str) -> None:
    assert parse_fast(fixture(name), url=URL) is None
    with pytest.raises(ParseError, match="declares XML entities"):
        parse_feed(fixture(name), url=URL)


ATOM = '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>{}</entry></feed>'


@pytest.mark.parametrize(
    "body",
    [
        fixture("atom03.xml"),
        ATOM.format('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                    "<p>x</p></div></content>").encode(),
        ATOM.format('<content type="image/png">iVBORw0KGgo=</content>').encode(),
        ATOM.format('<link href="a.html" xml:base="http://base.example/"/>').encode(),
        b'<rss version="2.0"><channel><item><description>a <b>bold</b> move</description>'
        b"</item></channel></rss>",
        b'<?xml version="1.0"?><catalog><item><title>x</title></item></catalog>',
    ],
    ids=["atom03", "xhtml", "base64", "xml:base", "markup in text", "unknown root"],
)  # fmt: skip
def test_what_the_fast_path_does_not_model_is_refused(body: bytes) -> None:
    assert parse_fast(body, url=URL) is None


def test_the_configured_encoding_and_charset_are_honoured() -> None:
    body = (FIXTURES / "feeds" / "lying_charset.xml").read_bytes()

    feed = parse_fast(body, url=URL, header_charset="utf-8", encoding="gbk")

    assert feed is not None
    assert (feed.items[0].title, feed.charset) == ("汉中又新增一项国字号荣誉!", "gb18030")
