"""Image addresses in sanitised HTML, rewritten one by one: `src` and `srcset` of `<img>`, and
of `<source>` in a `<picture>`, the only attributes through which published content loads a
picture (a `<source>` of `<video>` or `<audio>` is no picture).

Exact on the sanitiser's output (`feeds/sanitize.py`), where every attribute is written
` name="value"`, its value escaped; stored content is that output.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

# An image's tag, or the start or end of the element that says what a `<source>` is.
_TAG = re.compile(r"<(?:img|source|(/?)(picture|video|audio))\b[^>]*>")
_ADDRESSES = re.compile(r'(\s(?:src|srcset)=")([^"]*)(")')

Rewrite = Callable[[str], str | None]  # an address's replacement, or None to keep it


def rewrite_images(fragment: str, rewrite: Rewrite) -> str:
    """`fragment` with each image address replaced by what `rewrite` gives for it."""

    def attribute(match: re.Match[str]) -> str:
        value = html.unescape(match[2])
        new = _srcset(value, rewrite) if match[1].endswith('srcset="') else rewrite(value)
        if new is None or new == value:
            return match[0]
        return f"{match[1]}{html.escape(new)}{match[3]}"

    within: list[str] = []  # the open `<picture>`, `<video>` and `<audio>`, innermost last

    def tag(match: re.Match[str]) -> str:
        if match[2] is None:
            if match[0].startswith("<source") and within[-1:] != ["picture"]:
                return match[0]
            return _ADDRESSES.sub(attribute, match[0])
        if not match[1]:
            within.append(match[2])
        elif within[-1:] == [match[2]]:  # the sanitiser's elements nest
            within.pop()
        return match[0]

    return _TAG.sub(tag, fragment)


def _srcset(value: str, rewrite: Rewrite) -> str:
    """Each candidate's address rewritten, its descriptors (`2x`, `640w`) kept."""
    return join_srcset((rewrite(address) or address, size) for address, size in srcset(value))


_RUN = re.compile(r"[\s,]*(\S*)")  # separators, then a run without spaces
_DESCRIPTORS = re.compile(r"[^,]*")


def srcset(value: str) -> list[tuple[str, str]]:
    """The (address, descriptors) candidates of a `srcset`, as the HTML parsing rules read
    them: an address is a run without spaces, trailing commas end its candidate, and
    otherwise its descriptors run to the next comma."""
    found: list[tuple[str, str]] = []
    position = 0
    while (run := _RUN.match(value, position)) and run[1]:
        address, position, descriptors = run[1], run.end(), ""
        if address.endswith(","):
            address = address.rstrip(",")
        elif given := _DESCRIPTORS.match(value, position):
            descriptors, position = " ".join(given[0].split()), given.end()
        found.append((address, descriptors))
    return found


def join_srcset(candidates: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{address} {size}" if size else address for address, size in candidates)
