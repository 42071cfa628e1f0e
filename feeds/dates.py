"""Find publication dates in the free text of pages that have no machine-readable date.

Chinese portals print dates in many shapes (`2022-1-14 17:50`, `2022年1月14日`, `01-14 17:50`,
`3小时前`), nearly always without an offset; Taiwan's in its own calendar (`民國115年`,
`115/11/29`), Hong Kong's day first (`29/11/2026`). Each shape is a regular expression with a
builder that validates the parts; a date without an offset is in the source's timezone, and forms
without a year or relative to today are read against `now`. Nothing here raises on garbage: a
string that is not a date gives None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import relativedelta

from feeds.han import HAN

# `下午 5:50` is 17:50: the half of the day a 12-hour clock is read in. `15时30分`, `15時30分`,
# `15點`: an hour written with its character may go without minutes, but a `点` starting a
# word is the word's (`15点赞`, a counter). `香港時間`, `北京时间`: a zone of +08:00 named
# before the time.
_TIME = (
    r"(?:(?P<sep>T|\s*)(?P<place>(?:香港|北京|臺北|台北|澳門|澳门)(?:時間|时间)\s*)?"
    r"(?:(?P<half>上午|早上|凌晨|中午|下午|晚上)\s*)?"
    r"(?P<H>\d{1,2})\s*(?:[:：](?=\s*\d)|[时時]|[点點](?=\s*\d|[钟鐘整半]|[^" + HAN + r"]|$))"
    r"\s*(?P<M>\d{1,2})?"
    r"(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?|\s*分)?(?!\d)"
    r"(?P<Z>Z|[+-]\d{2}:?\d{2}|\s*(?:GMT|UTC)(?:[+-]\d{1,2}(?::?\d{2})?)?)?)?"
)
_YMD = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<d1>[-/.])\s*(?P<m>\d{1,2})\s*(?P=d1)\s*(?P<d>\d{1,2})(?!\d)"
    + _TIME
)
_YMD_CN = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号號]?" + _TIME
)
# Taiwan's (Minguo) calendar, year 1 = 1912: `民國115年11月29日` always; a bare year only of
# three digits (`115年`, `115/11/29`), which no Gregorian date has, and not after a word
# (`成立100年7月1日` is an anniversary).
_ROC_CN = re.compile(
    r"(?:(?:中[華华])?民[國国]\s*(?P<era>\d{1,3})|(?<![\d" + HAN + r"])(?P<y>1\d{2}))\s*年"
    r"\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号號]?" + _TIME
)
_ROC = re.compile(
    r"(?<![\d./-])(?<!\d:)(?P<y>1\d{2})(?P<d1>[-/.])(?P<m>\d{1,2})(?P=d1)(?P<d>\d{1,2})(?![\d./-])"
    + _TIME
)
# Day first (`29/11/2026`, Hong Kong's, Macau's and Britain's), or month first when the day
# shows it (`11/29/2026`); `01/12/2026`, either, is no date here.
_DMY = re.compile(
    r"(?<![\d./-])(?<!\d:)(?P<a>\d{1,2})(?P<d1>[-/.])(?P<b>\d{1,2})(?P=d1)(?P<y>(?:19|20)\d{2})(?!\d)"
    + _TIME
)
_MD_CN = re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号號]" + _TIME)
_MD = re.compile(
    r"(?<![\d./:-])(?P<m>\d{1,2})[-/](?P<d>\d{1,2})\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?!\d)"
)
# A month and day alone, as the whole text (a list's `[01-14]` cell): within a sentence, `1-2`
# is anything but a date.
_MD_ALONE = re.compile(r"^[\s(\[【（]*(?P<m>\d{1,2})-(?P<d>\d{1,2})[\s)\]】）]*$")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# `Sunday, November 29, 2026`, `Nov. 29, 2026 3:30 PM`: the month named before the day.
_MDY_EN = re.compile(
    r"\b(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?\s{1,3}(?P<d>\d{1,2})"
    r"(?:st|nd|rd|th)?,?\s{1,3}(?P<y>(?:19|20)\d{2})(?!\d)"
    r"(?:,?\s{1,3}(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?(?!\d))?",
    re.IGNORECASE,
)
_RFC822 = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s*)?(?<!\d)\d{{1,2}}\s+(?:{_MONTHS})[a-z]*\.?\s+"
    r"\d{4}(?P<time>\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[+-]\d{4}|GMT|UTC?|Z|[ECMP][SD]T)\b)?)?",
    re.IGNORECASE,
)
_AGO = re.compile(
    r"(?<!\d)(?P<n>\d{1,4})\s*(?P<unit>秒钟?|分钟|小[时時]|个小[时時]|天|日|[周週]|星期|个月|年)\s*前"
    r"|(?<!\d)(?P<en>\d{1,4})\s+(?P<enunit>second|minute|hour|day|week|month|year)s?\s+ago"
    r"|(?P<half>半\s*个?小[时時]\s*前)",
    re.IGNORECASE,
)
_JUST_NOW = re.compile(r"刚刚|刚才|just now", re.IGNORECASE)
_DAY_WORD = re.compile(r"(?P<word>今天|昨天|前天)" + _TIME)
_UNITS = {
    **dict.fromkeys(("秒", "秒钟", "second"), relativedelta(seconds=1)),
    **dict.fromkeys(("分钟", "minute"), relativedelta(minutes=1)),
    **dict.fromkeys(("小时", "个小时", "小時", "个小時", "hour"), relativedelta(hours=1)),
    **dict.fromkeys(("天", "日", "day"), relativedelta(days=1)),
    **dict.fromkeys(("周", "週", "星期", "week"), relativedelta(weeks=1)),
    **dict.fromkeys(("个月", "month"), relativedelta(months=1)),
    **dict.fromkeys(("年", "year"), relativedelta(years=1)),
}
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# Full-width forms of what dates are written with: an IME's digits, `－`, `／`, `：`, `．` and
# the ideographic space; and the Traditional forms of the words relative dates are written
# with (`3小時前`, `5分鐘前`, `2個月前`, `剛剛`, `昨天`). One character for one, so positions in
# the text hold.
_FULL_WIDTH = str.maketrans(
    "０１２３４５６７８９－／：．＋\u3000鐘個剛纔禮", "0123456789-/:.+ 钟个刚才礼"
)
# "GMT+08:00", "UTC+8": an offset written after a zone name. The email module drops it and
# dateutil reads it POSIX-style, with the sign inverted; people mean eight hours east.
_NAMED_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)\s*([+-])(\d{1,2})(?::?(\d{2}))?\b")
_MONTH_NAME = re.compile(rf"\b(?:{_MONTHS})", re.IGNORECASE)
_EPOCH = re.compile(r"\d{10}|\d{13}")
# `星期日`, `（週日）`, `禮拜天`, and Taiwan's bare `(日)` right after a date (`2026/11/29(日)`).
_WEEKDAY = re.compile(
    r"[(（]?(?:星期|礼拜|禮拜|周|週)[一二三四五六日天][)）]?"
    r"|(?:(?<=[\d日号號])|(?<=[\d日号號]\s))[(（][一二三四五六日天][)）]"
)
# The zone names RFC 822 allows besides UT/GMT, the only ones the email module reads.
_ZONE_NAME = re.compile(r"\b[ECMP][SD]T\b")
_RFC822_HOURS = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8}
_RFC822_HOURS["PDT"] = -7
# Zone names that mean one offset wherever they are written, as news sites in Asia and Europe
# print them (`2022-01-14 09:30 JST`): read as the source's zone, such a date was an hour or
# more off. Not `IST` (India's, Israel's or Ireland's), `BST`, or RFC 822's names above.
_FIXED_ZONES = {
    **dict.fromkeys(("BJT", "HKT", "SGT", "AWST"), "+0800"),
    **dict.fromkeys(("JST", "KST"), "+0900"),
    **dict.fromkeys(("ICT", "WIB"), "+0700"),
    **{"ACST": "+0930", "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300"},
    **{"CET": "+0100", "CEST": "+0200", "EET": "+0200", "EEST": "+0300", "MSK": "+0300"},
    **{"WET": "+0000", "WEST": "+0100", "HST": "-1000", "AKST": "-0900", "AKDT": "-0800"},
}
_FIXED_ZONE = re.compile(rf"\b(?:{'|'.join(_FIXED_ZONES)})\b")


def _local_now(now: datetime, tz: tzinfo) -> datetime:
    return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)


def _zone(text: str | None, tz: tzinfo) -> tzinfo:
    """The offset written in the text, else the source's timezone."""
    if not text or not (text := text.strip()):
        return tz
    if text == "Z" or text in ("GMT", "UTC"):
        return UTC
    match = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?", text)
    if match is None:
        return tz
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))


_AFTERNOON = frozenset({"下午", "晚上"})
_MORNING = frozenset({"上午", "早上", "凌晨"})
_CHINA_TIME = timezone(timedelta(hours=8))
# A year before this is no date: a Minguo year read as Gregorian (`115/11/29` as year 115).
FIRST_YEAR = 1900


def _clock(match: re.Match[str]) -> tuple[int, int, int]:
    groups = match.groupdict()
    hour = int(groups.get("H") or 0)
    half = groups.get("half")
    if hour < 12 and (half in _AFTERNOON or (half == "中午" and hour < 6)):
        hour += 12  # 中午 1:00 is 13:00, 中午 12:30 stays
    elif hour == 12 and half in _MORNING:
        hour = 0  # `上午 12:15`, as .NET's zh-TW format writes a quarter past midnight
    return hour, int(groups.get("M") or 0), int(groups.get("S") or 0)


def _date_zone(match: re.Match[str], tz: tzinfo) -> tzinfo:
    # An offset right after a bare `HH:MM` is more often a time range (`17:50-18:30`) than a zone.
    zone_text = match.group("Z")
    if zone_text and zone_text[0] in "+-" and match.group("sep") != "T" and not match.group("S"):
        zone_text = None
    if not zone_text and match.group("place"):
        return _CHINA_TIME
    return _zone(zone_text, tz)


def _full(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    year, month, day = int(match.group("y")), int(match.group("m")), int(match.group("d"))
    return datetime(year, month, day, *_clock(match), tzinfo=_date_zone(match, tz))


def _minguo(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    """A Minguo year + 1911; not one beyond next year, which no page was published in."""
    year = int(match.group("y") or match.group("era")) + 1911
    if year > _local_now(now, tz).year + 1:
        raise ValueError(f"Minguo year {year - 1911} is in the future")
    month, day = int(match.group("m")), int(match.group("d"))
    return datetime(year, month, day, *_clock(match), tzinfo=_date_zone(match, tz))


def _day_first(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    first, second = int(match.group("a")), int(match.group("b"))
    if first <= 12 and second <= 12 and first != second:
        raise ValueError(f"{first}/{second}: day or month first")
    day, month = (first, second) if second <= 12 else (second, first)
    year = int(match.group("y"))
    return datetime(year, month, day, *_clock(match), tzinfo=_date_zone(match, tz))


def _month_named(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    month = _MONTHS.split("|").index(match.group("mon")[:3].title()) + 1
    hour, minute, second = _clock(match)
    if (ampm := (match.group("ampm") or "")[:1].lower()) and not 1 <= hour <= 12:
        raise ValueError(f"{hour} {ampm}m")
    if ampm:
        hour = hour % 12 + (12 if ampm == "p" else 0)
    year, day = int(match.group("y")), int(match.group("d"))
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


def _month_day(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    """The latest of last year's, this year's and next year's date that is not more than a
    day ahead: `12-31` read on 1 January is last year's, and `1月1日 00:05` read at 23:50 on
    31 December next year's (a portal's clock a little ahead), not a date eleven months old."""
    local = _local_now(now, tz)
    month, day = int(match.group("m")), int(match.group("d"))
    clock = _clock(match)
    zone = _CHINA_TIME if match.groupdict().get("place") else tz
    latest = local + timedelta(days=1)
    candidates = []
    for year in (local.year + 1, local.year, local.year - 1):
        try:
            candidates.append(datetime(year, month, day, *clock, tzinfo=zone))
        except ValueError:  # 29 February of a year without one
            continue
    past = [found for found in candidates if found <= latest]
    if not past:
        raise ValueError(f"no {month}-{day} within a year")
    return max(past)


def _rfc822(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    text = match.group(0) if match.group("time") else match.group(0) + " 00:00"
    if (own := in_own_zone(text, tz, parsedate_to_datetime)) is not None:
        return own
    found = parsedate_to_datetime(text)
    if found.tzinfo is None:  # no zone, or RFC 5322's "-0000": UTC from a host that hides its own
        return found.replace(tzinfo=UTC if text.endswith("-0000") else tz)
    return found


def _ago(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    if match.group("half"):
        return _local_now(now, tz) - timedelta(minutes=30)
    count = match.group("n") or match.group("en")
    unit = (match.group("unit") or match.group("enunit")).lower()
    return _local_now(now, tz) - _UNITS[unit] * int(count)


def _just_now(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    return _local_now(now, tz)


def _day_word(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime:
    day = _local_now(now, tz) - timedelta(days=_DAYS_BACK[match.group("word")])
    if match.group("H") is None:
        return day
    hour, minute, _ = _clock(match)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


_Builder = Callable[[re.Match[str], tzinfo, datetime], datetime]
# Order breaks ties between matches that start at the same place: the most specific shape first.
_SHAPES: tuple[tuple[re.Pattern[str], _Builder], ...] = (
    (_YMD, _full),
    (_YMD_CN, _full),
    (_ROC_CN, _minguo),
    (_ROC, _minguo),
    (_DMY, _day_first),
    (_RFC822, _rfc822),
    (_MDY_EN, _month_named),
    (_MD_CN, _month_day),
    (_MD, _month_day),
    (_MD_ALONE, _month_day),
    (_DAY_WORD, _day_word),
    (_AGO, _ago),
    (_JUST_NOW, _just_now),
)


# Shapes that say how long ago (`3小时前`, `昨天 17:50`, `刚刚`): right only at the moment the
# page was made, which may be long before we read it.
_RELATIVE = (_day_word, _ago, _just_now)


def _build(build: _Builder, match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    try:
        found = build(match, tz, now)
        if _at_midnight(match):  # `29日晚上12:30` is half past midnight, the night after the 29th
            found += timedelta(hours=12)
        return _plausible(found)
    except (ValueError, OverflowError, KeyError):  # month 13, hour 25, a zone out of range...
        return None


def _at_midnight(match: re.Match[str]) -> bool:
    groups = match.groupdict()
    return groups.get("half") == "晚上" and int(groups.get("H") or 0) == 12


def _plausible(found: datetime | None) -> datetime | None:
    return found if found is None or found.year >= FIRST_YEAR else None


def plain_offsets(text: str) -> str:
    """`text` with "GMT+08:00"-style offsets and zone names of one offset (`JST`) written as
    "+0800", which every parser reads,
    full-width digits and separators as ASCII (`２０２２－０１－１４` is 2022-01-14), a
    weekday (`星期五`, `（周五）`) as spaces, which stood between a date and its time, and a
    leap second (`23:59:60`) as the second before it."""
    if not text.isascii():
        text = _WEEKDAY.sub(lambda m: " " * len(m[0]), text.translate(_FULL_WIDTH))
    if ":60" in text:  # a leap second, which no parser reads: the item was published as new
        text = _LEAP_SECOND.sub(":59", text)
    if _FIXED_ZONE.search(text):
        text = _FIXED_ZONE.sub(lambda m: _FIXED_ZONES[m[0]], text)
    return _NAMED_OFFSET.sub(lambda m: f"{m[1]}{int(m[2]):02d}{m[3] or '00'}", text)


_LEAP_SECOND = re.compile(r"(?<=\d:\d\d):60(?!\d)")


def in_own_zone(text: str, tz: tzinfo, parse: Callable[[str], datetime]) -> datetime | None:
    """`text` read by `parse` in `tz`, when the zone abbreviation it names is what `tz` is
    called at that date; else None, and the caller reads it as the name says.

    `CST` is China Standard Time to a publisher in Asia/Shanghai (Java's `Date.toString()` on a
    Chinese server writes it), Central Standard Time in Chicago; the email module only knows
    the American zones, and read a Chinese `09:30 CST` 14 hours late. A `CST` in July is not
    Chicago's own name then (`CDT` is), and keeps RFC 822's fixed offset."""
    named = _ZONE_NAME.search(text)
    if named is None:
        return None
    try:
        when = parse((text[: named.start()] + text[named.end() :]).strip())
    except (ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is not None:
        return None
    local = when.replace(tzinfo=tz)
    return local if local.tzname() == named.group(0) else None


def find_date(text: str, *, tz: tzinfo, now: datetime, relative: bool = True) -> datetime | None:
    """The first date written anywhere in `text`, timezone-aware, or None; with `relative`
    False, None also when the first is written relative to `now` (`3小时前`)."""
    text = plain_offsets(text)
    best: tuple[int, datetime, _Builder] | None = None
    for pattern, build in _SHAPES:
        for match in pattern.finditer(text):
            if best is not None and match.start() >= best[0]:
                break  # an earlier shape already found a date at or before this place
            if (found := _build(build, match, tz, now)) is not None:
                best = (match.start(), found, build)
                break
    if best is None or (not relative and best[2] in _RELATIVE):
        return None
    return best[1]


def parse_date(text: str, *, tz: tzinfo, now: datetime, relative: bool = True) -> datetime | None:
    """`text` read as one date (a meta tag, a `datetime` attribute, a feed field), or None;
    with `relative` False, None also for a date written relative to `now` (`3小时前`), which
    a feed's item would give anew at every fetch, as if edited."""
    text = plain_offsets(text.strip())
    if not text:
        return None
    for pattern, build in _SHAPES:
        if (match := pattern.fullmatch(text)) and (found := _build(build, match, tz, now)):
            return found if relative or build not in _RELATIVE else None
    if _EPOCH.fullmatch(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz)
    try:
        return _plausible(_local_aware(datetime.fromisoformat(text), tz))
    except ValueError:
        pass
    if _YEAR.search(text) and _MONTH_NAME.search(text):
        try:
            found = dateutil_parser.parse(text, tzinfos=_offset_only)
        except (ValueError, OverflowError):
            return None
        return _plausible(_local_aware(offset_checked(found, tz), tz))
    return None


# Real offsets run from -12:00 to +14:00; ISO 8601 allows up to 18 hours.
_LARGEST_OFFSET = timedelta(hours=18)
# Dates before this are upstream mistakes (a zero timestamp, a misread zone); the W3C
# validator calls them implausible. An item so dated is dated, and sorted, when first seen.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)


def offset_checked(found: datetime, tz: tzinfo) -> datetime:
    """`found`, or its wall time in `tz` when its written offset is no real one (`+2400`,
    `+9999`): dateutil keeps any offset, and one of a day or more broke every later use of
    the date, failing its whole source at every fetch."""
    try:
        offset = found.utcoffset()
    except ValueError:  # a day or more
        return found.replace(tzinfo=tz)
    if offset is not None and abs(offset) > _LARGEST_OFFSET:
        return found.replace(tzinfo=tz)
    return found


def _offset_only(name: str | None, offset: int | None) -> int | None:
    """Zones for dateutil: written offsets only, never the machine's local zone by name."""
    return named_offset(name, offset)


def named_offset(name: str | None, offset: int | None) -> int | None:
    """The offset dateutil read, else the seconds RFC 822 gives a zone name it did not: the
    email module reads `EST` only in an RFC 822 date, and one after an ISO date (`2022-01-14
    09:30 EST`) was read in the source's zone. (`in_own_zone` has had its say first: a `CST`
    of a source in Asia/Shanghai is China's.)"""
    if offset is None and name in _RFC822_HOURS:
        return _RFC822_HOURS[name] * 3600
    return offset


def _local_aware(found: datetime, tz: tzinfo) -> datetime:
    return found if found.tzinfo else found.replace(tzinfo=tz)
