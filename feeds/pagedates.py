"""The date a page gives in a selector's match or a line of text, and whether it is a guess:
written relative to the page's making (`3小时前`), or without its year (`12-30`). A list's
guess is right only when the page was made, or this year, so an article's own date outranks it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

import lxml.html
from lxml import etree

from feeds.articlemerge import NO_YEAR
from feeds.dates import find_date
from feeds.selectors import FieldSelector, select_text

__all__ = ["RELATIVE", "calendar_dated", "dated", "selected_date"]

# How a list date written relative to the page's making (`3小时前`) was found: `preview` shows
# it, and an article's own date outranks it.
RELATIVE = "selector, relative"
_YEAR = re.compile(r"(?<![0-9０-９])(?:19|20|１９|２０)[0-9０-９]{2}(?![0-9０-９])")


def selected_date(
    element: lxml.html.HtmlElement, sel: FieldSelector | None, tz: tzinfo, now: datetime
) -> datetime | None:
    """The date a selector's match gives (see `calendar_dated`)."""
    return dated(element, sel, tz, now)[0]


def dated(
    element: lxml.html.HtmlElement, sel: FieldSelector | None, tz: tzinfo, now: datetime
) -> tuple[datetime | None, str | None]:
    """`selected_date`, and how it is written when that makes it a guess: `RELATIVE` to the page's
    making with no calendar date, or without its year (`NO_YEAR`)."""
    if sel is None:
        return None, None
    text = select_text(element, sel) or ""
    matches = () if sel.attr is not None else sel.select(element)
    return calendar_dated(text, matches, tz, now)


def calendar_dated(
    text: str, elements: Sequence[lxml.html.HtmlElement], tz: tzinfo, now: datetime
) -> tuple[datetime | None, str | None]:
    """The date written in `text`, and whether it is a guess (see `dated`). One written
    relative to the page's making (`3 小时前`, `昨天 17:50`) gives way to a calendar date in a
    `title` or `datetime` attribute of `elements` or inside them, as Discuz! X writes
    `<span title="2022-1-15 09:12">3 小时前</span>`."""
    written = find_date(text, tz=tz, now=now)
    if written is None or find_date(text, tz=tz, now=now, relative=False):
        return written, _guessed_year(written, text)
    for match in elements:
        for node in match.iter(etree.Element):
            for name in ("datetime", "title"):
                value = node.get(name)
                if value and (found := find_date(value, tz=tz, now=now, relative=False)):
                    return found, _guessed_year(found, value)
    return written, RELATIVE


def _guessed_year(found: datetime | None, text: str) -> str | None:
    return NO_YEAR if found is not None and not _YEAR.search(text) else None
