"""An html source's list page (SPEC §3): one item per row the operator's `item` selector
matches, with its link, title, summary and date, and the list's next page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urldefrag

import lxml.html
from lxml import etree

from feeds.errors import ParseError
from feeds.hanweb import expand_datastores
from feeds.htmltree import base_url, page_link, parse_html, text_of
from feeds.model import ParsedItem
from feeds.pagedates import dated
from feeds.scriptlinks import is_script_link, script_target, trs_next_page
from feeds.selectors import FieldSelector, ListRules, select_link, select_text

__all__ = ["PAGE_TEXTS", "ListPage", "bare_summary", "parse_list_page", "readable", "undated_note"]

_CUT = ("...", "…", "..")  # how a list shows a title it shortened
_SUMMARY_LABEL = re.compile(r"^\s*(?:摘要|内容提要|提要|导读|summary|abstract)\s*[:：]\s*", re.I)
# Only in brackets, before an arrow, or as a phrase that says nothing else: a summary may well
# end in "更多" (more) or "详细" (detailed) of its own.
_MORE_LINK = re.compile(
    r"(?:[\[【(（]\s*(?:详细|详情|全文|更多|阅读全文|查看全文|查看详情|read more|more)\s*[\]】)）]"
    r"|(?:阅读全文|查看全文|查看详情)\s*(?:>>|»|›|→|…|\.\.\.)?"
    r"|(?:详细|详情|更多|全文|read more|continue reading|more)\s*(?:>>|»|›|→))$",
    re.IGNORECASE,
)
# A link to a list's or an article's next page: never "下一篇", which leads to the next article.
# An article's is never a bare "next" or "»" either, which lead to the next article as often.
PAGE_TEXTS = frozenset({"下一页", "下页", "下一頁", "后页", "next page"})
_NEXT_TEXTS = PAGE_TEXTS | {"next", "›", "»", "next »"}


@dataclass(frozen=True, slots=True)
class ListPage:
    """The items of one list page in document order, the next page's URL if there is one,
    how many `item` matches were skipped for a link that is a script no URL could be read from,
    what else the page's reading found wrong (`feeds.jsonlist`'s records without a link), and
    `notes` for the operator writing its selectors, which are no fault of the source (dates a
    selector matched that read as none)."""

    items: tuple[ParsedItem, ...]
    next_page: str | None = None
    script_links: int = 0
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def bare_summary(text: str | None) -> str:
    """A summary without the `摘要:` label portals print before it, nor the link to the article
    they print after it (`[详细]`, `阅读全文>>`): a reader has the item's own link."""
    return _MORE_LINK.sub("", _SUMMARY_LABEL.sub("", text or "", count=1).rstrip()).strip()


@contextmanager
def readable(url: str) -> Iterator[None]:
    """libxml2's limits on hostile pages end as `ParseError`, like any other unreadable page."""
    try:
        yield
    except (RecursionError, etree.LxmlError) as error:
        raise ParseError(f"cannot read the page: {error}", url=url) from error


def _whole_title(matches: Sequence[lxml.html.HtmlElement], shown: str) -> str:
    """A title the list cut short (`汉中市召开2022年全市...`) whole, from the `title` attribute
    where most Chinese CMSs keep it: one that starts with what is shown."""
    stem = shown.rstrip(" .…")
    for match in matches:
        for node in match.iter(etree.Element):
            whole = " ".join((node.get("title") or "").split())
            if stem and len(whole) > len(stem) and whole.startswith(stem):
                return whole
    return shown


def _next_page(doc: lxml.html.HtmlElement, rules: ListRules, base: str) -> str | None:
    if rules.next_page is not None:
        return page_link(select_link(doc, rules.next_page), base)
    for element in doc.iter("link", "a"):
        rel = (element.get("rel") or "").lower().split()
        is_next = "next" in rel or (element.tag == "a" and text_of(element).lower() in _NEXT_TEXTS)
        if is_next and (found := page_link(element.get("href"), base)):
            return found
    return trs_next_page(doc, base)


def parse_list_page(
    text: str, *, url: str, rules: ListRules, tz: tzinfo, now: datetime
) -> ListPage:
    """One item per `rules.item` match that has a link not seen before on the page."""
    doc = parse_html(text, url=url)
    with readable(url):
        return _list_page(doc, url, rules, tz, now)


def _list_page(
    doc: lxml.html.HtmlElement, url: str, rules: ListRules, tz: tzinfo, now: datetime
) -> ListPage:
    base = base_url(doc, url)
    next_page = _next_page(doc, rules, base)  # the page's own pager and base, not a record's
    expand_datastores(doc, url=url)
    items: list[ParsedItem] = []
    # An item linking `#`, `#top` or the list itself (a pinned notice, one for members only)
    # leads to no article: read as one, the list page would be published.
    seen = {urldefrag(url).url, urldefrag(base).url}
    scripted = 0
    undated: list[str] = []  # what `published` matched where no date was read
    for node in rules.item.select(doc):
        link, script = _row_link(node, rules.link, base)
        if script and link is None:
            scripted += 1
        if link is None or (link := urldefrag(link).url) in seen:
            continue
        seen.add(link)
        link_text = next((t for m in rules.link.select(node) if (t := text_of(m))), None)
        title = _text(node, rules.title) or link_text or ""
        if title.endswith(_CUT):
            title = _whole_title((rules.title or rules.link).select(node), title)
        summary = bare_summary(_text(node, rules.summary))
        published, guessed = dated(node, rules.published, tz, now)
        if published is None and rules.published and (said := select_text(node, rules.published)):
            undated.append(said)
        found = {"url": link, "title": title, "summary": summary, "published": published}
        ways = {name: "selector" for name, value in found.items() if value}
        if guessed:  # `3小时前`, `12-30`: right only when the page was made, or this year
            ways["published"] = guessed
        items.append(
            ParsedItem(
                title=title,
                url=link,
                summary=summary,
                published=published,
                provenance=tuple(ways.items()),
            )
        )
    notes = (undated_note(undated, len(items), "sources.list.published"),) if undated else ()
    return ListPage(tuple(items), next_page, scripted, notes=notes)


def undated_note(said: Sequence[str], listed: int, key: str) -> str:
    """What a list's dates that read as none say, for the operator writing `key`: such an
    item is dated by its article page, or when it is first seen."""
    return (
        f"{len(said)} of {listed} items undated: {key} gives {said[0][:40]!r}, no date read"
        " from it (its article page dates it, else the time it is first seen)"
    )


def _row_link(
    node: lxml.html.HtmlElement, sel: FieldSelector, base: str
) -> tuple[str | None, bool]:
    """The link of a list row, and whether it is a script (`javascript:window.open('…')`, or
    `#` with `onclick="openwin('…')"`), whose one quoted URL is read as its href. A selector
    with its own `attr` or `regex` is the operator's word, read as it says."""
    link = page_link(select_link(node, sel), base)
    if sel.attr is not None or sel.regex is not None:
        return link, False
    matches = sel.select(node)
    element = next((m for m in matches if (m.get("href") or "").strip()), None)
    element = matches[0] if element is None and matches else element
    if element is None or not is_script_link(element):
        return link, False
    return script_target(element, base), True


def _text(element: lxml.html.HtmlElement, sel: FieldSelector | None) -> str | None:
    return select_text(element, sel) if sel is not None else None
