"""What the pages of one article have in common: their template, not the article.

A continuation page (`…_2.html`, `&page=2`) repeats the first page's heading, date line, lead,
navigation and sidebars around its own part of the text. Automatic extraction on such a short
page takes a container with all of them, and the article showed its title and date line once
per page. Whatever a later page shows exactly as the first page did is furniture.
"""

from __future__ import annotations

import lxml.html

from feeds.htmltree import text_of

# Pages larger than these are compared no further: each element's text is read whole, so a
# page's cost grows with its text times its depth (lxml nests up to 256 levels).
_MOST_ELEMENTS, _MOST_CHARS = 5000, 100_000
_SKIPPED = frozenset({"html", "body", "head"})


def shown_texts(doc: lxml.html.HtmlElement) -> frozenset[str]:
    """The text of every element of the first page, to find its repeats on the others."""
    elements = list(doc.iter())
    if len(elements) > _MOST_ELEMENTS or len(text_of(doc)) > _MOST_CHARS:
        return frozenset()
    found = (text_of(e) for e in elements if isinstance(e.tag, str) and e.tag not in _SKIPPED)
    return frozenset(text for text in found if text)


def drop_repeated(work: lxml.html.HtmlElement, first_page: frozenset[str]) -> None:
    """Remove from a later page's copy each outermost element whose text the first page shows
    whole: a part of the article differs, and so does every element holding it."""
    if not first_page or len(text_of(work)) > _MOST_CHARS:
        return
    stack = list(work)
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            continue
        if element.tag not in _SKIPPED and text_of(element) in first_page:
            if element.getparent() is not None:
                element.drop_tree()
            continue
        stack.extend(element)
