"""Format sniffing and dispatch: the right parser for each document, autodiscovery for pages."""

from __future__ import annotations

import html
import json
import re
import weakref
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from feeds.bound import Listing
from feeds.errors import NotAFeed, ParseError
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.parse import detect_format, feed_links, parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
URL = "http://example.com/feed.xml"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "json"),
        (b'\xef\xbb\xbf \n\t{"items": []}', "json"),
        (b'<?xml version="1.0"?>\n<rss version="2.0">', "xml"),
        (b'  <rss version="0.91">', "xml"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom">', "xml"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "xml"),
        (b"<?xml version='1.0'?><!-- <html> --><!DOCTYPE rss [<!ENTITY a 'b'>]><rss>", "xml"),
        (b'<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?><opml version="2.0">', "xml"),
        ("\ufeff<rss>".encode("utf-16-le"), "xml"),
        (b"<!DOCTYPE html>\n<html><head>", "html"),
        (b"<!doctype HTML><title>x</title>", "html"),
        (
            b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd">',
            "html",
        ),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "html"),
        (b"\r\n<HTML><BODY>", "html"),
        (b"<head><meta charset=gbk>", "html"),
        (b"Warning: include(): failed<br>", "unknown"),
        (b"", "unknown"),
    ],
)
def test_detect_format(body: bytes, expected: str) -> None:
    assert detect_format(body) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rss091.xml", "rss091"),
        ("rss092.xml", "rss092"),
        ("rss10.rdf", "rss10"),
        ("rss20.xml", "rss20"),
        ("atom03.xml", "atom03"),
        ("atom10.xml", "atom10"),
        ("jsonfeed10.json", "json10"),
        ("jsonfeed11.json", "json11"),
        ("discuz_portal_rss.xml", "rss20"),
        ("lying_charset.xml", "rss20"),
        ("malformed.xml", "rss20"),
    ],
)
def test_parse_feed_dispatches_every_fixture(name: str, expected: str) -> None:
    feed = parse_feed((FIXTURES / name).read_bytes(), url="http://example.com/feed")

    assert feed.format == expected
    assert feed.items


def test_an_html_page_raises_not_a_feed_with_its_alternates() -> None:
    body = (FIXTURES / "not_a_feed.html").read_bytes()

    with pytest.raises(NotAFeed) as caught:
        parse_feed(body, url="http://example.net/index.php")

    assert isinstance(caught.value, ParseError)
    assert caught.value.url == "http://example.net/index.php"
    assert caught.value.alternates == (
        "http://example.net/portal.php?mod=rss&catid=1",
        "https://feeds.example.net/atom.xml",
        "http://example.net/feed.json",
    )


def test_feed_links_honour_base_and_declared_charset() -> None:
    page = (
        '<?xml version="1.0" encoding="gbk"?><html><head><base href="http://cdn.example.net/x/">'
        '<title>汉中</title><link rel="alternate" type="application/rss+xml" href="rss.xml">'
        '<link rel="alternate" type="application/rss+xml" href="rss.xml">'
        '<link rel="alternate" type="application/atom+xml" href="http://[broken/"></head></html>'
    ).encode("gbk")

    assert feed_links(page, url="http://example.net/") == ("http://cdn.example.net/x/rss.xml",)


def test_a_page_without_feed_links_has_no_alternates() -> None:
    with pytest.raises(NotAFeed) as caught:
        parse_feed(b"<!DOCTYPE html><html><body>hi</body></html>", url="http://example.net/")

    assert caught.value.alternates == ()


@pytest.mark.parametrize("body", [b"", b" \r\n\t "])
def test_an_empty_body_raises(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty body"):
        parse_feed(body, url="http://example.com/feed")


def test_a_feed_behind_a_php_warning_is_recovered_as_degraded() -> None:
    body = (
        b"<br />\n<b>Warning</b>: Undefined variable<br />\n"
        + (FIXTURES / "rss092.xml").read_bytes()
    )

    feed = parse_feed(body, url="http://example.com/radio/rss.xml")

    assert (feed.format, len(feed.items)) == ("rss092", 2)
    assert feed.warnings


def test_plain_text_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse_feed(b"Service Unavailable", url="http://example.com/feed")


def test_the_configured_encoding_reaches_the_xml_parser() -> None:
    body = (FIXTURES / "lying_charset.xml").read_bytes()

    feed = parse_feed(body, url="http://example.net/", encoding="gbk")

    assert (feed.charset, feed.items[0].title) == ("gb18030", "汉中又新增一项国字号荣誉!")


@pytest.mark.parametrize(
    "label", ["base64", "zlib", "rot13", "undefined", "punycode", "unicode_escape", "utf-7", "\x00"]
)
def test_a_charset_label_naming_a_python_transform_is_ignored(label: str) -> None:
    """Python's codec registry holds transforms a hostile upstream could name in its
    Content-Type or XML declaration: they used to raise (LookupError, UnicodeError), or turn
    `+ADw-` into `<`."""
    body = (
        f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>t+ADw-'
        "\\u6c49</title><item><title>汉中</title></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, url="http://example.com/f.xml", header_charset=label)
    assert (feed.charset, feed.title, feed.items[0].title) == ("utf-8", "t+ADw-\\u6c49", "汉中")


def _listing(count: int, *, dated: bool = True, oldest_first: bool = True) -> bytes:
    numbers = range(count) if oldest_first else reversed(range(count))
    items = "".join(
        f"<item><title>n{n}</title><guid>g{n}</guid>"
        + (f"<pubDate>{format_datetime(START + timedelta(minutes=n))}</pubDate>" if dated else "")
        + "</item>"
        for n in numbers
    )
    return f'<rss version="2.0"><channel><title>a</title>{items}</channel></rss>'.encode()


START = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("oldest_first", [True, False], ids=["oldest-first", "newest-first"])
def test_a_long_listing_keeps_its_newest_entries_in_document_order(oldest_first: bool) -> None:
    feed = parse_feed(_listing(3000, oldest_first=oldest_first), url=URL, max_entries=20)

    titles = [f"n{n}" for n in range(2980, 3000)]
    assert [item.title for item in feed.items] == (titles if oldest_first else titles[::-1])
    assert feed.warnings == ("3000 entries listed: only the newest 20 read (fetch.max_entries)",)


def test_an_undated_long_listing_keeps_its_first_entries() -> None:
    feed = parse_feed(_listing(50, dated=False), url=URL, max_entries=5)

    assert [item.title for item in feed.items] == ["n0", "n1", "n2", "n3", "n4"]
    assert feed.warnings == ("50 entries listed: only the first 5 read (fetch.max_entries)",)


@pytest.mark.parametrize("oldest_first", [True, False], ids=["oldest-first", "newest-first"])
def test_an_entry_without_a_date_leaves_the_newest_chosen(oldest_first: bool) -> None:
    """It counts as dated like its neighbour: one missing `pubDate` made an archive listed
    oldest first keep its oldest entries for good, never showing a new one."""
    body = _listing(50, oldest_first=oldest_first)
    for undated in (7, 49):
        body = re.sub(rf"<guid>g{undated}</guid><pubDate>[^<]*</pubDate>".encode(),
                      f"<guid>g{undated}</guid>".encode(), body)  # fmt: skip

    for feed in (
        parse_feed(body, url=URL, max_entries=5),
        parse_xml_feed(body, url=URL, max_entries=5),
    ):
        assert sorted(item.title for item in feed.items) == ["n45", "n46", "n47", "n48", "n49"]
        assert feed.warnings[-1] == "50 entries listed: only the newest 5 read (fetch.max_entries)"


def test_entries_tied_on_date_keep_the_earlier_listed() -> None:
    body = _listing(6, dated=False).replace(
        b"</guid>", b"</guid><pubDate>Fri, 01 Mar 2024 00:00:00 GMT</pubDate>"
    )
    assert [i.title for i in parse_feed(body, url=URL, max_entries=2).items] == ["n0", "n1"]


def test_every_format_is_bounded_and_a_listing_at_the_bound_is_whole() -> None:
    json_feed = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "j",
         "items": [{"id": str(n), "title": f"n{n}"} for n in range(12)]}
    ).encode()  # fmt: skip
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
        + b"".join(f"<entry><id>e{n}</id><title>n{n}</title></entry>".encode() for n in range(12))
        + b"</feed>"
    )

    assert len(parse_feed(json_feed, url=URL, max_entries=10).items) == 10
    assert len(parse_feed(atom, url=URL, max_entries=10).items) == 10
    whole = parse_feed(_listing(10), url=URL, max_entries=10)
    assert (len(whole.items), whole.warnings) == (10, ())


def test_the_feedparser_path_is_bounded_too() -> None:
    """A document lxml refuses (a bare `&`) goes to feedparser, and is read to its newest too."""
    body = _listing(300).replace(b"<title>a</title>", b"<title>a & b</title>")

    feed = parse_feed(body, url=URL, max_entries=3)

    assert [item.title for item in feed.items] == ["n297", "n298", "n299"]
    assert feed.warnings[-1] == "300 entries listed: only the newest 3 read (fetch.max_entries)"
    assert feed.warnings[0].startswith("malformed XML, recovered leniently")


def test_the_bound_counts_entries_as_listed_empty_ones_too() -> None:
    """The choice is made before an entry is built, so before it is known to be empty."""
    rss = _listing(20, dated=False).replace(b"<item>", b"<item></item>" * 10 + b"<item>", 1)
    json_feed = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1",
         "items": [7] * 10 + [{"id": str(n), "title": f"n{n}"} for n in range(20)]}
    ).encode()  # fmt: skip

    for body, skipped in ((rss, "10 empty entries skipped"),
                          (json_feed, "10 empty or invalid items skipped")):  # fmt: skip
        feed = parse_feed(body, url=URL, max_entries=15)
        assert [item.title for item in feed.items] == [f"n{n}" for n in range(5)]
        bounded = "30 entries listed: only the first 15 read (fetch.max_entries)"
        assert feed.warnings == (skipped, bounded)


def test_entries_are_chosen_before_any_is_built() -> None:
    """Building an entry (sanitising it) is most of a parse: the parsers build what
    `chosen` gives them, and nothing else."""
    listing: Listing[int] = Listing(5, lambda n: START + timedelta(minutes=n % 700))
    listing.extend(range(1000))

    assert listing.chosen() == (
        [695, 696, 697, 698, 699],
        "1000 entries listed: only the newest 5 read (fetch.max_entries)",
    )


class _Entry:
    def __init__(self, number: int, dated: bool = True) -> None:
        self.number, self.dated = number, dated


def _held(count: int, listing: Listing[_Entry], undated: int = -1) -> int:
    """How many of `count` entries added to `listing` are still alive afterwards."""
    alive = []
    for number in range(count):
        entry = _Entry(number, dated=number != undated)
        alive.append(weakref.ref(entry))
        listing.add(entry)
    del entry
    return sum(ref() is not None for ref in alive)


def test_a_listing_holds_only_the_entries_it_may_read() -> None:
    """The walk hands each entry over as it ends: a document of 90,000 entries is not held
    whole to read 1,000. Dates repeat here (every 500 entries), and ties keep the earlier."""

    def date(entry: _Entry) -> datetime | None:
        return START + timedelta(minutes=entry.number % 500) if entry.dated else None

    newest: Listing[_Entry] = Listing(5, date)
    assert _held(1000, newest) <= 10
    assert [entry.number for entry in newest.chosen()[0]] == [497, 498, 499, 998, 999]

    one_undated: Listing[_Entry] = Listing(5, date)
    assert _held(1000, one_undated, undated=600) <= 10
    assert [entry.number for entry in one_undated.chosen()[0]] == [497, 498, 499, 998, 999]

    first: Listing[_Entry] = Listing(5, lambda entry: None)
    assert _held(1000, first) == 5
    assert [entry.number for entry in first.chosen()[0]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("dated", [True, False], ids=["newest", "first"])
def test_both_xml_paths_choose_the_same_entries(dated: bool) -> None:
    body = _listing(500, dated=dated).replace(b"<item>", b"<item><description>d</description>")

    fast = parse_fast(body, url=URL, max_entries=7)

    assert fast is not None
    assert fast == parse_xml_feed(body, url=URL, max_entries=7)
    assert len(fast.items) == 7


PLAYER = '<p>看</p><iframe src="https://www.youtube.com/embed/x"></iframe>'
PLAYER_FEEDS = {
    "RSS, the fast path": f"<rss version='2.0'><channel><title>t</title><item><title>v</title>"
    f"<description>{html.escape(PLAYER)}</description></item></channel></rss>",
    "RSS, feedparser's": f"<rss version='2.0'><channel><title>t</title><item><title>v</title>"
    f"<description>{html.escape(PLAYER)}</description></item></channel></rss>&",
    "JSON Feed": json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"id": "1", "content_html": PLAYER}],
        }
    ),
}


@pytest.mark.parametrize("body", PLAYER_FEEDS.values(), ids=PLAYER_FEEDS.keys())
def test_iframe_hosts_keep_their_players_in_feeds_too(body: str) -> None:
    """`sources.iframe_hosts` reached only the article pages of html sources: a feed's video
    players were dropped whatever the config said."""
    url = "https://v.example/feed"
    kept = parse_feed(body.encode(), url=url, iframe_hosts={"www.youtube.com"})
    assert kept.items[0].content_html == PLAYER
    dropped = parse_feed(body.encode(), url=url)
    assert dropped.items[0].content_html == "<p>看</p>"
