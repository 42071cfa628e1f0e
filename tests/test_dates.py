"""Dates as Chinese portals print them: absolute, yearless and relative, in the source's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import find_date, parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 1, 15, 12, 12, tzinfo=SHANGHAI)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
    tz: tzinfo = SHANGHAI,
) -> datetime:  # fmt: skip
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2022-1-14 17:50| 发布者: admin| 查看: 8| 评论: 0|来自: 汉中发布",
            at(2022, 1, 14, 17, 50),
        ),
        ("2022-01-14 17:50:33", at(2022, 1, 14, 17, 50, 33)),
        ("发布时间：2022年01月14日 17:50", at(2022, 1, 14, 17, 50)),
        ("2022年1月14日 17:50", at(2022, 1, 14, 17, 50)),
        ("2022年1月14日17时50分", at(2022, 1, 14, 17, 50)),
        ("2022/01/14", at(2022, 1, 14)),
        ("2022.01.14", at(2022, 1, 14)),
        ("2022-01-14T17:50:00+08:00", at(2022, 1, 14, 17, 50)),
        ("2022-01-14T09:50:00Z", at(2022, 1, 14, 9, 50, tz=UTC)),
        ("2022-01-14 17:50:00 +0900", at(2022, 1, 14, 17, 50, tz=timezone(timedelta(hours=9)))),
        ("2022-01-14 17:50 GMT+8", at(2022, 1, 14, 17, 50, tz=timezone(timedelta(hours=8)))),
        ("Fri, 14 Jan 2022 09:50:00 GMT", at(2022, 1, 14, 9, 50, tz=UTC)),
        ("14 Jan 2022", at(2022, 1, 14)),
        ("更新于 1月14日", at(2022, 1, 14)),
        ("01-14 17:50", at(2022, 1, 14, 17, 50)),
        ("12-31 08:00", at(2021, 12, 31, 8, 0)),  # in the future this year: so last year
        ("1月16日 08:00", at(2022, 1, 16, 8, 0)),  # up to a day ahead: clocks differ
        ("3小时前", at(2022, 1, 15, 9, 12)),
        ("3\xa0小时前", at(2022, 1, 15, 9, 12)),
        ("5分钟前", at(2022, 1, 15, 12, 7)),
        ("半小时前", at(2022, 1, 15, 11, 42)),
        ("刚刚", NOW),
        ("昨天 17:50", at(2022, 1, 14, 17, 50)),
        ("前天", at(2022, 1, 13, 12, 12)),
        ("2天前", at(2022, 1, 13, 12, 12)),
        ("3 hours ago", at(2022, 1, 15, 9, 12)),
        # Full-width digits and separators, as an IME types them.
        ("２０２２－０１－１４", at(2022, 1, 14)),
        ("２０２２年１月１４日", at(2022, 1, 14)),
        ("发布时间：２０２２－０１－１４　１７：５０", at(2022, 1, 14, 17, 50)),
        # A 12-hour clock with its half of the day.
        ("2022/1/14 下午 5:50:00", at(2022, 1, 14, 17, 50)),
        ("2022年1月14日 上午9:30", at(2022, 1, 14, 9, 30)),
        ("2022-01-14 中午1:05", at(2022, 1, 14, 13, 5)),
        ("2022-01-14 中午12:30", at(2022, 1, 14, 12, 30)),
        ("昨天 晚上 8:00", at(2022, 1, 14, 20, 0)),
        # 晚上 12 is the midnight that ends the day named, not its noon.
        ("2022年1月13日 晚上12:30", at(2022, 1, 14, 0, 30)),
        ("2022-01-31 晚上12:00", at(2022, 2, 1, 0, 0)),
        ("昨天晚上12点", at(2022, 1, 15, 0, 0)),
        ("1月13日 晚上12:05", at(2022, 1, 14, 0, 5)),
        # A month and day alone, as a list's cell gives it.
        ("[01-14]", at(2022, 1, 14)),
        ("12-31", at(2021, 12, 31)),
        # A time range is not an offset.
        ("2022-01-14 17:50-18:30", at(2022, 1, 14, 17, 50)),
        # An impossible date is skipped, and the search goes on.
        ("2022-02-30 再版 2022-01-14", at(2022, 1, 14)),
    ],
)
def test_find_date(text: str, expected: datetime) -> None:
    found = find_date(text, tz=SHANGHAI, now=NOW)
    assert found == expected
    assert found is not None
    assert found.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    ["", "查看: 8| 评论: 0", "2022-13-45 17:50", "达到1.4%、1.64%", "电话 0916-2626262", "garbage",
     "比分 3-1 获胜", "第 1-2 名", "13-45"],
)  # fmt: skip
def test_find_date_gives_none_for_non_dates(text: str) -> None:
    assert find_date(text, tz=SHANGHAI, now=NOW) is None


def test_find_date_takes_the_first_date_in_the_text() -> None:
    text = "更新：2022-01-15 08:00 首发：2022-01-14 17:50"
    assert find_date(text, tz=SHANGHAI, now=NOW) == at(2022, 1, 15, 8, 0)


def test_a_naive_now_is_read_in_the_source_timezone() -> None:
    assert find_date("3小时前", tz=SHANGHAI, now=datetime(2022, 1, 15, 12, 12)) == at(
        2022, 1, 15, 9, 12
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-01-14T17:50:00+08:00", at(2022, 1, 14, 17, 50)),
        ("2022-01-14 17:50", at(2022, 1, 14, 17, 50)),
        ("1642153800", at(2022, 1, 14, 17, 50)),
        ("1642153800000", at(2022, 1, 14, 17, 50)),
        ("20220114T175000", at(2022, 1, 14, 17, 50)),
        ("January 14, 2022 5:50 PM", at(2022, 1, 14, 17, 50)),
        ("14 Jan 2022 17:50 XYZ", at(2022, 1, 14, 17, 50)),
        ("Fri, 14 Jan 2022 09:50:00 -0000", at(2022, 1, 14, 9, 50, tz=UTC)),
        # An offset after a zone name means that many hours east, as people write it.
        ("Fri, 14 Jan 2022 17:50 GMT+08:00", at(2022, 1, 14, 17, 50)),
        ("2022-01-14 17:50 UTC+8", at(2022, 1, 14, 17, 50)),
        ("Fri, 14 Jan 2022 04:20:00 GMT-0530", at(2022, 1, 14, 17, 50)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    assert parse_date(text, tz=SHANGHAI, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["", "2022", "8", "2022-01-14 和其他文字", "tomorrow-ish", "99999"]
)
def test_parse_date_wants_the_whole_string_to_be_a_date(text: str) -> None:
    assert parse_date(text, tz=SHANGHAI, now=NOW) is None


def test_feed_dates_read_again_keep_their_zone() -> None:
    """Feed dates read lately are kept: the same text in another default zone, or in a
    dateutil zone that cannot be hashed, still reads in that zone."""
    from dateutil import tz

    from feeds.feedxml import read_date

    shanghai, tokyo = ZoneInfo("Asia/Shanghai"), tz.tzoffset("JST", 9 * 3600)
    for _ in range(2):
        assert read_date("2022-01-14 15:30", shanghai) == datetime(2022, 1, 14, 7, 30, tzinfo=UTC)
        assert read_date("2022-01-14 15:30", UTC) == datetime(2022, 1, 14, 15, 30, tzinfo=UTC)
        assert read_date("2022-01-14 15:30", tokyo) == datetime(2022, 1, 14, 6, 30, tzinfo=UTC)
        assert read_date("Fri, 14 Jan 2022 15:30:00 +0800", UTC) == datetime(
            2022, 1, 14, 7, 30, tzinfo=UTC
        )
    long_text = "Fri, 14 Jan 2022 15:30:00 +0800" + " " * 100
    assert read_date(long_text, UTC) == datetime(2022, 1, 14, 7, 30, tzinfo=UTC)
    assert read_date("not a date", UTC) is None


@pytest.mark.parametrize(
    "text",
    ["Fri, 14 Jan 2022 09:30:00 +2400", "Fri, 14 Jan 2022 09:30:00 +9999",
     "Fri, 14 Jan 2022 09:30:00 -2500", "January 14, 2022 09:30 +1900"],
)  # fmt: skip
def test_an_offset_that_is_no_real_one_is_read_as_the_sources_zone(text: str) -> None:
    """dateutil keeps any offset; one of a day or more broke every later use of the date, and
    failed the whole source at every fetch (`internal error`)."""
    from feeds.feedxml import read_date

    expected = at(2022, 1, 14, 9, 30)
    for found in (parse_date(text, tz=SHANGHAI, now=NOW), read_date(text, SHANGHAI)):
        assert found is not None, text
        assert found == expected, text
        assert found.timestamp() == expected.timestamp()


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # read at 23:50 on 31 December: a portal's clock a little ahead, not eleven months old
        ("1月1日 00:05", at(2026, 12, 31, 23, 50), at(2027, 1, 1, 0, 5)),
        ("01-01 00:05", at(2026, 12, 31, 23, 50), at(2027, 1, 1, 0, 5)),
        ("12月31日 23:40", at(2026, 12, 31, 23, 50), at(2026, 12, 31, 23, 40)),
        # read on 1 January: last year's
        ("12月31日 23:40", at(2027, 1, 1, 0, 10), at(2026, 12, 31, 23, 40)),
        # months away either side: the past
        ("6月15日", at(2026, 12, 20, 12, 0), at(2026, 6, 15, 0, 0)),
        ("2月29日", at(2025, 3, 1, 12, 0), at(2024, 2, 29, 0, 0)),
    ],
)
def test_a_date_without_a_year_is_the_latest_not_a_day_ahead(
    text: str, now: datetime, expected: datetime
) -> None:
    assert parse_date(text, tz=SHANGHAI, now=now) == expected


def test_a_leap_second_is_the_second_before_it() -> None:
    from feeds.feedxml import read_date

    expected = datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    for text in ("Sat, 31 Dec 2016 23:59:60 GMT", "2016-12-31T23:59:60Z"):
        assert read_date(text, SHANGHAI) == expected, text
        assert parse_date(text, tz=SHANGHAI, now=NOW) == expected, text


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("Fri, 14 Jan 2022 09:30:00 JST", 9),
        ("2022-01-14 09:30:00 KST", 9),
        ("Fri, 14 Jan 2022 09:30:00 BJT", 8),
        ("2022-01-14T09:30:00 HKT", 8),
        ("14 Jan 2022 09:30 CET", 1),
        ("2022-01-14 09:30 AEDT", 11),
        ("2022-01-14T09:30:00 EST", -5),
        ("2022-01-14 09:30 PDT", -7),
    ],
)
def test_a_zone_name_of_one_offset_is_read_as_that_offset(text: str, hours: int) -> None:
    """Zone names outside RFC 822, and RFC 822's after an ISO date, were read in the source's
    zone: `09:30 JST` from a Japanese wire an hour off in Shanghai, thirteen in New York."""
    from feeds.feedxml import read_date

    expected = datetime(2022, 1, 14, 9, 30, tzinfo=timezone(timedelta(hours=hours)))
    for zone in (SHANGHAI, ZoneInfo("America/New_York")):
        assert read_date(text, zone) == expected, zone


def test_cst_stays_the_sources_own_zone_where_it_names_it() -> None:
    """`CST` is China's to a source in Asia/Shanghai and Chicago's elsewhere, after an ISO
    date as after an RFC 822 one."""
    from feeds.feedxml import read_date

    for text in ("2022-01-14 09:30 CST", "Fri, 14 Jan 2022 09:30:00 CST"):
        assert read_date(text, SHANGHAI) == at(2022, 1, 14, 9, 30)
        chicago = read_date(text, ZoneInfo("America/New_York"))
        assert chicago == datetime(2022, 1, 14, 9, 30, tzinfo=timezone(timedelta(hours=-6)))
