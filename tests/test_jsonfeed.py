"""JSON Feed 1.0/1.1 in, JSON Feed 1.1 with our provenance extensions out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from feeds.errors import ParseError
from feeds.jsonfeed import parse_json_feed, render_json
from feeds.model import Copy, Enclosure, OutEntry, OutFeed, ParsedItem, Party, SourceRef

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
CST = timezone(timedelta(hours=8))


FIELDS = (
    "title", "url", "upstream_id", "content_html", "summary", "published", "updated", "author",
    "tags",
)  # fmt: skip


def provenance(*missing: str) -> tuple[tuple[str, str], ...]:
    """Every field marked as the feed's, except those the item lacks."""
    return tuple((field, "feed") for field in FIELDS if field not in missing)


def test_json_feed_10_with_feed_author_numeric_id_and_external_url() -> None:
    body = (FIXTURES / "jsonfeed10.json").read_bytes()

    feed = parse_json_feed(body, url="https://example.com/micro/feed.json", default_tz=CST)

    assert (feed.title, feed.link, feed.format, feed.warnings) == (
        "Microblog",
        "https://example.com/micro/",
        "json10",
        (),
    )
    assert feed.items == (
        ParsedItem(
            title="",
            url="https://example.com/micro/2347259",
            upstream_id="2347259",
            content_html="<p>Plain &lt;text&gt; &amp; a second line<br>with a break.</p>",
            summary="Plain <text> & a second line with a break.",
            published=datetime(2022, 1, 14, 9, 50, tzinfo=UTC),
            author="Jane",
            tags=("micro", "notes"),
            provenance=provenance("title", "updated"),
        ),
        ParsedItem(
            title="Numeric id and external URL",
            url="https://example.com/elsewhere/42",
            upstream_id="42",
            content_html="<p>Hello <b>world</b></p>",
            summary="The summary.",
            published=datetime(2022, 1, 14, 10, 0, tzinfo=CST),
            updated=datetime(2022, 1, 14, 10, 0, tzinfo=CST),
            author="Jane",
            provenance=provenance("tags"),
        ),
    )
    naive = feed.items[1].updated
    assert naive is not None
    assert naive.utcoffset() == timedelta(hours=8)  # written without an offset: default zone


def test_json_feed_11_every_field() -> None:
    body = (FIXTURES / "jsonfeed11.json").read_bytes()

    feed = parse_json_feed(body, url="https://example.org/hzfb/feed.json")

    assert (feed.title, feed.format) == ("汉中发布", "json11")
    (item,) = feed.items
    assert item == ParsedItem(
        title="汉中又新增一项国字号荣誉!",
        url="https://example.org/hzfb/a/1001.html",
        upstream_id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000001",
        content_html=(
            "<p>近日，汉中又新增一项国字号荣誉。</p>"
            '<a rel="noopener noreferrer nofollow">x</a>'
            '<img src="https://example.org/i.png" referrerpolicy="no-referrer">'
        ),
        summary="近日，汉中又新增一项国字号荣誉。",
        published=datetime(2022, 1, 14, 17, 50, tzinfo=CST),
        updated=datetime(2022, 1, 14, 18, 5, 30, tzinfo=CST),
        author="张三, 李四",
        tags=("汉中", "政务"),
        provenance=provenance(),
    )
    assert item.published is not None
    assert item.published.utcoffset() == timedelta(hours=8)
    assert "onclick" not in item.content_html
    assert "javascript:" not in item.content_html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe\x00garbage", "invalid JSON"),
        (b"[" * 100_000, "invalid JSON"),
        (b'{"items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "not a JSON Feed"),
        (b"[1, 2]", "not a JSON Feed"),
    ],
)
def test_invalid_documents_raise(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_json_feed(body, url="http://example.com/feed.json")
    assert caught.value.url == "http://example.com/feed.json"


def test_a_number_too_long_for_python_does_not_refuse_the_feed() -> None:
    """Python reads at most 4,300 digits as an int; a field nobody reads may hold more."""
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "_counter": ' + b"7" * 100_000
        + b', "items": [{"id": 12, "title": "t", "content_text": "x"}]}'
    )  # fmt: skip
    feed = parse_json_feed(body, url="http://example.com/feed.json")
    assert [(item.upstream_id, item.title) for item in feed.items] == [("12", "t")]


def test_an_items_image_opens_its_content_unless_the_body_shows_one() -> None:
    """`image`, the item's main picture, was read nowhere: a photo post came out as text."""
    items = [
        {"id": "1", "title": "雪", "content_text": "路封了", "image": "/p/1.jpg"},
        {"id": "2", "content_html": '<p><img src="/p/0.png"></p>', "image": "/p/2.jpg"},
        {"id": "3", "content_text": "x", "image": "javascript:alert(1)"},
        {"id": "4", "image": "https://example.com/p/4.jpg"},
    ]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})
    feed = parse_json_feed(body.encode(), url="http://example.com/feed.json")
    assert [item.content_html for item in feed.items] == [
        '<p><img src="http://example.com/p/1.jpg" alt="雪" referrerpolicy="no-referrer"></p>'
        "<p>路封了</p>",
        '<p><img src="http://example.com/p/0.png" referrerpolicy="no-referrer"></p>',
        "<p>x</p>",
        '<p><img src="https://example.com/p/4.jpg" alt="" referrerpolicy="no-referrer"></p>',
    ]


def test_items_that_are_not_objects_or_empty_are_skipped_with_a_warning() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [
                "text",
                {},
                {"id": "a", "tags": "x", "url": "javascript:x()", "external_url": "http://[x/"},
            ],
        }
    ).encode()

    feed = parse_json_feed(body, url="http://example.com/feed.json")

    assert [(item.upstream_id, item.url, item.tags) for item in feed.items] == [("a", None, ())]
    assert feed.warnings == ("2 empty or invalid items skipped",)


SOURCE = SourceRef(
    id="hzfb", name="汉中发布", url="http://127.0.0.1:8080/sources/hzfb.json", site_url=None
)


def out_feed(*entries: OutEntry) -> OutFeed:
    return OutFeed(
        id="urn:uuid:11111111-2222-4333-8444-555555555555",
        title="汉中新闻聚合",
        self_url="http://127.0.0.1:8080/feeds/all.json?limit=2&q=%E6%B1%89",
        home_url="http://127.0.0.1:8080/",
        updated=datetime(2022, 1, 14, 18, 10, tzinfo=CST),
        entries=entries,
        language="zh-CN",
        next_url="http://127.0.0.1:8080/feeds/all.json?limit=2&before=x",
        hub_url="https://hub.example/",
    )


FULL = OutEntry(
    id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000001",
    title="汉中又新增一项国字号荣誉!\x0b",
    url="https://example.org/hzfb/a/1001.html",
    content_html="<p>近日，汉中又新增一项国字号荣誉。</p>",
    summary="近日，汉中又新增一项国字号荣誉。",
    published=datetime(2022, 1, 14, 17, 50, tzinfo=CST),
    updated=datetime(2022, 1, 14, 18, 5, 30, 999, tzinfo=CST),
    source=SOURCE,
    author="张三",
    publisher=Party("汉中市人民政府新闻办公室", "https://example.org/"),
    origin=Party("汉中发布", None),
    tags=("汉中", "政务"),
    copies=(Copy("hz1w", "汉中第一网", "http://example.net/portal.php?mod=view&aid=1"),),
)
BARE = OutEntry(
    id="urn:uuid:4b8f3a2e-0000-4000-8000-000000000002",
    title="Bare",
    url=None,
    content_html="",
    summary="Only a summary",
    published=datetime(2022, 1, 13, 8, 0),  # naive: read as UTC
    updated=datetime(2022, 1, 13, 8, 0, tzinfo=UTC),
    source=SOURCE,
)


def test_render_json_feed_11_with_provenance_extensions() -> None:
    body = render_json(out_feed(FULL, BARE))

    assert "汉中".encode() in body  # UTF-8, not \\u escapes
    assert b'": ' not in body  # compact separators
    assert b'", ' not in body
    doc: dict[str, Any] = json.loads(body)
    items = doc.pop("items")
    assert doc == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "汉中新闻聚合",
        "home_page_url": "http://127.0.0.1:8080/",
        "feed_url": "http://127.0.0.1:8080/feeds/all.json?limit=2&q=%E6%B1%89",
        "language": "zh-CN",
        "next_url": "http://127.0.0.1:8080/feeds/all.json?limit=2&before=x",
        "hubs": [{"type": "WebSub", "url": "https://hub.example/"}],
    }
    assert items == [
        {
            "id": "urn:uuid:4b8f3a2e-0000-4000-8000-000000000001",
            "url": "https://example.org/hzfb/a/1001.html",
            "title": "汉中又新增一项国字号荣誉!",
            "content_html": "<p>近日，汉中又新增一项国字号荣誉。</p>",
            "summary": "近日，汉中又新增一项国字号荣誉。",
            "date_published": "2022-01-14T17:50:00+08:00",
            "date_modified": "2022-01-14T18:05:30+08:00",
            "authors": [{"name": "张三"}],
            "tags": ["汉中", "政务"],
            "_source": {
                "id": "hzfb",
                "name": "汉中发布",
                "url": "http://127.0.0.1:8080/sources/hzfb.json",
            },
            "_publisher": {"name": "汉中市人民政府新闻办公室", "url": "https://example.org/"},
            "_origin": {"name": "汉中发布"},
            "_copies": [
                {
                    "source": "hz1w",
                    "source_name": "汉中第一网",
                    "url": "http://example.net/portal.php?mod=view&aid=1",
                }
            ],
        },
        {
            "id": "urn:uuid:4b8f3a2e-0000-4000-8000-000000000002",
            "title": "Bare",
            "content_text": "Only a summary",
            "summary": "Only a summary",
            "date_published": "2022-01-13T08:00:00+00:00",
            "date_modified": "2022-01-13T08:00:00+00:00",
            "_source": {
                "id": "hzfb",
                "name": "汉中发布",
                "url": "http://127.0.0.1:8080/sources/hzfb.json",
            },
        },
    ]


def test_an_empty_feed_still_has_items() -> None:
    doc = json.loads(render_json(out_feed()))

    assert doc["items"] == []


def test_rendered_json_reads_back() -> None:
    feed = parse_json_feed(render_json(out_feed(FULL, BARE)), url="http://127.0.0.1:8080/x")

    assert feed.format == "json11"
    assert [(item.upstream_id, item.title, item.author) for item in feed.items] == [
        (FULL.id, "汉中又新增一项国字号荣誉!", "张三"),
        (BARE.id, "Bare", None),
    ]
    assert feed.items[0].published == FULL.published


def test_enclosures_are_published_as_attachments() -> None:
    """`mime_type` is required: unknown, it is `application/octet-stream`; so is the size
    left out when unknown, and the attachments read back as they were given."""
    audio = Enclosure("http://odd.example.cn/p1.mp3", "audio/mpeg", 123)
    transcript = Enclosure("http://odd.example.cn/p1.pdf")
    podcast = replace(FULL, enclosures=(audio, transcript))

    body = render_json(out_feed(podcast, BARE))

    first, bare = json.loads(body)["items"]
    assert first["attachments"] == [
        {"url": audio.url, "mime_type": "audio/mpeg", "size_in_bytes": 123},
        {"url": transcript.url, "mime_type": "application/octet-stream"},
    ]
    assert "attachments" not in bare
    read = parse_json_feed(body, url="http://127.0.0.1:8080/feeds/all.json").items[0]
    assert read.enclosures == (audio, replace(transcript, media_type="application/octet-stream"))
