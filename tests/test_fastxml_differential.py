"""The lxml fast path against feedparser: the same records wherever the fast path answers.

Documents: our fixtures and examples, feedparser's own test corpus (`make corpus` unpacks the
sdist of the installed feedparser into .cache/feedparser-corpus, or set FEEDPARSER_CORPUS), and
synthetic feeds for the feedparser quirks the corpus does not reach through accepted documents.
"""

from __future__ import annotations

import importlib.metadata
import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.model import ParsedFeed
from tests.conftest import FIXTURES, ROOT

CORPUS = Path(os.environ.get("FEEDPARSER_CORPUS", ROOT / ".cache" / "feedparser-corpus"))
URL = "http://example.com/news/feed.xml"
TZ = ZoneInfo("Asia/Shanghai")  # dates without an offset must land in the same zone
MIN_CORPUS_SHARE = 0.9  # the fast path answers for 2,116 of 6.0.14's 2,242 documents (94 %)


def dates(feed: ParsedFeed) -> list[tuple[str | None, str | None]]:
    """Datetimes compare as instants; their offsets must agree too."""
    return [
        (i.published.isoformat() if i.published else None,
         i.updated.isoformat() if i.updated else None)
        for i in feed.items
    ]  # fmt: skip


def differences(body: bytes) -> tuple[bool, str | None]:
    """(accepted, why the two paths disagree) for one document."""
    fast = parse_fast(body, url=URL, default_tz=TZ)
    if fast is None:
        return False, None
    try:
        slow = parse_xml_feed(body, url=URL, default_tz=TZ)
    except Exception as exc:  # a disagreement to report, whatever it is
        return True, f"feedparser path raised {exc!r}"
    if fast != slow:
        return True, f"fast {fast!r}\n  slow {slow!r}"
    if dates(fast) != dates(slow):
        return True, f"dates differ: {dates(fast)} != {dates(slow)}"
    return True, None


def corpus_files() -> list[Path]:
    version_file = CORPUS / ".version"
    if not version_file.is_file():
        pytest.fail(f"feedparser's test corpus is missing at {CORPUS}: run `make corpus`")
    installed = importlib.metadata.version("feedparser")
    if version_file.read_text().strip() != installed:
        pytest.fail(f"{CORPUS} is not feedparser {installed}'s corpus: run `make corpus`")
    return sorted((CORPUS / "tests").rglob("*.xml"))


def test_feedparsers_corpus_agrees_wherever_the_fast_path_answers() -> None:
    files = corpus_files()
    accepted = 0
    wrong: list[str] = []
    for path in files:
        answered, why = differences(path.read_bytes())
        accepted += answered
        if why:
            wrong.append(f"{path.relative_to(CORPUS)}: {why}")
    assert not wrong, "\n".join(wrong)
    assert accepted >= MIN_CORPUS_SHARE * len(files), f"only {accepted} of {len(files)} accepted"


OURS = sorted(
    [
        *(FIXTURES / "feeds").glob("*.xml"),
        *(FIXTURES / "feeds").glob("*.rdf"),
        *(FIXTURES / "upstream").glob("*.xml"),
        *(ROOT / "examples").glob("*.xml"),
        *(FIXTURES / "feeds" / "shapes").glob("*.xml"),
    ]
)
SHAPES = sorted((FIXTURES / "feeds" / "shapes").glob("*.xml"))  # what publishers write today


@pytest.mark.parametrize("path", OURS, ids=lambda p: str(p.relative_to(ROOT)))
def test_our_fixtures_agree(path: Path) -> None:
    assert differences(path.read_bytes())[1] is None


@pytest.mark.parametrize(
    "name",
    ["feeds/rss20.xml", "feeds/atom10.xml", "feeds/atom03.xml", "feeds/rss10.rdf",
     "feeds/discuz_portal_rss.xml",
     "feeds/rss091.xml", "upstream/hzfb.xml", "upstream/portal-rss.gbk.xml"],
)  # fmt: skip
def test_typical_feeds_take_the_fast_path(name: str) -> None:
    assert differences((FIXTURES / name).read_bytes()) == (True, None)


@pytest.mark.parametrize("path", SHAPES, ids=lambda p: p.stem)
def test_the_shapes_publishers_write_take_the_fast_path(path: Path) -> None:
    """WordPress (RSS, and Atom with xml:base), jekyll-feed, GitHub, YouTube, Reddit, Mastodon,
    arXiv, FeedBurner, RSSHub, Substack and podcasts, a Chinese portal's RSS."""
    assert differences(path.read_bytes()) == (True, None)


def rss(items: str, channel: str = "<title>t</title><link>http://example.com/</link>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


QUIRKS = {
    "a title that looks like HTML": rss("<item><title>Fish &amp;amp; &lt;b&gt;Chips&lt;/b&gt;"
                                        "</title></item>"),
    "links with escaped queries": rss("<item><link>http://example.com/?a=1&amp;amp;b=2&amp;c;=3"
                                      "</link></item>", "<link>http://example.com/?a&amp;b;=1"
                                      "</link>"),
    "UTF-8 read as Latin-1": rss("<item><title>CafÃ© crÃ¨me</title></item>"),
    "windows-1252 controls": rss("<item><title>&#147;quoted&#148; &#128;5</title></item>"),
    "a date only feedparser reads": rss("<item><title>x</title>"
                                        "<pubDate>Κυρ, 11 Ιούλ 2004 12:00:00 EST</pubDate></item>"),
    "numeric offsets": rss("<item><title>x</title><pubDate>Fri, 14 Jan 2022 17:50:00 +0800"
                           "</pubDate><dc:date>2022-01-14T17:50:00+08:00</dc:date></item>"),
    "dates without an offset": rss("<item><title>x</title><pubDate>2022-01-14 17:50</pubDate>"
                                   "</item>"),
    "a second description is content": rss("<item><description>one</description>"
                                           "<description>&lt;p&gt;two</description></item>"),
    "content before the description": rss("<item><content:encoded>&lt;p&gt;body"
                                          "</content:encoded><description>sum</description>"
                                          "</item>"),
    "an unknown date element": rss("<item><title>x</title><date>2022-01-14</date></item>"),
    "permalink guids": rss('<item><guid>http://example.com/1</guid></item><item><guid '
                           'isPermaLink="false">http://example.com/2</guid></item>'),
    "authors in every shape": rss("<item><title>x</title><author>li@example.com (Li Si)</author>"
                                  "<dc:creator>王五</dc:creator><dc:creator>Zhao</dc:creator>"
                                  "</item>"),
    "RSS source and categories": rss('<item><title>x</title><source url="http://o.example/f">'
                                     'Origin</source><category domain="d">汉中</category>'
                                     "<category>汉中</category><category/></item>"),
    "a version namespace declared late": rss('<item xmlns:r="http://purl.org/rss/1.0/">'
                                             "<title>x</title></item>"),
    "an image that ends early": rss("<item><title>x</title></item>", "<title>Feed</title>"
                                    "<image><foo/><title>Image</title></image>"),
    "a channel image and ttl": rss("<item><title>x</title></item>",
                                   "<image><title>logo</title><link>http://i.example/</link>"
                                   "<url>http://i.example/l.png</url></image><title>Real</title>"
                                   "<ttl>30</ttl><atom:link xmlns:atom='http://www.w3.org/2005/"
                                   "Atom' href='http://example.com/atom-link'/>"),
    "Atom with authors, sources and text types": (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &amp;amp; B</title>'
        b"<author><name>Feed Author</name></author><link href='/relative'/>"
        b"<entry><id>tag:e,2022:1</id><title>one</title><updated>2022-01-14T17:50:00+08:00"
        b"</updated><summary type='html'>&lt;p&gt;s</summary><content>plain &lt;b&gt;"
        b"</content><source><title>Src</title><link href='http://s.example/'/></source></entry>"
        b"<entry><id>http://example.com/2</id><author><name>A</name><email>a@e.com</email>"
        b"</author><author><name>B</name></author><published>2022-01-13T09:00:00-05:00"
        b"</published><link rel='enclosure' href='http://e.example/m.mp3'/></entry></feed>"
    ),
    "WordPress's xml:base on the feed": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://wp.example/wp-atom.php">'
        b"<title>Blog</title><link rel='alternate' href='https://wp.example'/><entry><id>"
        b"https://wp.example/?p=1</id><title>One</title><link href='/2024/one/'/><content "
        b"type='html' xml:base='https://wp.example/2024/one/'>&lt;a href='two'&gt;2&lt;/a&gt;"
        b"</content></entry></feed>"
    ),
    "jekyll-feed's xml:base on content": (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>J</title><entry><title>Post</title>'
        b"<link href='https://j.example/post.html' rel='alternate' type='text/html'/><id>"
        b"https://j.example/post</id><content type='html' xml:base='https://j.example/post."
        b"html'>&lt;img src='/i.png'&gt;</content><updated>2024-03-01T08:00:00+08:00</updated>"
        b"</entry></feed>"
    ),
    "a child's xml:base outliving it": rss(
        '<item><title>x</title><comments xml:base="http://other.example/d/">c</comments>'
        "<link>e.html</link><guid>g</guid></item><item><link>f.html</link></item>"
    ),
    "nested and relative bases": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/x/y/"><title>'
        b"t</title><entry xml:base='../z/'><id>1</id><link href='p'/><source xml:base='s/'>"
        b"<link href='q'/></source></entry><entry xml:base='mailto:a@b'><id>2</id><link "
        b"href='r'/></entry><entry><id>3</id><link href='?a=1'/></entry></feed>"
    ),
    "a relative base on the root": (
        b'<rss version="2.0" xml:base="sub/"><channel><title>t</title><link>home</link><item>'
        b"<link>a</link><guid>b</guid></item></channel></rss>"
    ),
    "a podcast's nested iTunes categories": (
        b'<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
        b'<title>Pod</title><itunes:category text="News"><itunes:category text="Daily News"/>'
        b'</itunes:category><item><title>Ep 1</title><itunes:category text="Arts">before'
        b'<itunes:category text="Books">inner</itunes:category>after<itunes:category/>'
        b"</itunes:category><itunes:category><itunes:category>only inner</itunes:category>"
        b"</itunes:category><category>News</category></item></channel></rss>"
    ),
    "enclosures as podcasts write them, and worse": rss(
        '<item xml:base="http://cdn.example/pod/"><title>Ep 1</title><guid>g1</guid>'
        '<enclosure url="ep1.mp3" length=" 123 " type="Audio/MPEG; charset=x"/>'
        '<enclosure url="javascript:alert(1)" length="1" type="audio/mpeg"/>'
        '<enclosure url="http://cdn.example/pod/ep1.mp3" length="999" type="audio/ogg"/>'
        '<enclosure href="/ep1.m4a" length="12,345" type="mp3"/><enclosure url="" length="5"/>'
        '<enclosure url="ep1.pdf" length="-5" type="application/pdf"/>'
        '<enclosure url="big.mkv" length="99999999999999999999" type="video/x-matroska"/>'
        '<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="enclosure" href="a.ogg"/>'
        "</item>"
    ),
    "Atom enclosure links, typed or not": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://b.example/x/"><title>t'
        b"</title><entry><id>1</id><title>one</title><link rel='enclosure' href='m.mp3' "
        b"length='42301' type='audio/mpeg'/><link rel='enclosure' href='n.mp3'/><link "
        b"rel='ENCLOSURE' href='o.mp3' type='text/html'/><link rel='enclosure'>"
        b"http://b.example/p.mp3</link><source><title>S</title><link rel='enclosure' "
        b"href='q.mp3'/></source></entry></feed>"
    ),
    "more enclosures than an item keeps": rss(
        "<item><title>many</title>"
        + "".join(f'<enclosure url="http://e.example/{n}.mp3" length="{n}"/>' for n in range(30))
        + "</item>"
    ),
}  # fmt: skip
ENCLOSED = [name for name in QUIRKS if "enclosure" in name]


@pytest.mark.parametrize("body", QUIRKS.values(), ids=QUIRKS.keys())
def test_feedparser_quirks_are_reproduced(body: bytes) -> None:
    assert differences(body) == (True, None)


@pytest.mark.parametrize("name", ENCLOSED)
def test_enclosures_are_compared(name: str) -> None:
    """The quirks above compare enclosures the fast path kept, not two empty tuples."""
    feed = parse_fast(QUIRKS[name], url=URL, default_tz=TZ)

    assert feed is not None
    assert all(item.enclosures for item in feed.items)


def test_enclosures_are_resolved_typed_and_sized_alike() -> None:
    """An RSS enclosure's address follows xml:base as a link's does, and an Atom enclosure
    link without a type has none (feedparser said `text/html`): both paths, corrected alike."""
    rss_feed = parse_fast(QUIRKS["enclosures as podcasts write them, and worse"], url=URL)
    atom_feed = parse_fast(QUIRKS["Atom enclosure links, typed or not"], url=URL)

    assert rss_feed is not None
    assert atom_feed is not None
    assert [(e.url, e.media_type, e.length) for e in rss_feed.items[0].enclosures] == [
        ("http://cdn.example/pod/ep1.mp3", "audio/mpeg", 123),
        ("http://cdn.example/ep1.m4a", "", None),
        ("http://cdn.example/pod/ep1.pdf", "application/pdf", None),
        ("http://cdn.example/pod/big.mkv", "video/x-matroska", None),
        ("http://cdn.example/pod/a.ogg", "", None),
    ]
    assert [(e.url, e.media_type, e.length) for e in atom_feed.items[0].enclosures] == [
        ("http://b.example/x/m.mp3", "audio/mpeg", 42301),
        ("http://b.example/x/n.mp3", "", None),
        ("http://b.example/x/o.mp3", "text/html", None),
        ("http://b.example/p.mp3", "", None),
    ], "the source's enclosure is not the entry's"


def test_numeric_offsets_are_kept() -> None:
    feed = parse_fast(QUIRKS["numeric offsets"], url=URL, default_tz=TZ)

    assert isinstance(feed, ParsedFeed)
    (item,) = feed.items
    assert item.published is not None
    assert item.updated is not None
    assert item.published.utcoffset() == item.updated.utcoffset() == timedelta(hours=8)


EXPAT_REFUSES = {
    "U+FFFD in an element name": rss("<item><title>x</title><en\ufffdclosure url='u'/></item>"),
    "a modifier letter in an attribute name": rss("<item><title>x</title><guid isPerma\u02c6Link"
                                                  "='false'>g</guid></item>"),
    "a garbled XML declaration": "<?xm\ufffdl version='1.0'?>".encode()
    + rss("<item><title>汉中</title></item>")[38:],
    "a DOCTYPE with '>' in its system id": rss("<item><title>x</title></item>").replace(
        b"<rss ", b'\n<!DOCTYPE rss SYSTEM "http://example.com/a>b.dtd">\n<rss ', 1
    ),
}  # fmt: skip


ATOM = '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>tag:e,2022:1</id><title>x</title>{}'
TEXT_FEEDPARSER_MOVES = {
    "text inside a source's link with an address (feedparser: the source's title)": (
        ATOM.format('<source><title>Src</title><link href="http://s.example/">Extra</link>'
                    "</source></entry></feed>").encode()
    ),
    "entries inside a description outside the channel (feedparser: some of them)": (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a'
        b"</title></item></channel><description>d<item><title>b</title></item><item><title>c"
        b"</title></item></description></rss>"
    ),
}  # fmt: skip


DECLINED = {
    **{f"expat refuses {name}": (body, "warnings") for name, body in EXPAT_REFUSES.items()},
    **{f"feedparser moves {name}": (body, "items") for name, body in TEXT_FEEDPARSER_MOVES.items()},
}


@pytest.mark.parametrize(("body", "feedparser_gives"), DECLINED.values(), ids=DECLINED.keys())
def test_documents_the_fast_path_declines_go_to_feedparser(
    body: bytes, feedparser_gives: str
) -> None:
    """Found by mutating our fixtures. Documents libxml2 accepts and expat refuses: feedparser
    recovers them with a warning the fast path would not have given. Documents where
    feedparser's stream of events puts text or entries somewhere the tree does not (moving,
    copying and rewriting elements of accepted documents): the fast path declines them."""
    assert getattr(parse_xml_feed(body, url=URL, default_tz=TZ), feedparser_gives)
    assert differences(body) == (False, None)
