"""Well-formed RSS 0.9x/1.0/2.0 and Atom (1.0, and 0.3 before it) read with lxml into records.

feedparser spends most of a parse on generic machinery around its element handlers (SAX glue,
FeedParserDict, deep copies). `fastwalk.Walk` walks an lxml tree once and re-states, for the
elements records read, what those handlers leave in feedparser's entry dicts, quirks included,
under the names feedparser gives elements and attributes (fastnames). feedxml then builds the
records from those small dicts with the slow path's own functions, so both paths agree
(tests/test_fastxml_differential.py compares them over feedparser's test corpus). Whatever the
walk does not re-state makes `parse_fast` return None, for feedparser to read: documents not
well-formed as expat sees them (names beyond ASCII included), declaring entities, base64 inside
a text construct, images in entries, extension elements feedparser maps but the walk does not
(georss, psc, ...), and unknown roots. xml:base is followed, and markup inside text constructs
written out (fastmarkup), as feedparser does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime, tzinfo
from typing import cast

from feedparser.datetimes import _parse_date as feedparser_date
from feedparser.mixin import _FeedParserMixin as Mixin
from feedparser.sanitizer import replace_doctype
from lxml import etree

from feeds.bound import Listing
from feeds.errors import ParseError
from feeds.fastnames import (
    NAMESPACES,
    Context,
    Unsupported,
    ascii_name,
    attributes,
    tag_key,
    userland,
)
from feeds.fastwalk import Walk
from feeds.feedxml import Prepared, build_feed, entry_date, prepare, read_date  # shared
from feeds.model import ParsedFeed
from feeds.sanitize import xml_safe

_LOWER_CANONICAL = frozenset(prefix.lower() for prefix in Mixin.namespaces.values() if prefix)
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_VERSIONS = {"http://purl.org/rss/1.0/": "rss10", "http://www.w3.org/2005/atom": "atom10"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_DECLARATION = re.compile(r"""xmlns:([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_C1_BYTES = re.compile(b"\xc2[\x80-\x9f]")  # U+0080..U+009F in UTF-8
_INSTRUCTION = re.compile(r"<\?([^\s?]*)")
_C1_REFERENCE = re.compile(rb"&#(?:[xX]0*[89][0-9a-fA-F]|0*1(?:2[89]|[3-5][0-9]));")


def _declarations(text: str) -> dict[str, str] | None:
    """The prefix of each namespace feedparser does not know, where the document binds it to
    one only (feedparser names such elements after it); None unless declarations are plain: no
    prefix bound twice, to xlink, or renaming a namespace feedparser knows by that prefix;
    prefixes and processing instructions named in ASCII (see `fastnames.ascii_name`)."""
    if not all(match[1].isascii() for match in _INSTRUCTION.finditer(text)):
        return None
    seen: dict[str, str] = {}
    unknown: dict[str, set[str]] = {}
    for match in _DECLARATION.finditer(text):
        prefix, uri = match[1], match[2] if match[2] is not None else match[3]
        if not prefix.isascii():
            return None
        canonical = NAMESPACES.get(userland(uri.lower()))
        renames = canonical not in (None, prefix) and prefix in _LOWER_CANONICAL
        if seen.setdefault(prefix, uri) != uri or "&" in uri or "xlink" in uri or renames:
            return None
        if canonical is None:
            unknown.setdefault(uri, set()).add(prefix)
    return {uri: prefixes.pop() for uri, prefixes in unknown.items() if len(prefixes) == 1}


def _walk(data: bytes, on_entry: Callable[[Context], None], prefixes: dict[str, str]) -> Walk:
    parser = etree.XMLParser(  # one per document: parsers are not shared between threads
        resolve_entities=False, no_network=True, huge_tree=False,
        remove_comments=True, remove_pis=True,  # SAX reports the text around them as one run
    )  # fmt: skip
    root = etree.fromstring(data, parser)
    ascii_name(root.tag)
    version = ""  # feedparser's: from the first namespace declaration that implies one
    for prefix, uri in root.nsmap.items():
        low = uri.lower()
        version = _VERSIONS.get(low, "rss090" if prefix is None and low == _RSS090 else "")
        if version:
            break
    key, attrs = tag_key(root.tag), attributes(cast("list[tuple[str, str]]", root.items()))
    if key == "rss" and not version.startswith("rss"):
        given = attrs.get("version", "")
        version = _RSS_VERSIONS.get(given) or ("rss20" if given.startswith("2.") else "rss")
    elif key == "feed" and not version:  # Atom before 1.0, versioned by an attribute
        version = _ATOM_VERSIONS.get(attrs.get("version", ""), "atom")
    elif (key, version) not in (("rdf_rdf", "rss10"), ("rdf_rdf", "rss090"), ("feed", "atom10")):
        raise Unsupported(f"<{key}> as {version or 'no version'}")
    c1 = bool(_C1_BYTES.search(data) or _C1_REFERENCE.search(data))
    base = attrs.get("xml:base", attrs.get("base"))
    walk = Walk(version, key == "feed", c1, on_entry, base=base, prefixes=prefixes)
    walk.children(root)
    return walk


def _dates(entry: Context, default_tz: tzinfo) -> None:
    """feedparser's `*_parsed`, where feedxml reads it: where its own parse of the text fails."""
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if f"{key} raw" in entry and not (isinstance(raw, str) and read_date(raw, default_tz)):
            entry[f"{key}_parsed"] = feedparser_date(entry[f"{key} raw"])


def parse_fast(
    body: bytes,
    *,
    url: str,
    header_charset: str | None = None,
    encoding: str | None = None,
    default_tz: tzinfo = UTC,
    max_entries: int | None = None,
    iframe_hosts: Collection[str] = (),
) -> ParsedFeed | None:
    """What `feedxml.parse_xml_feed` returns for `body`, or None when feedparser must read it.

    The document is first read as it came; only when lxml refuses it and it holds characters
    XML forbids is it read again without them, as feedxml reads it: scanning every document
    for them cost 5 % of this path's time, and almost none holds one.
    """
    try:
        prepared = prepare(
            body, url=url, header_charset=header_charset, encoding=encoding, strict=True
        )
        listing = _listing(max_entries, default_tz)
        try:
            read = _read(prepared, listing.add)
        except etree.XMLSyntaxError:
            if xml_safe(prepared.text) == prepared.text:
                return None  # not well-formed: feedparser's to recover
            prepared = prepare(body, url=url, header_charset=header_charset, encoding=encoding)
            listing = _listing(max_entries, default_tz)
            read = _read(prepared, listing.add)
    except (ParseError, etree.XMLSyntaxError, Unsupported):
        return None  # feedxml refuses a ParseError the same way
    if read is None:
        return None
    walk, version = read
    entries, left_out = listing.chosen()
    for entry in entries:  # after the walk: reading them during it cost 2 % of this path
        _dates(entry, default_tz)
    return build_feed(
        walk.feed,
        entries,
        version,
        prepared.charset,
        url,
        default_tz,
        [],
        left_out,
        xml_checked=True,
        root_base=prepared.root_base,
        iframe_hosts=iframe_hosts,
    )


def _listing(max_entries: int | None, default_tz: tzinfo) -> Listing[Context]:
    """Where the walk puts each entry as it ends: a document of 90,000 entries is not held
    whole when 1,000 are read. Dates are read (as feedxml reads them) only to choose."""

    def date(entry: Context) -> datetime | None:
        _dates(entry, default_tz)
        return entry_date(entry, default_tz)

    return Listing(max_entries, date)


def _read(prepared: Prepared, on_entry: Callable[[Context], None]) -> tuple[Walk, str] | None:
    """The walk of a prepared document and its version; None for namespace declarations the
    walk does not re-state. Raises what lxml and the walk raise."""
    prefixes = _declarations(prepared.text)
    if prefixes is None:
        return None  # feedparser's namespace quirks are not re-stated
    data, doctype_version = prepared.data, None
    if prepared.doctype:  # read as feedparser reads it: its DOCTYPE cut at the first ">"
        doctype_version, data, _ = replace_doctype(data)
    walk = _walk(data, on_entry, prefixes)
    return walk, doctype_version or walk.version  # Netscape's DOCTYPE makes RSS 0.91 rss091n
