"""RSS 2.0 and Atom 1.0 output: the provenance of SPEC §6, and the W3C validator's rules.

The validator itself is not run here; its checks that matter to us are: every RSS item has a
guid and RFC 822 dates, every Atom entry has id, title, updated and an author somewhere, no
two alternate links share a type, no element outside a declared namespace, XML 1.0-safe text.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.jsonfeed import parse_json_feed, render_json
from feeds.model import Copy, Enclosure, OutEntry, OutFeed, Party, SourceRef
from feeds.render import render_atom, render_rss

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
CST = timezone(timedelta(hours=8))
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS = {"atom": ATOM, "dc": DC, "dcterms": DCTERMS, "content": CONTENT}
RFC822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d [+-]\d{4}"
)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")

SOURCE = SourceRef(
    id="hzfb",
    name="汉中发布",
    url="http://127.0.0.1:8080/sources/hzfb.atom",
    site_url="https://example.org/hzfb/",
    updated=datetime(2022, 1, 14, 18, 0, tzinfo=CST),
)
FULL = OutEntry(
    id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000001",
    title="汉中又新增一项国字号荣誉!\x0b",
    url="https://example.org/hzfb/a/1001.html",
    content_html="<p>近日，汉中又新增一项<b>国字号</b>荣誉。</p>",
    summary="近日 <b> & 汉中\x07",
    published=datetime(2022, 1, 14, 17, 50, tzinfo=CST),
    updated=datetime(2022, 1, 14, 18, 5, 30, 123, tzinfo=CST),
    source=SOURCE,
    author="张三",
    publisher=Party("汉中市人民政府新闻办公室", "https://example.org/"),
    origin=Party("汉中发布", "https://example.org/hzfb/orig/1001"),
    tags=("汉中", "政务", "汉中"),
    copies=(
        Copy("hz1w", "汉中第一网", "http://example.net/portal.php?mod=view&aid=12345"),
        Copy("hzrb", "汉中日报", None),
    ),
)
BARE = OutEntry(
    id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000002",
    title="",
    url=None,
    content_html="",
    summary="No title, no link",
    published=datetime(2022, 1, 13, 8, 0),  # naive, as SQLite may return it: UTC
    updated=datetime(2022, 1, 13, 8, 0, tzinfo=UTC),
    source=replace(SOURCE, site_url=None, updated=None),
    origin=Party("某报"),
)
Renderer = Callable[[OutFeed], bytes]
SELF = "http://127.0.0.1:8080/feeds/all.{}?limit=2&q=%E6%B1%89"


def out_feed(fmt: str, *entries: OutEntry) -> OutFeed:
    return OutFeed(
        id="urn:uuid:11111111-2222-4333-8444-555555555555",
        title="汉中新闻聚合",
        self_url=SELF.format(fmt),
        home_url="http://127.0.0.1:8080/",
        updated=datetime(2022, 1, 14, 18, 10, tzinfo=CST),
        entries=entries,
        description="汉中要闻",
        language="zh-CN",
        next_url=f"http://127.0.0.1:8080/feeds/all.{fmt}?limit=2&before=abc",
        hub_url="https://hub.example/",
        alternates=(
            ("rss", "http://127.0.0.1:8080/feeds/all.rss"),
            ("atom", "http://127.0.0.1:8080/feeds/all.atom"),
            ("json", "http://127.0.0.1:8080/feeds/all.json"),
        ),
    )


def parsed_upstream_entry() -> OutEntry:
    """An entry whose content came through our parser from a feed with script and onerror."""
    item = parse_xml_feed((FIXTURES / "rss20.xml").read_bytes(), url="https://example.org/").items
    return replace(
        FULL, id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000003", content_html=item[0].content_html
    )


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path, NS)]


def links(root: etree._Element, path: str) -> list[dict[str, str]]:
    return [dict(element.attrib) for element in root.findall(path, NS)]  # type: ignore[arg-type]


def test_rss_channel_links_dates_and_language() -> None:
    root = etree.fromstring(render_rss(out_feed("rss", FULL)))
    channel = root.find("channel")
    assert channel is not None

    assert texts(channel, "title") == ["汉中新闻聚合"]
    assert texts(channel, "link") == ["http://127.0.0.1:8080/"]
    assert texts(channel, "description") == ["汉中要闻"]
    assert texts(channel, "language") == ["zh-CN"]
    assert texts(channel, "lastBuildDate") == ["Fri, 14 Jan 2022 18:10:00 +0800"]
    assert links(channel, "atom:link") == [
        {"href": SELF.format("rss"), "rel": "self", "type": "application/rss+xml"},
        {"href": "http://127.0.0.1:8080/feeds/all.rss?limit=2&before=abc", "rel": "next"},
        {"href": "https://hub.example/", "rel": "hub"},
        {
            "href": "http://127.0.0.1:8080/feeds/all.atom",
            "rel": "alternate",
            "type": "application/atom+xml",
        },
        {
            "href": "http://127.0.0.1:8080/feeds/all.json",
            "rel": "alternate",
            "type": "application/feed+json",
        },
    ]


def test_rss_items_carry_the_provenance_of_spec_6() -> None:
    root = etree.fromstring(render_rss(out_feed("rss", FULL, BARE)))
    full, bare = root.findall("channel/item")

    guid = full.find("guid")
    assert guid is not None
    assert (guid.text, guid.get("isPermaLink")) == (FULL.id, "false")
    assert texts(full, "title") == ["汉中又新增一项国字号荣誉!"]
    assert texts(full, "link") == ["https://example.org/hzfb/a/1001.html"]
    assert texts(full, "description") == ["近日 &lt;b&gt; &amp; 汉中"]
    assert texts(full, "content:encoded") == [FULL.content_html]
    assert texts(full, "pubDate") == ["Fri, 14 Jan 2022 17:50:00 +0800"]
    assert links(full, "source") == [{"url": SOURCE.url}]
    assert texts(full, "source") == ["汉中发布"]
    assert texts(full, "dc:publisher") == ["汉中市人民政府新闻办公室"]
    assert texts(full, "dc:creator") == ["张三"]
    # The origin, not as dc:source: the validator warns on it beside <source>.
    assert full.find("dc:source", NS) is None
    assert links(full, "atom:link") == [
        {"rel": "via", "href": "https://example.org/hzfb/orig/1001", "title": "汉中发布"}
    ]
    assert texts(full, "dcterms:provenance") == ["汉中发布"]
    assert texts(full, "category") == ["汉中", "政务"]

    assert texts(bare, "title") == [], "the upstream gave none; the description says it all"
    assert texts(bare, "description") == ["No title, no link"]
    assert texts(bare, "pubDate") == ["Thu, 13 Jan 2022 08:00:00 +0000"]
    assert texts(bare, "dcterms:provenance") == ["某报"]  # an origin without a URL is named
    assert bare.find("atom:link", NS) is None
    assert bare.find("link") is None
    assert bare.find("dc:creator", NS) is None
    assert bare.find("dc:publisher", NS) is None


def test_rss_reads_back_with_feedparser() -> None:
    parsed = feedparser.parse(io.BytesIO(render_rss(out_feed("rss", FULL, BARE))))

    assert (parsed.bozo, parsed.version) == (False, "rss20")
    first = parsed.entries[0]
    assert (first.id, first.author, first.publisher) == (
        FULL.id,
        "张三",
        "汉中市人民政府新闻办公室",
    )
    assert first.source == {"href": SOURCE.url, "title": "汉中发布"}
    assert [tag.term for tag in first.tags] == ["汉中", "政务"]
    assert [entry.id for entry in parsed.entries] == [FULL.id, BARE.id]


def test_atom_feed_metadata_and_links() -> None:
    root = etree.fromstring(render_atom(out_feed("atom", FULL)))

    assert texts(root, "atom:id") == ["urn:uuid:11111111-2222-4333-8444-555555555555"]
    assert texts(root, "atom:title") == ["汉中新闻聚合"]
    assert texts(root, "atom:subtitle") == ["汉中要闻"]
    assert texts(root, "atom:updated") == ["2022-01-14T18:10:00+08:00"]
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    assert links(root, "atom:link") == [
        {"href": SELF.format("atom"), "rel": "self", "type": "application/atom+xml"},
        {"href": "http://127.0.0.1:8080/feeds/all.atom?limit=2&before=abc", "rel": "next"},
        {"href": "https://hub.example/", "rel": "hub"},
        {
            "href": "http://127.0.0.1:8080/feeds/all.rss",
            "rel": "alternate",
            "type": "application/rss+xml",
        },
        {
            "href": "http://127.0.0.1:8080/feeds/all.json",
            "rel": "alternate",
            "type": "application/feed+json",
        },
        {"href": "http://127.0.0.1:8080/", "rel": "alternate", "type": "text/html"},
    ]


def test_atom_entries_carry_the_provenance_of_spec_6() -> None:
    root = etree.fromstring(render_atom(out_feed("atom", FULL, BARE)))
    full, bare = root.findall("atom:entry", NS)

    assert texts(full, "atom:id") == [FULL.id]
    assert texts(full, "atom:title") == ["汉中又新增一项国字号荣誉!"]
    assert texts(full, "atom:published") == ["2022-01-14T17:50:00+08:00"]
    (updated,) = texts(full, "atom:updated")  # to the second, and microseconds of its own
    assert re.fullmatch(r"2022-01-14T18:05:30\.[0-9]{6}\+08:00", updated)
    assert texts(full, "atom:author/atom:name") == ["张三"]
    assert texts(full, "atom:rights") == ["汉中市人民政府新闻办公室"]
    assert texts(full, "atom:content") == [FULL.content_html]
    assert texts(full, "atom:summary") == ["近日 &lt;b&gt; &amp; 汉中"]
    assert [c.get("term") for c in full.findall("atom:category", NS)] == ["汉中", "政务"]
    assert links(full, "atom:link") == [
        {"href": "https://example.org/hzfb/a/1001.html"},  # rel defaults to alternate
        {"rel": "via", "href": "https://example.org/hzfb/orig/1001", "title": "汉中发布"},
        {
            "rel": "related",
            "href": "http://example.net/portal.php?mod=view&aid=12345",
            "title": "汉中第一网",
        },
    ]
    source = full.find("atom:source", NS)
    assert source is not None
    assert texts(source, "atom:id") == [SOURCE.url]
    assert texts(source, "atom:title") == ["汉中发布"]
    assert texts(source, "atom:updated") == ["2022-01-14T18:00:00+08:00"]
    assert links(source, "atom:link") == [
        {"rel": "self", "href": SOURCE.url},
        {"rel": "alternate", "href": "https://example.org/hzfb/"},
    ]
    assert texts(source, "atom:author/atom:name") == ["汉中市人民政府新闻办公室"]
    assert texts(source, "atom:author/atom:uri") == ["https://example.org/"]

    # Without a publisher or author, the source is the author; its updated falls back.
    assert bare.find("atom:author", NS) is None
    assert texts(bare, "atom:source/atom:author/atom:name") == ["汉中发布"]
    assert texts(bare, "atom:source/atom:updated") == ["2022-01-13T08:00:00+00:00"]
    assert texts(bare, "atom:published") == ["2022-01-13T08:00:00+00:00"]
    assert texts(bare, "atom:content") == ["<p>No title, no link</p>"]
    assert bare.find("atom:link", NS) is None  # an origin without a URL has no via link
    # but is named, as in RSS: Atom said nothing of a paper credited without an address
    assert texts(bare, "dcterms:provenance") == ["某报"]
    assert texts(full, "dcterms:provenance") == ["汉中发布"]


def test_atom_reads_back_with_feedparser() -> None:
    parsed = feedparser.parse(io.BytesIO(render_atom(out_feed("atom", FULL, BARE))))

    assert (parsed.bozo, parsed.version) == (False, "atom10")
    first = parsed.entries[0]
    assert (first.id, first.author, first.link) == (FULL.id, "张三", FULL.url)
    assert {(link.rel, link.href) for link in first.links} == {
        ("alternate", "https://example.org/hzfb/a/1001.html"),
        ("via", "https://example.org/hzfb/orig/1001"),
        ("related", "http://example.net/portal.php?mod=view&aid=12345"),
    }
    assert (first.source.id, first.source.title) == (SOURCE.url, "汉中发布")


@pytest.mark.parametrize("render", [render_rss, render_atom])
def test_output_follows_the_validator_rules(render: Renderer) -> None:
    fmt = "rss" if render is render_rss else "atom"
    body = render(out_feed(fmt, FULL, BARE, parsed_upstream_entry()))

    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert not CONTROL.search(body)
    for unsafe in (b"<script", b"&lt;script", b"onerror", b"onclick", b"javascript:"):
        assert unsafe not in body
    root = etree.fromstring(body)
    allowed = {None, ATOM, DC, DCTERMS, CONTENT} if fmt == "rss" else {ATOM, DCTERMS}
    assert {etree.QName(element).namespace for element in root.iter()} <= allowed
    if fmt == "rss":
        items = root.findall("channel/item")
        assert all(item.find("guid") is not None for item in items)
        dates = texts(root, "channel/lastBuildDate") + texts(root, "channel/item/pubDate")
        assert all(RFC822.fullmatch(date) for date in dates)
        return
    for entry in root.findall("atom:entry", NS):
        assert entry.find("atom:id", NS) is not None
        assert texts(entry, "atom:title") != [""]
        assert entry.find("atom:updated", NS) is not None
        authors = entry.findall("atom:author", NS) + entry.findall("atom:source/atom:author", NS)
        assert authors
    dates = [element.text or "" for element in root.iter(f"{{{ATOM}}}updated")]
    assert all(RFC3339.fullmatch(date) for date in dates)
    alternates = [
        link.get("type") for link in root.findall("atom:link", NS) if link.get("rel") == "alternate"
    ]
    assert len(alternates) == len(set(alternates))


def test_entries_dated_to_the_minute_get_distinct_atom_updates() -> None:
    """A portal list dated to the minute: the validator warns on equal `updated` values."""
    minute = datetime(2022, 1, 14, 17, 50, tzinfo=CST)
    tied = [
        replace(BARE, id=f"urn:uuid:4b8f3a2e-0000-4000-8000-00000000010{n}", updated=minute)
        for n in range(6)
    ]
    alone = replace(BARE, updated=minute + timedelta(hours=1))

    def updates(*entries: OutEntry) -> dict[str, str]:
        root = etree.fromstring(render_atom(out_feed("atom", *entries)))
        return {
            entry.findtext("atom:id", "", NS): entry.findtext("atom:updated", "", NS)
            for entry in root.findall("atom:entry", NS)
        }

    first = updates(alone, *tied)
    assert len(set(first.values())) == 7
    for entry in tied:
        when = datetime.fromisoformat(first[entry.id])
        assert when.replace(microsecond=0) == minute  # the tie is broken below the second
    # Each value depends on the entry alone: not on its neighbours, nor on their order, nor on
    # whether any shares its second (it changed, and moved back, when a tie came or went).
    assert updates(*reversed(tied)) == {entry.id: first[entry.id] for entry in tied}
    assert updates(alone, tied[0]) == {alone.id: first[alone.id], tied[0].id: first[tied[0].id]}
    assert updates(tied[1]) == {tied[1].id: first[tied[1].id]}


@pytest.mark.parametrize("render", [render_rss, render_atom])
def test_an_empty_feed_renders(render: Renderer) -> None:
    feed = replace(out_feed("rss"), description="", next_url=None, hub_url=None, alternates=())

    root = etree.fromstring(render(feed))

    if render is render_rss:
        assert texts(root, "channel/description") == ["汉中新闻聚合"]  # required: the title
    else:
        assert root.find("atom:subtitle", NS) is None
    assert not root.findall(".//item") + root.findall("atom:entry", NS)


def test_rss_plain_text_uses_hex_references_for_markup_characters() -> None:
    entry = replace(FULL, title="a <b> & c", tags=("R&D",), author="<Li>")

    body = render_rss(out_feed("rss", entry))

    assert b"<title>a &#x3C;b&gt; &#x26; c</title>" in body
    assert b"<category>R&#x26;D</category>" in body
    assert b"<dc:creator>&#x3C;Li&gt;</dc:creator>" in body
    item = etree.fromstring(body).find("channel/item")
    assert item is not None
    assert texts(item, "title") == ["a <b> & c"]


@pytest.mark.parametrize(
    ("title", "summary", "url", "expected"),
    [
        ("", "A microblog post", None, "A microblog post"),
        ("\x0b", " ", "https://example.org/p/1", "https://example.org/p/1"),
        ("", "", "\x0b", BARE.id),
    ],
)
@pytest.mark.parametrize("render", [render_rss, render_atom])
def test_an_untitled_entry_is_named_by_its_text_link_or_id(
    render: Renderer, title: str, summary: str, url: str | None, expected: str
) -> None:
    """Atom requires a title; RSS only when the item has no description: a title made up
    there was read by other readers (and aggregators) as the upstream's own."""
    entry = replace(BARE, title=title, summary=summary, url=url)

    root = etree.fromstring(render(out_feed("atom", entry)))

    made_up = [] if render is render_rss and summary.strip() else [expected]
    assert texts(root, "channel/item/title") + texts(root, "atom:entry/atom:title") == made_up
    if render is render_rss and not made_up:
        assert texts(root, "channel/item/description") == [summary]


def test_a_summary_is_published_without_controls_or_overrides() -> None:
    """An untitled entry's summary keeps nothing a reader would show past it: its override
    reached JSON Feed's `summary`, which readers and the embed script show as its title, and
    its C1 controls every format's body, which the validator called bad characters."""
    entry = replace(BARE, summary="见附件 \u202egpj.exe \x81\x9d")
    for render in (render_rss, render_atom, render_json):
        body = render(out_feed("json", entry)).decode("utf-8")
        assert not re.search("[\u202e\x81\x9d]", body)
        assert "gpj.exe" in body
    item = json.loads(render_json(out_feed("json", entry)))["items"][0]
    assert item["summary"] == item["content_text"] == "见附件 gpj.exe"


AUDIO = Enclosure("http://odd.example.cn/p1.mp3", "audio/mpeg", 123)
TRANSCRIPT = Enclosure("http://odd.example.cn/p1.pdf")  # type and length unknown


def test_rss_items_carry_their_first_enclosure() -> None:
    """RSS 2.0 allows one enclosure an item, with its length and type: unknown, they are "0"
    (as the RSS Advisory Board asks) and `application/octet-stream`."""
    podcast = replace(FULL, enclosures=(AUDIO, TRANSCRIPT))
    untyped = replace(BARE, enclosures=(TRANSCRIPT, AUDIO))

    root = etree.fromstring(render_rss(out_feed("rss", podcast, untyped, BARE)))
    first, second, bare = root.findall("channel/item")

    assert links(first, "enclosure") == [
        {"url": "http://odd.example.cn/p1.mp3", "length": "123", "type": "audio/mpeg"}
    ]
    assert links(second, "enclosure") == [
        {"url": "http://odd.example.cn/p1.pdf", "length": "0", "type": "application/octet-stream"}
    ]
    assert bare.find("enclosure") is None


def test_atom_entries_carry_every_enclosure() -> None:
    podcast = replace(FULL, enclosures=(AUDIO, TRANSCRIPT))

    root = etree.fromstring(render_atom(out_feed("atom", podcast, BARE)))
    first, bare = root.findall("atom:entry", NS)

    assert links(first, "atom:link[@rel='enclosure']") == [
        {"rel": "enclosure", "href": AUDIO.url, "type": "audio/mpeg", "length": "123"},
        {"rel": "enclosure", "href": TRANSCRIPT.url},
    ]
    assert not links(bare, "atom:link[@rel='enclosure']")


@pytest.mark.parametrize("render", [render_rss, render_atom])
def test_published_enclosures_read_back(render: Renderer) -> None:
    fmt = "rss" if render is render_rss else "atom"
    feed = out_feed(fmt, replace(FULL, enclosures=(AUDIO, TRANSCRIPT)))

    (item,) = parse_xml_feed(render(feed), url="http://127.0.0.1:8080/").items

    assert item.enclosures == ((AUDIO,) if fmt == "rss" else (AUDIO, TRANSCRIPT))


@pytest.mark.parametrize("render", [render_rss, render_atom, render_json])
@pytest.mark.parametrize("origin", [FULL.origin, BARE.origin], ids=["linked", "named"])
def test_another_aggregator_reads_our_origin_not_our_source(
    render: Renderer, origin: Party | None
) -> None:
    """Every entry names our source (`<source>`, `_source`) and, apart, where it was first
    published (`via` and `dcterms:provenance`, `_origin`). An aggregator reading our feeds
    (another instance) took `<source>` for the origin and never read `_origin`: every item was
    credited to the source we read it from, even one whose body credits another."""
    body = render(out_feed("rss", replace(FULL, origin=origin)))
    url = "http://127.0.0.1:8080/feeds/all"
    parsers = [parse_json_feed] if render is render_json else [parse_xml_feed, parse_fast]
    for parse in parsers:
        feed = parse(body, url=url)
        assert feed is not None
        assert feed.items[0].origin == origin
        assert dict(feed.items[0].provenance)["origin"] == "feed"
