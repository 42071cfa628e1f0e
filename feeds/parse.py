"""Which parser reads an upstream document: sniffed from its first bytes, as miniflux does.

Content-Type headers lie too often (feeds served as text/html, pages as application/xml) to
choose a parser by; the document's own first element is the better witness.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection
from datetime import UTC, tzinfo
from typing import Any

import lxml.html
from lxml import etree

from feeds.charset import decode
from feeds.errors import NotAFeed, ParseError
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.jsonfeed import parse_json_feed
from feeds.model import ParsedFeed
from feeds.sanitize import web_url

_SNIFF_BYTES = 4096
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Declarations, processing instructions, comments and a DOCTYPE (with its internal subset).
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!doctype[^\[>]*(?:\[.*?\])?\s*>)", re.I | re.S)
_HTML_DOCTYPE = re.compile(r"<!doctype\s+html\b")
_ROOT = re.compile(r"\s*<([A-Za-z_][\w:.-]*)")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json"}
# What a list API answers: a JSON array, or JSON handed to a script (JSONP, `var list = …`)
_SCRIPTED_JSON = re.compile(r"\s*(?:\[|[\w$.]+\s*\(\s*[{\[]|var\s+[\w$]+\s*=\s*[{\[])")
_JSON_LIST_HINT = 'a list API\'s JSON is read by a source of type = "json"'


def detect_format(body: bytes) -> str:
    """ "json", "xml", "html" or "unknown", from the document's first non-prolog token."""
    text = _head(body).lstrip()
    if text.startswith("{"):
        return "json"
    xml_declared = html_doctype = False
    position = 0
    while match := _PROLOG.match(text, position):
        token = match.group().strip().lower()
        xml_declared |= token.startswith("<?xml")
        html_doctype |= _HTML_DOCTYPE.match(token) is not None
        position = match.end()
    root = _ROOT.match(text, position)
    name = root.group(1).lower() if root else ""
    if name in ("rss", "feed", "rdf") or name.endswith(":rdf"):
        return "xml"
    if html_doctype or name in ("html", "head", "body"):
        return "html"
    return "xml" if xml_declared else "unknown"


def parse_feed(
    body: bytes,
    *,
    url: str,
    header_charset: str | None = None,
    encoding: str | None = None,
    default_tz: tzinfo = UTC,
    max_entries: int | None = None,
    iframe_hosts: Collection[str] = (),
) -> ParsedFeed:
    """Parse any feed format we read; an HTML page raises `NotAFeed` with its advertised feeds.

    `max_entries` bounds the entries read of a document listing more: the newest when every
    entry is dated, else the first (`bound.Listing`). Bodies keep the iframes of
    `iframe_hosts` (`sources.iframe_hosts`)."""
    if not body.strip():
        raise ParseError("empty body", url=url)
    kind = detect_format(body)
    if kind == "json":
        return parse_json_feed(
            body, url=url, default_tz=default_tz, max_entries=max_entries, iframe_hosts=iframe_hosts
        )
    if kind == "html":
        alternates = feed_links(body, url=url, header_charset=header_charset, encoding=encoding)
        raise NotAFeed("an HTML page, not a feed", url=url, alternates=alternates)
    if kind == "unknown" and _SCRIPTED_JSON.match(_head(body)):
        raise ParseError(f"JSON, not a feed: {_JSON_LIST_HINT}", url=url)
    given: dict[str, Any] = {
        "header_charset": header_charset, "encoding": encoding, "default_tz": default_tz,
        "max_entries": max_entries, "iframe_hosts": iframe_hosts,
    }  # fmt: skip
    # Well-formed RSS and Atom 1.0 take the lxml path; it gives None for whatever needs feedparser.
    fast = parse_fast(body, url=url, **given)
    if fast is not None:
        return fast
    # "unknown" too: feedparser still finds feeds behind junk such as a leading PHP warning.
    return parse_xml_feed(body, url=url, **given)


def feed_links(
    body: bytes, *, url: str, header_charset: str | None = None, encoding: str | None = None
) -> tuple[str, ...]:
    """Absolute http(s) URLs of the feeds an HTML page advertises with `<link rel=alternate>`."""
    text = decode(body, header_charset=header_charset, override=encoding).text
    try:  # lxml refuses text that still carries an encoding declaration
        root = lxml.html.fromstring(_XML_DECL.sub("", text, count=1))
    except (etree.ParserError, ValueError):
        return ()
    base_element = root.find(".//base[@href]")
    base = url
    if base_element is not None:
        base = web_url(base_element.get("href"), url) or url
    found: dict[str, None] = {}
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        absolute = web_url(link.get("href"), base)
        if "alternate" in rel and kind in _FEED_TYPES and absolute:
            found[absolute] = None
    return tuple(found)


def _head(body: bytes) -> str:
    """The first bytes as text for sniffing: BOM-aware, else ASCII-compatible latin-1."""
    head = body[:_SNIFF_BYTES]
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, "ignore")
    return head.decode("latin-1")
