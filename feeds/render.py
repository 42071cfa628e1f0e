"""RSS 2.0 and Atom 1.0 output through feedgen, the only module that imports it.

feedgen writes the core elements and, through its `dc` extension, Dublin Core per RSS item; our
own extension adds what feedgen lacks for SPEC §6: RFC 5005/WebSub links in the RSS channel,
the RSS origin (`atom:link rel="via"` and `dcterms:provenance`, not `dc:source`, which the W3C
validator warns about beside `<source>`), and in Atom `source` and the `via`, `related` and
`enclosure` links (feedgen's entry links keep only their address). Every string passes
`xml_safe`, or lxml refuses it.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.enclosures import UNKNOWN_TYPE
from feeds.model import OutEntry, OutFeed, Party
from feeds.sanitize import one_line, person_name, plain_line, summarize, xml_safe

_ATOM = "http://www.w3.org/2005/Atom"
_DCTERMS = "http://purl.org/dc/terms/"
_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
_Link = dict[str, str]
# Plain-text RSS elements, whose "<" and "&" the RSS Profile wants as hexadecimal references
# (readers that take titles for HTML then still show text; the W3C validator checks it).
_PLAIN_TEXT = re.compile(rb"(<(title|category|source|dc:\w+)\b[^>]*>)([^<]+)(?=</\2>)")


def render_rss(feed: OutFeed) -> bytes:
    """The feed as an RSS 2.0 document with Dublin Core provenance per item."""
    return _PLAIN_TEXT.sub(_hex_escape, bytes(_generator(feed, "rss").rss_str()))


def render_atom(feed: OutFeed) -> bytes:
    """The feed as an Atom 1.0 document with `source`, `rights`, `via` and `related` per entry."""
    return bytes(_generator(feed, "atom").atom_str())


def _generator(feed: OutFeed, fmt: str) -> Any:
    """A FeedGenerator holding `feed`, extended for `fmt`."""
    fg = FeedGenerator()
    if fmt == "rss":
        fg.load_extension("dc")
    fg.register_extension("provenance", _Channel, _Item)
    title = plain_line(feed.title) or xml_safe(feed.self_url)
    fg.id(xml_safe(feed.id))
    fg.title(title)
    fg.updated(_aware(feed.updated))
    if fmt == "rss":
        fg.description(plain_line(feed.description) or title)  # required in RSS
    elif feed.description:
        fg.subtitle(plain_line(feed.description))
    if feed.language:
        fg.language(xml_safe(feed.language))
    extra = _channel_links(feed, fmt)
    fg.provenance.links = extra
    fg.provenance.fmt = fmt
    # feedgen writes only the first rel="self" into RSS and takes the last link as <link>.
    fg.link(href=xml_safe(feed.self_url), rel="self", type=_TYPES[fmt])
    for link in extra:
        fg.link(**link)
    fg.link(href=xml_safe(feed.home_url), rel="alternate", type="text/html")
    updates = _distinct_updates(feed.entries)
    for entry in feed.entries:
        _add_entry(fg, entry, fmt, updates[entry.id])
    return fg


def _distinct_updates(entries: tuple[OutEntry, ...]) -> dict[str, datetime]:
    """Each entry's `updated` to the second, given microseconds derived from its own id.

    Pages that give dates to the minute make many entries share one instant, which the W3C
    validator warns about in Atom. Only the entries tied in a document used to get them: an
    entry's value then changed (and could go back) when another entry came or went, and
    readers saw an edit that never happened. Derived from the entry alone, it is the same in
    every document and render; two ids alike in their digest are told apart by a microsecond.
    """
    taken: set[datetime] = set()
    updates: dict[str, datetime] = {}
    for entry in entries:
        offset = int.from_bytes(hashlib.blake2b(entry.id.encode(), digest_size=4).digest())
        when = _aware(entry.updated).replace(microsecond=offset % 999_999 + 1)
        while when in taken:
            when += timedelta(microseconds=1)
        taken.add(when)
        updates[entry.id] = when
    return updates


def _channel_links(feed: OutFeed, fmt: str) -> list[_Link]:
    """RFC 5005 next, WebSub hub, and the same feed in our other formats."""
    links = [{"href": feed.next_url, "rel": "next"}] if feed.next_url else []
    if feed.hub_url:
        links.append({"href": feed.hub_url, "rel": "hub"})
    links += [
        {"href": href, "rel": "alternate", "type": _TYPES[kind]}
        for kind, href in feed.alternates
        if kind in _TYPES and kind != fmt
    ]
    return [{key: xml_safe(value) for key, value in link.items()} for link in links]


def _add_entry(fg: Any, entry: OutEntry, fmt: str, updated: datetime) -> None:
    fe = fg.add_entry(order="append")
    fe.provenance.entry = entry
    fe.id(xml_safe(entry.id))  # also the RSS guid, isPermaLink="false"
    # Atom requires a title: an untitled entry (microblogs) is named by its text or link. RSS
    # only needs a title or a description, and a title made up there was read as the upstream's.
    summary = one_line(entry.summary)
    title = plain_line(entry.title)
    if not title and (fmt == "atom" or not summary):
        title = plain_line(summarize(summary, 80)) or plain_line(entry.url or "")
        title = title or xml_safe(entry.id)
    if title:
        fe.title(title)
    if url := xml_safe(entry.url or "").strip():
        fe.link(href=url)
    if summary:  # RSS description and Atom summary, as escaped HTML so "<" stays text
        fe.summary(html.escape(summary), type="html")
    # Atom needs content or an alternate link; content also makes RSS content:encoded.
    body = (
        xml_safe(entry.content_html) or f"<p>{html.escape(summary or plain_line(entry.title))}</p>"
    )
    fe.content(body, type="html")
    fe.published(_aware(entry.published))
    fe.updated(updated)
    for tag in dict.fromkeys(plain_line(tag) for tag in entry.tags):
        if tag:
            fe.category(term=tag)
    if fmt == "atom":
        if entry.author:
            fe.author(name=person_name(entry.author))
        if entry.publisher:
            fe.rights(plain_line(entry.publisher.name))
        return
    fe.source(url=xml_safe(entry.source.url), title=plain_line(entry.source.name))
    if entry.enclosures:  # RSS 2.0 allows one: the first upstream listed; type and length required
        first = entry.enclosures[0]
        fe.enclosure(xml_safe(first.url), first.length or 0, first.media_type or UNKNOWN_TYPE)
    values = (
        (fe.dc.dc_creator, person_name(entry.author or "")),
        (fe.dc.dc_publisher, entry.publisher.name if entry.publisher else None),
    )
    for setter, value in values:
        if text := plain_line(value or ""):
            setter(text)


class _Channel:
    """Channel part of our extension: the links feedgen leaves out of RSS."""

    links: list[_Link]
    fmt: str

    def extend_ns(self) -> dict[str, str]:
        """Declared on the root, as feedgen only asks channel extensions."""
        return {"dcterms": _DCTERMS}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        for link in self.links:
            etree.SubElement(rss[0], f"{{{_ATOM}}}link", link)
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        return feed


class _Item:
    """Entry part of our extension: provenance and links that feedgen cannot express.

    feedgen's Atom `<source>` has no id or updated, and its entry links lose `rel`, `title`,
    `type` and `length`, so `source` and the `via`, `related` and `enclosure` links are
    written here. feedgen's Atom tree is unqualified under a default-namespace attribute;
    these elements are too.
    """

    entry: OutEntry

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_rss(self, item: etree._Element) -> etree._Element:
        """The origin: its name always, its URL as the same `via` link Atom carries."""
        origin = self.entry.origin
        if origin is None or not (name := plain_line(origin.name) or xml_safe(origin.url or "")):
            return item
        if origin.url:
            link = etree.SubElement(item, f"{{{_ATOM}}}link", rel="via", href=xml_safe(origin.url))
            link.set("title", name)
        etree.SubElement(item, f"{{{_DCTERMS}}}provenance").text = name
        return item

    def extend_atom(self, element: etree._Element) -> etree._Element:
        entry, ref = self.entry, self.entry.source
        if entry.origin and entry.origin.url:
            _atom_link(element, "via", entry.origin.url, entry.origin.name)
        if entry.origin and (name := plain_line(entry.origin.name)):
            # as in RSS: a `via` needs an address, and an origin named without one (a paper
            # credited in the text) was said nowhere in Atom
            etree.SubElement(element, f"{{{_DCTERMS}}}provenance").text = name
        for href, name in {copy.url: copy.source_name for copy in entry.copies}.items():
            if href:
                _atom_link(element, "related", href, name)
        for enclosure in entry.enclosures:  # type and length are optional in Atom
            link = etree.SubElement(element, "link", rel="enclosure", href=xml_safe(enclosure.url))
            if enclosure.media_type:
                link.set("type", enclosure.media_type)
            if enclosure.length:
                link.set("length", str(enclosure.length))
        source = etree.SubElement(element, "source")
        etree.SubElement(source, "id").text = xml_safe(ref.url)
        etree.SubElement(source, "title").text = plain_line(ref.name)
        _atom_link(source, "self", ref.url)
        if ref.site_url:
            _atom_link(source, "alternate", ref.site_url)
        updated = _aware(ref.updated or entry.updated)
        etree.SubElement(source, "updated").text = updated.isoformat()
        # The publisher speaks for the source; without one the source is named as its author,
        # which also meets RFC 4287's rule that every entry has an author somewhere.
        publisher = entry.publisher or Party(ref.name, ref.site_url)
        author = etree.SubElement(source, "author")
        etree.SubElement(author, "name").text = person_name(publisher.name)
        if publisher.url:
            etree.SubElement(author, "uri").text = xml_safe(publisher.url)
        return element


def _atom_link(parent: etree._Element, rel: str, href: str, title: str = "") -> None:
    link = etree.SubElement(parent, "link", rel=rel, href=xml_safe(href))
    if plain_line(title):
        link.set("title", plain_line(title))


def _hex_escape(match: re.Match[bytes]) -> bytes:
    return match[1] + match[3].replace(b"&lt;", b"&#x3C;").replace(b"&amp;", b"&#x26;")


def _aware(when: datetime) -> datetime:
    """Whole seconds, and UTC for a naive value (SQLite may hand one back)."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).replace(microsecond=0)
