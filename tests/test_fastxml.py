"""Which documents take the lxml fast path, and that everything else still reaches feedparser."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

import feeds.parse
from bench.farm import render
from feeds.errors import ParseError
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.model import ParsedFeed
from feeds.nesting import MAX_DEPTH
from feeds.parse import parse_feed
from tests.conftest import FIXTURES

URL = "http://example.com/feed.xml"
TZ = ZoneInfo("Asia/Shanghai")


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
        ATOM.format('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                    '<svg xmlns="http://www.w3.org/2000/svg"><title>x</title></svg></div>'
                    "</content>").encode(),
        ATOM.format('<content type="html"><div xmlns="http://www.w3.org/1999/xhtml">'
                    "<p>x</p></div></content>").encode(),
        ATOM.format('<content type="image/png">iVBORw0KGgo=</content>').encode(),
        b'<?xml version="1.0"?><catalog><item><title>x</title></item></catalog>',
    ],
    ids=["svg in xhtml", "a div as html", "base64", "unknown root"],
)  # fmt: skip
def test_what_the_fast_path_does_not_model_is_refused(body: bytes) -> None:
    assert parse_fast(body, url=URL) is None


def test_the_configured_encoding_and_charset_are_honoured() -> None:
    body = (FIXTURES / "feeds" / "lying_charset.xml").read_bytes()

    feed = parse_fast(body, url=URL, header_charset="utf-8", encoding="gbk")

    assert feed is not None
    assert (feed.items[0].title, feed.charset) == ("汉中又新增一项国字号荣誉!", "gb18030")


def rss_item(item: str, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>t</title><link>http://example.com/</link><item>{item}</item></channel></rss>"
    ).encode()


def answers_like_feedparser(body: bytes) -> bool:
    """True when the fast path answers, with feedparser's records; False when it declines."""
    fast = parse_fast(body, url=URL, default_tz=TZ)
    if fast is None:
        return False
    slow = parse_xml_feed(body, url=URL, default_tz=TZ)
    assert fast == slow
    assert [(i.published, i.updated) for i in fast.items] == [
        (i.published, i.updated) for i in slow.items
    ]
    assert [i.published.utcoffset() if i.published else None for i in fast.items] == [
        i.published.utcoffset() if i.published else None for i in slow.items
    ]
    return True


HOSTILE = {
    "an HTML entity behind a DOCTYPE": (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>a&nbsp;b</title><item><title>x</title></item></channel></rss>",
        True,  # read as a numeric reference by both paths
    ),
    "an entity neither XML nor HTML knows": (rss_item("<title>a&nosuch;b</title>"), False),
    "a lone ampersand": (rss_item("<title>Fish & Chips</title>"), False),
    "an unknown namespace posing as dc": (
        rss_item("<dc:creator>x</dc:creator>", 'xmlns:dc="http://purl.org/dc/elements/1.1"'),
        False,
    ),
    "Google Play's podcast elements": (
        rss_item("<title>x</title><googleplay:author>Li</googleplay:author><googleplay:owner>"
                 "li@example.com</googleplay:owner><googleplay:image href='http://i.example/'/>",
                 'xmlns:googleplay="http://www.google.com/schemas/play-podcasts/1.0"'),
        True,
    ),
    "an unknown namespace under two prefixes": (
        rss_item("<a:author>Li</a:author><b:title>x</b:title>",
                 'xmlns:a="http://unknown.example/" xmlns:b="http://unknown.example/"'),
        False,
    ),
    "an unknown default namespace": (
        rss_item('<title xmlns="http://unknown.example/">x</title><title>y</title>'), False
    ),
    "a prefix renaming a known namespace": (
        rss_item("<content:encoded>x</content:encoded>",
                 'xmlns:content="http://purl.org/dc/elements/1.1/"'),
        False,
    ),
    "xml:base on an ignored element": (
        rss_item('<title>x</title><comments xml:base="http://evil.example/">c</comments>'
                 "<link>/after</link>"),
        True,
    ),
    "xml:base in a script's scheme": (
        rss_item('<title>x</title><link xml:base="javascript:alert(1)//">/a</link>'), True
    ),
    "xml:base twice on one element": (
        rss_item('<link base="http://a.example/" f:base="http://b.example/">/x</link>',
                 'xmlns:f="http://unknown.example/"'),
        False,
    ),
    "xml:base in a namespace feedparser knows": (
        rss_item('<link dc:base="http://a.example/">/x</link>',
                 'xmlns:dc="http://purl.org/dc/elements/1.1/"'),
        False,
    ),
    "an RSS category inside an iTunes one": (
        rss_item('<itunes:category text="a"><category>b</category></itunes:category>',
                 'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'),
        False,
    ),
    "elements where escaped markup belongs": (
        rss_item("<title>Fish &amp; <b>Chips</b></title><description>a &amp; b <p class='x'>"
                 "bold &lt;move&gt;<br/>next</p> <script>alert(1)</script></description>"),
        True,
    ),
    "an Atom text construct holding elements": (
        ATOM.format("<id>1</id><summary>plain <em>and</em> <div>wrapped</div></summary>"
                    "<content type='html'><p>one</p><div>two</div></content>").encode(),
        True,
    ),
    "an XHTML body in an RSS item": (
        rss_item("<title>x</title><description>short</description><xhtml:body><p>long "
                 "<a href='/more' onclick='alert(1)'>more</a></p></xhtml:body>",
                 'xmlns:xhtml="http://www.w3.org/1999/xhtml"'),
        True,
    ),
    "a feed's subtitle and rights in XHTML": (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><subtitle type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">News <b>daily</b></div></subtitle><rights>'
        b"(c) <em>us</em></rights><entry><id>1</id><title>x</title></entry></feed>",
        True,
    ),
    "an image inside an item": (rss_item("<title>x</title><image><url>u</url></image>"), False),
    "an image's address inside an item, between two titles": (
        rss_item("<title>first</title><image>http://i.example/1.jpg</image><title>second"
                 "</title>"),
        True,
    ),
    "a control character in a title": (rss_item("<title>a\x01b</title>"), True),
    "U+FFFF in a description": (rss_item("<title>x</title><description>\uffffd</description>"),
                                True),
    "a Netscape DOCTYPE": (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>t</title><item><title>x</title></item></channel></rss>",
        True,
    ),
    "+0800 offsets": (rss_item("<title>x</title><pubDate>Sat, 02 Mar 2024 01:37:00 +0800"
                               "</pubDate>"), True),
    "an offset out of range": (rss_item("<title>x</title><pubDate>Sat, 02 Mar 2024 01:37:00 "
                                        "+9999</pubDate>"), True),
    "a colon in an RFC 822 offset": (rss_item("<title>x</title><pubDate>Thu, 01 Jan 2004 "
                                              "19:48 GMT+08:00</pubDate>"), True),
    "a date without an offset": (rss_item("<title>x</title><pubDate>2024-03-02T01:37:00"
                                          "</pubDate>"), True),
    "a date nobody reads": (rss_item("<title>x</title><pubDate>yesterday</pubDate>"), True),
    "CDATA with markup and a script": (
        rss_item("<title>x</title><description><![CDATA[<p>a</p><script>alert(1)</script>"
                 "<img src='/i.png' onerror='alert(2)'>]]></description>"),
        True,
    ),
    "an escaped script in a description": (
        rss_item("<title>x</title><description>&lt;script&gt;alert(1)&lt;/script&gt;b"
                 "</description><link>javascript:alert(1)</link>"),
        True,
    ),
    "a script in XHTML content": (
        ATOM.format('<id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                    '<p onclick="alert(1)">a &amp; b</p><script>alert(2)</script><a href='
                    '"javascript:alert(3)">x</a><img src="/i.png" onerror="alert(4)"/></div>'
                    "</content>").encode(),
        True,
    ),
    "a title written in XHTML": (
        ATOM.format('<id>1</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                    "A <b>bold</b> &lt;claim&gt;</div></title>").encode(),
        True,
    ),
    "YouTube's media:group": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">'
        b"<title>t</title><entry><id>yt:1</id><title>v</title><link rel='alternate' "
        b"href='https://www.youtube.com/watch?v=1'/><published>2024-03-01T08:00:00+00:00"
        b"</published><media:group><media:title>v</media:title><media:description>about"
        b"</media:description><media:thumbnail url='https://i.example/1.jpg'/></media:group>"
        b"</entry></feed>",
        True,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("body", "accepted"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_answered_identically_or_declined(body: bytes, accepted: bool) -> None:
    assert answers_like_feedparser(body) is accepted


def test_characters_xml_forbids_are_dropped_after_lxml_refuses_them() -> None:
    """The fast path reads a document as it came, and cleans it only when lxml refuses it."""
    body = rss_item("<title>a\x01b\x0bc</title><description>d\ufffee</description>")

    fast = parse_fast(body, url=URL)
    assert fast is not None
    assert (fast.items[0].title, fast.items[0].summary) == ("abc", "de")
    assert fast == parse_xml_feed(body, url=URL)
    assert parse_fast(rss_item("<title>a\x01b & c</title>"), url=URL) is None, "still malformed"


@pytest.mark.parametrize("name", ["CDATA with markup and a script", "a script in XHTML content"])
def test_scripts_never_survive_the_fast_path(name: str) -> None:
    feed = parse_fast(HOSTILE[name][0], url=URL)

    assert feed is not None
    content = feed.items[0].content_html
    assert "<img" in content
    assert not any(word in content for word in ("script", "onerror", "onclick", "alert"))


def test_xhtml_content_keeps_its_markup_without_the_wrapping_div() -> None:
    feed = parse_fast(HOSTILE["a title written in XHTML"][0], url=URL)
    xhtml = parse_fast(HOSTILE["a script in XHTML content"][0], url=URL)

    assert feed is not None
    assert xhtml is not None
    assert feed.items[0].title == "A bold <claim>"
    assert xhtml.items[0].content_html.startswith("<p>a &amp; b</p>")


@pytest.mark.parametrize("n", [0, 1, 7])
def test_the_bench_farms_feeds_take_the_fast_path(n: int) -> None:
    assert answers_like_feedparser(render(n, 0))


@pytest.mark.parametrize(("depth", "fast"), [(200, True), (5000, False)])
def test_deeply_nested_markup_is_read_by_one_path_or_the_other(depth: int, fast: bool) -> None:
    """lxml refuses a tree deeper than 256 levels; feedparser, event by event, reads it,
    and the sanitiser keeps 256 levels of it, and its text (`feeds.nesting`)."""
    nested = "<b>" * depth + "x" + "</b>" * depth
    body = ATOM.format(
        f"<id>1</id><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>{nested}"
        "</div></content>"
    ).encode()

    assert answers_like_feedparser(body) is fast
    content = parse_feed(body, url=URL).items[0].content_html
    assert content.count("<b>") == min(depth, MAX_DEPTH)
    assert "x" in content
