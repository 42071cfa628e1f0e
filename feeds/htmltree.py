"""lxml plumbing shared by the HTML parsers: a parse that fails only with `ParseError`, URL
resolution that honours `<base href>`, lazy images, and text read the way a browser shows it.

Walks are iterative: hostile pages nest thousands of elements, and libxml2 already stops
building the tree at depth 256, so nothing here may recurse per level.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import cast
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from feeds.errors import ParseError
from feeds.sanitize import LAZY_SOURCES, drop_forbidden_references, xml_safe
from feeds.urls import as_uri, resolve

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HIDDEN = frozenset({"script", "style", "noscript", "template", "textarea", "select", "head"})
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
# Void elements libxml2 parses as containers, swallowing the rest of their parent.
_VOID_CONTAINERS = ("embed", "source", "track", "wbr", "keygen")
_AMP_KEPT = frozenset({"src", "srcset", "alt", "title", "width", "height"})  # of an `<amp-img>`


def parse_html(text: str, *, url: str) -> lxml.html.HtmlElement:
    """The document tree of `text`; `ParseError` when there is no document at all."""
    # lxml refuses str input that carries an encoding declaration, and XML-invalid characters,
    # and libxml2 would decode a reference to one (`&#1;`) into the tree, where lxml refuses it.
    text = drop_forbidden_references(xml_safe(_XML_DECLARATION.sub("", text, count=1)), html=True)
    if not text.strip():
        raise ParseError("empty document", url=url)
    try:
        doc = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser())
    except (etree.LxmlError, ValueError) as error:
        raise ParseError(f"not an HTML document: {error}", url=url) from error
    _empty_void_elements(doc)
    return doc


def _empty_void_elements(doc: lxml.html.HtmlElement) -> None:
    """Move what libxml2 put inside `<embed>`, `<source>`... back after them, where it belongs."""
    for element in list(doc.iter(*_VOID_CONTAINERS)):
        parent = element.getparent()
        if parent is None or not (len(element) or element.text):
            continue
        children, after = list(element), element.tail
        element.tail, element.text = element.text, None
        position = parent.index(element)
        for offset, child in enumerate(children, 1):
            parent.insert(position + offset, child)
        last = children[-1] if children else element
        last.tail = (last.tail or "") + (after or "")


def page_link(value: str | None, base: str) -> str | None:
    """`value` resolved against `base` as a URI if it is a web URL with a host, else None
    (javascript:, mailto:); a file: page may link to its own files."""
    if not value or not (value := value.strip()):
        return None
    try:
        resolved = resolve(base, value)
        parts = urlsplit(resolved)
    except ValueError:  # an invalid IPv6 literal and the like
        return None
    if parts.scheme in ("http", "https") and parts.hostname:
        try:
            return as_uri(resolved)  # published as a link: `/新闻/汉中 要闻.html` is no URI
        except ValueError:
            return None
    local = parts.scheme == "file" and urlsplit(base).scheme == "file"
    return resolved if local else None


def base_url(doc: lxml.html.HtmlElement, url: str) -> str:
    """The URL relative links resolve against: the page's `<base href>` if usable, else `url`."""
    for base in doc.iter("base"):
        if resolved := page_link(base.get("href"), url):
            return resolved
    return url


def prepare_links(element: lxml.html.HtmlElement, base: str) -> None:
    """Give lazy images their real `src`, and a lazy player (WeChat's `<iframe
    class="video_iframe" data-src=…>`) the one it has none without, and make every link
    absolute, in place. An AMP page's `<amp-img>` is an `<img>`: no sanitiser knows it."""
    amp = []
    for found in element.iter("img", "iframe", "amp-img", "amp-anim"):
        if found.tag == "img":
            for attribute in LAZY_SOURCES:
                if source := (found.get(attribute) or "").strip():
                    found.set("src", source)
                    break
        elif found.tag == "iframe":
            if not (found.get("src") or "").strip() and (
                source := (found.get("data-src") or "").strip()
            ):
                found.set("src", source)
        else:
            amp.append(found)
    for picture in amp:
        kept = {name: value for name, value in picture.attrib.items() if name in _AMP_KEPT}
        image = picture.makeelement("img", kept)
        image.tail = picture.tail
        if (parent := picture.getparent()) is not None:
            parent.replace(picture, image)  # its children are its placeholders and fallbacks

    def absolute(link: str) -> str | None:
        try:
            return resolve(base, link)
        except ValueError:  # an invalid IPv6 host: the link is dropped
            return None

    # not make_links_absolute: its rewrite resolves a `<base href>` again, raising on a bad one
    element.rewrite_links(absolute, resolve_base_href=False)


def links(element: lxml.html.HtmlElement, base: str) -> list[tuple[str, str]]:
    """(text, absolute URL) of every http(s) link in `element` that leads off the page: not
    one to a place on it (`href="#"`, which 人民网 gives a credit it links nowhere), which
    published as a credit's address named the copy's own page as the origin's."""
    found = []
    for anchor in element.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href.startswith("#"):
            continue
        if url := page_link(href, base):
            found.append((text_of(cast(lxml.html.HtmlElement, anchor)), url))
    return found


def _pieces(root: lxml.html.HtmlElement) -> Iterator[str | None]:
    """Text in document order, None at block boundaries; hidden elements and comments skipped."""
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else None  # comments have a function as tag
        if closing:
            if tag in _BLOCKS:
                yield None
            if node is not root and node.tail:
                yield node.tail
            continue
        if tag is None or tag in _HIDDEN:
            if node is not root and node.tail:
                yield node.tail
            continue
        if tag in _BLOCKS:
            yield None
        if node.text:
            yield node.text
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))


def text_of(element: lxml.html.HtmlElement) -> str:
    """The visible text of `element` on one line, whitespace collapsed."""
    return " ".join("".join(piece or " " for piece in _pieces(element)).split())


def text_lines(element: lxml.html.HtmlElement) -> list[str]:
    """The visible text of `element`, one non-empty line per block, whitespace collapsed."""
    text = "".join(piece if piece is not None else "\n" for piece in _pieces(element))
    return [line for line in (" ".join(raw.split()) for raw in text.split("\n")) if line]


def inner_html(element: lxml.html.HtmlElement) -> str:
    """The markup inside `element`, without the element's own tag."""
    head = html.escape(element.text, quote=False) if element.text else ""
    return head + "".join(
        etree.tostring(child, encoding="unicode", method="html", with_tail=True)
        for child in element
    )
