"""Enclosures (podcast audio, attachments) as every parser keeps them.

RSS `<enclosure>`, Atom `<link rel="enclosure">` and JSON Feed `attachments` give an address,
a media type and a length, each as loosely as the rest of a feed. What we keep is what we can
republish as it is: an http(s) address resolved as links are, a type that is a media type, a
length that is a size, each address once, and a few per item, so a hostile feed cannot fill
the store or a reader's download queue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from feeds.model import Enclosure
from feeds.sanitize import web_url

MOST = 20  # per item; a podcast episode has one, a post with attachments a handful
UNKNOWN_TYPE = "application/octet-stream"  # published where a format requires a type
# A terabyte: beyond it a length is a mistake (a timestamp, a bit count), not a file's size.
_LARGEST = 10**12
_DIGITS = re.compile(r"[0-9]{1,13}")  # ASCII only: int() also reads other scripts' digits
# RFC 6838's names for a type and a subtype, which the W3C validator's check accepts.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def enclosures(given: Iterable[tuple[object, object, object]], base: str) -> tuple[Enclosure, ...]:
    """The enclosures of (address, type, length) triples as a document lists them, addresses
    resolved against `base`: the first of each address, at most `MOST`."""
    kept: dict[str, Enclosure] = {}
    for href, kind, size in given:
        url = web_url(href, base) if isinstance(href, str) else None
        if url is None or url in kept:
            continue
        kept[url] = Enclosure(url, media_type(kind), length(size))
        if len(kept) == MOST:
            break
    return tuple(kept.values())


def media_type(value: object) -> str:
    """`type/subtype` in lower case, its parameters left out; "" for anything else."""
    if not isinstance(value, str):
        return ""
    kind = value.partition(";")[0].strip().lower()
    return kind if _MEDIA_TYPE.fullmatch(kind) else ""


def length(value: object) -> int | None:
    """A size in bytes, from text or a JSON number; None for garbage, a negative or absurd
    size, and zero, which RSS publishers write for a size they do not know."""
    size = None
    if isinstance(value, str):
        text = value.strip()
        size = int(text) if _DIGITS.fullmatch(text) else None
    elif isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        size = int(value)
    return size if size is not None and 0 < size <= _LARGEST else None
