"""Founder (方正) e-paper pages (数字报), the template most Chinese newspapers publish online.

An article page (`html/2026-11/28/content_5502.htm`, `pc/content/202611/28/content_101001.html`)
shows its text in `<div id="ozoom">` (a `<founder-content>` in the later template), beside a
column listing the day's other articles, each by its title; its `<title>` is often only the
paper's name. What it says about itself sits in a comment its editing system writes:
`<!--enpproperty <date>2026-11-28 00:00:00:0</date><author>刘芳</author><title>…</title>…
/enpproperty-->`, and its address names the paper's day.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

__all__ = ["PaperFields", "paper_day", "paper_fields"]

_OPENS, _CLOSES = "<!--enpproperty", "/enpproperty-->"
_LONGEST = 4_000  # the comment's length at most: read no further into the page
_FIELD = re.compile(r"<(?P<name>date|author|title)>(?P<value>[^<]{0,300})</(?P=name)>")
_DAY = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
# The paper's day in an article's address: the old template's `html/2026-11/28/content_5502.htm`,
# the later one's `content/202611/28/content_101001.html`.
_ADDRESS_DAY = re.compile(
    r"/(?:html|content)/(?P<y>\d{4})-?(?P<m>\d{2})/(?P<d>\d{2})/content_\d+(?:_\d+)?\.html?(?:$|[?#])"
)


@dataclass(frozen=True, slots=True)
class PaperFields:
    """What a Founder article page's `enpproperty` comment gives."""

    title: str | None = None
    published: datetime | None = None
    author: str | None = None


def paper_fields(text: str, *, tz: tzinfo) -> PaperFields | None:
    """The title, day and author of a Founder article page's `enpproperty` comment in its
    source `text`, or None for a page without one (asked of the text first: most pages)."""
    start = text.find(_OPENS)
    if start < 0:
        return None
    end = text.find(_CLOSES, start, start + _LONGEST)
    if end < 0:
        return None
    values: dict[str, str] = {}
    for field in _FIELD.finditer(text, start, end):
        values.setdefault(field["name"], html.unescape(" ".join(field["value"].split())))
    day = _DAY.match(values.get("date", ""))
    return PaperFields(
        title=values.get("title") or None,
        published=_midnight(day, tz) if day else None,
        author=values.get("author") or None,
    )


def paper_day(url: str, *, tz: tzinfo) -> datetime | None:
    """The paper's day an article page's address names (midnight in `tz`), or None."""
    found = _ADDRESS_DAY.search(url)
    return _midnight(found, tz) if found else None


def _midnight(found: re.Match[str], tz: tzinfo) -> datetime | None:
    try:
        return datetime(int(found["y"]), int(found["m"]), int(found["d"]), tzinfo=tz)
    except ValueError:  # `2026-13-45`
        return None
