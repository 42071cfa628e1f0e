"""feedparser's names for elements and attributes, and the text it reads from them.

The fast path dispatches and stores under the keys feedparser's SAX glue would give: an element
as "prefix_local" after the prefix feedparser knows its namespace by, attributes under both their
prefixed and bare names. Whatever these names cannot say as feedparser would raises `Unsupported`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from feedparser.mixin import _FeedParserMixin as Mixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

Attributes = dict[str, str]
Context = dict[str, Any]  # a feed or entry dict in feedparser's shape
_EMAIL = re.compile(  # feedparser's, in _sync_author_detail
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
NAMESPACES: dict[str, str] = {uri.lower(): prefix for uri, prefix in Mixin.namespaces.items()}
HANDLED = frozenset(  # every element feedparser has a handler for, as "prefix_local"
    name.split("_", 2)[2].lower() for name in dir(Mixin) if name.startswith(("_start_", "_end_"))
)
# What an element of an unknown namespace may not be called: feedparser names it after the
# document's prefix, which could make it one it handles, or a key records read.
READ = frozenset(("ttl", "date", "links", "guidislink", "authors"))  # keys feedxml reads
_SENSITIVE = {key.rpartition("_")[2] for key in HANDLED} | READ | {"href", "parsed", "detail"}
_KEYMAP = frozenset(FeedParserDict.keymap)  # names FeedParserDict stores under other keys
DERIVED = ("_parsed", "_detail")  # suffixes feedparser gives keys it derives
XHTML = "application/xhtml+xml"
_TEXT_TYPES = ("text/plain", "text/html", XHTML)
_XML = "http://www.w3.org/xml/1998/namespace"


class Unsupported(Exception):
    """Something the walk does not re-state: feedparser must read the document."""


@lru_cache(maxsize=4096)
def tag_key(tag: str) -> str:
    """The element's name as feedparser dispatches it: "dc_creator", "link", ..."""
    uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
    local = local.lower()
    prefix = NAMESPACES.get(userland(uri.lower()))
    if prefix is None:  # an unknown namespace: inert unless its prefix could make it special
        if local.rpartition("_")[2] in _SENSITIVE:
            raise Unsupported(f"{local} in an unknown namespace")
        return "?" + local
    return f"{prefix.lower()}_{local}" if prefix else local


def inert(name: str) -> bool:
    """Whether feedparser, storing an element it has no handler for under `name`, leaves
    everything records read as it was."""
    return not (name in HANDLED or name in READ or name in _KEYMAP or name.endswith(DERIVED))


def userland(uri: str) -> str:
    """The namespace feedparser knows under `uri`: any of userland's RSS URIs is the one."""
    return "http://backend.userland.com/rss" if "backend.userland.com/rss" in uri else uri


def join(base: str, uri: str) -> str:
    """feedparser's `resolve_uri`; against its usual empty base only `scheme:///x` changes."""
    return _urljoin(base, uri) if base or ":///" in uri else uri


def attributes(items: list[tuple[str, str]]) -> Attributes:
    """Attributes keyed as feedparser's SAX glue keys them: known prefix, then the bare name."""
    attrs: Attributes = {}
    for name, value in items:
        if not name.isascii():  # see ascii_name
            raise Unsupported(f"the attribute name {name!r}")
        if name[0] == "{":
            uri, _, local = name[1:].partition("}")
            prefix = NAMESPACES.get(uri.lower(), "")
            attrs[f"{prefix}:{local}".lower() if prefix else local.lower()] = value
    for name, value in items:
        attrs[name.rpartition("}")[2].lower()] = value
    for name in ("rel", "type"):
        if name in attrs:
            attrs[name] = attrs[name].lower()
    if "base" in attrs:
        _plain_base(items)
    return attrs


def _plain_base(items: list[tuple[str, str]]) -> None:
    """A base attribute named as feedparser's SAX glue and ours both key it: xml:base, and at
    most one other, bare or in a namespace feedparser does not know (it keys those bare too)."""
    others = 0
    for name in (name.lower() for name, _ in items):
        uri, _, local = name[1:].partition("}") if name[0] == "{" else ("", "", name)
        if local == "base" and uri != _XML:
            if uri in NAMESPACES or others:
                raise Unsupported(f"the attribute {name!r}")
            others += 1


@lru_cache(maxsize=1024)  # a document repeats one or two bases on every element
def next_base(base: str, given: str | None) -> str:
    """feedparser's base URI inside an element, from its parent's and the element's xml:base:
    kept absolute and in a safe scheme once it is one, whatever the element says."""
    joined: str = make_safe_absolute_uri(base, given or base) if base else _urljoin("", given or "")
    return joined or base


def leaf_text(element: etree._Element) -> str:
    """The text of an element feedparser expects text in."""
    if len(element):  # markup (or an entity reference) where feedparser expects text
        raise Unsupported(f"elements inside {element.tag}")
    return element.text or ""


def own_text(element: etree._Element) -> str:
    """The text directly inside an element, around its children."""
    return (element.text or "") + "".join(child.tail or "" for child in element)


def text_kind(attrs: Attributes, default: str) -> str:
    """A text construct's content type, when it is plain text, HTML or XHTML, not base64."""
    kind: str = Mixin.map_content_type(attrs.get("type", default))
    if kind not in _TEXT_TYPES or attrs.get("mode") == "base64":
        raise Unsupported(f"{kind} text construct")
    return kind


def ascii_name(name: str) -> None:
    """Names in ASCII only: libxml2 takes names holding U+FFFD or a modifier letter (U+02C6),
    which expat (feedparser's parser) refuses, so the paths would disagree on the warnings."""
    if not name.isascii():
        raise Unsupported(f"the name {name!r}")


def sync_author(context: Context) -> None:
    """feedparser's _sync_author_detail: `author` from the last author's parts, or the reverse."""
    detail = context.get("authors", [{}])[-1]
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name or email:
            context["author"] = f"{name} ({email})" if name and email else name or email
        return
    author, email = context.get("author"), None
    if not author:
        return
    if match := _EMAIL.search(author):
        email = match[0]
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        author = author[1:] if author[:1] == "(" else author
        author = (author[:-1] if author[-1:] == ")" else author).strip()
    if author or email:
        context.setdefault("author_detail", detail)
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email
