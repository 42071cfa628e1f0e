"""The walk over an lxml tree: feedparser's element handlers, for what records read.

Each handler re-states what feedparser's would leave in its feed and entry dicts, quirks
included: which title wins (`title_depth`), a second description becoming content, guids acting
as links, the Latin-1 and windows-1252 repairs. The dicts keep feedparser's shape and keys, so
feedxml builds records from them with the slow path's own functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import cast

from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin as Mixin
from feedparser.util import FeedParserDict
from lxml import etree

from feeds.fastmarkup import xhtml_text
from feeds.fastnames import (
    DERIVED,
    HANDLED,
    READ,
    XHTML,
    Attributes,
    Context,
    Unsupported,
    ascii_name,
    attributes,
    inert,
    join,
    leaf_text,
    next_base,
    own_text,
    sync_author,
    tag_key,
    text_kind,
)
from feeds.mediafix import CAPTION

_E = etree._Element
_QUERY = re.compile("&([A-Za-z0-9_]+);")  # feedparser's repair of `?a=1&b;=2` in links
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
# FeedParserDict's aliases for the keys it is given: `date` is stored as `updated`, ...
_KEYS = {k: v[0] if isinstance(v, list) else v for k, v in FeedParserDict.keymap.items()}
_DATES = {
    **dict.fromkeys(("published", "pubdate", "issued", "dcterms_issued"), "published"),
    **dict.fromkeys(("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"),
                    "updated"),
    **dict.fromkeys(("created", "dcterms_created"), "created"),
}  # fmt: skip
_PERSON = frozenset(("name", "email", "uri", "url", "homepage", "itunes_name", "itunes_email"))
_SOURCE = frozenset(("title", "link", "id", "updated", "published", "author", "category",
                     "subtitle", "rights", "generator"))  # fmt: skip
_ITUNES_CATEGORY = frozenset(("itunes_category",))
# Text constructs records do not read: feedparser writes out the markup in them, then drops it.
_UNREAD_CONSTRUCTS = frozenset(("subtitle", "tagline", "itunes_subtitle", "rights", "copyright",
                                "dc_rights", "info"))  # fmt: skip
_OWNER = frozenset(("itunes_name", "itunes_email"))
_IMAGE = frozenset(("title", "link", "url", "width", "height", "description"))
_TEXTINPUT = frozenset(("title", "link", "name", "description"))
# Handled by feedparser without touching what records read, when they hold no elements.
_HARMLESS = frozenset((
    "language", "dc_language", "generator", "subtitle", "tagline", "itunes_subtitle", "rights",
    "copyright", "dc_rights", "info", "cloud", "expirationdate", "webmaster", "dc_publisher",
    "width", "height", "media_credit",
    "media_rating", "media_player", "media_restriction", "media_license", "itunes_image",
    "itunes_explicit", "itunes_block", "dcterms_valid", "newlocation",
))  # fmt: skip


class Walk:
    """feedparser's handlers for what records read, on plain dicts shaped like its own."""

    def __init__(
        self,
        version: str,
        infeed: bool,
        c1: bool,
        on_entry: Callable[[Context], None],
        base: str | None = None,
        prefixes: Mapping[str, str] | None = None,
    ) -> None:
        self.version = version
        self.atom10 = version == "atom10"  # where feedparser unwraps an XHTML construct's <div>
        # feedparser's base URI, and the one it pushed for the element being walked. Its rule
        # for leaving an element lets a child's xml:base outlive the child where the parent's
        # is empty; the walk keeps both only once a base appears.
        self.base = self.element_base = next_base("", base)
        self.construct_base = self.base  # in force where the text construct being read began
        self.prefixes = prefixes or {}  # unknown namespaces' one prefix each (fastxml)
        self.c1 = c1  # whether the document may hold C1 controls at all, a cheap test on bytes
        self.infeed = infeed
        self.feed: Context = {}
        self.on_entry = on_entry  # each entry once its element ends, in document order
        self.entry: Context | None = None
        self.source: Context | None = None
        self.depths: dict[str, int] = {}  # feedparser's property_depth_map, for this entry
        self.depth = 1
        self.title_depth = -1
        self.has_content = False
        self.guidislink = False
        self.inauthor = False
        self.in_media_content = 0

    def context(self) -> Context:
        if self.source is not None:
            return self.source
        return self.entry if self.entry is not None else self.feed

    def title_set(self) -> bool:  # an earlier title at this depth or above wins
        return -1 < self.title_depth <= self.depth

    def expecting(self) -> bool:
        return self.infeed or self.entry is not None or self.source is not None

    def children(self, parent: _E, allowed: frozenset[str] | None = None) -> None:
        self.depth += 1
        for element in parent:
            self.element(element, allowed)
        self.depth -= 1

    def element(self, element: _E, allowed: frozenset[str] | None = None) -> None:
        tag = element.tag
        known = _DISPATCH.get(tag)
        if known is None:
            known = self.dispatch(element, tag)
        key, handler = known
        if allowed is not None and key not in allowed:
            raise Unsupported(f"<{key}> inside {element.getparent()}")
        items = cast("list[tuple[str, str]]", element.items())  # str: parsed, not built
        attrs = attributes(items) if items else {}
        if not (self.base or "base" in attrs):
            handler(self, element, key, attrs)
            return
        parent_base = self.enter(attrs)
        handler(self, element, key, attrs)
        self.leave(parent_base)

    def dispatch(self, element: _E, tag: object) -> tuple[str, _Handler]:
        """The element's key and handler; remembered for its tag unless the document's
        prefixes decided them."""
        if not isinstance(tag, str):
            raise Unsupported("an entity reference")
        ascii_name(tag)
        try:
            key = tag_key(tag)
        except Unsupported:
            key = self.unknown_key(element, tag)
            return key, _HANDLERS.get(key, Walk.generic)
        if len(_DISPATCH) >= _DISPATCH_SIZE:
            _DISPATCH.clear()
        known = _DISPATCH[tag] = key, _HANDLERS.get(key, Walk.generic)
        return known

    def unknown_key(self, element: _E, tag: str) -> str:
        """An element of a namespace feedparser does not know, with a name `tag_key` refused
        for what a prefix could make of it: feedparser names it after the document's one
        prefix for that namespace (googleplay:owner is googleplay_owner, not itunes_owner)."""
        uri, _, local = tag[1:].partition("}")
        prefix = element.prefix
        if (
            prefix is None
            or self.prefixes.get(uri) != prefix
            or not inert(f"{prefix}_{local}".lower())
        ):
            raise Unsupported(f"{local} in an unknown namespace")
        return "?" + local.lower()

    def enter(self, attrs: Attributes) -> str:
        """feedparser's base URI inside an element; returns the one to leave it with."""
        parent_base = self.element_base
        self.base = self.element_base = next_base(
            self.base, attrs.get("xml:base", attrs.get("base"))
        )
        return parent_base

    def leave(self, parent_base: str) -> None:
        self.element_base = parent_base
        if parent_base:
            self.base = parent_base

    def construct(self, element: _E, attrs: Attributes, default: str) -> tuple[str, str]:
        """A text construct's type and text. Markup is written out as feedparser writes it: XHTML
        where the type says so, and where an HTML or text construct holds elements."""
        kind = text_kind(attrs, default)
        self.construct_base = self.base  # its children's xml:base may outlive them (`leave`)
        if kind == XHTML or len(element):
            return XHTML, xhtml_text(element, self, declared=kind == XHTML, unwrap=self.atom10)
        return kind, element.text or ""

    def pop(self, key: str, text: str, kind: str | None = None) -> str:
        """feedparser's `pop` of an element that expects text: the text, repaired and stored."""
        output = text.strip()
        if output and key in Mixin.can_be_relative_uri and (key != "id" or self.guidislink):
            output = join(self.base, output)
        if kind == "text/plain" and self.version[:4] != "atom" and _looks_like_html(output):
            kind = "text/html"
        if not output.isascii():  # both repairs leave ASCII alone
            if not _BEYOND_LATIN1.search(output):  # UTF-8 that was read as Latin-1
                with suppress(UnicodeError):
                    output = output.encode("iso-8859-1").decode("utf-8")
            if self.c1 and _C1_CONTROLS.search(output):
                output = output.translate(_cp1252)
        if key in ("category", "itunes_keywords") or (key == "title" and self.title_set()):
            return output
        if self.entry is not None and self.source is None:
            self.store_in_entry(self.entry, key, output, kind)
        elif self.infeed or self.source is not None:
            context = self.context()
            key = "subtitle" if key == "description" else key
            context[_KEYS.get(key, key)] = output
            if key == "link":
                context["link"] = output = _QUERY.sub(r"&\1", output)
                context["links"][-1]["href"] = output
            elif kind:
                context[f"{key}_detail"] = {"type": kind, "value": output}
        return output

    def store_in_entry(self, entry: Context, key: str, output: str, kind: str | None) -> None:
        if key == "content":
            entry.setdefault("content", []).append(self.detail(kind, output))
        elif key == "link":
            if "&" in output:
                output = _QUERY.sub(r"&\1", output.replace("&amp;", "&"))
            entry["link"] = output
            if output:
                entry["links"][-1]["href"] = output
        else:
            key = "summary" if key == "description" else key
            if self.depths.get(key, self.depth) >= self.depth:
                self.depths[key] = self.depth
                entry[_KEYS.get(key, key)] = output
            if kind:
                entry[f"{key}_detail"] = self.detail(kind, output)

    def detail(self, kind: str | None, output: str) -> dict[str, str | None]:
        """A text construct as feedparser gives it: with the base URI in force, where the
        document declared one, which its relative URLs are relative to."""
        if self.construct_base:
            return {"type": kind, "value": output, "base": self.construct_base}
        return {"type": kind, "value": output}

    def channel(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.entry is not None or {"lastmod", "href"} & attrs.keys():
            raise Unsupported("a channel inside an entry, or CDF attributes")
        self.infeed = True
        self.children(element)
        self.infeed = False

    def item(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.entry is not None or self.source is not None or {"lastmod", "href"} & attrs.keys():
            raise Unsupported("a nested entry, or CDF attributes")
        self.entry = {"id": attrs["rdf:about"]} if attrs.get("rdf:about") else {}
        self.depths, self.guidislink, self.title_depth = {}, False, -1
        self.children(element)
        self.on_entry(self.entry)
        self.entry, self.has_content = None, False

    def title(self, element: _E, key: str, attrs: Attributes) -> None:
        kind, text = self.construct(element, attrs, "text/plain")
        value = self.pop("title", text, kind) if self.expecting() else text.strip()
        if value and key != "media_title":  # feedparser restores title_depth after media:title
            self.title_depth = self.depth

    def description(self, element: _E, key: str, attrs: Attributes) -> None:
        """description, summary and their aliases; after a summary, feedparser makes it content."""
        if key == "media_description" and self.in_media_content:
            kind, text = self.construct(element, attrs, "text/html")
            self.pop(CAPTION, text, kind)  # a picture's caption, kept apart (feeds.mediafix)
            return
        if "summary" in self.context() and not self.has_content:
            self.content(element, "content", attrs)
        elif key in ("summary", "itunes_summary"):
            kind, text = self.construct(element, attrs, "text/plain")
            self.pop("summary", text, kind)
        else:  # read even where it is not stored: what its markup holds is refused alike
            kind, text = self.construct(element, attrs, "text/html")
            if self.expecting():
                self.pop("description", text, kind)

    def content(self, element: _E, key: str, attrs: Attributes) -> None:
        self.has_content = True
        default = "text/html" if key in ("content_encoded", "fullitem") else "text/plain"
        kind, text = self.construct(element, attrs, default)
        self.context().setdefault("summary", self.pop("content", text, kind))

    def link(self, element: _E, key: str, attrs: Attributes) -> None:
        rel = attrs.get("rel", "alternate")
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href"))) or attrs.get("href")
        context, link = self.context(), {"rel": rel}
        context.setdefault("links", []).append(link)
        if rel == "enclosure":  # without a type it has none (feeds.mediafix)
            link.update(type=attrs.get("type", ""), length=attrs.get("length", ""))
        elif "title" in attrs:  # a `via` link's names its origin (feedxml._credited)
            link["title"] = attrs["title"]
        text = leaf_text(element)
        if href is None:
            if self.expecting():
                self.pop("link", text)
            return
        if text.strip():  # feedparser reads it as the enclosing element's, a source's title
            raise Unsupported("text inside a link with an address")
        link["href"] = href = join(self.base, href)
        if rel == "alternate" and Mixin.map_content_type(kind) in Mixin.html_types:
            context["link"] = href

    def enclosure(self, element: _E, key: str, attrs: Attributes) -> None:
        """RSS's: a link of rel "enclosure", its address resolved as a link's (feeds.mediafix)."""
        if len(element):
            raise Unsupported(f"elements inside <{key}>")
        kind, size = attrs.get("type", ""), attrs.get("length", "")
        link = {"rel": "enclosure", "type": kind, "length": size}
        if href := attrs.get("url", attrs.get("uri", attrs.get("href"))) or attrs.get("href"):
            link["href"] = join(self.base, href)
        self.context().setdefault("links", []).append(link)

    def guid(self, element: _E, key: str, attrs: Attributes) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        value = self.pop("id", leaf_text(element))
        context = self.context()
        context.setdefault("guidislink", self.guidislink and "link" not in context)
        if self.guidislink:
            context.setdefault("link", value)

    def date(self, element: _E, key: str, attrs: Attributes) -> None:
        """The raw text, and what feedparser's `*_parsed` is parsed from (see fastxml._dates)."""
        name = _DATES[key]
        self.context()[f"{name} raw"] = self.pop(name, leaf_text(element))

    def category(self, element: _E, key: str, attrs: Attributes) -> None:
        """Terms and labels matter, deduplicated by feedxml: feedparser's tag merging changes
        none. As feedparser, a `label` without a `term` makes a tag whose term the element's
        text (or the next one's) fills. Podcasts nest iTunes categories (News > Daily News):
        each adds its own term."""
        tags = self.context().setdefault("tags", [])
        if key == "itunes_category":
            if term := attrs.get("text"):
                tags.append({"term": term})
        elif (term := attrs.get("term")) or attrs.get("label"):
            label = attrs.get("label")
            tags.append({"term": term, "label": label} if label else {"term": term})
        if key == "itunes_category" and len(element):
            self.children(element, _ITUNES_CATEGORY)
            text = own_text(element)
        else:
            text = leaf_text(element)
        if value := self.pop("category", text):
            if key != "itunes_category" and tags and not tags[-1].get("term"):
                tags[-1]["term"] = value
            else:
                tags.append({"term": value})

    def keywords(self, element: _E, key: str, attrs: Attributes) -> None:
        if attrs:  # feedparser's end handler would fail on a missing text
            raise Unsupported(f"attributes on {key}")
        terms = (term.strip() for term in self.pop(key, leaf_text(element)).split(","))
        self.context().setdefault("tags", []).extend({"term": term} for term in terms if term)

    def author(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.inauthor:
            raise Unsupported("nested authors")
        context = self.context()
        context.setdefault("authors", []).append({})
        self.inauthor = True
        self.children(element, _PERSON)
        self.pop("author", own_text(element))
        self.inauthor = False
        sync_author(context)

    def person(self, element: _E, key: str, attrs: Attributes) -> None:
        """name, email, uri inside an author, or anywhere (where only a uri is stored)."""
        if key in ("uri", "url", "homepage"):
            field, value = "href", self.pop("href", leaf_text(element))
        else:  # pushed expecting no text: neither repaired nor stored
            field, value = key.rpartition("_")[2], leaf_text(element).strip()
        if self.inauthor:
            context = self.context()
            context.setdefault("author_detail", {})[field] = value
            sync_author(context)
            context.setdefault("authors", [{}])[-1][field] = value

    def contributor(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.inauthor:
            raise Unsupported("a contributor inside an author")
        self.children(element, _PERSON)

    def source_(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.source is not None:
            raise Unsupported("nested sources")
        self.source = source = {"href": attrs["url"]} if "url" in attrs else {}
        self.title_depth = -1
        self.children(element, _SOURCE)
        self.source = None
        if value := self.pop("source", own_text(element)):
            source["title"] = value
        self.context()["source"] = source

    def image(self, element: _E, key: str, attrs: Attributes) -> None:
        """A channel's; its titles count for `title_depth`. feedparser leaves the image at the
        first child without a prefix that images lack; what follows belongs to the channel.
        In an entry, only an image's address as its text (as some plugins write it) is read:
        feedparser drops it, but its handler forgets which title came first."""
        if self.entry is not None or self.source is not None:
            if len(element):
                raise Unsupported(f"<{key}> with elements inside an entry")
            self.title_depth = -1
            return
        self.title_depth, self.depth = -1, self.depth + 1
        parts = _IMAGE if key == "image" else _TEXTINPUT
        for child in element:
            tag = child.tag
            if parts and isinstance(tag, str) and tag[0] != "{" and tag_key(tag) not in parts:
                parts = frozenset()  # left the image
            if not parts:
                self.element(child)
            elif (
                not isinstance(tag, str) or tag_key(tag) not in parts or len(child) or child.keys()
            ):
                raise Unsupported(f"markup, attributes or <{tag}> inside <{key}>")
            elif tag_key(tag) == "title" and (child.text or "").strip():
                self.title_depth = self.depth
        self.depth -= 1

    def media_content(self, element: _E, key: str, attrs: Attributes) -> None:
        """A picture or video: its description is not the entry's (see feeds.mediafix)."""
        self.context().setdefault("media_content", []).append(_media(element, attrs))
        self.in_media_content += 1
        self.children(element)
        self.in_media_content -= 1

    def media_thumbnail(self, element: _E, key: str, attrs: Attributes) -> None:
        if len(element) or ("url" not in attrs and leaf_text(element).strip()):
            raise Unsupported("a <media:thumbnail> with content")  # feedparser's address
        self.context().setdefault("media_thumbnail", []).append(_media(element, attrs))

    def group(self, element: _E, key: str, attrs: Attributes) -> None:
        self.children(element)  # media:group: its children count as the entry's, one level deeper

    def owner(self, element: _E, key: str, attrs: Attributes) -> None:
        if self.entry is not None or self.version[:4] == "atom":
            raise Unsupported("itunes:owner outside an RSS channel")
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag_key(tag) not in _OWNER or len(child) or child.keys():
                raise Unsupported("unusual itunes:owner")

    def harmless(self, element: _E, key: str, attrs: Attributes) -> None:
        if len(element):
            if key not in _UNREAD_CONSTRUCTS:
                raise Unsupported(f"elements inside <{key}>")
            self.construct(element, attrs, "text/plain")  # written out and dropped, as there

    def body(self, element: _E, key: str, attrs: Attributes) -> None:
        """An RSS item's XHTML body: content, though not the content a later summary defers to."""
        kind, text = self.construct(element, attrs, XHTML)
        self.context().setdefault("summary", self.pop("content", text, kind))

    def generic(self, element: _E, key: str, attrs: Attributes) -> None:
        """An element feedparser has no handler for: stored under its own name, out of the way."""
        recorded = key in ("ttl", "date") and not attrs and not len(element)
        if key in HANDLED or (key in READ or key.endswith(DERIVED)) > recorded:
            raise Unsupported(f"<{key}>")
        if attrs:  # text then goes to the enclosing element, a container here
            self.context()[_KEYS.get(key, key)] = attrs
            self.children(element)
        else:
            self.children(element)
            self.pop(key, own_text(element))


def _media(element: _E, attrs: Attributes) -> dict[str, str]:
    """A media element's attributes, which `feeds.media` reads. `attributes` also keys a
    namespaced one by its bare name, where feedparser's plain `url` wins: left to it."""
    if any(str(name).startswith("{") for name in element.attrib):
        raise Unsupported("a namespaced attribute on a media element")
    return dict(attrs)


def _looks_like_html(text: str) -> bool:
    """feedparser's test, which needs an end tag or a reference: most titles have neither."""
    return ("<" in text or "&" in text) and Mixin.looks_like_html(text)


_Handler = Callable[[Walk, _E, str, Attributes], None]
_DISPATCH: dict[str, tuple[str, _Handler]] = {}  # tag -> key and handler, a hot path's cache
_DISPATCH_SIZE = 4096
_HANDLERS: dict[str, _Handler] = {
    "channel": Walk.channel, "item": Walk.item, "entry": Walk.item, "title": Walk.title,
    "dc_title": Walk.title, "media_title": Walk.title, "description": Walk.description,
    "dc_description": Walk.description, "media_description": Walk.description,
    "summary": Walk.description, "itunes_summary": Walk.description,
    "content": Walk.content, "content_encoded": Walk.content, "fullitem": Walk.content,
    "link": Walk.link, "enclosure": Walk.enclosure, "guid": Walk.guid, "id": Walk.guid,
    "category": Walk.category,
    "keywords": Walk.category, "dc_subject": Walk.category, "media_category": Walk.category,
    "itunes_category": Walk.category, "media_keywords": Walk.keywords,
    "itunes_keywords": Walk.keywords, "author": Walk.author, "managingeditor": Walk.author,
    "dc_author": Walk.author, "dc_creator": Walk.author, "itunes_author": Walk.author,
    "contributor": Walk.contributor, "source": Walk.source_, "image": Walk.image,
    "textinput": Walk.image, "media_group": Walk.group, "media_content": Walk.media_content,
    "media_thumbnail": Walk.media_thumbnail,
    "itunes_owner": Walk.owner, "body": Walk.body, "xhtml_body": Walk.body,
    **dict.fromkeys(_PERSON, Walk.person), **dict.fromkeys(_DATES, Walk.date),
    **dict.fromkeys(_HARMLESS, Walk.harmless),
}  # fmt: skip
