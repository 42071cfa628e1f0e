"""OPML 2.0 subscription lists: our sources for export, a reader's subscriptions for import.

Folders are how readers group feeds; we map one folder level to `category` both ways, so an
exported list imports back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from feeds.errors import ParseError
from feeds.sanitize import xml_safe

_UNESCAPED = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_AS_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# What HTML reads as markup or a reference: an `&` before a space is text to it.
_HTML_SPECIAL = re.compile(r"[<>]|&(?=[A-Za-z0-9#])")
_ESCAPED = re.compile("|".join(_UNESCAPED))


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """One subscription; `folders` are the folders around it, outermost first."""

    text: str
    xml_url: str
    html_url: str | None = None
    type: str = "rss"
    folders: tuple[str, ...] = ()

    @property
    def category(self) -> str | None:
        """The folder it sits in: the one level an export writes."""
        return self.folders[-1] if self.folders else None


def render_opml(title: str, outlines: Sequence[OpmlOutline]) -> bytes:
    """An OPML 2.0 document, outlines grouped into one folder per category in first-seen order."""
    root = etree.Element("opml", version="2.0")
    etree.SubElement(etree.SubElement(root, "head"), "title").text = _as_html(title)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for outline in outlines:
        parent = body
        if outline.category:
            name = _as_html(outline.category)
            if name not in folders:  # a folder: `text` alone, or it wants a `type`
                folders[name] = etree.SubElement(body, "outline", text=name)
            parent = folders[name]
        attributes = {
            "type": outline.type,
            "text": _as_html(outline.text),
            "title": _as_html(outline.text),
            "xmlUrl": outline.xml_url,
        }
        if outline.html_url:
            attributes["htmlUrl"] = outline.html_url
        etree.SubElement(parent, "outline", {k: xml_safe(v) for k, v in attributes.items()})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _as_html(text: str) -> str:
    """Plain text where the W3C validator reads HTML (`text`, `title`): `Tech <Blog>` was
    markup to it, and `AT&T` a reference. Only those are escaped: readers (Miniflux,
    listparser) take the attribute as plain text, and showed `Pub &amp; Co` for `Pub & Co`.
    Import reads them back."""
    return _HTML_SPECIAL.sub(lambda m: _AS_HTML[m[0][0]], xml_safe(text))


def _from_html(text: str) -> str:
    """What `_as_html` escaped, read back; nothing else: other readers write names as they are,
    and `html.unescape` would make `Cars&regulations` `Cars®ulations`."""
    return _ESCAPED.sub(lambda m: _UNESCAPED[m[0]], text)


def parse_opml(body: bytes) -> tuple[OpmlOutline, ...]:
    """Every outline with an `xmlUrl`, with the folders around it, in document order.

    Entities are never expanded and nothing is fetched: an OPML file is untrusted input.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"malformed OPML: {exc}") from exc
    outlines = root.find("body") if root.tag == "opml" else None
    if outlines is None:
        raise ParseError("not an OPML document: no <opml> root with a <body>")
    return tuple(_walk(outlines, ()))


def _walk(parent: etree._Element, folders: tuple[str, ...]) -> Iterator[OpmlOutline]:
    for element in parent.iterchildren("outline"):
        text = _from_html(_attribute(element, "text") or _attribute(element, "title"))
        xml_url = _attribute(element, "xmlurl")
        if xml_url:
            yield OpmlOutline(
                text=text or xml_url,
                xml_url=xml_url,
                html_url=_attribute(element, "htmlurl") or None,
                type=_attribute(element, "type") or "rss",
                folders=folders,
            )
        yield from _walk(element, (*folders, text) if text else folders)


def _attribute(element: etree._Element, name: str) -> str:
    """An attribute by case-insensitive name: exporters write `xmlUrl`, `xmlurl` and `xmlURL`."""
    for key, value in element.attrib.items():
        if str(key).lower() == name:
            return " ".join(str(value).split())
    return ""
