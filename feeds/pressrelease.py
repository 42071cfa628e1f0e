"""The trailer a Hong Kong government press release (政府新聞公報) ends its text with: `完`,
the day and the time of issue (`2026年11月29日（星期日）`, `香港時間15時30分`; in English
`Ends/Sunday, November 29, 2026` and `Issued at HKT 15:30`), and `NNNN`. It dates the
release (`feeds.metaline`) and is no part of the story (`feeds.bodyprep`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import lxml.html
from lxml import etree

__all__ = ["Trailer", "press_release_trailer"]

# The trailer a Hong Kong government press release (政府新聞公報) ends with, each part a line:
# `完`, the day `2026年11月29日（星期日）` and the time `香港時間15時30分`, or in English
# `Ends/Sunday, November 29, 2026` and `Issued at HKT 15:30`; `NNNN` may close either.
_ZH_END = "完"
_ZH_DAY = re.compile(
    r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日\s*[（(]星期[一二三四五六日天][）)]"
)
_ZH_TIME = re.compile(r"香港[時时][間间]\s*(?P<H>\d{1,2})[時时](?P<M>\d{1,2})分")
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_EN_END = re.compile(r"Ends/[A-Za-z]+day,\s*(?P<month>[A-Za-z]+)\s+(?P<d>\d{1,2}),\s*(?P<y>\d{4})")
_EN_TIME = re.compile(r"Issued at HKT\s*(?P<H>\d{1,2}):(?P<M>\d{2})")
_CLOSE = "NNNN"
_TRAILER_MARKS = etree.XPath(
    f"//text()[normalize-space(.)='{_ZH_END}' or starts-with(normalize-space(.), 'Ends/')]"
)
# The lines read after the mark: the day, the time, `NNNN`, and what follows them.
_MOST_MARKS, _TRAILER_LINES = 5, 4
# A text node as the element holding it and whether it is that element's tail.
TextNode = tuple[lxml.html.HtmlElement, bool]


@dataclass(frozen=True, slots=True)
class Trailer:
    """A press release's trailer: its text nodes, the element whose text it ends, and its date
    written as `find_date` reads it (`2026-11-29 15:30+08:00`, the day alone without a time)."""

    pieces: tuple[TextNode, ...]
    holder: lxml.html.HtmlElement
    published: str


def press_release_trailer(root: lxml.html.HtmlElement) -> Trailer | None:
    """The trailer (`_ZH_END`…) that ends the text of an element of `root`, if one does."""
    found = _TRAILER_MARKS(root)
    if not isinstance(found, list):
        return None
    for mark in islice(found, _MOST_MARKS):
        if not isinstance(mark, etree._ElementUnicodeResult) or (owner := mark.getparent()) is None:
            continue
        if trailer := _trailer((owner, bool(mark.is_tail))):
            return trailer
    return None


def _trailer(mark: TextNode) -> Trailer | None:
    after = list(islice(_texts_after(*mark), _TRAILER_LINES))
    lines = [_text(node).strip() for node in (mark, *after)]
    if lines[0] == _ZH_END and len(lines) > 1:
        day, time, rest = _ZH_DAY.fullmatch(lines[1]), _ZH_TIME, 2
        month = day["m"] if day else ""
    else:
        day, time, rest = _EN_END.fullmatch(lines[0]), _EN_TIME, 1
        name = day["month"].lower() if day else ""
        month = str(_MONTHS.index(name) + 1) if name in _MONTHS else ""
    if day is None or not month:
        return None
    published = f"{day['y']}-{int(month):02d}-{int(day['d']):02d}"
    if rest < len(lines) and (clock := time.fullmatch(lines[rest])):
        published += f" {int(clock['H']):02d}:{int(clock['M']):02d}+08:00"  # 香港時間, HKT
        rest += 1
    if rest < len(lines) and lines[rest] == _CLOSE:
        rest += 1
    pieces = (mark, *after[: rest - 1])
    holder = _common_holder(_holder_of(pieces[0]), _holder_of(pieces[-1]))
    if holder is None or (rest < len(lines) and _within(_holder_of(after[rest - 1]), holder)):
        return None  # the text goes on after it: no trailer
    return Trailer(pieces, holder, published)


def _text(node: TextNode) -> str:
    element, is_tail = node
    return (element.tail if is_tail else element.text) or ""


def _texts_after(owner: lxml.html.HtmlElement, is_tail: bool) -> Iterator[TextNode]:
    """The non-blank text nodes after `owner`'s text (or tail), in document order."""
    if not is_tail:
        for child in owner:
            yield from _subtree_texts(child)
        yield from _shown(owner, True)
    node: lxml.html.HtmlElement | None = owner
    while node is not None:
        for sibling in node.itersiblings():
            yield from _subtree_texts(sibling)
        node = node.getparent()
        if node is not None:
            yield from _shown(node, True)


def _subtree_texts(element: lxml.html.HtmlElement) -> Iterator[TextNode]:
    """The non-blank text nodes of `element`, its tail last."""
    if not isinstance(element.tag, str):  # a comment: only its tail is text
        yield from _shown(element, True)
        return
    for event, node in etree.iterwalk(element, events=("start", "end")):
        yield from _shown(node, event == "end")


def _shown(element: lxml.html.HtmlElement, is_tail: bool) -> Iterator[TextNode]:
    """The text (or tail) of `element` if a reader sees it: not a script's, a comment's."""
    shows = is_tail or (isinstance(element.tag, str) and element.tag not in ("script", "style"))
    if shows and _text((element, is_tail)).strip():
        yield element, is_tail


def _holder_of(node: TextNode) -> lxml.html.HtmlElement | None:
    element, is_tail = node
    return element.getparent() if is_tail else element


def _common_holder(
    first: lxml.html.HtmlElement | None, last: lxml.html.HtmlElement | None
) -> lxml.html.HtmlElement | None:
    if first is None or last is None:
        return None
    mine = {first, *first.iterancestors()}
    return next((e for e in (last, *last.iterancestors()) if e in mine), None)


def _within(element: lxml.html.HtmlElement | None, holder: lxml.html.HtmlElement) -> bool:
    return element is not None and (element is holder or holder in element.iterancestors())
