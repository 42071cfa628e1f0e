"""Dates as Taiwan, Hong Kong and Macau print them: Traditional time and weekday forms, the
Minguo calendar, day-first numbers, and the English trailer of a Hong Kong press release."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import find_date, parse_date
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed, read_date
from feeds.htmlpage import parse_article
from feeds.listpage import parse_list_page
from feeds.model import ParsedFeed
from feeds.selectors import list_rules
from tests.conftest import FIXTURES

TAIPEI = ZoneInfo("Asia/Taipei")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=TAIPEI)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The first hour after midnight on a 12-hour clock: .NET's zh-TW `上午 12:15:00`.
        ("發布時間：2026/11/29 上午 12:15:00", at(29, 0, 15)),
        ("2026年11月29日 凌晨12:05", at(29, 0, 5)),
        ("2026年11月29日 早上 12時40分", at(29, 0, 40)),
        ("2026/11/29 下午 12:15", at(29, 12, 15)),
        ("2026/11/29 中午 12:15", at(29, 12, 15)),
        # Traditional hour and minute characters, and an hour alone.
        ("發布時間：2026年11月29日 15時30分", at(29, 15, 30)),
        ("2026年11月29日 15點30分", at(29, 15, 30)),
        ("2026年11月29日15時", at(29, 15, 0)),
        ("2026年11月29日 下午3時30分", at(29, 15, 30)),
        ("2026年11月29日 15时30分", at(29, 15, 30)),
        ("2026年11月29日 15時30分20秒", at(29, 15, 30) + timedelta(seconds=20)),
        # Weekdays between the date and its time.
        ("2026年11月29日（週日）15:30", at(29, 15, 30)),
        ("2026年11月29日(週日) 15:30", at(29, 15, 30)),
        ("2026年11月29日 禮拜日 15:30", at(29, 15, 30)),
        ("2026/11/29(日) 15:30", at(29, 15, 30)),
        ("2026/11/29 （日） 15:30", at(29, 15, 30)),
        ("2026年11月29日（週日）下午3:30", at(29, 15, 30)),
        # Hong Kong's press release trailer: the time on the next line, its zone named.
        ("完\n2026年11月29日（星期日）\n香港時間15時30分", at(29, 15, 30)),
        ("Ends/Sunday, November 29, 2026\nIssued at HKT 15:30", at(29)),
        ("Sunday, November 29, 2026", at(29)),
        ("Nov. 29, 2026 3:30 PM", at(29, 15, 30)),
        # The Minguo calendar: year 115 is 2026.
        ("發布日期：民國115年11月29日", at(29)),
        ("民国115年11月29日 15:30", at(29, 15, 30)),
        ("中華民國115年11月29日", at(29)),
        ("民國99年1月2日", datetime(2010, 1, 2, tzinfo=TAIPEI)),
        ("115年11月29日 15時30分", at(29, 15, 30)),
        ("發布時間：115/11/29 15:30", at(29, 15, 30)),
        ("115-11-29", at(29)),
        ("115.11.29", at(29)),
        # Day first where the day shows it; month first likewise.
        ("發布時間：29/11/2026 15:30", at(29, 15, 30)),
        ("29.11.2026", at(29)),
        ("11/29/2026", at(29)),
        ("05/05/2026", at(5, month=5)),
    ],
)
def test_find_date(text: str, expected: datetime) -> None:
    found = find_date(text, tz=TAIPEI, now=NOW)
    assert found == expected
    assert found is not None
    assert found.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/12/2026", None),  # 1 December or 12 January: not guessed
        ("199/11/29", None),  # Minguo 199 is 2110
        ("民國199年1月1日", None),
        ("版本 1.2.3", None),
        ("12:29/11/2026", None),
        ("2026年11月29日 10点击：5", at(29)),  # a counter's label, no hour
        ("2026-11-29 15点赞", at(29)),  # likes, no hour
        ("2026-11-29 3点赞 12评论", at(29)),
        ("中国共产党成立100年7月1日", None),  # an anniversary, no Minguo year
    ],
)
def test_no_date_or_not_that_one(text: str, expected: datetime | None) -> None:
    assert find_date(text, tz=TAIPEI, now=NOW) == expected


def test_a_named_zone_before_the_time_is_that_zone() -> None:
    found = find_date("2026年11月29日 香港時間15時30分", tz=UTC, now=NOW)
    assert found == datetime(2026, 11, 29, 15, 30, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    "text", ["0115-11-29", "0115-11-29T15:30:00", "Sun, 29 Nov 0115 15:30:00 GMT", "115/11/29"]
)
def test_no_date_is_before_1900(text: str) -> None:
    """A Minguo year read as Gregorian reached zoneinfo as year 115, in its local mean time."""
    for found in (parse_date(text, tz=TAIPEI, now=NOW), read_date(text, TAIPEI)):
        assert found is None or found.year == 2026, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月29日 15時30分", at(29, 15, 30)),
        ("115/11/29 15:30", at(29, 15, 30)),
        ("January 14, 2022 5:50 PM", datetime(2022, 1, 14, 17, 50, tzinfo=TAIPEI)),
        ("29/11/2026", at(29)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    assert parse_date(text, tz=TAIPEI, now=NOW) == expected


def both_paths(name: str) -> list[ParsedFeed]:
    body = (FIXTURES / "feeds" / name).read_bytes()
    url = "http://news.example.tw/rss.xml"
    fast = parse_fast(body, url=url, default_tz=HONG_KONG)
    assert fast is not None, "a well-formed feed takes the fast path"
    return [fast, parse_xml_feed(body, url=url, default_tz=HONG_KONG)]


def test_feed_dates_are_read_whole_or_not_at_all() -> None:
    """`15時30分` was read as far as `2026年11月` (the 1st, at midnight UTC), `115/11/29` as
    year 115; a date only half readable is no date: the item is dated when first seen."""
    hk = timezone(timedelta(hours=8))
    expected = [
        datetime(2026, 11, 29, 15, 30, tzinfo=hk),
        datetime(2026, 11, 29, 15, 30, tzinfo=hk),
        datetime(2026, 11, 29, 15, 30, tzinfo=hk),
        datetime(2026, 11, 29, tzinfo=hk),
        datetime(2026, 11, 29, 0, 15, tzinfo=hk),
        datetime(2026, 11, 29, 15, 30, tzinfo=hk),
        datetime(2026, 11, 29, 15, 30, tzinfo=hk),
        datetime(2026, 1, 12, 9, 0, tzinfo=hk),  # either way round: month first, as dateutil reads
        None,
        None,
    ]
    for feed in both_paths("dates_tw_hk.xml"):
        assert [item.published for item in feed.items] == expected


def test_an_article_is_dated_by_its_minguo_meta_line() -> None:
    text = (FIXTURES / "html" / "tw_press_release.html").read_text(encoding="utf-8")
    url = "https://www.motc.example.tw/news/1.html"
    item = parse_article(text, url=url, rules=None, tz=TAIPEI, now=NOW)
    assert item.published == at(29, 15, 30)


@pytest.mark.parametrize(
    "line",
    ["民國115年11月29日 15時30分", "2026年11月29日（週日）下午3:30", "29/11/2026 15:30",
     "2026/11/29(日) 15:30", "2026年11月29日 15點30分"],
)  # fmt: skip
def test_an_article_meta_line_in_other_forms(line: str) -> None:
    text = (FIXTURES / "html" / "tw_press_release.html").read_text(encoding="utf-8")
    text = text.replace("115/11/29 15:30", line, 1)
    url = "https://www.motc.example.tw/news/1.html"
    item = parse_article(text, url=url, rules=None, tz=TAIPEI, now=NOW)
    assert item.published == at(29, 15, 30)


def test_a_lists_dates_by_selector() -> None:
    text = (FIXTURES / "html" / "tw_news_list.html").read_text(encoding="utf-8")
    rules = list_rules({"item": "ul.list li", "link": "a", "published": "span.d"}, path="l")
    url = "https://www.example.tw/news/list.html"
    listed = parse_list_page(text, url=url, rules=rules, tz=TAIPEI, now=NOW)
    assert [item.published for item in listed.items] == [
        at(29),
        at(28, 9, 30),
        at(27),
        at(26),
        at(25, 0, 15),
        at(24, 15, 30),
        None,  # 1 November or 11 January
    ]


@pytest.mark.parametrize(
    "text",
    ["1/" * 500_000, "115/" * 250_000, "01/12/2026 " * 90_000, "民國1" * 300_000,
     "12時" * 300_000, "(日)1" * 250_000, "November 29, " * 80_000],
)  # fmt: skip
def test_a_megabyte_of_near_dates_is_read_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    assert find_date(text, tz=TAIPEI, now=NOW) is None
    assert parse_date(text, tz=TAIPEI, now=NOW) is None
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("3小時前", timedelta(hours=3)),
        ("發布時間：5分鐘前", timedelta(minutes=5)),
        ("半個小時前", timedelta(minutes=30)),
        ("1週前", timedelta(weeks=1)),
        ("剛剛", timedelta(0)),
        ("剛纔", timedelta(0)),
    ],
)
def test_traditional_relative_dates(text: str, ago: timedelta) -> None:
    """Taiwan's and Hong Kong's lists write `3小時前` and `剛剛`: such items were undated."""
    assert find_date(text, tz=TAIPEI, now=NOW) == NOW - ago
    assert find_date(text, tz=TAIPEI, now=NOW, relative=False) is None


def test_two_months_back_in_traditional() -> None:
    assert find_date("2個月前", tz=TAIPEI, now=NOW) == at(29, 20, month=9)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2026/11/29 上午 12:15", at(29, 0, 15)),  # after midnight, as the page means
        ("民國115年11月29日（週日）", at(29)),
    ],
)
def test_a_date_line_in_taiwans_words_dates_the_page(line: str, expected: datetime) -> None:
    """The line under the heading holds only a date, in words a date-alone line refused."""
    text = (FIXTURES / "html" / "tw_quake_date_line.html").read_text("utf-8")
    text = text.replace("2026/11/29 上午 12:15", line)
    item = parse_article(text, url="http://tw.example/news/1", rules=None, tz=TAIPEI, now=NOW)
    assert item.published == expected
