"""Media RSS (`media:content`, `media:thumbnail`) and JSON Feed's `image`: what an item shows
or carries beside its body.

Photo feeds (Mastodon, Flickr, bridges of picture sites) and many news feeds put an item's
picture there and nowhere in its text, and some podcasts put their audio only in
`media:content`: republished from the body and enclosures alone, the picture and the file were
lost. A picture opens the content of an item whose body shows none; an audio or video file is
an enclosure.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from feeds.sanitize import web_url

_FILES = ("audio", "video")
_PICTURES = frozenset(("jpg", "jpeg", "png", "gif", "webp", "avif"))


def _kind(media: Mapping[str, Any]) -> str:
    """`image`, `audio`, `video`…, by `medium`, else by the type's first half, else by the
    address's extension (both are optional)."""
    medium = str(media.get("medium") or "").strip().lower()
    kind = medium or str(media.get("type") or "").partition("/")[0].strip().lower()
    if kind or not isinstance(url := media.get("url"), str):
        return kind
    extension = url.partition("?")[0].rpartition(".")[2].lower()
    return "image" if extension in _PICTURES else ""


def picture(entry: Mapping[str, Any], base: str) -> str | None:
    """The address of the entry's picture: its first image, else its first thumbnail."""
    images = [m for m in _listed(entry, "media_content") if _kind(m) == "image"]
    for media in (*images, *_listed(entry, "media_thumbnail")):
        if isinstance(url := media.get("url"), str) and (found := web_url(url, base)):
            return found
    return None


def files(entry: Mapping[str, Any]) -> Iterator[tuple[object, object, object]]:
    """(address, type, size) of each audio or video file, as `feeds.enclosures` takes them."""
    for media in _listed(entry, "media_content"):
        if _kind(media) in _FILES:
            yield media.get("url"), media.get("type"), media.get("filesize")


def shows_picture(content_html: str) -> bool:
    """Whether sanitised HTML shows a picture already."""
    return "<img" in content_html


def picture_html(address: str, title: str) -> str:
    """The picture at `address` as a paragraph of HTML to sanitise, to open the content."""
    return f'<p><img src="{html.escape(address)}" alt="{html.escape(title)}"></p>'


def _listed(entry: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    found = entry.get(key)
    if not isinstance(found, list):
        return ()
    return [media for media in found if isinstance(media, Mapping)]
