"""feedparser corrected where it puts a picture's caption in place of the story, and where it
reads enclosures otherwise than links.

feedparser reads `<media:description>` as the entry's own description wherever it stands
(its issue 53, open since 2016). Inside `<media:content>` it describes the picture or video:
Mastodon writes the image's alt text there, and news sites the photo's caption. After the
item's `<description>`, feedparser's rule that a second description is content then made the
caption the item's content; before it, the caption became the summary. Inside `<media:content>`
it is now kept apart, as `media_description`: the records fall back to it only for an item
with no text of its own (a photo feed's). `<media:group>`'s description (YouTube's, the video's
synopsis) stays the entry's.

An RSS `<enclosure>` is a link of rel "enclosure" to feedparser, but unlike a link's, its address
was not resolved against `xml:base`; it now is. An Atom enclosure link without a type was given
the type `text/html`, a link's default: it now has none, so a podcast's audio is not published
as a web page. The fast path re-states both corrections (`fastwalk.Walk.media_content`,
`Walk.link`, `Walk.enclosure`).
"""

from __future__ import annotations

from typing import Any

from feedparser.namespaces import _base, mediarss

_DEPTH = "_media_content_depth"  # how many <media:content> elements are open
CAPTION = "media_description"  # where a caption is kept, with its `_detail` beside it


def _start_media_content(parser: Any, attrs_d: dict[str, str]) -> None:
    _original_start_media_content(parser, attrs_d)
    setattr(parser, _DEPTH, getattr(parser, _DEPTH, 0) + 1)


def _end_media_content(parser: Any) -> None:
    parser.pop("media_content")  # what feedparser does for an element without an end handler
    setattr(parser, _DEPTH, max(getattr(parser, _DEPTH, 0) - 1, 0))


def _start_media_description(parser: Any, attrs_d: dict[str, str]) -> None:
    if getattr(parser, _DEPTH, 0):
        parser.push_content(CAPTION, attrs_d, "text/html", 1)  # a description's default type
    else:
        parser._start_description(attrs_d)


def _end_media_description(parser: Any) -> None:
    if getattr(parser, _DEPTH, 0):
        parser.pop_content(CAPTION)
    else:
        parser._end_description()


def _start_enclosure(parser: Any, attrs_d: dict[str, str]) -> None:
    attrs_d = parser._enforce_href(attrs_d)
    if attrs_d.get("href"):
        attrs_d["href"] = parser.resolve_uri(attrs_d["href"])
    _original_start_enclosure(parser, attrs_d)


def _start_link(parser: Any, attrs_d: dict[str, str]) -> None:
    if attrs_d.get("rel") == "enclosure":
        attrs_d.setdefault("type", "")
    _original_start_link(parser, attrs_d)


_original_start_media_content = mediarss.Namespace._start_media_content
_original_start_enclosure = _base.Namespace._start_enclosure
_original_start_link = _base.Namespace._start_link


def install() -> None:
    """Correct feedparser in this process; once is enough, again changes nothing."""
    namespace: Any = mediarss.Namespace
    namespace._start_media_content = _start_media_content
    namespace._end_media_content = _end_media_content
    namespace._start_media_description = _start_media_description
    namespace._end_media_description = _end_media_description
    base: Any = _base.Namespace
    base._start_enclosure = _start_enclosure
    base._start_link = _start_link
