"""JSON list sources (`type = "json"`): the items of a portal's JSON or JSONP list API, read
with the operator's JMESPath fields (`feeds.jsonpaths`).

A record that carries its body (`content`) is a whole item; one that does not leads to its
article page, read as an html source's are. Values are taken as loosely as APIs write them:
numbers for ids and dates (epoch seconds or milliseconds), HTML entities and highlighting
tags in titles, plain text or HTML in bodies.
"""

from __future__ import annotations

import json
import math
import mimetypes
import re
from collections.abc import Collection
from datetime import datetime, tzinfo
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit, urlunsplit

from feeds.attribution import clean_credit
from feeds.dates import find_date, parse_date
from feeds.enclosures import enclosures
from feeds.errors import ParseError
from feeds.htmlpage import RELATIVE, ListPage
from feeds.htmltree import page_link
from feeds.jsonfeed import json_number
from feeds.jsonpaths import JsonField, JsonListRules
from feeds.model import Enclosure, ParsedItem, Party
from feeds.sanitize import (
    clean_html,
    html_to_text,
    person_name,
    plain_line,
    summarize,
    text_to_html,
    xml_safe,
)

__all__ = ["parse_json_list"]

# JSONP: `callback({...});`, `/**/cb({...})`, or Xinhua's bare `({...})`.
_JSONP = re.compile(r"(?:/\*\*/)?\s*(?:[A-Za-z_$][\w$.]*)?\s*\((.*)\)\s*;?", re.S)
_MARKUP = re.compile(r"<[A-Za-z/!]")
_MOST_TAGS = 20
_TAG_SEPARATORS = re.compile(r"[,，;；、|]")


def parse_json_list(
    text: str,
    *,
    url: str,
    rules: JsonListRules,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str] = (),
) -> ListPage:
    """One item per record `rules.item` finds that has a link not seen before on the page.

    Raises `ParseError` when the answer is not JSON, or `item` finds no list in it: an API's
    error answer (`{"code": 403, "msg": "…"}`) names its keys in the message."""
    doc = _document(text, url)
    found = rules.item.find(doc)
    if not isinstance(found, list):
        what = "nothing" if found is None else f"a {_kind(found)}, not a list"
        raise ParseError(f"sources.list.item {rules.item.path!r} finds {what}{_keys(doc)}", url=url)
    items: list[ParsedItem] = []
    seen = {urldefrag(url).url}
    unlinked = 0
    for record in found:
        link = page_link(_value(record, rules.link), url)
        if link is None:
            unlinked += 1
            continue
        if (link := urldefrag(link).url) in seen:
            continue
        seen.add(link)
        items.append(_item(record, link, url, rules, tz, now, iframe_hosts))
    warnings: tuple[str, ...] = ()
    if unlinked:
        warnings = (
            f"{unlinked} of {len(found)} records skipped: sources.list.link {rules.link.path!r}"
            " gives no web address in them",
        )
    return ListPage(tuple(items), _next_page(doc, url, rules, bool(found)), warnings=warnings)


def _document(text: str, url: str) -> object:
    """The JSON value of an answer, unwrapped from a JSONP callback if it is one."""
    body = text.strip().lstrip("\ufeff")
    if body[:1] not in ("{", "[") and (wrapped := _JSONP.fullmatch(body)):
        body = wrapped.group(1)
    try:
        return json.loads(body, parse_int=json_number)
    except (ValueError, RecursionError) as exc:
        start = " ".join(text[:60].split())
        raise ParseError(f"not JSON ({exc}); the answer starts {start!r}", url=url) from exc


def _kind(value: object) -> str:
    return {dict: "object", str: "string", bool: "boolean"}.get(type(value), "number")


def _keys(doc: object) -> str:
    """The document's own keys, to help find the path (or read an API's error answer)."""
    if not isinstance(doc, dict):
        return ""
    shown = ", ".join(f"{key}={_short(value)}" for key, value in list(doc.items())[:8])
    return f" (the document has {shown})"


def _short(value: object) -> str:
    if isinstance(value, dict | list):
        return "{…}" if isinstance(value, dict) else f"[{len(value)} values]"
    return " ".join(json.dumps(value, ensure_ascii=False)[:40].split())


def _text(found: object) -> str | None:
    """A value as text: numbers as written (an id, a timestamp), a list as its first value."""
    if isinstance(found, str):
        return found
    if isinstance(found, bool) or found is None:
        return None
    if isinstance(found, int):
        return str(found)
    if isinstance(found, float):
        return (
            None if not math.isfinite(found) else str(int(found) if found.is_integer() else found)
        )
    if isinstance(found, list):
        return next((text for value in found if (text := _text(value))), None)
    return None


def _value(record: object, field: JsonField | None) -> str | None:
    """What `field` reads in `record`: through its regex, written into its template."""
    if field is None or (text := _text(field.find(record))) is None:
        return None
    return _shaped(text, field)


def _shaped(text: str, field: JsonField) -> str | None:
    text = xml_safe(text).strip()
    if field.regex is not None:
        kept = field.regex.search(text)
        text = kept.group(1).strip() if kept else ""
    if text and field.template is not None:
        text = field.template.replace("{}", text)
    return text or None


def _item(
    record: object,
    link: str,
    list_url: str,
    rules: JsonListRules,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str],
) -> ParsedItem:
    title = plain_line(html_to_text(_value(record, rules.title) or ""))
    body = _value(record, rules.content) or ""
    if body and not _MARKUP.search(body):
        body = text_to_html(body)
    content = clean_html(body, base_url=link, iframe_hosts=iframe_hosts) if body else ""
    given_summary = _value(record, rules.summary)
    summary = summarize(html_to_text(given_summary or content))
    published, way = _published(_value(record, rules.published), tz, now)
    author = person_name(_value(record, rules.author) or "") or None
    credit = clean_credit(_value(record, rules.origin))
    picture = page_link(_value(record, rules.image), list_url)  # as the site's page shows it
    upstream_id = _value(record, rules.id)
    tags = _tags(record, rules.tags)
    found = {
        "url": link, "title": title, "content": content, "summary": given_summary and summary,
        "published": published, "author": author, "origin": credit,
        "upstream_id": upstream_id, "enclosures": picture, "tags": tags,
    }  # fmt: skip
    ways = {name: "selector" for name, value in found.items() if value}
    if way:
        ways["published"] = way
    if summary and not given_summary:  # the body's first words
        ways["summary"] = "automatic"
    return ParsedItem(
        title=title,
        url=link,
        upstream_id=upstream_id,
        content_html=content,
        summary=summary,
        published=published,
        author=author,
        origin=Party(credit) if credit else None,
        tags=tags,
        enclosures=_picture(picture, list_url),
        provenance=tuple(ways.items()),
    )


def _published(text: str | None, tz: tzinfo, now: datetime) -> tuple[datetime | None, str | None]:
    """The date `text` gives (an epoch in seconds or milliseconds, a calendar date, `3小时前`),
    and `RELATIVE` when it is written relative to the answer's making."""
    if not text:
        return None, None
    found = parse_date(text, tz=tz, now=now) or find_date(text, tz=tz, now=now)
    calendar = parse_date(text, tz=tz, now=now, relative=False) or find_date(
        text, tz=tz, now=now, relative=False
    )
    return found, (RELATIVE if found is not None and calendar is None else None)


def _tags(record: object, field: JsonField | None) -> tuple[str, ...]:
    """Categories: a list of names, or names in one text (`"创新,科技"`, as APIs write
    keywords)."""
    if field is None:
        return ()
    found = field.find(record)
    values = found if isinstance(found, list) else [found]
    texts = (text for value in values if (text := _text(value)))
    shaped = (name for text in texts for name in _TAG_SEPARATORS.split(text))
    names = (plain_line(kept) for name in shaped if (kept := _shaped(name, field)))
    return tuple(dict.fromkeys(name for name in names if name))[:_MOST_TAGS]


def _picture(address: str | None, base: str) -> tuple[Enclosure, ...]:
    """The record's picture (a cover, a thumbnail) as an enclosure: a record without a body
    is completed by its article page, whose content would replace a picture put in the body."""
    if address is None:
        return ()
    kind, _ = mimetypes.guess_type(urlsplit(address).path)
    return enclosures([(address, kind if kind and kind.startswith("image/") else "", None)], base)


def _next_page(doc: object, url: str, rules: JsonListRules, listed: bool) -> str | None:
    """The next page: `next_page`'s address, or this one with `page_param` one more (when
    this page listed records: an API past its last page answers an empty list)."""
    if rules.next_page is not None:
        return page_link(_value(doc, rules.next_page), url)
    if rules.page_param is None or not listed:
        return None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    current = next((value for name, value in query if name == rules.page_param), "1")
    number = str(int(current) + 1) if current.isascii() and current.isdigit() else "2"
    if all(name != rules.page_param for name, _ in query):
        query.append((rules.page_param, "1"))
    query = [(name, number if name == rules.page_param else value) for name, value in query]
    return urlunsplit(parts._replace(query=urlencode(query)))
