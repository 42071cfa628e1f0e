"""Every function that reads upstream or reader text answers for any string: random strings
built from the pieces that broke such functions before (surrogates, fullwidth punctuation in
hosts, broken IPv6 literals, stray markup and references) raise nothing, and what goes into a
feed stays XML-safe. Seeds are fixed, so a failure reproduces.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.documents import parse_cursor
from aggregator.fetcher import retry_after_seconds
from aggregator.policy import upstream_hint
from aggregator.web.encoding import negotiate
from feeds.attribution import clean_credit, find_author, find_origin, origin_party
from feeds.charset import decode
from feeds.dates import find_date, parse_date
from feeds.fingerprint import body_fingerprint
from feeds.normalize import fold, normalize_link, normalize_text, normalize_title
from feeds.parse import detect_format, feed_links
from feeds.sanitize import clean_html, html_to_text, person_name, plain_line, summarize
from feeds.searchtext import query_terms, search_text

ROUNDS = 1500
PIECES = (
    "2022", "-", "01", "14", " ", "17:50", ":", "T", "Z", "+08:00", "+0800", "-9999", "GMT",
    "年", "月", "日", "分钟前", "昨天", "刚刚", "Fri,", "Feb", "29", "99999999999", "1e400",
    "nan", "\x00", "\x01", "\ud800", "\ufffe", "汉中", "漢", "来源：", "作者：", "http://",
    "https://[", "::1", "]", "/", "／", "？", "＠", "?", "#", "%", "%E4", "..", "@", ":80",
    ":99999", "\u3000", "（", "）", "|", "《", "<", ">", "</", "p", "a href='", "javascript:",
    "'", '"', "&", "&#", "x1;", "amp;", "&#xD800;", "<!--", "<![CDATA[", "]]>", "iframe",
    "script", "AND", "OR", "NEAR", "(", "*", "max-age=", "no-cache", "=", ",", ";", "gzip",
    "br", ";q=", "<?xml", "<rss", "<html", "encoding='", "utf-7", "gbk", "<meta charset=",
    "x" * 40,
)  # fmt: skip
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NOW = datetime(2022, 1, 15, 12, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")

ANSWERS: dict[str, Callable[[str], object]] = {
    "parse_date": lambda s: parse_date(s, tz=TZ, now=NOW),
    "find_date": lambda s: find_date(s, tz=TZ, now=NOW),
    "normalize_link": normalize_link,
    "normalize_title": normalize_title,
    "normalize_text": normalize_text,
    "fold": fold,
    "find_author": find_author,
    "find_origin": find_origin,
    "clean_credit": clean_credit,
    "origin_party": lambda s: origin_party(s, [(s, s)]),
    "upstream_hint": lambda s: upstream_hint(NOW.timestamp(), ttl=None, cache_control=s, expires=s),
    "retry_after_seconds": lambda s: retry_after_seconds(s, NOW.timestamp()),
    "query_terms": query_terms,
    "summarize": lambda s: summarize(s, 80),
    "negotiate": negotiate,
    "body_fingerprint": body_fingerprint,
    "decode": lambda s: decode(s.encode("utf-8", "surrogatepass"), header_charset="utf-7"),
    "detect_format": lambda s: detect_format(s.encode("utf-8", "surrogatepass")),
    "feed_links": lambda s: feed_links(s.encode("utf-8", "replace"), url="http://a.example/"),
}
# What these return is written into feeds as it is.
XML_SAFE: dict[str, Callable[[str], str]] = {
    "search_text": lambda s: search_text(s, s, s),
    "html_to_text": html_to_text,
    "plain_line": plain_line,
    "person_name": person_name,
    "clean_html": lambda s: clean_html(s, base_url="http://a.example/"),
}


def _strings(seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14))) for _ in range(ROUNDS)]


@pytest.mark.parametrize("name", ANSWERS)
def test_answers_any_string(name: str) -> None:
    function = ANSWERS[name]
    for text in _strings(len(name)):
        function(text)


@pytest.mark.parametrize("name", XML_SAFE)
def test_what_feeds_carry_stays_xml_safe(name: str) -> None:
    function = XML_SAFE[name]
    unsafe = [text for text in _strings(len(name)) if XML_FORBIDDEN.search(function(text))]
    assert not unsafe, unsafe[:3]


def test_a_cursor_is_read_or_refused_with_value_error() -> None:
    for text in _strings(0):
        with suppress(ValueError):
            parse_cursor(text)
