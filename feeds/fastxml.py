"""Well-formed RSS 0.9x/1.0/2.0 and Atom 1.0 read with lxml instead of feedparser's SAX machinery.

feedparser spends most of a parse in the generic code around its element handlers (SAX glue,
attribute and namespace bookkeeping, deep copies, `pop`). `_Replay` runs those handlers on an
lxml tree with lean replacements for that code only, so the result is feedparser's, quirks
included, and feedxml builds the records from it with the slow path's own functions
(tests/test_fastxml_differential.py compares both paths over feedparser's test corpus).
What the lean code does not reproduce makes `parse_fast` return None, for feedparser to read:
documents not well-formed or declaring entities, xml:base, markup, base64 or XHTML inside a
text construct, namespace bindings feedparser reads by event order, anything not RSS or Atom 1.0.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, tzinfo
from functools import partialmethod
from typing import Any, cast

from feedparser.datetimes import _parse_date as feedparser_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import replace_doctype
from feedparser.urls import _urljoin
from feedparser.util import FeedParserDict
from lxml import etree

from feeds import feedxml  # its preprocessing and record building are shared, not copied
from feeds.charset import decode
from feeds.model import ParsedFeed
from feeds.sanitize import xml_safe

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "remove_comments": True,  # SAX reports text around comments as one run; so does lxml then
    "remove_pis": True,
}
_ROOTS = {"rss": "rss", "feed": "atom10", "rdf:rdf": "rss1"}  # root -> version family accepted
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_QUERY = re.compile("&([A-Za-z0-9_]+);")  # feedparser's repair of `?a=1&b;=2` in links
_XLINK = "http://www.w3.org/1999/xlink"
_USERLAND = "http://backend.userland.com/rss"
_CANONICAL = frozenset(p.lower() for p in _FeedParserMixin.namespaces.values() if p)
_Handler = Callable[..., Any]
# FeedParserDict's aliases for the keys it is given: `date` is stored as `updated`, ...
_KEYS = {k: v[0] if isinstance(v, list) else v for k, v in FeedParserDict.keymap.items()}


class _Unsupported(Exception):
    """A construct the lean machinery does not reproduce: feedparser must read the document."""


class _Replay(_FeedParserMixin):  # type: ignore[misc]  # feedparser ships no types
    """feedparser's handlers and state, fed from an lxml tree; replaces its SAX glue and `pop`."""

    version: str

    def __init__(self) -> None:
        self.baseuri = ""  # feedparser.parse of a stream without Content-Location
        self.lang: str | None = None
        self.encoding = "utf-8"
        super().__init__()
        self.resolve_relative_uris = False  # as feedxml asks
        self.sanitize_html = False
        # Plain dicts: FeedParserDict's lookups cost a third of the walk. Only its key aliases
        # matter (`<date>` is stored as `updated`), and only where `_store` writes: see _KEYS.
        self.feeddata: dict[str, Any] = {}
        self.sourcedata: dict[str, Any] = {}
        self.contentparams: dict[str, Any] = {}
        self.dates: list[tuple[Any, str, str | None]] = []  # (context, key, raw) in order
        self._tags: dict[str, str] = {}
        self._handlers: dict[str, tuple[_Handler, _Handler]] = {}

    def declare(self, declarations: Sequence[tuple[str, str]], on_root: int) -> None:
        """Replay namespace declarations; only the root's may set the version, as in SAX order."""
        seen: dict[str, str] = {}
        for prefix, uri in declarations:  # a prefix bound twice, feedparser's xlink hack, or
            canonical = self._matchnamespaces.get(uri.lower())  # one renaming another namespace
            renames = canonical not in (None, prefix) and prefix.lower() in _CANONICAL
            if prefix and (seen.setdefault(prefix, uri) != uri or uri == _XLINK or renames):
                raise _Unsupported(f"namespace prefix {prefix!r}")
        for prefix, uri in declarations[:on_root]:
            if uri:
                self.track_namespace(prefix or None, uri)
        version: str = self.version
        for prefix, uri in declarations[on_root:]:
            if uri:
                self.track_namespace(prefix or None, uri)
        self.version = version

    def element(self, element: etree._Element) -> None:
        """feedparser's unknown_starttag / characters / unknown_endtag for one subtree."""
        if self.incontent:
            raise _Unsupported("markup inside a text construct")
        tag = self._tags.get(element.tag) or self._tag(element.tag)
        items = cast("list[tuple[str, str]]", element.items())  # str: parsed, not built
        attrs = self._attrs(items) if items else {}
        if attrs.get("xml:base", attrs.get("base")):
            raise _Unsupported("xml:base")
        self.depth += 1
        if ":" not in tag:  # feedparser's reset of its image and textinput flags
            if tag not in ("title", "link", "description", "name"):
                self.intextinput = 0
            if tag not in ("title", "link", "description", "url", "href", "width", "height"):
                self.inimage = 0
        start, end = self._handlers.get(tag) or self._handler(tag)
        start(attrs)
        if element.text:
            self.handle_data(element.text)
        for child in element:
            self.element(child)
            if child.tail:
                self.handle_data(child.tail)
        end()
        self.depth -= 1

    def _tag(self, clark: str) -> str:
        """The element's name as feedparser's startElementNS spells it: known prefix, lower case."""
        uri, _, local = clark[1:].partition("}") if clark[0] == "{" else ("", "", clark)
        if "backend.userland.com/rss" in uri.lower():
            uri = _USERLAND
        prefix = self._matchnamespaces.get(uri.lower())
        if not prefix and uri:  # an unknown namespace: the first prefix the document gave it
            prefix = next((p for p, v in self.namespaces_in_use.items() if p and v == uri), "")
        name = f"{prefix}:{local}".lower() if prefix else local.lower()
        self._tags[clark] = name
        return name

    def _handler(self, tag: str) -> tuple[_Handler, _Handler]:
        prefix, _, suffix = tag.rpartition(":")
        prefix = self.namespacemap.get(prefix, prefix)
        key = f"{prefix}_{suffix}" if prefix else suffix
        start = getattr(self, f"_start_{key}", None)
        end = getattr(self, f"_end_{key}", None)

        def unknown_start(attrs: dict[str, str]) -> None:  # feedparser's default handling
            if attrs:
                self._get_context()[_KEYS.get(key, key)] = attrs
            else:
                self.push(key, 1)

        found = (start or unknown_start, end or (lambda: self.pop(key)))
        self._handlers[tag] = found
        return found

    def _attrs(self, items: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Attributes keyed as startElementNS keys them: known prefix, then expat's bare qname."""
        attrs: dict[str, str] = {}
        for name, value in items:
            if name[0] == "{":
                uri, _, local = name[1:].partition("}")
                prefix = self._matchnamespaces.get(uri.lower(), "")
                name = f"{prefix}:{local}" if prefix else local
            attrs[name.lower()] = value
        for name, value in items:
            attrs[name.rpartition("}")[2].lower()] = value
        for name in ("rel", "type"):
            if name in attrs:
                attrs[name] = attrs[name].lower()
        return attrs

    def _start_item(self, attrs_d: dict[str, str]) -> None:
        """feedparser's, with a plain dict for the entry."""
        self.entries.append({})
        self.push("item", 0)
        self.inentry, self.guidislink, self.title_depth = 1, 0, -1
        if about := self._get_attribute(attrs_d, "rdf:about"):
            self.entries[-1]["id"] = about
        self._cdf_common(attrs_d)

    _start_entry = _start_item

    def push_content(
        self, tag: str, attrs_d: dict[str, str], default_content_type: str, expecting_text: int
    ) -> None:
        """feedparser's, refusing what `pop` does not handle: base64 and XML content."""
        kind = self.map_content_type(attrs_d.get("type", default_content_type))
        if kind not in ("text/plain", "text/html") or attrs_d.get("mode") == "base64":
            raise _Unsupported(f"{kind} text construct")
        self.incontent += 1
        self.lang = self.lang and self.lang.replace("_", "-")
        self.contentparams = {"type": kind, "language": self.lang, "base": self.baseuri}
        self.push(tag, expecting_text)

    def handle_data(self, text: str, escape: int = 1) -> None:
        if self.elementstack:  # no XHTML to escape: push_content refuses it
            self.elementstack[-1][2].append(text)

    def pop(self, element: str, strip_whitespace: int = 1) -> str | None:
        """feedparser's pop for text constructs of plain text or HTML, without its no-op paths."""
        if not self.elementstack or self.elementstack[-1][0] != element:
            return None
        element, expecting_text, pieces = self.elementstack.pop()
        output: str = "".join(pieces)
        if strip_whitespace:
            output = output.strip()
        if not expecting_text:
            return output
        if element in self.can_be_relative_uri and output and (element != "id" or self.guidislink):
            output = _urljoin("", output)
        if (
            not self.version.startswith("atom")
            and self.contentparams.get("type") == "text/plain"
            and self.looks_like_html(output)
        ):
            self.contentparams["type"] = "text/html"
        if not output.isascii():  # both repairs leave ASCII alone
            with suppress(UnicodeError):  # UTF-8 that was read as Latin-1
                output = output.encode("iso-8859-1").decode("utf-8")
            if _C1_CONTROLS.search(output):
                output = output.translate(_cp1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        self._store(element, output)
        return output

    def _store(self, element: str, output: str) -> None:
        """The end of feedparser's pop: where the text lands; a shallow copy stands for deepcopy."""
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault(element, []).append(FeedParserDict(self.contentparams))
                entry[element][-1]["value"] = output
            elif element == "link":
                if not self.inimage:
                    if "&" in output:
                        output = _QUERY.sub(r"&\1", output.replace("&amp;", "&"))
                    entry[element] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.property_depth_map.setdefault(id(entry), {})
                if depths.get(element) is None or self.depth <= depths[element]:
                    depths[element] = self.depth
                    entry[_KEYS.get(element, element)] = output
                if self.incontent:
                    detail = _KEYS.get(f"{element}_detail", f"{element}_detail")
                    entry[detail] = FeedParserDict(self.contentparams, value=output)
        elif self.infeed or self.insource:
            context = self._get_context()
            if element == "description":
                element = "subtitle"
            context[_KEYS.get(element, element)] = output
            if element == "link":
                output = _QUERY.sub(r"&\1", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                detail = _KEYS.get(f"{element}_detail", f"{element}_detail")
                context[detail] = FeedParserDict(self.contentparams, value=output)

    def _date(self, key: str) -> None:
        """Keep the raw date; feedparser's slow parse of it is done later, only where it is read."""
        self.dates.append((self._get_context(), key, self.pop(key)))

    _end_published = _end_issued = _end_pubdate = partialmethod(_date, "published")
    _end_updated = _end_modified = _end_lastbuilddate = partialmethod(_date, "updated")
    _end_created = partialmethod(_date, "created")

    def parsed_dates(self, default_tz: tzinfo) -> None:
        """feedparser's `*_parsed`, only where feedxml reads it: where its own parse fails."""
        entries = {id(entry) for entry in self.entries}
        last = {(id(c), key): (c, raw) for c, key, raw in self.dates if id(c) in entries}
        for (_, key), (entry, raw) in last.items():
            current = dict.get(entry, key)
            if not (isinstance(current, str) and feedxml._parse_date(current, default_tz)):
                entry[f"{key}_parsed"] = feedparser_date(raw)


def _replay(data: bytes) -> _Replay:
    events = etree.iterparse(io.BytesIO(data), events=("start-ns",), **_PARSER_OPTIONS)
    declarations: list[tuple[str, str]] = [ns for _, ns in events]
    root = events.root
    on_root = len(root.nsmap)
    if {p or None: u for p, u in declarations[:on_root]} != root.nsmap:
        raise _Unsupported("unusual declarations on the root")
    replay = _Replay()
    replay.declare(declarations, on_root)
    family = _ROOTS.get(replay._tag(root.tag))
    if family is None or (family == "rss1" and replay.version not in ("rss10", "rss090")):
        raise _Unsupported("not an RSS or Atom 1.0 document")
    replay.element(root)
    if family == "atom10" and replay.version != "atom10":
        raise _Unsupported(f"Atom version {replay.version!r}")
    return replay


def parse_fast(
    body: bytes,
    *,
    url: str,
    header_charset: str | None = None,
    encoding: str | None = None,
    default_tz: tzinfo = UTC,
) -> ParsedFeed | None:
    """What `feedxml.parse_xml_feed` returns for `body`, or None when feedparser must read it."""
    decoded = decode(body, header_charset=header_charset, override=encoding)
    text = feedxml._CHAR_REF.sub(feedxml._valid_char_ref, xml_safe(decoded.text))
    if feedxml._DOCTYPE.search(text) and "<!ENTITY" in text:
        return None  # feedxml refuses it
    data = feedxml._XML_DECL_ENCODING.sub(r"\1utf-8", text, count=1).encode("utf-8")
    try:
        replay = _replay(data)
    except Exception:  # not well-formed, _Unsupported, or a handler failing on hostile input
        return None
    version = replace_doctype(data)[0] or replay.version  # a Netscape DOCTYPE means rss091n
    replay.parsed_dates(default_tz)
    channel = replay.feeddata
    feed_author = feedxml._author(channel) if version.startswith("atom") else None
    parsed = [feedxml._item(entry, url, feed_author, default_tz) for entry in replay.entries]
    items = tuple(item for item in parsed if item is not None)
    skipped = len(parsed) - len(items)
    return ParsedFeed(
        items=items,
        title=feedxml._text(channel.get("title_detail")),
        link=feedxml._web_url(channel.get("link"), url),
        format=feedxml._FORMATS.get(version, version),
        ttl_seconds=feedxml._ttl(channel.get("ttl")),
        charset=decoded.charset,
        warnings=(f"{skipped} empty entries skipped",) if skipped else (),
    )
