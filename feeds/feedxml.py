"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser, the only module that imports it.

feedparser's stringly dicts and `bozo` flags stay here: callers get frozen `ParsedFeed` records
with sanitised HTML, dates that keep their original UTC offset, and lenient-parse recoveries
as warnings. We decode the bytes ourselves first, because feedparser never tries the GB family.
"""

from __future__ import annotations

import calendar
import html
import html.entities
import io
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import feedparser
from dateutil import parser as dateutil_parser

from feeds import media, mediafix, youtube
from feeds.attribution import CHANNEL
from feeds.bound import Listing
from feeds.charset import decode
from feeds.dates import (
    FIRST_YEAR,
    find_date,
    in_own_zone,
    named_offset,
    offset_checked,
    parse_date,
    plain_offsets,
)
from feeds.enclosures import enclosures
from feeds.errors import ParseError
from feeds.han import HAN
from feeds.model import Enclosure, ParsedFeed, ParsedItem, Party
from feeds.sanitize import (
    clean_html,
    drop_forbidden_references,
    html_to_text,
    summarize,
    web_url,
    xml_safe,
)

mediafix.install()  # before any parse, in every process: a caption is not the story

# feedparser's version names, folded into ours; drafts go with the version they led to.
_FORMATS = {
    "rss090": "rss090",
    "rss091n": "rss091",
    "rss091u": "rss091",
    "rss092": "rss092",
    "rss093": "rss092",
    "rss094": "rss092",
    "rss10": "rss10",
    "rss20": "rss20",
    "rss": "rss20",
    "atom01": "atom03",
    "atom02": "atom03",
    "atom03": "atom03",
    "atom10": "atom10",
    "atom": "atom10",
}
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
# `xml:base` on the document's root or RSS channel, in the text up to the first entry.
_ROOT_BASE = re.compile(r"<(?:[\w.-]+:)?(?:rss|feed|channel|RDF)\b[^>]*?\sxml:base\s*=")
_ROOT_BASE_WITHIN = 4096
# An HTML entity where XML has none (`&nbsp;`, `&mdash;`: Chinese feeds write them everywhere,
# RSS 0.91's DTD defines them): undefined in XML, it sent the document to feedparser's
# lenient parser and the source showed `degraded` at every fetch. XML's own five stay.
_HTML_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{1,31});")
_HEADERS = {"content-type": "application/xml; charset=utf-8"}
_LONGEST_TTL_MINUTES = 366 * 24 * 60
_FIELDS = (
    "title", "url", "upstream_id", "content_html", "summary", "published", "updated", "author",
    "origin", "tags", "enclosures",
)  # fmt: skip


def parse_xml_feed(
    body: bytes,
    *,
    url: str,
    header_charset: str | None = None,
    encoding: str | None = None,
    default_tz: tzinfo = UTC,
    max_entries: int | None = None,
    iframe_hosts: Collection[str] = (),
) -> ParsedFeed:
    """Parse an RSS or Atom document; `default_tz` applies to dates written without an offset.
    `max_entries` bounds the entries read (see `bound.Listing`); bodies keep the iframes of
    `iframe_hosts` (video players).

    Raises `ParseError` when the body is not a feed, declares XML entities (the building blocks
    of billion-laughs and external-entity attacks are refused outright, never expanded), or is
    so malformed that no entry survives.
    """
    prepared = prepare(body, url=url, header_charset=header_charset, encoding=encoding)
    try:
        result = feedparser.parse(
            io.BytesIO(prepared.data),  # a stream: feedparser may open bare strings as paths
            # No content-location: feedparser would resolve permalink guids, corrupting ids.
            response_headers=_HEADERS,
            sanitize_html=False,  # clean_html is the one sanitiser, and faster
            resolve_relative_uris=False,  # clean_html resolves against the entry link
        )
    except Exception as exc:  # its lenient parser raises KeyError, ValueError... on hostile input
        raise ParseError(f"unparseable feed: {exc!r}", url=url) from exc
    version: str = result.get("version") or ""
    entries: list[Any] = result.get("entries") or []
    if not version and not entries:
        raise ParseError("not an RSS or Atom feed", url=url)
    warnings: list[str] = []
    cut = bool(result.get("bozo")) and _cut_short(prepared.text)
    if cut and _entry_left_open(prepared.text):  # as far as it was read, it would replace it
        entries = entries[:-1]
        warnings.append("document cut short: its last entry, left open, is not read")
    if result.get("bozo"):
        if not entries:
            raise ParseError(f"malformed feed: {result.get('bozo_exception')}", url=url)
        warnings.insert(0, f"malformed XML, recovered leniently: {result.get('bozo_exception')}")
    channel = result.get("feed") or {}
    listing: Listing[dict[str, Any]] = Listing(max_entries, lambda e: entry_date(e, default_tz))
    listing.extend(entries)
    chosen, left_out = listing.chosen()
    built = build_feed(
        channel, chosen, version, prepared.charset, url, default_tz, warnings, left_out,
        root_base=prepared.root_base, iframe_hosts=iframe_hosts,
    )  # fmt: skip
    return replace(built, cut_short=True) if cut else built


_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")  # the first element's name: prolog and comments skipped
_TRAILER = re.compile(r"(?:\s|<!--.*?-->|<\?.*?\?>)*\Z", re.DOTALL)


def _cut_short(text: str) -> bool:
    """Whether a document ends before its root element's end tag: cut by a connection or a
    server (a proxy's size limit, a restart), not only malformed."""
    start = _ROOT.search(_PROLOG.sub("", text[:4096]))
    if start is None:
        return False
    end = text.rfind(f"</{start.group(1)}")
    after = text.find(">", end) + 1 if end >= 0 else 0
    if after == 0:
        return True
    # What follows the end tag: blanks, comments, processing instructions; a long tail is junk
    # after a whole document (and a pattern over it would cost its length squared).
    return len(text) - after <= _TRAILER_CHARS and _TRAILER.match(text, after) is None


_TRAILER_CHARS = 4096
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(item|entry)[\s>/]")


def _entry_left_open(text: str) -> bool:
    """Whether the document's last entry (`<item>`, `<entry>`) has no end tag."""
    starts = list(_ENTRY_START.finditer(text))
    if not starts:
        return False
    last = starts[-1]
    return re.compile(rf"</(?:[\w.-]+:)?{last.group(1)}\s*>").search(text, last.end()) is None


_PROLOG = re.compile(r"<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document decoded by every charset clue, re-declared as UTF-8, bad references gone."""

    text: str
    data: bytes
    charset: str
    doctype: bool
    root_base: bool = False  # the root or the channel declares `xml:base`: see `_base`


def prepare(
    body: bytes,
    *,
    url: str,
    header_charset: str | None,
    encoding: str | None,
    strict: bool = False,
) -> Prepared:
    """What both parse paths read; raises `ParseError` for a document declaring entities.

    `strict` leaves characters XML forbids in place, for a parser that refuses them (see
    `fastxml.parse_fast`).
    """
    decoded = decode(body, header_charset=header_charset, override=encoding)
    text = drop_forbidden_references(decoded.text if strict else xml_safe(decoded.text))
    doctype = bool(_DOCTYPE.search(text))
    if doctype and "<!ENTITY" in text:
        raise ParseError("refused: the document declares XML entities", url=url)
    if _HTML_ENTITY.search(text):
        text = _HTML_ENTITY.sub(_as_reference, text)
    data = _XML_DECL_ENCODING.sub(r"\1utf-8", text, count=1).encode("utf-8")
    root_base = bool(_ROOT_BASE.search(text, 0, _ROOT_BASE_WITHIN))
    return Prepared(text, data, decoded.charset, doctype, root_base)


def _as_reference(match: re.Match[str]) -> str:
    """An HTML entity as the numeric references XML reads without a DTD; unknown ones stay."""
    characters = html.entities.html5.get(match[1] + ";")
    if characters is None:
        return match[0]
    return "".join(f"&#{ord(character)};" for character in characters)


def build_feed(
    channel: Mapping[str, Any],
    entries: Sequence[dict[str, Any]],
    version: str,
    charset: str,
    url: str,
    default_tz: tzinfo,
    warnings: list[str],
    left_out: str | None = None,
    *,
    xml_checked: bool = False,
    root_base: bool = False,
    iframe_hosts: Collection[str] = (),
) -> ParsedFeed:
    """Records from feedparser-shaped dicts: feedparser's own, or the fast path's walk.

    `xml_checked`: every string came from lxml, which refuses what XML forbids, so content
    needs no scan for it before sanitising. Not feedparser's: its loose parser is held to no
    such rule.
    """
    # Atom entries without an author inherit the feed's (RFC 4287 §4.2.1); RSS has no such rule.
    feed_author = _author(channel) if version.startswith("atom") else None
    bodies = _Bodies(root_base, xml_checked, iframe_hosts)
    parsed = [_item(entry, url, feed_author, default_tz, bodies) for entry in entries]
    items = tuple(item for item in parsed if item is not None)
    if len(items) < len(parsed):
        warnings.append(f"{len(parsed) - len(items)} empty entries skipped")
    if left_out:  # `fetch.max_entries`: see `bound.Listing`
        warnings.append(left_out)
    return ParsedFeed(
        items=items,
        title=_text(channel.get("title_detail")),
        link=web_url(channel.get("link"), url),
        format=_FORMATS.get(version, version),
        ttl_seconds=_ttl(channel.get("ttl")),
        charset=charset,
        warnings=tuple(warnings),
    )


def _item(
    entry: dict[str, Any],
    feed_url: str,
    feed_author: str | None,
    default_tz: tzinfo,
    bodies: _Bodies,
) -> ParsedItem | None:
    """One entry as a `ParsedItem`, or None when it carries nothing to identify or show."""
    link = _entry_link(entry, feed_url)
    title = _text(entry.get("title_detail"))
    bases = bodies.root_base, link, feed_url
    content_html, summary_html = _bodies(entry, bases, title, bodies)
    upstream_id = xml_safe(str(entry.get("id") or "")).strip() or None
    if not (title or link or upstream_id or content_html):
        return None
    # Atom's `label` is the tag as its publisher shows it (`技术` for the term `tech`)
    tags = (
        xml_safe(tag.get("label") or tag.get("term") or "").strip()
        for tag in entry.get("tags") or []
    )
    updated = _date(entry, "updated", default_tz)
    summary = summarize(html_to_text(summary_html))
    published = entry_date(entry, default_tz)
    author = _author(entry) or feed_author
    origin = _credited(entry, feed_url)
    channel = origin is None and (origin := _origin(entry.get("source"), feed_url)) is not None
    kept_tags = tuple(dict.fromkeys(tag for tag in tags if tag))
    files = _enclosures(entry, feed_url)
    given = zip(_FIELDS, (title, link, upstream_id, content_html, summary, published, updated,
                          author, origin, kept_tags, files), strict=True)  # fmt: skip
    return ParsedItem(
        title=title,
        url=link,
        upstream_id=upstream_id,
        content_html=content_html,
        summary=summary,
        published=published,
        updated=updated,
        author=author,
        origin=origin,
        tags=kept_tags,
        enclosures=files,
        provenance=_provenance(given, channel),
    )


def _provenance(given: Iterable[tuple[str, object]], channel: bool) -> tuple[tuple[str, str], ...]:
    """Each field given, from the feed; an origin that only names the feed it came from
    (`<source>`) as `CHANNEL`."""
    found = tuple((name, "feed") for name, value in given if value)
    if channel:
        return tuple((name, CHANNEL if name == "origin" else how) for name, how in found)
    return found


@dataclass(frozen=True, slots=True)
class _Bodies:
    """How a document's bodies are read: whether its root declares `xml:base` (see `_base`),
    whether lxml checked its text (`build_feed`), and the hosts whose iframes stay."""

    root_base: bool
    xml_checked: bool
    iframe_hosts: Collection[str]


def _bodies(
    entry: Mapping[str, Any],
    bases: tuple[bool, str | None, str],
    title: str,
    how: _Bodies,
) -> tuple[str, str]:
    """The entry's content and the HTML its summary is made from, both sanitised. `bases`:
    whether the root declares `xml:base`, the entry's link, the feed's URL (see `_base`)."""
    _, link, feed_url = bases
    xml_checked, iframes = how.xml_checked, how.iframe_hosts
    content = (entry.get("content") or [None])[0]
    # A picture's caption (mediafix) speaks for an item with no text of its own: a photo feed's.
    summary_detail = entry.get("summary_detail") or entry.get(f"{mediafix.CAPTION}_detail")
    if not content and youtube.from_youtube(feed_url):  # see feeds.youtube
        base = link or feed_url
        text = _as_html({**(summary_detail or {}), "type": "text/plain"})
        video = youtube.video_id(link)
        thumbnail = youtube.thumbnail_html(link, video, title) if link and video else ""
        return clean_html(thumbnail + text, base_url=base), clean_html(text, base_url=base)
    body = content or summary_detail
    content_html = clean_html(
        _as_html(body), base_url=_base(body, bases), xml_checked=xml_checked, iframe_hosts=iframes
    )
    pictured = "media_content" in entry or "media_thumbnail" in entry
    if (
        pictured
        and not media.shows_picture(content_html)
        and (picture := media.picture(entry, feed_url))
    ):
        content_html = clean_html(media.picture_html(picture, title)) + content_html
    if content and summary_detail and summary_detail.get("value") != content.get("value"):
        base = _base(summary_detail, bases)
        summary = clean_html(
            _as_html(summary_detail), base_url=base, xml_checked=xml_checked, iframe_hosts=iframes
        )
        return content_html, summary
    return content_html, content_html


def _base(detail: Mapping[str, Any] | None, bases: tuple[bool, str | None, str]) -> str:
    """What a body's relative URLs are relative to: the `xml:base` in force at it (RFC 4287
    §2, XML Base), where the document's root or channel declares one; else the entry's own
    page, as a page's images are, and then the feed.

    Not without a root base: leaving an element, feedparser keeps its `xml:base` where the
    parent had none (the fast path does as it does), so one item's base would reach the
    bodies of the items after it, their pictures pointing at another host."""
    root_base, link, feed_url = bases
    declared = detail.get("base") if detail and root_base else None
    if declared and (base := web_url(declared, feed_url)):
        return base
    return link or feed_url


def _author(element: Mapping[str, Any]) -> str | None:
    """The authors' names, joined as a JSON Feed's are; `author` alone when the document gave
    only an address. feedparser's own `author` is one of several: RSS's first `dc:creator`,
    Atom's last `<author>`."""
    people = element.get("authors") or ()
    if len(people) > 1:  # most entries have one: their name costs no list
        named = (" ".join(xml_safe(p.get("name") or "").split()) for p in people if p)
        if len(names := list(dict.fromkeys(name for name in named if name))) > 1:
            return ", ".join(names)
    detail = element.get("author_detail") or {}
    return " ".join(xml_safe(detail.get("name") or element.get("author") or "").split()) or None


def _entry_link(entry: Mapping[str, Any], feed_url: str) -> str | None:
    """The entry's alternate link; an RSS permalink guid only when it is itself a web URL.

    FeedBurner's `origLink` comes first: its `<link>` is a redirect through FeedBurner that
    counts the click, which copies of the story elsewhere do not share.
    """
    original = entry.get("feedburner_origlink")
    if isinstance(original, str) and (url := web_url(original, feed_url)):
        return url
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return web_url(link["href"], feed_url)
    guid = str(entry.get("id") or "")
    if entry.get("guidislink") and guid.lower().startswith(("http://", "https://")):
        return web_url(guid, feed_url)
    return None


def _enclosures(entry: Mapping[str, Any], feed_url: str) -> tuple[Enclosure, ...]:
    """RSS `<enclosure>` and Atom `<link rel="enclosure">`, both links to feedparser (its
    `entry.enclosures`), in document order; then Media RSS's audio and video files."""
    links = [link for link in entry.get("links") or () if link.get("rel") == "enclosure"]
    given = [(link.get("href"), link.get("type"), link.get("length")) for link in links]
    if "media_content" in entry:  # most entries have none: no call
        given += media.files(entry)
    return enclosures(given, feed_url) if given else ()


def _credited(entry: Mapping[str, Any], feed_url: str) -> Party | None:
    """Where the entry says it was first published: a `via` link (Atom's, or `atom:link` in
    RSS) named by its title or `dcterms:provenance`, else the name alone. An aggregator's
    `<source>` is the feed it read the item from; these are what that feed credited."""
    given = entry.get("dcterms_provenance")  # with attributes, a dict of them: no name
    named = " ".join(xml_safe(given).split()) if isinstance(given, str) else ""
    for link in entry.get("links") or ():
        if link.get("rel") == "via" and (url := web_url(link.get("href"), feed_url)):
            name = " ".join(xml_safe(link.get("title") or "").split())
            return Party(name or named or url, url)
    return Party(named) if named else None


def _origin(source: Mapping[str, Any] | None, feed_url: str) -> Party | None:
    """The feed the entry came from, RSS `<source>` or Atom `<source>`: its origin unless the
    entry or its body credits another (`feeds.attribution.CHANNEL`)."""
    if not source:
        return None
    url = web_url(source.get("href") or source.get("link"), feed_url)
    name = " ".join(xml_safe(source.get("title") or "").split()) or url
    return Party(name, url) if name else None


def _as_html(detail: Mapping[str, Any] | None) -> str:
    """A content construct as HTML: plain text is escaped, keeping its line breaks."""
    if not detail or not detail.get("value"):
        return ""
    value: str = detail["value"]
    if detail.get("type") == "text/plain":
        return "<p>" + html.escape(value).replace("\n", "<br>") + "</p>"
    return value


def _text(detail: Mapping[str, Any] | None) -> str:
    """A title-like construct as one line of plain text."""
    if not detail or not detail.get("value"):
        return ""
    value: str = detail["value"]
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        value = html_to_text(value)
    return " ".join(xml_safe(value).split())


def _ttl(value: object) -> int | None:
    """RSS `<ttl>` minutes as seconds, at most a year; absent, zero or garbage means no hint.
    (A hostile `<ttl>` of thousands of digits made an integer no float can hold.)"""
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return min(minutes, _LONGEST_TTL_MINUTES) * 60 if minutes > 0 else None


def entry_date(entry: dict[str, Any], default_tz: tzinfo) -> datetime | None:
    """When the entry was published: one date in a document is that; RSS 1.0 has only
    dc:date (`created`)."""
    return (
        _date(entry, "published", default_tz)
        or _date(entry, "created", default_tz)
        or _date(entry, "updated", default_tz)
    )


def _date(entry: dict[str, Any], key: str, default_tz: tzinfo) -> datetime | None:
    """The raw date string parsed with its offset; feedparser's UTC tuple only as a fallback."""
    # dict.get: FeedParserDict.get("updated") falls back to "published" with a warning.
    raw = dict.get(entry, key)
    if isinstance(raw, str) and (when := read_date(raw, default_tz)):
        return when
    if isinstance(raw, str) and _HAN.search(raw):
        return None  # feedparser reads no Chinese date: `2026年11月29日` was 1 November
    parsed = dict.get(entry, f"{key}_parsed")
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None
    except (ValueError, OverflowError, OSError):  # feedparser accepts years datetime cannot hold
        return None
    return when if when is None or when.year >= FIRST_YEAR else None


def read_date(raw: str, default_tz: tzinfo) -> datetime | None:
    """An RFC 822 or ISO 8601 date keeping its offset; a date without one is in `default_tz`.

    Dates read lately are kept: the fast path reads each date twice (whether feedparser's
    fallback is needed, then the value), a whole document's entries apart; keeping them made
    it about 5 % faster. Not kept: text too long to be a date (a hostile feed's would stay in
    memory), and dates in dateutil's zones, which cannot be hashed."""
    if len(raw) > _LONGEST_KEPT_DATE or not raw.isascii():  # `1月14日`: read against now
        return _read_date(raw, default_tz)
    try:
        return _read_date_kept(raw, default_tz)
    except TypeError:  # unhashable default_tz: the same call without the cache
        return _read_date(raw, default_tz)


def _read_date(raw: str, default_tz: tzinfo) -> datetime | None:
    raw = plain_offsets(raw.strip())
    if not raw.isascii():  # `2022年01月14日 09:30`: ours first, dateutil misreads it
        now = datetime.now(UTC)
        if found := parse_date(raw, tz=default_tz, now=now, relative=False):
            return found
        if _HAN.search(raw):  # what dateutil makes of Chinese is half a date at best
            return find_date(raw, tz=default_tz, now=now, relative=False)
    if (own := in_own_zone(raw, default_tz, _naive)) is not None:
        return own
    try:
        when = offset_checked(_naive(raw), default_tz)
    except ValueError:
        when = None
    if when is None or when.year < FIRST_YEAR:  # `115/11/29`: Taiwan's year 115 is 2026
        return parse_date(raw, tz=default_tz, now=datetime.now(UTC), relative=False)
    return when if when.tzinfo else when.replace(tzinfo=default_tz)


_HAN = re.compile(f"[{HAN}]")


def _naive(raw: str) -> datetime:
    """The first of RFC 822, ISO 8601 and dateutil that reads `raw`, its offset if it gave
    one; raises ValueError when none does."""
    parsers: tuple[Callable[[str], datetime], ...] = (_rfc822, datetime.fromisoformat, _lenient)
    for parse in parsers:
        try:
            return parse(raw)
        except (ValueError, OverflowError):
            continue
    raise ValueError(f"no date: {raw!r}")


_read_date_kept = lru_cache(maxsize=256)(_read_date)
_LONGEST_KEPT_DATE = 80
_A_DAY = 86400  # "Wednesday, 14 January 2022 15:30:00 +0800" is 41


def _rfc822(raw: str) -> datetime:
    when = parsedate_to_datetime(raw)
    # "-0000" is UTC with no local zone known (RFC 5322 §3.3), not a date without an offset.
    return when.replace(tzinfo=UTC) if when.tzinfo is None and raw.endswith("-0000") else when


def _lenient(raw: str) -> datetime:
    """dateutil for the rest (`2022-01-14 17:50:00 +0800`); unknown zone names stay naive."""

    def zone(name: str | None, offset: int | None) -> tzinfo | None:
        # `+9999` is no zone: the time is read in the source's (`offset_checked`)
        offset = named_offset(name, offset)
        if offset is None or abs(offset) >= _A_DAY:
            return None
        return timezone(timedelta(seconds=offset))

    return dateutil_parser.parse(raw, tzinfos=zone)
