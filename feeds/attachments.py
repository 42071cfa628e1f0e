"""Documents a page attaches to an article outside its body element, or that extraction left.

Government templates (TRS, VSB) print a notice's `附件：` links under its text, outside the
content element: taken as the known body alone, the notice lost the documents it announces.
Main-content extraction drops such a paragraph of one link from the text it keeps, too.
"""

from __future__ import annotations

import copy

import lxml.html

from feeds.files import document_type
from feeds.htmltree import text_of

_REACH = 3  # ancestors of the body whose later links count: the notice's own block
_MOST = 20


def append_attachments(body: lxml.html.HtmlElement) -> None:
    """Append to `body` a paragraph for each attached document's link that follows it in the
    block around it, in page order; links are already absolute (`prepare_links`)."""
    block = body
    for _ in range(_REACH):
        parent = block.getparent()
        if parent is None or parent.tag == "body":
            break
        block = parent
    inside = set(body.iter())
    around = set(body.iterancestors())
    passed = False
    documents: list[lxml.html.HtmlElement] = []
    for element in block.iter():
        if element is body:
            passed = True
        elif passed and element.tag == "a" and element not in inside and _document(element):
            documents.append(element)
            if len(documents) == _MOST:  # a hostile page's thousands of links cost no more
                break
    texts: dict[lxml.html.HtmlElement, str] = {}  # each block's text read once
    for link in (link for link in documents if _attached(link, around, texts)):
        _append(body, link)


def append_missing_attachments(body: lxml.html.HtmlElement, page: lxml.html.HtmlElement) -> None:
    """Append to `body`, extracted from `page` but no part of it, a paragraph for each link
    to a document the page calls an attachment (`附件：`) that `body` lacks, in page order."""
    have = {link.get("href") for link in body.iter("a")}
    texts: dict[lxml.html.HtmlElement, str] = {}
    added = 0
    for link in page.iter("a"):
        href = link.get("href")
        if href in have or not _document(link) or not _attached(link, set(), texts):
            continue
        have.add(href)
        _append(body, link)
        added += 1
        if added == _MOST:
            break


def _append(body: lxml.html.HtmlElement, link: lxml.html.HtmlElement) -> None:
    paragraph = lxml.html.Element("p")
    paragraph.text = "附件："
    attached = copy.deepcopy(link)
    attached.tail = None
    paragraph.append(attached)
    body.append(paragraph)


def _document(link: lxml.html.HtmlElement) -> bool:
    return document_type(link.get("href") or "") is not None


def _attached(
    link: lxml.html.HtmlElement,
    around: set[lxml.html.HtmlElement],
    texts: dict[lxml.html.HtmlElement, str],
) -> bool:
    """A document's link in a short block of its own (not one holding the body, whose
    elements are `around` it) that the page calls attachments (`附件：`, `相关附件`): other
    downloads on the page are the site's, not the article's."""
    holder = link.getparent()
    for _ in range(_LABEL_REACH):
        if holder is None or holder in around:
            return False
        if holder not in texts:
            texts[holder] = text_of(holder)
        if len(text := texts[holder]) > _BLOCK_CHARS:
            return False
        if "附件" in text:
            return True
        holder = holder.getparent()
    return False


_LABEL_REACH, _BLOCK_CHARS = 3, 300
