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
