"""Markup inside text constructs written out as feedparser writes it, from an lxml subtree.

feedparser does not keep the markup it reads: its SAX glue hands each start tag, end tag and run
of text to `handle_data`, which writes them out again (`<p class="x">`, text escaped), and `pop`
then drops the enclosing `<div>` when it wraps everything. It does so for Atom's XHTML
constructs (`<content type="xhtml">`), and for HTML or text ones that hold elements instead of
escaped markup (`<description><p>...</p></description>`, as hand-made feeds write). Doing the
same here lets those documents take the fast path. What could make feedparser do more than
write markup out (an element it has a handler for, SVG and MathML, attributes in other
namespaces) raises `Unsupported`.
"""

from __future__ import annotations

from typing import Protocol
from xml.sax.saxutils import escape

from lxml import etree

from feeds.fastnames import HANDLED, Attributes, Unsupported, ascii_name, tag_key

_XML = "{http://www.w3.org/XML/1998/namespace}"
_QUOTE = {'"': "&quot;"}


class Bases(Protocol):
    """Where the walk keeps feedparser's base URI: XHTML elements move it too."""

    base: str

    def enter(self, attrs: Attributes) -> str: ...

    def leave(self, parent_base: str) -> None: ...


def xhtml_text(construct: etree._Element, bases: Bases, *, declared: bool, unwrap: bool) -> str:
    """The construct's markup as feedparser's `pop` returns it. `declared`: its type says XHTML;
    else it said HTML or text, and feedparser turns it into XHTML at its first element, the text
    before that element left unescaped. `unwrap`: an Atom 1.0 document, where `pop` drops a
    `<div>` that wraps everything."""
    pieces: list[str] = []
    if construct.text:
        pieces.append(escape(construct.text) if declared else construct.text)
    if not declared and len(construct) and _local(construct[0].tag) == "div":
        raise Unsupported("a <div> where feedparser expects escaped markup")  # it skips those
    _write(construct, pieces, bases)
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        unwrap
        and pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and (pieces[-1] == "</div>")
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return "".join(pieces)


def _local(tag: object) -> str:
    """An element's name without its namespace, as feedparser writes it; "" for an entity."""
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _write(parent: etree._Element, pieces: list[str], bases: Bases) -> None:
    for element in parent:
        tag = element.tag
        if not isinstance(tag, str):
            raise Unsupported("an entity reference")
        ascii_name(tag)
        local = _local(tag)
        if tag_key(tag) in HANDLED or local in ("svg", "math"):
            raise Unsupported(f"<{local}> in XHTML")
        attrs = _attributes(element)
        written = "".join(f' {name}="{escape(value, _QUOTE)}"' for name, value in attrs.items())
        pieces.append(f"<{local}{written}>")
        if element.text:
            pieces.append(escape(element.text))
        if bases.base or "base" in attrs or "xml:base" in attrs:
            parent_base = bases.enter(attrs)
            _write(element, pieces, bases)
            pieces.append(f"</{local}>")
            bases.leave(parent_base)
        else:
            _write(element, pieces, bases)
            pieces.append(f"</{local}>")
        if element.tail:
            pieces.append(escape(element.tail))


def _attributes(element: etree._Element) -> Attributes:
    """Keyed as feedparser's SAX glue keys them: lower case, `xml:` kept; other namespaces, whose
    attributes it keys twice, are not re-stated."""
    attrs: Attributes = {}
    for name, value in element.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name.isascii():
            raise Unsupported("an attribute name")
        if name.startswith(_XML):
            name = "xml:" + name[len(_XML) :]
        elif name[0] == "{":
            raise Unsupported(f"the attribute {name!r} in XHTML")
        key = name.lower()
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs
