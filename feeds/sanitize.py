"""Make upstream HTML safe to republish and text safe to put in XML.

Everything we publish passes through `clean_html`: an allowlist sanitiser (nh3, the Rust
ammonia library) rather than a blocklist, so markup nobody thought of is dropped by default.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Collection
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3

from feeds.imagelinks import join_srcset, srcset
from feeds.nesting import flattened
from feeds.urls import as_uri, plain_absolute, plain_uri, resolve

# Where lazy-loading scripts keep an image's address, its `src` a placeholder or absent: WeChat
# (and the feeds made from its articles), jQuery lazyload, WordPress plugins, Discuz! posts.
# Neither a feed nor a copied article carries the script, so readers showed no picture.
LAZY_SOURCES = (
    "data-src", "data-original", "data-lazy-src", "data-actualsrc", "file", "zoomfile"
)  # fmt: skip
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s", "small", "source",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
    "u", "ul", "video", "audio",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height", "srcset", *LAZY_SOURCES},
    "iframe": {"src", "width", "height", "allowfullscreen"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "srcset", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "abbr": {"title"},
}
_URL_ATTRIBUTES = {"href", "src", "poster", *LAZY_SOURCES}
_MOST_CANDIDATES = 16  # of a `srcset`: a picture in as many sizes as anyone publishes
_DESCRIPTORS = re.compile(r"(?:[0-9.]+[wxh](?: [0-9.]+[wxh])*)?")  # `640w`, `2x`, or none
_URL_SCHEMES = {"http", "https", "mailto"}
_WEB_SCHEMES = ("http", "https")
# An iframe as nh3 writes it (`_framed`), attributes ` name="value"` with `"` escaped.
_IFRAME = re.compile(r'<iframe((?:\s[a-z-]+="[^"]*")*)>.*?</iframe>', re.S)
_EMPTY_FRAME = re.compile(r'<iframe(?:\s[a-z-]+="[^"]*")*></iframe>')
_ATTRIBUTE_NAME = re.compile(r'\s([a-z-]+)="[^"]*"')
_DROP_WITH_CONTENT = {"script", "style", "noscript", "template", "form", "select", "textarea"}
# XML 1.0 forbids C0 controls except tab, LF and CR, lone surrogates, and U+FFFE/U+FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# It allows DEL and the C1 controls but discourages them, and the W3C validator calls them bad
# characters: in published text they are noise, or references to the five bytes cp1252 leaves
# undefined (`&#x81;`; feedparser reads the others as cp1252 first). NEL is a line end.
_DISCOURAGED = "\x7f-\x84\x86-\x9f"
_UNSHOWN = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_DISCOURAGED}\ud800-\udfff\ufffe\uffff]")
_DISCOURAGED_ONLY = re.compile(f"[{_DISCOURAGED}]")
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_HTML_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
# What nh3 would not give back as it came: markup, references, what its tokenizer rewrites (CR,
# NUL, a leading BOM) and what its serializer writes as a reference (">", U+00A0). Text without
# them is returned as it is, and a summary is most often such text: a third of the cleaning.
_NOT_PLAIN = re.compile("[<>&\r\x00\xa0\ufeff]")
_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|tr|blockquote|pre)\s*>|<br\s*/?>", re.IGNORECASE)
_END_TAG = re.compile(r"</[A-Za-z][\w:-]*\s*>")
_MARKUP = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
# In one line of text, DEL and the C1 controls are noise, a bidirectional embedding, override
# or isolate runs past the title into the reader's own interface (an override reverses what
# follows it: `\u202egpj.exe` shows as `exe.jpg`), and U+FFFD only says that a character was
# lost before it reached us.
_LINE_CONTROLS = re.compile(f"[{_DISCOURAGED}\u202a-\u202e\u2066-\u2069\ufffd]")
_ANGLED_EMAIL = re.compile(r"<\s*([^<>\s@]+@[^<>\s]+)\s*>")
# Runs of horizontal space that are not already one plain space: replacing every single space
# between two words with another cost two thirds of `html_to_text`.
_UNEVEN_SPACE = re.compile(r"[\t\r\f\v\u3000\xa0][ \t\r\f\v\u3000\xa0]*| [ \t\r\f\v\u3000\xa0]+")
# Images that only count readers: republished, they would report every reader of ours to the
# upstream's statistics. A 1x1 or 0x0 image shows nothing; these hosts serve nothing but
# counters (FeedBurner's, WordPress's, analytics services', and Baidu's and CNZZ's, which
# Chinese portals use).
_COUNTER_HOSTS = frozenset((
    "feeds.feedburner.com", "feeds.feedblitz.com", "pixel.wp.com", "stats.wordpress.com",
    "google-analytics.com", "pixel.quantserve.com", "scorecardresearch.com", "hm.baidu.com",
    "cnzz.com", "51.la",
))  # fmt: skip
_COUNTER_NAMES = "|".join(map(re.escape, sorted(_COUNTER_HOSTS)))
_COUNTER_URL = re.compile(
    rf'(?i:https?://(?:[^/"?#@]*@)?(?:[\w-]+\.)*(?:{_COUNTER_NAMES}))(?::\d*)?(?:[/?#"]|$)'
)
_SIZES = frozenset(("width", "height"))
_ANY = r'(?:\s[\w:-]+="[^"]*")*'  # attributes, skipped whole: a value is never searched
_NO_SIZE = r'="\s*[01](?:\.0*)?\s*(?:[pP][xX])?\s*"'
_IMAGE = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'\s([\w:-]+)="([^"]*)"')
# These are exact on nh3's output, where every attribute is ` name="value"` with `"` and `>`
# escaped in the value, and names are in lower case. They run only when the attribute filter
# saw a candidate: scanning every body for images cost 4 % of parsing bodies that hold one.
_COUNTER_IMAGE = re.compile(
    rf"<img(?:(?={_ANY}\swidth{_NO_SIZE})(?={_ANY}\sheight{_NO_SIZE})"
    rf'|(?={_ANY}\ssrc="{_COUNTER_URL.pattern}))[^>]*>'
)

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")  # a blank line between two of plain text


def xml_safe(text: str) -> str:
    """Drop characters that XML 1.0 cannot carry, so rendered feeds stay well-formed."""
    return _XML_INVALID.sub("", text)


def drop_forbidden_references(text: str, *, html: bool = False) -> str:
    """`text` without numeric references to what `xml_safe` drops (`&#1;`, `&#xFFFE;`, `&#0;`):
    parsers decode them into the characters themselves. In HTML the `;` is optional. Repeated
    until nothing is dropped: `&#x&#0;1b;` is `&#x1b;` once `&#0;` is gone."""
    pattern = _HTML_NUMERIC_REFERENCE if html else _NUMERIC_REFERENCE
    while "&#" in text:
        kept = pattern.sub(_kept_reference, text)
        if len(kept) == len(text):  # a kept reference is returned as it was
            break
        text = kept
    return text


def _kept_reference(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return match[0] if 0 < code < 0x110000 and xml_safe(chr(code)) else ""


def web_url(href: str | None, base: str) -> str | None:
    """`href` made absolute against `base`, XML-safe and a valid URI (`as_uri`), or None
    unless it is http(s)."""
    if not href or not (href := xml_safe(href).strip()):
        return None
    if plain_uri(href):
        return href
    try:
        if plain_absolute(href):
            return as_uri(href)
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme not in _WEB_SCHEMES:
            return None
        return as_uri(absolute)
    except ValueError:  # "http://[x/": an invalid IPv6 host; a host IDNA cannot write
        return None


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Resolve URLs against the call's base, refuse unsafe schemes and unlisted iframe hosts;
    note an image that may only count readers, and count the images' addresses kept."""
    if tag == "img" and attribute in LAZY_SOURCES:
        _CALL.lazy = True
        if not value.strip():  # no address: as if absent (resolved, it would be the page's)
            return None
        # Refused (`javascript:`), it is kept empty, so `_loaded` drops the image: its `src`
        # is the lazy loader's placeholder, a blank or "loading" picture.
        return _kept_url(tag, value) or ""
    if attribute == "srcset":
        return _kept_srcset(tag, value)
    if attribute not in _URL_ATTRIBUTES:
        if tag == "img" and attribute in _SIZES and value.lstrip()[:1] in ("0", "1"):
            _CALL.counters = True
        return value
    url = _kept_url(tag, value)
    if url is not None and tag == "img" and attribute == "src":
        _CALL.sources += 1
    return url


def _kept_srcset(tag: str, value: str) -> str | None:
    """A `srcset` whose every address is kept as an `src` would be (a browser prefers it to
    `src`): resolved, `http(s)`, no counter; None when none is left."""
    kept = (
        (url, size)
        for address, size in srcset(value)[:_MOST_CANDIDATES]
        if _DESCRIPTORS.fullmatch(size)
        and (url := _kept_url(tag, address))
        and not _COUNTER_URL.match(url)
    )
    return join_srcset(kept) or None


def _kept_url(tag: str, value: str) -> str | None:
    base_url: str | None = _CALL.base_url
    try:
        url = resolve(base_url, value.strip()) if base_url else value.strip()
        if tag == "img" and _COUNTER_URL.match(url):
            _CALL.counters = True
        if tag != "iframe" and plain_uri(url):
            return url  # http(s), a valid URI as it is, and no host to check
        if tag != "iframe" and plain_absolute(url):
            return as_uri(url)  # http(s), a scheme kept, and no host to check
        parts = urlsplit(url)
        if parts.scheme and parts.scheme.lower() not in _URL_SCHEMES:
            return None
        if tag == "iframe" and (parts.hostname or "") not in _CALL.iframe_hosts:
            return None
        return as_uri(url)
    except ValueError:  # "http://[x/": nh3 would drop it too, after printing our exception
        return None


# Built once: building nh3's settings cost 8 times the cleaning of a typical item. Its
# attribute filter reads the base URL and iframe hosts of the call running on its thread.
_CALL = threading.local()
_SETTINGS: dict[str, Any] = {
    "attribute_filter": _keep_attribute,
    "url_schemes": _URL_SCHEMES,
    "link_rel": "noopener noreferrer nofollow",
    # Image hosts that refuse other sites' pages (WeChat's mmbiz.qpic.cn, Weibo's sinaimg.cn)
    # serve a request that names no page; and the upstream learns nothing of our readers.
    "set_tag_attribute_values": {"img": {"referrerpolicy": "no-referrer"}},
}
# Without iframe hosts, iframes go with their content. With some, nh3 keeps an iframe whose
# `src` was refused, and writes out any iframe's fallback content as it came (raw text, which
# no browser shows): `_framed` takes both out before a last clean.
_CLEANER = nh3.Cleaner(
    tags=_TAGS - {"iframe"},
    clean_content_tags=_DROP_WITH_CONTENT | {"iframe"},
    attributes={tag: names for tag, names in _ATTRIBUTES.items() if tag != "iframe"},
    **_SETTINGS,
)
_FRAMING_CLEANER = nh3.Cleaner(
    tags=_TAGS, clean_content_tags=_DROP_WITH_CONTENT, attributes=_ATTRIBUTES, **_SETTINGS
)


def _framed(cleaned: str) -> str:
    """nh3's output without refused iframes (no `src`) nor any iframe's fallback content.

    nh3 writes a fallback out as it came, raw text no browser shows, which the first
    `</iframe>` after the start tag ends, as in any HTML parser; everywhere else it escapes
    "<", in text and attribute values alike. So scanning forward, each `<iframe` found is a
    tag, and its fallback is skipped whole. (A pattern that looked for an iframe holding no
    other, and for `src=` anywhere in its tag, was fooled by both, and published an open
    `<iframe>` followed by the raw fallback: `<script>`, `javascript:` links.) Should any
    iframe be left unread, every iframe goes."""
    if "<iframe" not in cleaned:
        return cleaned
    framed = _IFRAME.sub(_kept_frame, cleaned)
    if framed.count("<iframe") != len(_EMPTY_FRAME.findall(framed)):
        _CALL.sources = 0  # counted again, of what is left
        return str(_CLEANER.clean(framed))
    return framed


def _kept_frame(frame: re.Match[str]) -> str:
    names = _ATTRIBUTE_NAME.findall(frame[1])
    return f"<iframe{frame[1]}></iframe>" if "src" in names else ""


def clean_html(
    fragment: str,
    *,
    base_url: str | None = None,
    iframe_hosts: Collection[str] = (),
    xml_checked: bool = False,
) -> str:
    """Sanitise `fragment`; resolve relative URLs; keep only iframes of `iframe_hosts`.

    `xml_checked`: the fragment comes from an XML parser that refused what XML forbids.
    """
    checked = _DISCOURAGED_ONLY.sub("", fragment) if xml_checked else _UNSHOWN.sub("", fragment)
    if not _NOT_PLAIN.search(checked):
        return checked.strip()
    _CALL.base_url, _CALL.iframe_hosts = base_url, iframe_hosts
    _CALL.counters = _CALL.lazy = False
    _CALL.sources = 0
    if iframe_hosts:
        cleaned = _framed(_FRAMING_CLEANER.clean(flattened(checked)))
    else:
        cleaned = _CLEANER.clean(flattened(checked))
    # More images than addresses kept: one lost its `src` (to nh3 or to the filter), or only
    # ever had a lazy one. An image with nothing to show goes.
    if _CALL.lazy or ("<img" in cleaned and cleaned.count("<img") > _CALL.sources):
        cleaned = _IMAGE.sub(_loaded, cleaned)
    if _CALL.counters:
        cleaned = _COUNTER_IMAGE.sub("", cleaned)
    # nh3 writes out what a numeric reference names, `&#1;` and `&#xFFFE;` included
    return (_UNSHOWN.sub("", cleaned) if "&#" in fragment else cleaned).strip()


def _loaded(image: re.Match[str]) -> str:
    """The image with its lazy-loaded address as its `src`, as the page's script would set it;
    nothing when it has no address left to show (all refused by the filter)."""
    attributes = _ATTRIBUTE.findall(image[0])
    source = next((value for name, value in attributes if name in LAZY_SOURCES and value), None)
    if source is None and any(name in LAZY_SOURCES for name, _ in attributes):
        return ""  # its one address was refused; what `src` shows is a placeholder
    if source is None:  # none given, or its `src` refused by the filter
        kept = [(name, value) for name, value in attributes if name not in LAZY_SOURCES]
        if not any(name == "src" for name, _ in kept):
            return ""
    else:
        gone = ("src", *LAZY_SOURCES)
        kept = [("src", source), *((n, v) for n, v in attributes if n not in gone)]
    return "<img" + "".join(f' {name}="{value}"' for name, value in kept) + ">"


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, for summaries, search and matching: one line per block,
    each stripped, no blank lines, and a run of spaces, tabs, ideographic or no-break spaces
    as one space."""
    text = _BLOCK_END.sub("\n", fragment)
    text = _UNEVEN_SPACE.sub(" ", _UNSHOWN.sub("", html.unescape(_TAG.sub("", text))))
    return "\n".join(filter(None, map(str.strip, text.split("\n"))))


def plain_line(text: str) -> str:
    """A title, name or tag as one XML-safe line, without markup that leaked into it.

    Text holding an HTML end tag (`<b>重磅</b>`, search highlighting, a name pasted from a
    page) carries markup rather than text about markup, so its tags are dropped; readers
    would show them raw, and the W3C validator warns. `a <b> c` stays as written. Controls
    that would reach past the line (`_LINE_CONTROLS`) go; NEL is a line end, so a space.
    """
    text = _LINE_CONTROLS.sub("", xml_safe(text))
    if _END_TAG.search(text):
        text = _MARKUP.sub("", text)
    return " ".join(text.split())


def one_line(text: str) -> str:
    """Plain text (a summary) as one XML-safe line, without what would reach past it
    (`_LINE_CONTROLS`); unlike `plain_line`, what looks like markup is the text's own."""
    return " ".join(_LINE_CONTROLS.sub("", xml_safe(text)).split())


def person_name(text: str) -> str:
    """A name without an address in angle brackets (`Eve <eve@example.com>` is "Eve"), which
    the W3C validator warns about in names; an address alone is kept, bare."""
    name = plain_line(text)
    without = " ".join(_ANGLED_EMAIL.sub(" ", name).split())
    return without or _ANGLED_EMAIL.sub(r"\1", name).strip()


def summarize(text: str, limit: int = 200) -> str:
    """A summary of at most `limit` characters, cut at a character boundary with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def text_to_html(text: str) -> str:
    """Plain text as escaped paragraphs, single newlines kept as line breaks."""
    paragraphs = (p.strip() for p in _PARAGRAPH_BREAK.split(text))
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p)
