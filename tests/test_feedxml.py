"""RSS and Atom through the feedparser adapter: every field, from real-shaped fixtures."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator.policy import upstream_hint
from feeds.errors import ParseError
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.model import Enclosure, ParsedFeed, ParsedItem, Party

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
CST = timezone(timedelta(hours=8))
EST = timezone(timedelta(hours=-5))
ALL_FIELDS = ("title", "url", "upstream_id", "content_html", "summary", "published", "updated")


def parse(name: str, url: str) -> ParsedFeed:
    return parse_xml_feed((FIXTURES / name).read_bytes(), url=url)


def offsets(item: ParsedItem) -> tuple[timedelta | None, timedelta | None]:
    """Datetimes compare as instants; the offsets must be checked on their own."""
    return (
        item.published.utcoffset() if item.published else None,
        item.updated.utcoffset() if item.updated else None,
    )


def feed_provenance(*fields: str) -> tuple[tuple[str, str], ...]:
    return tuple((field, "feed") for field in fields)


def test_rss20_every_field_and_sanitised_content() -> None:
    feed = parse("rss20.xml", "https://example.org/hzfb/rss.xml")

    assert (feed.title, feed.link, feed.format) == (
        "汉中发布",
        "https://example.org/hzfb/",
        "rss20",
    )
    assert (feed.ttl_seconds, feed.warnings) == (1800, ())
    first, second = feed.items
    assert first == ParsedItem(
        title="汉中又新增一项国字号荣誉!",
        url="https://example.org/hzfb/a/1001.html",
        upstream_id="hzfb-1001",
        content_html=(
            "<p>近日，汉中又新增一项<b>国字号</b>荣誉。</p>"
            '<img src="https://example.org/img/1001.jpg" referrerpolicy="no-referrer">'
            '<a rel="noopener noreferrer nofollow">链接</a><p>(来源:汉中发布)</p>'
        ),
        summary="近日，汉中又新增一项国字号荣誉。",
        published=datetime(2022, 1, 14, 17, 50, tzinfo=CST),
        author="张三",
        tags=("汉中", "政务"),
        provenance=feed_provenance(*ALL_FIELDS[:-1], "author", "tags"),
    )
    assert offsets(first) == (timedelta(hours=8), None)
    for unsafe in ("<script", "alert(", "onerror", "onclick", "javascript:"):
        assert unsafe not in first.content_html
    assert second == ParsedItem(
        title="Controlcharacter removed",
        url="https://example.org/hzfb/a/1002.html",
        upstream_id="https://example.org/hzfb/a/1002.html",
        content_html="A bell rings &amp; stops.",
        summary="A bell rings & stops.",
        published=datetime(2022, 1, 13, 8, 0, tzinfo=UTC),
        author="Li Si",
        provenance=feed_provenance(*ALL_FIELDS[:-1], "author"),
    )
    assert offsets(second) == (timedelta(0), None)


def test_discuz_portal_rss_in_gbk_without_guid() -> None:
    feed = parse("discuz_portal_rss.xml", "http://example.net/portal.php?mod=rss")

    assert (feed.title, feed.link, feed.format, feed.charset) == (
        "汉中第一网",
        "http://example.net/",
        "rss20",
        "gb18030",
    )
    assert [item.title for item in feed.items] == [
        "汉中又新增一项国字号荣誉!",
        "汉台区：冬季安全生产大检查全面展开",
    ]
    first = feed.items[0]
    assert first.url == "http://example.net/portal.php?mod=view&aid=12345"
    assert first.upstream_id is None
    assert first.summary.startswith("近日，国家林业和草原局公布了第二批国家森林康养基地名单")
    assert first.summary.endswith("此次全国共有九十六家单位入选...")
    assert first.content_html == first.summary
    assert first.published == datetime(2022, 1, 14, 9, 50, tzinfo=UTC)
    assert offsets(first) == (timedelta(0), None)
    assert (first.author, first.tags) == ("admin", ("汉中新闻",))


def test_a_declaration_that_lies_falls_back_to_detection() -> None:
    honest = parse("discuz_portal_rss.xml", "http://example.net/portal.php?mod=rss")
    lying = parse("lying_charset.xml", "http://example.net/portal.php?mod=rss")

    assert lying.items == honest.items
    assert lying.charset == "gb18030"


def test_the_configured_encoding_overrides_the_document() -> None:
    body = (FIXTURES / "lying_charset.xml").read_bytes()

    feed = parse_xml_feed(body, url="http://example.net/", header_charset="utf-8", encoding="gbk")

    assert feed.items[0].title == "汉中又新增一项国字号荣誉!"


def test_rss091_with_netscape_doctype_and_relative_link() -> None:
    feed = parse("rss091.xml", "http://example.com/cafe/rss.xml")

    assert (feed.title, feed.format) == ("Café Weekly", "rss091")
    assert feed.items == (
        ParsedItem(
            title="Crème brûlée returns",
            url="http://example.com/cafe/creme.html",
            content_html="The <b>dessert</b> is back on the menu.",
            summary="The dessert is back on the menu.",
            provenance=feed_provenance("title", "url", "content_html", "summary"),
        ),
        ParsedItem(
            title="Opening hours",
            url="http://example.com/cafe/hours.html",
            content_html="Open daily from 8 to 18.",
            summary="Open daily from 8 to 18.",
            provenance=feed_provenance("title", "url", "content_html", "summary"),
        ),
    )


def test_rss092_source_is_the_origin_and_untitled_items_are_kept() -> None:
    feed = parse("rss092.xml", "http://example.com/radio/rss.xml")

    assert feed.format == "rss092"
    episode, untitled = feed.items
    assert episode.origin == Party("Partner Radio", "http://example.org/partner.xml")
    assert dict(episode.provenance)["origin"] == "channel", "a credit in its body outranks it"
    assert (episode.tags, episode.content_html) == (("music",), "<p>Songs of the sea.</p>")
    assert (untitled.title, untitled.url, untitled.summary) == (
        "",
        None,
        "An item with only a description.",
    )


def test_rss10_rdf_uses_dc_fields() -> None:
    feed = parse("rss10.rdf", "http://example.org/rdf/index.rdf")

    assert (feed.title, feed.format) == ("RDF Site", "rss10")
    first, second = feed.items
    assert (first.upstream_id, first.author, first.tags) == (
        "http://example.org/rdf/1",
        "Alice",
        ("science",),
    )
    assert first.published == first.updated == datetime(2022, 1, 14, 17, 50, tzinfo=CST)
    assert offsets(first) == (timedelta(hours=8), timedelta(hours=8))
    assert second.published == datetime(2022, 1, 13, 8, 0, tzinfo=UTC)
    assert offsets(second) == (timedelta(0), timedelta(0))


def test_atom03_keeps_negative_offsets_and_inherits_the_feed_author() -> None:
    feed = parse("atom03.xml", "http://example.com/blog/atom.xml")

    assert feed.format == "atom03"
    (entry,) = feed.items
    assert entry == ParsedItem(
        title="Atom 0.3 entry",
        url="http://example.com/blog/2004/01/02/entry",
        upstream_id="tag:example.com,2004:entry-1",
        content_html="<p>Escaped <em>HTML</em> content.</p>",
        summary="A short summary.",
        published=datetime(2004, 1, 2, 9, 30, tzinfo=EST),
        updated=datetime(2004, 1, 2, 10, 0, tzinfo=EST),
        author="Mark",
        provenance=feed_provenance(*ALL_FIELDS, "author"),
    )
    assert offsets(entry) == (timedelta(hours=-5), timedelta(hours=-5))


def test_atom10_every_field() -> None:
    feed = parse("atom10.xml", "https://example.org/news/atom.xml")

    assert (feed.title, feed.link, feed.format) == (
        "汉中新闻",
        "https://example.org/news/",
        "atom10",
    )
    first, second = feed.items
    assert first == ParsedItem(
        title="汉中 <首发> 新闻",
        url="https://example.org/news/articles/42.html",
        upstream_id="tag:example.org,2022:42",
        content_html=(
            '<p>正文<a href="https://example.org/x" rel="noopener noreferrer nofollow">链接</a></p>'
        ),
        summary="Tags like <b> stay text & more.",
        published=datetime(2022, 1, 14, 17, 50, tzinfo=CST),
        updated=datetime(2022, 1, 14, 18, 5, 30, tzinfo=CST),
        author="王五",
        tags=("汉中", "News"),  # the label, as its publisher shows it
        provenance=feed_provenance(*ALL_FIELDS, "author", "tags"),
    )
    assert offsets(first) == (timedelta(hours=8), timedelta(hours=8))
    assert "onmouseover" not in first.content_html
    assert "evil.example" not in first.content_html
    assert second.content_html == "<p>Line &lt;one&gt; &amp; two</p>"
    assert second.summary == "Line <one> & two"
    assert second.author == "汉中市融媒体中心"  # inherited from the feed
    assert second.published == second.updated == datetime(2022, 1, 13, 9, 0, tzinfo=CST)


def test_malformed_xml_is_recovered_with_warnings() -> None:
    feed = parse("malformed.xml", "http://example.com/broken/rss")

    assert [(item.title, item.url) for item in feed.items] == [
        ("Fish & Chips", "http://example.com/broken/1"),
        ("Salt & vinegar", "http://example.com/broken/2?a=1&b=2"),
    ]
    assert feed.items[0].content_html == "<p>Unclosed paragraph</p>"
    assert feed.items[1].upstream_id == "broken-2"
    assert len(feed.warnings) == 2
    assert feed.warnings[0].startswith("malformed XML, recovered leniently:")
    assert feed.warnings[1] == "1 empty entries skipped"


@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml"])
def test_entity_declarations_are_refused_before_any_expansion(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ParseError, match="declares XML entities") as caught:
        parse(name, "http://example.com/rss")

    assert time.perf_counter() - started < 1
    assert caught.value.url == "http://example.com/rss"
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>Hello</p></body></html>",
        b"just text",
        b'<?xml version="1.0"?><catalog><book/></catalog>',
    ],
)
def test_documents_that_are_not_feeds_raise(body: bytes) -> None:
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse_xml_feed(body, url="http://example.com/x")


def test_a_truncated_feed_without_entries_raises() -> None:
    with pytest.raises(ParseError, match="malformed feed"):
        parse_xml_feed(b'<rss version="2.0"><channel><title>x</ti', url="http://example.com/")


def test_a_well_formed_empty_feed_is_no_error() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title><ttl>0</ttl></channel></rss>'

    feed = parse_xml_feed(body, url="http://example.com/")

    assert feed == ParsedFeed(items=(), title="Quiet", format="rss20", charset="utf-8")


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [
        ("30", 1800),
        (" 30 ", 1800),
        ("0", None),
        ("-5", None),
        ("²", None),
        ("soon", None),
        ("9" * 4000, 366 * 86400),
    ],
)
def test_ttl_is_a_bounded_hint(ttl: str, seconds: int | None) -> None:
    """A hostile `<ttl>` of thousands of digits used to make an integer no float holds,
    which failed the source when its next fetch was planned."""
    body = f"<rss version='2.0'><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>"
    for parse in (parse_xml_feed, parse_fast):
        feed = parse(body.encode(), url="http://example.com/")
        assert feed is not None
        assert feed.ttl_seconds == seconds
    assert upstream_hint(0, ttl=seconds, cache_control=None, expires=None) == (seconds or 0)


def rss_item(inner: str) -> bytes:
    return (
        '<rss version="2.0"><channel><title>t</title><link>http://e.com/</link>'
        f"<item><title>x</title>{inner}</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("raw", "expected", "offset"),
    [
        ("Fri, 14 Jan 2022 17:50:00 +0800", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("Fri, 14 Jan 2022 17:50:00", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("Fri, 14 Jan 2022 09:50:00 -0000", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 0),
        ("Fri, 14 Jan 2022 09:50:00 GMT", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 0),
        ("2022-01-14T17:50:00+08:00", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("2022-01-14 17:50:00 +0800", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("2022-01-14T04:50:00-05:00", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), -5),
        ("2022-01-14", datetime(2022, 1, 13, 16, 0, tzinfo=UTC), 8),
        ("2022-01-14 17:50:00 XYZ", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("Fri, 14 Jan 2022 17:50 GMT+08:00", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), 8),
        ("2022-01-14 04:50:00 UTC-5", datetime(2022, 1, 14, 9, 50, tzinfo=UTC), -5),
    ],
)
def test_dates_keep_their_offset_and_naive_ones_use_the_default_zone(
    raw: str, expected: datetime, offset: int
) -> None:
    feed = parse_xml_feed(
        rss_item(f"<pubDate>{raw}</pubDate>"), url="http://e.com/", default_tz=CST
    )

    published = feed.items[0].published
    assert published == expected
    assert published is not None
    assert published.utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize("raw", ["someday soon", "0000-00-00T00:00:00Z"])
def test_an_unusable_date_is_none(raw: str) -> None:
    feed = parse_xml_feed(rss_item(f"<pubDate>{raw}</pubDate>"), url="http://e.com/")

    assert feed.items[0].published is None


def test_references_to_characters_xml_forbids_are_dropped_before_parsing() -> None:
    body = rss_item("").replace(b"<title>x</title>", b"<title>a&#1;&#xD800;&#65;&#x1F600;</title>")

    feed = parse_xml_feed(body, url="http://e.com/")

    assert (feed.items[0].title, feed.warnings) == ("aA\U0001f600", ())


def test_feedparser_crashing_on_hostile_input_becomes_a_parse_error() -> None:
    body = rss_item("<category>x</item>y</category>")  # KeyError inside feedparser

    with pytest.raises(ParseError, match="unparseable feed"):
        parse_xml_feed(body, url="http://e.com/")


@pytest.mark.parametrize(
    ("inner", "url", "upstream_id"),
    [
        ("<guid>https://e.com/p/1</guid>", "https://e.com/p/1", "https://e.com/p/1"),
        ("<guid>12345</guid>", None, "12345"),
        ('<guid isPermaLink="false">https://e.com/p/1</guid>', None, "https://e.com/p/1"),
        ("<guid>https://e.com/g</guid><link>/l</link>", "http://e.com/l", "https://e.com/g"),
        ("<link>javascript:alert(1)</link>", None, None),
        ("<link>http://[broken/</link>", None, None),
    ],
)
def test_a_guid_is_an_id_and_a_link_only_when_a_web_permalink(
    inner: str, url: str | None, upstream_id: str | None
) -> None:
    item = parse_xml_feed(rss_item(inner), url="http://e.com/feed").items[0]

    assert (item.url, item.upstream_id) == (url, upstream_id)


URL = "http://example.com/feed.xml"
MEDIA = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
    'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><item>'
    "<title>Storm closes the pass</title><link>http://example.com/1</link>{}</item>"
    "</channel></rss>"
)
PICTURE = (
    '<p><img src="http://example.com/1.jpg" alt="Storm closes the pass" '
    'referrerpolicy="no-referrer"></p>'
)
STORY = (PICTURE + "<p>The pass is closed.</p>", "The pass is closed.")
DESCRIBED = {
    "Mastodon, the alt text after the post": (
        "<description>&lt;p&gt;The pass is closed.&lt;/p&gt;</description>"
        '<media:content url="http://example.com/1.jpg" type="image/jpeg" medium="image">'
        '<media:rating scheme="urn:simple">nonadult</media:rating>'
        '<media:description type="plain">A snowy road</media:description></media:content>',
        STORY,
    ),
    "a news site, the caption before the story": (
        '<media:content url="http://example.com/1.jpg" medium="image"><media:credit>Li Si'
        "</media:credit><media:description>A snowy road</media:description></media:content>"
        "<description>&lt;p&gt;The pass is closed.&lt;/p&gt;</description>",
        STORY,
    ),
    "a group's picture with its own caption": (
        "<description>&lt;p&gt;The pass is closed.&lt;/p&gt;</description><media:group>"
        '<media:content url="http://example.com/1.jpg"><media:description>A snowy road'
        "</media:description></media:content></media:group>",
        STORY,
    ),
    "a video's synopsis in its group": (
        "<media:group><media:title>Storm</media:title><media:description>Snow on the pass"
        '</media:description><media:thumbnail url="http://example.com/1.jpg"/></media:group>',
        (PICTURE + "Snow on the pass", "Snow on the pass"),
    ),
    "a photo's caption, the item's only text": (
        '<media:content url="http://example.com/1.jpg" medium="image"><media:description '
        'type="plain">A snowy road &lt;near&gt; the pass</media:description></media:content>',
        (PICTURE + "<p>A snowy road &lt;near&gt; the pass</p>", "A snowy road <near> the pass"),
    ),
}


@pytest.mark.parametrize(("item", "described"), DESCRIBED.values(), ids=DESCRIBED.keys())
def test_a_pictures_caption_never_takes_the_storys_place(
    item: str, described: tuple[str, str]
) -> None:
    """feedparser read `<media:description>` inside `<media:content>` as the entry's own: the
    caption became the item's content, or its summary (feedparser's issue 53). It describes an
    item only when the item has no text of its own; a group's description is the entry's."""
    body = MEDIA.format(item).encode()

    for feed in (parse_xml_feed(body, url=URL), parse_fast(body, url=URL)):
        assert feed is not None
        assert (feed.items[0].content_html, feed.items[0].summary) == described


MEDIA_ITEMS = {
    "a picture beside the text": (
        "<description>&lt;p&gt;The pass is closed.&lt;/p&gt;</description>"
        '<media:content url="/1.jpg" type="image/jpeg" />',
        STORY[0],
        (),
    ),
    "a thumbnail, where no picture is given": (
        "<description>The pass is closed.</description>"
        '<media:content url="http://example.com/v.flv" medium="video" />'
        '<media:thumbnail url="http://example.com/1.jpg" width="480" />',
        PICTURE + "The pass is closed.",
        (Enclosure("http://example.com/v.flv", "", None),),
    ),
    "a body showing its own picture": (
        '<description>&lt;img src="http://example.com/0.png"&gt;</description>'
        '<media:content url="http://example.com/1.jpg" medium="image" />',
        '<img src="http://example.com/0.png" referrerpolicy="no-referrer">',
        (),
    ),
    "no address a browser may open": (
        "<description>The pass is closed.</description>"
        '<media:content url="javascript:alert(1)" medium="image" />'
        '<media:thumbnail url="data:image/png;base64,AAAA" />',
        "The pass is closed.",
        (),
    ),
    "audio given twice, as enclosure and as media": (
        '<enclosure url="http://example.com/a.mp3" type="audio/mpeg" length="9" />'
        '<media:content url="http://example.com/a.mp3" type="audio/mpeg" fileSize="9" />'
        '<media:content url="http://example.com/b.m4a" type="audio/mp4" fileSize="12" />',
        "",
        (Enclosure("http://example.com/a.mp3", "audio/mpeg", 9),
         Enclosure("http://example.com/b.m4a", "audio/mp4", 12)),
    ),
}  # fmt: skip


@pytest.mark.parametrize(("item", "content", "files"), MEDIA_ITEMS.values(), ids=MEDIA_ITEMS.keys())
def test_media_rss_pictures_open_the_content_and_its_files_are_enclosures(
    item: str, content: str, files: tuple[Enclosure, ...]
) -> None:
    """A photo feed's or news feed's picture in `media:content`/`media:thumbnail` was nowhere
    in what we republished, nor a podcast's audio given only there."""
    body = MEDIA.format(item).encode()
    for feed in (parse_xml_feed(body, url=URL), parse_fast(body, url=URL)):
        assert feed is not None
        assert (feed.items[0].content_html, feed.items[0].enclosures) == (content, files)


CREDITS = {
    "a titled via link": (
        '<atom:link rel="via" href="http://o.example/1" title="汉中发布"/>',
        Party("汉中发布", "http://o.example/1"),
    ),
    "a via link and dcterms:provenance": (
        '<atom:link rel="via" href="http://o.example/1"/><dcterms:provenance>汉中发布'
        "</dcterms:provenance>",
        Party("汉中发布", "http://o.example/1"),
    ),
    "dcterms:provenance with an attribute": (
        '<dcterms:provenance xml:lang="zh">汉中发布</dcterms:provenance>',
        None,
    ),
}


@pytest.mark.parametrize(("item", "origin"), CREDITS.values(), ids=CREDITS.keys())
def test_an_entrys_own_credit_reads_alike_on_both_paths(item: str, origin: Party | None) -> None:
    """The fast path kept no link's title (the origin was named by its address), and an
    element with attributes is a dict of them to feedparser: its repr became the origin."""
    body = (
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>t</title><item>'
        f"<title>x</title><link>http://a.example/1</link>{item}</item></channel></rss>"
    ).encode()
    for feed in (parse_xml_feed(body, url=URL), parse_fast(body, url=URL)):
        assert feed is not None
        assert feed.items[0].origin == origin


@pytest.mark.parametrize(
    "media",
    [
        '<media:content media:url="http://example.com/a.jpg" medium="image"/>',
        '<media:content url="http://example.com/a.jpg" x:url="http://example.com/b.jpg"/>',
    ],
)
def test_a_namespaced_media_attribute_reads_as_feedparser_reads_it(media: str) -> None:
    body = MEDIA.format(media).replace("<rss ", '<rss xmlns:x="urn:x" ').encode()
    assert parse_fast(body, url=URL) in (None, parse_xml_feed(body, url=URL))


def test_feedburners_original_link_wins_over_its_redirect_and_counters_go() -> None:
    """FeedBurner's `<link>` is its own click-counting redirect and its content ends with a
    1x1 counter; both paths publish the article's own address and no counter."""
    body = (FIXTURES / "shapes" / "feedburner.xml").read_bytes()
    for feed in (parse_xml_feed(body, url=URL), parse_fast(body, url=URL)):
        assert feed is not None
        item = feed.items[0]
        assert item.url == "https://fb.example/post"
        assert item.content_html == "<p>Hi</p>"


@pytest.mark.parametrize(
    "original", ["javascript:alert(1)", "", "   ", "<a>https://fb.example/x</a>"]
)
def test_an_unusable_original_link_leaves_the_items_own(original: str) -> None:
    body = (
        '<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">'
        "<channel><title>FB</title><item><title>T</title>"
        "<link>http://feedproxy.google.com/~r/x/~3/abc/</link>"
        f"<feedburner:origLink>{original}</feedburner:origLink></item></channel></rss>"
    ).encode()
    for parse in (parse_xml_feed, parse_fast):
        feed = parse(body, url=URL)
        assert feed is not None
        assert feed.items[0].url == "http://feedproxy.google.com/~r/x/~3/abc/"


YOUTUBE = "https://www.youtube.com/feeds/videos.xml?channel_id=UC1"


def youtube_feed(link: str, description: str, title: str = "Video") -> bytes:
    """YouTube's channel feed with one video, its synopsis and link as given (escaped here)."""
    body = (FIXTURES / "shapes" / "youtube.xml").read_text(encoding="utf-8")
    body = body.replace("<title>Video</title>", f"<title>{html.escape(title)}</title>")
    body = body.replace("Desc of video", html.escape(description))
    return body.replace("https://www.youtube.com/watch?v=abc", html.escape(link)).encode()


def test_a_youtube_video_shows_its_thumbnail_and_its_synopsis_line_by_line() -> None:
    """The synopsis is plain text with line breaks that feedparser labels HTML."""
    synopsis = "第一行 & more\nhttps://example.com/x\n\nSee <b> for details"
    body = youtube_feed("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1", synopsis, 'A "q" <i>')
    for feed in (parse_xml_feed(body, url=YOUTUBE), parse_fast(body, url=YOUTUBE)):
        assert feed is not None
        item = feed.items[0]
        assert item.content_html == (
            '<p><a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ&amp;t=1" rel="noopener '
            'noreferrer nofollow"><img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" '
            'alt="A &quot;q&quot; &lt;i&gt;" referrerpolicy="no-referrer"></a></p>'
            "<p>第一行 &amp; more<br>"
            "https://example.com/x<br><br>See &lt;b&gt; for details</p>"
        )
        assert item.summary == "第一行 & more https://example.com/x See <b> for details"


@pytest.mark.parametrize(
    ("link", "thumbnail"),
    [
        ("https://www.youtube.com/shorts/abcDEF12_-x", "/vi/abcDEF12_-x/"),
        ("https://www.youtube.com/watch?v=%3Cscript%3E", None),
        ("https://www.youtube.com/watch?v=a/../../x", None),
        ("https://www.youtube.com/playlist?list=PL1", None),
        ("https://evil.example/watch?v=dQw4w9WgXcQ", None),
    ],
)
def test_only_a_videos_own_link_makes_a_thumbnail(link: str, thumbnail: str | None) -> None:
    for parse in (parse_xml_feed, parse_fast):
        feed = parse(youtube_feed(link, "line 1\nline 2"), url=YOUTUBE)
        assert feed is not None
        content = feed.items[0].content_html
        assert ("i.ytimg.com" in content) == (thumbnail is not None), content
        if thumbnail:
            assert thumbnail in content
        assert content.endswith("<p>line 1<br>line 2</p>")  # YouTube's: plain text, always


def test_another_sites_feed_about_videos_keeps_its_descriptions_as_html() -> None:
    """RSSHub and blogs write HTML descriptions for YouTube links: they stay HTML, opened by the
    thumbnail of the group as any Media RSS picture is (see `feeds.media`)."""
    body = youtube_feed("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "line 1\nline 2")
    picture = (
        '<p><img src="https://i1.ytimg.com/vi/abc/hqdefault.jpg" alt="Video" '
        'referrerpolicy="no-referrer"></p>'
    )
    for parse in (parse_xml_feed, parse_fast):
        feed = parse(body, url="https://rsshub.example/youtube/channel/UC1")
        assert feed is not None
        assert feed.items[0].content_html == picture + "line 1\nline 2"


def test_a_wechat_article_bridged_to_rss_keeps_its_pictures() -> None:
    """WeChat keeps every picture's address in `data-src`, for its script to load; the feeds
    made from its articles carry the markup as it is."""
    body = (FIXTURES / "shapes" / "wechat-bridge.xml").read_bytes()
    for feed in (parse_xml_feed(body, url=URL), parse_fast(body, url=URL)):
        assert feed is not None
        content = feed.items[0].content_html
        picture = (
            '<img src="https://mmbiz.qpic.cn/mmbiz_jpg/Hzfb0114/640?wx_fmt=jpeg"'
            ' referrerpolicy="no-referrer">'
        )
        assert picture in content
        assert "data-" not in content
        assert "qrcode" not in content, "the 1x1 counter goes"


@pytest.mark.parametrize(
    ("name", "closing"), [("rss20.xml", "</item>"), ("atom10.xml", "</entry>")]
)
def test_the_entry_open_at_a_cut_is_not_read(name: str, closing: str) -> None:
    """A document cut mid-entry (a connection or a server stopped): the entry open at the cut
    was read as far as it went, and replaced the whole one stored."""
    whole = (FIXTURES / name).read_bytes()
    last_end = whole.rindex(closing.encode())
    cut = parse_xml_feed(whole[: last_end - 5], url="http://example.com/f")
    full = parse_xml_feed(whole, url="http://example.com/f")
    assert cut.cut_short
    assert not full.cut_short
    assert [item.title for item in cut.items] == [item.title for item in full.items][:-1]
    assert "document cut short: its last entry, left open, is not read" in cut.warnings
    between = parse_xml_feed(whole[: last_end + len(closing)], url="http://example.com/f")
    assert between.cut_short, "its validators are a whole document's"
    assert [item.title for item in between.items] == [item.title for item in full.items]


def test_junk_after_a_whole_document_is_not_a_cut() -> None:
    """What follows the root's end tag is read only when short: a long tail of unclosed
    comments is junk after a whole document, its entries all read."""
    whole = (FIXTURES / "rss20.xml").read_bytes()
    feed = parse_xml_feed(whole + b"<!--" * 5000, url="http://example.com/f")
    assert not feed.cut_short
    assert len(feed.items) == len(parse_xml_feed(whole, url="http://example.com/f").items)
