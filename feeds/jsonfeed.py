"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1): reading upstream, writing ours.

We publish 1.1 with underscore extensions for the provenance of SPEC §6 (`_source`,
`_publisher`, `_origin`, `_copies`); the spec reserves keys starting with `_` for exactly this.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from feeds import media
from feeds.bound import Listing
from feeds.dates import parse_date
from feeds.enclosures import UNKNOWN_TYPE, enclosures
from feeds.errors import ParseError
from feeds.model import Enclosure, OutEntry, OutFeed, ParsedFeed, ParsedItem, Party
from feeds.sanitize import (
    clean_html,
    html_to_text,
    one_line,
    person_name,
    plain_line,
    summarize,
    text_to_html,
    web_url,
    xml_safe,
)

_VERSION_1_1 = "https://jsonfeed.org/version/1.1"
_FORMATS = {"https://jsonfeed.org/version/1": "json10", _VERSION_1_1: "json11"}
_LONGEST_INT = 4_300  # digits Python reads as an int by default (sys.int_info)
_FIELDS = (
    "title", "url", "upstream_id", "content_html", "summary", "published", "updated", "author",
    "origin", "tags", "enclosures",
)  # fmt: skip


def json_number(digits: str) -> int | float:
    """An integer as JSON wrote it; one too long for Python to read (4,300 digits, in a field
    nobody reads) is a float, not a reason to refuse the whole feed."""
    return int(digits) if len(digits) < _LONGEST_INT else float(digits)


def parse_json_feed(
    body: bytes,
    *,
    url: str,
    default_tz: tzinfo = UTC,
    max_entries: int | None = None,
    iframe_hosts: Collection[str] = (),
) -> ParsedFeed:
    """Parse a JSON Feed; raises `ParseError` on invalid JSON or without `version` and `items`.
    `max_entries` bounds the items read (see `bound.Listing`); bodies keep the iframes of
    `iframe_hosts`."""
    try:
        doc = json.loads(body, parse_int=json_number)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ParseError(f"invalid JSON: {exc}", url=url) from exc
    if not (
        isinstance(doc, dict)
        and isinstance(doc.get("version"), str)
        and isinstance(doc.get("items"), list)
    ):
        hint = 'no version or items (a list API\'s JSON is read by a source of type = "json")'
        raise ParseError(f"not a JSON Feed: {hint}", url=url)
    feed_author = _authors(doc)
    listing: Listing[object] = Listing(max_entries, lambda raw: _published(raw, default_tz))
    listing.extend(doc["items"])
    chosen, left_out = listing.chosen()
    parsed = [_item(raw, url, feed_author, default_tz, iframe_hosts) for raw in chosen]
    items = tuple(item for item in parsed if item is not None)
    skipped = len(parsed) - len(items)
    warnings = (f"{skipped} empty or invalid items skipped",) if skipped else ()
    return ParsedFeed(
        items=items,
        title=_line(doc.get("title")),
        link=_web_url(doc.get("home_page_url"), url),
        format=_FORMATS.get(doc["version"], "json"),
        warnings=(*warnings, left_out) if left_out else warnings,
    )


def _published(raw: object, tz: tzinfo) -> datetime | None:
    """What `_item` gives as `published`, for choosing among items before building them."""
    if not isinstance(raw, dict):
        return None
    return _date(raw.get("date_published"), tz) or _date(raw.get("date_modified"), tz)


def _item(
    raw: object, feed_url: str, feed_author: str | None, tz: tzinfo, iframes: Collection[str]
) -> ParsedItem | None:
    if not isinstance(raw, dict):
        return None
    link = _web_url(raw.get("url"), feed_url) or _web_url(raw.get("external_url"), feed_url)
    if isinstance(raw.get("content_html"), str):
        content_html = clean_html(
            raw["content_html"], base_url=link or feed_url, iframe_hosts=iframes
        )
    else:
        content_html = clean_html(text_to_html(_str(raw.get("content_text"))))
    summary = _str(raw.get("summary")) or html_to_text(content_html)
    title = _line(raw.get("title"))
    picture = _web_url(raw.get("image"), feed_url)  # the item's main picture (feeds.media)
    if picture and not media.shows_picture(content_html):
        content_html = clean_html(media.picture_html(picture, title)) + content_html
    updated = _date(raw.get("date_modified"), tz)
    raw_id = raw.get("id")  # a string in 1.1; 1.0 feeds often use numbers
    upstream_id = xml_safe(str(raw_id)).strip() if isinstance(raw_id, str | int) else ""
    listed = raw.get("tags")
    tags = (_line(tag) for tag in listed) if isinstance(listed, list) else ()
    item = ParsedItem(
        title=title,
        url=link,
        upstream_id=upstream_id or None,
        content_html=content_html,
        summary=summarize(xml_safe(summary)),
        published=_published(raw, tz),
        updated=updated,
        author=_authors(raw) or feed_author,
        tags=tuple(dict.fromkeys(tag for tag in tags if tag)),
        origin=_origin(raw.get("_origin"), feed_url),
        enclosures=_attachments(raw.get("attachments"), feed_url),
    )
    if not (item.title or item.url or item.upstream_id or item.content_html):
        return None
    return replace(item, provenance=tuple((f, "feed") for f in _FIELDS if getattr(item, f)))


def _origin(given: object, feed_url: str) -> Party | None:
    """Where the item was first published, as our `_origin` extension says (another instance
    of this service, or a feed made like its output)."""
    if not isinstance(given, dict):
        return None
    url = _web_url(given.get("url"), feed_url)
    name = _line(given.get("name")) or url
    return Party(name, url) if name else None


def _attachments(listed: object, feed_url: str) -> tuple[Enclosure, ...]:
    """An item's `attachments`: a list of objects, else (whatever a feed put there) none."""
    if not isinstance(listed, list):
        return ()
    given = (
        (one.get("url"), one.get("mime_type"), one.get("size_in_bytes"))
        for one in listed
        if isinstance(one, dict)
    )
    return enclosures(given, feed_url)


def _authors(obj: dict[str, Any]) -> str | None:
    """Names from 1.1 `authors` or 1.0 `author`, joined; an object without any gives None."""
    people = obj.get("authors")
    if not isinstance(people, list):
        people = [obj.get("author")]
    names = (_line(person.get("name")) for person in people if isinstance(person, dict))
    return ", ".join(name for name in names if name) or None


def _date(value: object, tz: tzinfo) -> datetime | None:
    """An RFC 3339 date keeping its offset; one written without an offset is in `tz`. Dates
    feeds write otherwise (`…01:35:00z`, RFC 822, `2022年1月14日`) are read as pages' are."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        text = value.strip()
        return parse_date(
            text[:-1] + "Z" if text.endswith("z") else text,
            tz=tz,
            now=datetime.now(UTC),
            relative=False,
        )
    return when if when.tzinfo else when.replace(tzinfo=tz)


def _web_url(value: object, base: str) -> str | None:
    return web_url(value, base) if isinstance(value, str) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _line(value: object) -> str:
    return " ".join(xml_safe(_str(value)).split())


def render_json(feed: OutFeed) -> bytes:
    """The feed as compact UTF-8 JSON Feed 1.1, with our provenance extensions per item."""
    doc = _present(
        version=_VERSION_1_1,
        title=plain_line(feed.title),
        home_page_url=feed.home_url,
        feed_url=feed.self_url,
        description=plain_line(feed.description),
        language=feed.language,
        next_url=feed.next_url,
        hubs=[_present(type="WebSub", url=feed.hub_url)] if feed.hub_url else None,
    )
    doc["items"] = [_out_item(entry) for entry in feed.entries]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _out_item(entry: OutEntry) -> dict[str, Any]:
    publisher, origin = entry.publisher, entry.origin
    return _present(
        id=entry.id,
        url=entry.url,
        title=plain_line(entry.title),
        # One of content_html and content_text is required; an empty body falls back to text.
        content_html=entry.content_html,
        content_text=None if entry.content_html else one_line(entry.summary) or entry.title,
        summary=one_line(entry.summary),
        date_published=_rfc3339(entry.published),
        date_modified=_rfc3339(entry.updated),
        authors=[_present(name=person_name(entry.author))] if entry.author else None,
        tags=[plain_line(tag) for tag in entry.tags],
        attachments=[
            _present(url=e.url, mime_type=e.media_type or UNKNOWN_TYPE, size_in_bytes=e.length)
            for e in entry.enclosures
        ],
        _source=_present(
            id=entry.source.id, name=plain_line(entry.source.name), url=entry.source.url
        ),
        _publisher=_present(name=person_name(publisher.name), url=publisher.url)
        if publisher
        else None,
        _origin=_present(name=plain_line(origin.name), url=origin.url) if origin else None,
        _copies=[
            _present(source=c.source_id, source_name=plain_line(c.source_name), url=c.url)
            for c in entry.copies
        ],
    )


def _rfc3339(when: datetime) -> str:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value (readers treat absent and empty alike), text XML-safe.

    XML-safe like our RSS and Atom, so every format says the same; it also drops lone
    surrogates, which UTF-8 cannot encode.
    """
    safe = ((key, xml_safe(v) if isinstance(v, str) else v) for key, v in fields.items())
    return {key: value for key, value in safe if value not in (None, "", [], {})}
