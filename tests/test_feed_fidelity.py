"""What odd but legitimate upstream feeds say is what we keep: dates as Chinese publishers
write them, on the fast path and through feedparser alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.jsonfeed import parse_json_feed
from feeds.model import ParsedFeed
from tests.conftest import FIXTURES

URL = "http://gov.example.cn/rss.xml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHICAGO = ZoneInfo("America/Chicago")
NINE_THIRTY = datetime(2022, 1, 14, 1, 30, tzinfo=UTC)  # 09:30 in Hanzhong


def both_paths(body: bytes, tz: ZoneInfo) -> list[ParsedFeed]:
    fast = parse_fast(body, url=URL, default_tz=tz)
    assert fast is not None, "a well-formed feed takes the fast path"
    return [fast, parse_xml_feed(body, url=URL, default_tz=tz)]


def test_chinese_publishers_dates_are_read_in_their_zone() -> None:
    """`CST` is China Standard Time to a service in Asia/Shanghai (it was read as US Central,
    14 hours late), and dates written in Chinese keep their day and time (`2022年01月14日`
    was 1 November, the weekday form lost its time)."""
    body = (FIXTURES / "feeds" / "chinese_dates.xml").read_bytes()
    for feed in both_paths(body, SHANGHAI):
        dates = [item.published for item in feed.items]
        assert dates == [NINE_THIRTY] * 6, [str(d) for d in dates]
        assert all(d is not None and d.utcoffset() == timedelta(hours=8) for d in dates[:5])
        assert dates[5] is not None
        assert dates[5].utcoffset() == timedelta(hours=-5)


def test_cst_is_central_time_to_a_service_in_chicago() -> None:
    body = (FIXTURES / "feeds" / "chinese_dates.xml").read_bytes()
    for feed in both_paths(body, CHICAGO):
        first = feed.items[0].published
        assert first == datetime(2022, 1, 14, 15, 30, tzinfo=UTC)
        assert first is not None
        assert first.utcoffset() == timedelta(hours=-6)


@pytest.mark.parametrize(
    "written",
    ["2022-01-14 01:30:00z", "Fri, 14 Jan 2022 09:30:00 +0800", "2022年1月14日 09:30"],
)
def test_json_feed_dates_written_otherwise_than_rfc_3339(written: str) -> None:
    body = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
        f'[{{"id": "1", "content_text": "x", "date_published": "{written}"}}]}}'
    ).encode()
    feed = parse_json_feed(body, url=URL, default_tz=SHANGHAI)
    assert feed.items[0].published == NINE_THIRTY


def test_relative_urls_in_bodies_follow_the_declared_xml_base() -> None:
    """Relative to the `xml:base` in force at the body (RFC 4287 §2): they were resolved
    against the entry's link, and pictures pointed at `…/2022/01/images/a.png`. A base that
    is no web address gives way to the entry's link."""
    body = (FIXTURES / "feeds" / "xml_base.xml").read_bytes()
    for feed in both_paths(body, SHANGHAI):
        first, second, third = feed.items
        assert first.url == "http://blog.example.cn/2022/01/post.html"
        assert 'src="http://blog.example.cn/images/a.png"' in first.content_html
        assert 'href="http://blog.example.cn/about.html"' in first.content_html
        assert 'src="http://static.example.cn/2022/b.png"' in second.content_html
        assert 'src="http://blog.example.cn/3.html"' not in third.content_html
        assert 'src="http://blog.example.cn/c.png"' in third.content_html


def test_every_author_is_kept_in_rss_and_atom() -> None:
    """RSS kept the first `dc:creator` and Atom the last `<author>` (feedparser's `author`)."""
    rss = (
        b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t'
        b"</title><link>http://e.cn/</link><item><title>x</title><link>http://e.cn/1</link>"
        b"<dc:creator>\xe7\x94\xb2</dc:creator><dc:creator>\xe4\xb9\x99</dc:creator>"
        b"</item></channel></rss>"
    )
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id>'
        "<updated>2022-01-14T10:00:00Z</updated><entry><title>x</title><id>urn:t:1</id>"
        '<link href="http://e.cn/1"/><updated>2022-01-14T10:00:00Z</updated>'
        "<author><name>甲</name></author><author><name>乙</name><email>yi@e.cn</email></author>"
        "<author><name>甲</name></author></entry></feed>"
    ).encode()
    for body in (rss, atom):
        for feed in both_paths(body, SHANGHAI):
            assert feed.items[0].author == "甲, 乙"


@pytest.mark.parametrize("name", ["rss091.xml", "html_entities.xml"])
def test_html_entities_are_read_without_degrading_the_source(name: str) -> None:
    """`&nbsp;`, `&mdash;`, `&ldquo;` (Chinese feeds write them everywhere; RSS 0.91's DTD
    defines them) are undefined in XML: the document went to feedparser's lenient parser,
    with a warning that showed the source `degraded` at every fetch."""
    from feeds.parse import parse_feed

    body = (FIXTURES / "feeds" / name).read_bytes()
    feed = parse_feed(body, url=URL, default_tz=SHANGHAI)
    assert feed.warnings == ()
    assert parse_fast(body, url=URL, default_tz=SHANGHAI) is not None
    if name == "html_entities.xml":
        first, second = feed.items
        assert first.title == "汉中 新闻\u2014要闻\u201c引号\u201d"
        assert "<p>汉中&nbsp;发布 \u00a9 2022</p>" in first.content_html
        assert second.title == "Tom & Jerry < 3"


def test_an_atom_category_is_published_by_its_label() -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id>'
        "<updated>2022-01-14T10:00:00Z</updated><entry><title>x</title><id>urn:t:1</id>"
        '<link href="http://e.cn/1"/><updated>2022-01-14T10:00:00Z</updated>'
        '<category term="tech" label="技术" scheme="http://e.cn/c/"/><category term="汉中"/>'
        "</entry></feed>"
    ).encode()
    for feed in both_paths(body, SHANGHAI):
        assert feed.items[0].tags == ("技术", "汉中")


@pytest.mark.parametrize(
    ("written", "zone", "expected"),
    [
        # a comment or a word after a date read before: non-ASCII alone is no reason to drop it
        ("Fri, 14 Jan 2022 09:30:00 GMT+8 (北京时间)", SHANGHAI, "2022-01-14T09:30:00+08:00"),
        ("Fri Jan 14 2022 09:30:00 GMT+0800 (中国标准时间)", SHANGHAI, "2022-01-14T09:30:00+08:00"),
        ("Fri, 14 Jan 2022 09:30:00 +0800 · 阅读", SHANGHAI, "2022-01-14T09:30:00+08:00"),
        # a zone's name is its own only at the dates it goes by it: RFC 822's offset otherwise
        ("Fri, 15 Jul 2022 09:30:00 CST", CHICAGO, "2022-07-15T09:30:00-06:00"),
        ("Fri, 14 Jan 2022 09:30:00 CDT", CHICAGO, "2022-01-14T09:30:00-05:00"),
        (
            "Fri, 15 Jul 2022 09:30:00 EST",
            ZoneInfo("America/New_York"),
            "2022-07-15T09:30:00-05:00",
        ),
        ("Fri, 14 Jan 2022 09:30:00 CST", ZoneInfo("UTC"), "2022-01-14T09:30:00-06:00"),
    ],
)
def test_dates_written_otherwise_still_read(written: str, zone: ZoneInfo, expected: str) -> None:
    from feeds.feedxml import read_date

    found = read_date(written, zone)
    assert found is not None
    assert found.isoformat() == expected


def test_a_date_relative_to_the_fetch_is_no_date_in_a_feed() -> None:
    """`3小时前` read against each fetch's clock made the item new at every fetch."""
    body = (
        '<rss version="2.0"><channel><title>t</title><link>http://e.cn/</link><item>'
        "<title>x</title><link>http://e.cn/1</link><pubDate>3小时前</pubDate></item>"
        "<item><title>y</title><link>http://e.cn/2</link><pubDate>刚刚</pubDate></item>"
        "</channel></rss>"
    ).encode()
    for feed in both_paths(body, SHANGHAI):
        assert [item.published for item in feed.items] == [None, None]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ("<item><title>x</title><link>http://e.cn/news/2022/1.html</link>"
         '<description>&lt;img src="pic/1.jpg"&gt;</description></item>',
         "http://e.cn/news/2022/pic/1.jpg"),
        # Without a base on the root, leaving an element keeps its `xml:base` (feedparser's
        # rule, which both paths follow for links): this picture was resolved against the
        # first item's mirror host.
        ('<item xml:base="http://mirror.example.org/2021/"><title>a</title>'
         '<link>http://e.cn/post/a/</link><description>&lt;img src="a.png"&gt;</description></item>'
         "<item><title>b</title><link>http://e.cn/post/b/</link>"
         '<description>&lt;img src="b.png"&gt;</description></item>',
         "http://e.cn/post/b/b.png"),
    ],
    ids=["one item", "after an item with its own base"],
)  # fmt: skip
def test_without_a_root_base_a_body_is_relative_to_its_entry(items: str, expected: str) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><link>http://e.cn/</link>{items}'
    for feed in both_paths((body + "</channel></rss>").encode(), SHANGHAI):
        assert f'src="{expected}"' in feed.items[-1].content_html


def test_category_labels_read_alike_on_both_paths() -> None:
    """feedparser keeps `label` on every category (Media RSS's too) and lets a later text fill
    a label-only tag: the fast path took Atom's alone, so tags depended on the path."""
    body = (
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t'
        b"</title><link>http://e.cn/</link><item><title>x</title><link>http://e.cn/1</link>"
        b'<media:category scheme="urn:x" label="Skiing">ski</media:category>'
        b'<category label="L1"/><category>after</category><category domain="d">dom</category>'
        b"</item></channel></rss>"
    )
    for feed in both_paths(body, SHANGHAI):
        assert feed.items[0].tags == ("Skiing", "L1", "dom")
