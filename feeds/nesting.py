"""Markup nested deeper than any page needs, flattened before the sanitiser reads it.

nh3's parser (html5ever) spends, at each tag, time in proportion to the elements open: one
item of 100,000 nested `<div>`s (1.2 MB) took it 13 s, 300,000 over two minutes, holding a
parsing process all along. Tags deeper than `MAX_DEPTH` are dropped and their text kept.
"""

from __future__ import annotations

import re

MAX_DEPTH = 256
# Below this many tags the depth cannot cost much (2,000 levels: 5 ms), and is not counted.
_COUNTED_FROM = 2_048
_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)(?:\s[^<>]*?)?(/?)>")
# Elements that hold no content, and those a parser closes when their like opens (`<p>`
# after `<p>`): neither adds depth, and old portals leave hundreds of `<p>` unclosed.
_NO_DEPTH = frozenset((
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th",
))  # fmt: skip


def flattened(markup: str) -> str:
    """`markup` without the tags nested deeper than `MAX_DEPTH`; as it is, most often."""
    if markup.count("<") < _COUNTED_FROM:
        return markup
    depth = 0
    kept: list[str] = []
    start = 0
    for tag in _TAG.finditer(markup):
        closing, name, empty = tag.groups()
        if empty or name.lower() in _NO_DEPTH:
            continue
        deep = depth > MAX_DEPTH if closing else depth + 1 > MAX_DEPTH
        depth = max(0, depth - 1) if closing else depth + 1
        if deep:
            kept.append(markup[start : tag.start()])
            start = tag.end()
    if not kept:
        return markup
    kept.append(markup[start:])
    return "".join(kept)
