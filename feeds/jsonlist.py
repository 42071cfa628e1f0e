"""JSON list sources (`type = "json"`): the items of a portal's JSON or JSONP list API, read
with the operator's JMESPath fields (`feeds.jsonpaths`).

A record that carries its body (`content`) is a whole item; one that does not leads to its
article page, read as an html source's are. Values are taken as loosely as APIs write them:
numbers for ids and dates (epoch seconds or milliseconds), HTML entities and highlighting
tags in titles, plain text or HTML in bodies.
"""

from __future__ import annotations

import html
import json
import math
import mimetypes
import re
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, tzinfo
from itertools import islice
from urllib.parse import quote, unquote_plus, urldefrag, urlsplit, urlunsplit

from jmespath.exceptions import JMESPathError

from feeds.attribution import clean_credit
from feeds.bound import Listing
from feeds.dates import find_date, parse_date
from feeds.enclosures import enclosures
from feeds.errors import ParseError
from feeds.htmltree import page_link
from feeds.jsonfeed import json_number
from feeds.jsonpaths import JsonDetailRules, JsonField, JsonListRules
from feeds.listpage import ListPage, undated_note
from feeds.model import Enclosure, ParsedItem, Party
from feeds.pagedates import RELATIVE
from feeds.sanitize import (
    clean_html,
    html_to_text,
    person_name,
    plain_line,
    summarize,
    text_to_html,
    xml_safe,
)

__all__ = ["parse_json_detail", "parse_json_list"]

# Where a value may start in an answer wrapped in script: `cb({...});`, Express's `/**/ typeof
# cb === 'function' && cb({...});`, `try{cb({...})}catch(e){}`, `var data = [...];`, Xinhua's
# bare `({...})`. Each `{` or `[` is tried in turn, a value taken only where the wrapper goes
# on after it (`)`, `;`, the end): a broken answer's first record is no answer.
_OPENING = re.compile(r"[{\[]")
_WRAPPER_GOES_ON = re.compile(r"\s*(?:[);]|$)")
# Guards an answer may start with against being run as script (XSSI): the JSON follows.
_GUARDS = (")]}'", "for(;;);", "while(1);")
_MOST_OPENINGS = 16
_DECODER = json.JSONDecoder(parse_int=json_number)
_MARKUP = re.compile(r"<[A-Za-z/!]")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_DEEPEST = 4  # lists in lists a value is looked into for its first value
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
    most: int | None = None,
    later: bool = False,
    detail: JsonDetailRules | None = None,
) -> ListPage:
    """One item per record `rules.item` finds that has a link not seen before on the page; of
    more than `most`, the newest `most` (as `fetch.max_entries` chooses a feed's entries),
    chosen before any is built.

    Raises `ParseError` when the answer is not JSON, or `item` finds no list in it: an API's
    error answer (`{"code": 403, "msg": "…"}`) names its keys in the message. On a `later`
    page, finding nothing (`{"data": null}`, as APIs answer past their last page) is an
    empty page. With `detail`, a record without its body is given its detail API's address
    (`ParsedItem.body_url`)."""
    doc = _document(text, url)
    fields = _Fields()
    found = fields.find(doc, rules.item)
    if found is None and later:
        return ListPage(())
    if not isinstance(found, list):
        what = "nothing" if found is None else f"{_kind(found)}, not a list"
        if isinstance(found, dict):
            what += f" ({rules.item.path + '.*'!r} takes its values)"
        said = f"sources.list.item {rules.item.path!r} finds {what}{_keys(doc)}"
        raise ParseError(xml_safe(said), url=url)
    when = (tz, now)
    linked: Listing[tuple[object, str]] = Listing(
        most, lambda pair: fields.date(pair[0], rules, when)
    )
    seen = {urldefrag(url).url}
    unlinked = 0
    for record in found:
        link = page_link(fields.value(record, rules.link), url)
        if link is None:
            unlinked += 1
            continue
        if (link := urldefrag(link).url) in seen:
            continue
        seen.add(link)
        linked.add((record, link))
    chosen, left_out = linked.chosen()
    items = [_item(fields, record, link, url, rules, when, iframe_hosts) for record, link in chosen]
    if detail is not None:
        items = [
            replace(item, body_url=page_link(fields.value(record, detail.url), url))
            if not item.content_html
            else item
            for (record, _), item in zip(chosen, items, strict=True)
        ]
    warnings = [left_out] if left_out else []
    dates = (fields.value(record, rules.published) for record, _ in chosen)
    undated = [
        given for given, item in zip(dates, items, strict=True) if given and not item.published
    ]
    notes = (undated_note(undated, len(items), "sources.list.published"),) if undated else ()
    if unlinked:
        warnings.append(
            f"{unlinked} of {len(found)} records skipped: sources.list.link {rules.link.path!r}"
            " gives no web address in them"
        )
    warnings.extend(fields.problems())
    next_page = _next_page(doc, url, rules, bool(found), fields)
    return ListPage(tuple(items), next_page, warnings=tuple(warnings), notes=notes)


def _document(text: str, url: str) -> object:
    """The JSON value of an answer, or of the first object or array a script wrapping it
    holds (JSONP and the like, `_OPENING`)."""
    body = text.strip().lstrip("\ufeff")
    for guard in _GUARDS:
        body = body.removeprefix(guard).lstrip()
    try:
        return json.loads(body, parse_int=json_number)
    except (ValueError, RecursionError) as exc:
        failure: Exception = exc
    wrapped = body[:1] not in ("{", "[", "<")  # JSON, if broken, or a page: no wrapper
    openings = _OPENING.finditer(body) if wrapped else iter(())
    for opening in islice(openings, _MOST_OPENINGS):
        try:
            value, end = _DECODER.raw_decode(body, opening.start())
        except RecursionError as exc:  # what the wrapper holds is the answer, nested too deep
            failure = exc
            continue
        except ValueError:
            continue
        if isinstance(value, dict | list) and _WRAPPER_GOES_ON.match(body, end):
            return value
    start = xml_safe(" ".join(text[:60].split()))
    raise ParseError(f"not JSON ({failure}); the answer starts {start!r}", url=url)


def _kind(value: object) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else kinds.get(type(value), "a number")


def _keys(doc: object) -> str:
    """The document's own keys, to help find the path (or read an API's error answer)."""
    if isinstance(doc, list):
        return f' (the answer is a list of {len(doc)} values: item = "[*]" reads them)'
    if doc is None:
        return " (the answer is null)"
    if not isinstance(doc, dict):
        return f" (the answer is {_kind(doc)}, {_short(doc)})"
    shown = ", ".join(f"{key}={_short(value)}" for key, value in list(doc.items())[:8])
    return f" (the document has {shown})"


def _short(value: object) -> str:
    if isinstance(value, dict | list):
        return "{…}" if isinstance(value, dict) else f"[{len(value)} values]"
    return " ".join(json.dumps(value, ensure_ascii=False)[:40].split())


class _Fields:
    """Reads the operator's fields, keeping the first error each one met (a function given a
    value of another type), for a warning: such a field reads nothing."""

    def __init__(self) -> None:
        self._failed: dict[str, str] = {}

    def find(self, record: object, field: JsonField) -> object:
        try:
            return field.find(record)
        except JMESPathError as error:
            self._failed.setdefault(field.path, " ".join(str(error).split()))
            return None

    def value(self, record: object, field: JsonField | None) -> str | None:
        """What `field` reads in `record`: through its regex, written into its template."""
        if field is None or (text := _text(self.find(record, field))) is None:
            return None
        return _shaped(text, field)

    def date(
        self, record: object, rules: JsonListRules, when: tuple[tzinfo, datetime]
    ) -> datetime | None:
        return _published(self.value(record, rules.published), *when)[0]

    def problems(self) -> list[str]:
        return [
            xml_safe(f"sources.list: {path!r} reads nothing: {why}")
            for path, why in self._failed.items()
        ]


def _text(found: object, depth: int = 0) -> str | None:
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
    if isinstance(found, list) and depth < _DEEPEST:
        return next((text for value in found if (text := _text(value, depth + 1))), None)
    return None


def _shaped(text: str, field: JsonField) -> str | None:
    text = xml_safe(text).strip()
    if field.regex is not None:
        kept = field.regex.search(text)
        text = kept.group(1).strip() if kept else ""
    if text and field.template is not None:
        text = field.template.replace("{}", text)
    return text or None


def _item(
    fields: _Fields,
    record: object,
    link: str,
    list_url: str,
    rules: JsonListRules | JsonDetailRules,
    when: tuple[tzinfo, datetime],
    iframe_hosts: Collection[str],
) -> ParsedItem:
    """The item a record (of a list, or a detail API's answer) makes; `link` is its page."""
    _value = fields.value
    title = plain_line(html_to_text(_value(record, rules.title) or ""))
    body = _value(record, rules.content) or ""
    if body and not _MARKUP.search(body):  # plain text, its entities (`&ldquo;`) read
        body = text_to_html(html.unescape(body) if _ENTITY.search(body) else body)
    content = clean_html(body, base_url=link, iframe_hosts=iframe_hosts) if body else ""
    given_summary = _value(record, rules.summary)
    summary = summarize(html_to_text(given_summary or content))
    published, way = _published(_value(record, rules.published), *when)
    author = person_name(html_to_text(_value(record, rules.author) or "")) or None
    credit = clean_credit(html_to_text(_value(record, rules.origin) or ""))
    picture = page_link(_value(record, rules.image), list_url)  # as the site's page shows it
    upstream_id = _value(record, rules.id) if isinstance(rules, JsonListRules) else None
    tags = _tags(fields, record, rules.tags)
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


def _tags(fields: _Fields, record: object, field: JsonField | None) -> tuple[str, ...]:
    """Categories: a list of names, or names in one text (`"创新,科技"`, as APIs write
    keywords)."""
    if field is None:
        return ()
    found = fields.find(record, field)
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


def _next_page(
    doc: object, url: str, rules: JsonListRules, listed: bool, fields: _Fields
) -> str | None:
    """The next page: `next_page`'s address, or this one with `page_param` one more (when
    this page listed records: an API past its last page answers an empty list); by POST, the
    same address, whose body the caller numbers (`PostBody.for_page`). Only that
    parameter's value changes: the rest of the query is the operator's, byte for byte (a
    keyword percent-encoded in GBK, a bare `flag`)."""
    if rules.next_page is not None:
        return page_link(fields.value(doc, rules.next_page), url)
    if rules.page_param is None or not listed:
        return None
    if rules.post is not None:  # the same address, the body's page field one more
        return url
    parts = urlsplit(url)
    pairs = parts.query.split("&") if parts.query else []
    name = quote(rules.page_param, safe="")
    numbered = [
        i
        for i, pair in enumerate(pairs)
        if unquote_plus(pair.partition("=")[0]) == rules.page_param
    ]
    current = pairs[numbered[0]].partition("=")[2] if numbered else "1"
    number = str(int(current) + 1) if current.isascii() and current.isdigit() else "2"
    if numbered:
        pairs[numbered[0]] = f"{pairs[numbered[0]].partition('=')[0]}={number}"
    else:
        pairs.append(f"{name}={number}")
    return urlunsplit(parts._replace(query="&".join(pairs)))


def parse_json_detail(
    text: str,
    *,
    url: str,
    link: str,
    rules: JsonDetailRules,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str] = (),
) -> ParsedItem:
    """The article a detail API answers at `url` for the record whose page is `link`; raises
    `ParseError` when the answer is not JSON or holds no body (`content` reads nothing)."""
    doc = _document(text, url)
    fields = _Fields()
    article = fields.find(doc, rules.item) if rules.item is not None else doc
    item = _item(fields, article, link, url, rules, (tz, now), iframe_hosts)
    if not item.content_html:
        path = rules.content.path if rules.content else "content"
        why = "; ".join(fields.problems()) or f"{path!r} reads nothing{_keys(doc)}"
        raise ParseError(xml_safe(f"sources.detail: {why}"), url=url)
    return item
