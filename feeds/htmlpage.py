"""HTML sources (SPEC §3): the article page behind each link of a list (`feeds.listpage`).

Every field comes from the operator's selector when it has one and it matches; otherwise from
automatic extraction (`feeds.autoextract`), then from labelled text near the title or at the
ends of the body. `ParsedItem.provenance` records which for each field ("selector",
"automatic", "detected") so `aggregator preview` can show why a value is what it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import TypeVar
from urllib.parse import parse_qsl, urldefrag, urlsplit

import lxml.html

from feeds.attachments import append_attachments
from feeds.attribution import (
    body_credit,
    body_edges,
    clean_credit,
    find_editor,
    find_writer,
    link_for,
    origin_party,
)
from feeds.autoextract import article_body, known_author, page_meta, page_title, title_element
from feeds.bodyprep import drop_disclosure_tables, drop_trailer, staff_credits
from feeds.founder import paper_day
from feeds.htmltree import (
    base_url,
    inner_html,
    links,
    page_link,
    parse_html,
    prepare_links,
    text_of,
)
from feeds.listpage import PAGE_TEXTS, bare_summary, readable
from feeds.metaline import byline_under, meta_element
from feeds.model import ParsedItem, Party
from feeds.pagedates import calendar_dated, selected_date
from feeds.pagefurniture import drop_repeated, shown_texts
from feeds.sanitize import clean_html, html_to_text
from feeds.scriptlinks import trs_next_page, write_attachments
from feeds.selectors import (
    ArticleRules,
    FieldSelector,
    select_html,
    select_link,
    select_text,
)

_T = TypeVar("_T")
# Query parameters that number an article's pages (Discuz!: `portal.php?mod=view&aid=1&page=2`).
_PAGE_PARAMETERS = frozenset({"page", "p", "pn", "pg", "paged", "pageno", "curpage"})
_PAGE_MARKS = re.compile(r"[\d_-]+")  # what an article's page numbers add to its path
# A Discuz! forum thread, as its URLs are written plain or rewritten (`thread-124-1-1.html`).
_FORUM_THREAD = re.compile(r"[?&]mod=viewthread(?:&|$)|/thread-\d+-\d+-\d+\.html(?:$|\?)")


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One page of an article as read, and its next page's URL when the article goes on."""

    doc: lxml.html.HtmlElement
    text: str
    url: str
    next_page: str | None = None


def _text(element: lxml.html.HtmlElement, sel: FieldSelector | None) -> str | None:
    return select_text(element, sel) if sel is not None else None


def _present(element: lxml.html.HtmlElement | None) -> tuple[lxml.html.HtmlElement, ...]:
    return () if element is None else (element,)


def _pick(
    provenance: list[tuple[str, str]], name: str, *sources: tuple[Callable[[], _T | None], str]
) -> _T | None:
    """The first source that yields a value, noting how it was found; later ones never run."""
    for source, how in sources:
        if value := source():
            provenance.append((name, how))
            return value
    return None


def parse_article(
    text: str,
    *,
    url: str,
    rules: ArticleRules | None,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str] = (),
) -> ParsedItem:
    """The article of one page at `url`: selectors first, then automatic extraction, field by
    field."""
    page = read_article_page(text, url=url, rules=rules)
    return article_from(page, rules=rules, tz=tz, now=now, iframe_hosts=iframe_hosts)


def read_article_page(text: str, *, url: str, rules: ArticleRules | None) -> ArticlePage:
    """A page of an article, and the link to its next page: `rules.next_page`'s, else a link
    reading "下一页" (or "next page"), else the page a TRS pager's script names, whose URL
    differs from this page's by page numbers only, unless the page is a forum thread's, whose
    next page holds replies (Discuz!'s page 2 was joined to the post, its first reply run into
    the post's last line)."""
    doc = parse_html(text, url=url)
    with readable(url):
        base = base_url(doc, url)
        if rules is not None and rules.next_page is not None:
            found = page_link(select_link(doc, rules.next_page), base)
        elif _FORUM_THREAD.search(url):
            found = None
        else:
            found = next(
                (
                    link
                    for element in doc.iter("a")
                    if text_of(element).lower() in PAGE_TEXTS
                    and (link := page_link(element.get("href"), base))
                    and _continues(url, link)
                ),
                None,
            )
            if (
                found is None
                and (written := trs_next_page(doc, base, url))
                and _continues(url, written)
            ):
                found = written
    next_page = urldefrag(found).url if found else None
    return ArticlePage(doc, text, url, next_page if next_page != urldefrag(url).url else None)


def _continues(url: str, candidate: str) -> bool:
    """Whether `candidate` is another page of the article at `url`: the same host and folder, a
    file name differing in numbers and separators only (`article-123-2.html`, `t2022_1_1.html`)
    and the same query but for a page number."""
    here, there = urlsplit(url), urlsplit(candidate)
    if (here.netloc.lower(), here.path.rpartition("/")[0]) != (
        there.netloc.lower(),
        there.path.rpartition("/")[0],
    ):
        return False
    name, other = here.path.rpartition("/")[2], there.path.rpartition("/")[2]
    if _PAGE_MARKS.sub("", name) != _PAGE_MARKS.sub("", other):
        return False
    mine, theirs = dict(parse_qsl(here.query)), dict(parse_qsl(there.query))
    return all(
        mine.get(key) == theirs.get(key)
        for key in mine.keys() | theirs.keys()
        if key.lower() not in _PAGE_PARAMETERS
    )


def article_from(
    first: ArticlePage,
    *,
    rules: ArticleRules | None,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str] = (),
    continued: Sequence[ArticlePage] = (),
    listed_title: str | None = None,
    site_names: Collection[str] = (),
) -> ParsedItem:
    """The article whose first page is `first` and whose other pages, in order, `continued`:
    their content follows the first page's, and credits at the end of the last are found.
    `listed_title`, the title its list gave, shows where the date line is when the page shows
    no title of its own (its `<title>` is the site's name); `site_names`, the source's names,
    are no title either."""
    with readable(first.url):
        rules = rules or ArticleRules()
        names = tuple(site_names)
        return _article(first, continued, rules, tz, now, iframe_hosts, listed_title, names)


def _article(
    first: ArticlePage,
    continued: Sequence[ArticlePage],
    rules: ArticleRules,
    tz: tzinfo,
    now: datetime,
    iframe_hosts: Collection[str],
    listed_title: str | None,
    site_names: tuple[str, ...],
) -> ParsedItem:
    doc, text, url = first.doc, first.text, first.url
    base = base_url(doc, url)
    meta = page_meta(doc, text, tz=tz, now=now)
    found: list[tuple[str, str]] = []
    title = _pick(
        found,
        "title",
        (lambda: _text(doc, rules.title), "selector"),
        (lambda: page_title(doc, meta, site_names), "automatic"),
    )
    shown = title if title and title != meta.site_name else None
    anchor = title_element(doc, shown) if shown else None
    if anchor is None and listed_title and (anchor := title_element(doc, listed_title)) is not None:
        shown = listed_title
    line_element = meta_element(anchor) if anchor is not None else None
    line = text_of(line_element) if line_element is not None else ""

    content = _pick(found, "content", *_content(first, rules, shown or title, iframe_hosts))
    if content and continued:  # the other pages' content: the selector, else automatic extraction
        first_page = shown_texts(doc)
        for page in continued:
            ways = _content(page, rules, shown or title, iframe_hosts, first_page)
            content += next((value for way, _ in ways if (value := way())), "")
    body_text = html_to_text(content or "")
    edge = body_edges(body_text)

    def line_date() -> datetime | None:
        return calendar_dated(line, _present(line_element), tz, now)[0]

    def selected_origin() -> Party | None:
        if rules.origin is None or not (name := clean_credit(_text(doc, rules.origin))):
            return None
        anchors = [pair for node in rules.origin.select(doc) for pair in links(node, base)]
        return Party(name, link_for(name, anchors))

    return ParsedItem(
        title=title or "",
        url=url,
        content_html=content or "",
        summary=_pick(
            found,
            "summary",
            (lambda: bare_summary(_text(doc, rules.summary)), "selector"),
            (lambda: bare_summary(meta.summary) if meta.summary != title else None, "automatic"),
        )
        or "",
        published=_pick(
            found,
            "published",
            (lambda: selected_date(doc, rules.published, tz, now), "selector"),
            (lambda: _timed(meta.published, line_date()), "detected"),
            (lambda: meta.published, "automatic"),
            (line_date, "detected"),
            (lambda: paper_day(url, tz=tz), "detected"),  # an e-paper's day in its address
        ),
        updated=_pick(found, "updated", (lambda: meta.updated, "automatic")),
        # A meta line near the title outranks <meta name="author">, which many portals fill
        # with one name for the whole site (Discuz!: "Discuz! Team and Comsenz UI Team"). The
        # desk editor (`编辑：`, a closing `（责任编辑：…）`) only where nothing names the writer.
        author=_pick(
            found,
            "author",
            (lambda: clean_credit(_text(doc, rules.author)), "selector"),
            (lambda: meta.author, "automatic"),
            (lambda: known_author(doc, meta.account if meta.original else None), "automatic"),
            (lambda: find_writer(line), "detected"),
            (lambda: byline_under(anchor) if anchor is not None else None, "detected"),
            (lambda: meta.page_author, "automatic"),
            (lambda: find_writer(edge), "detected"),
            (lambda: find_editor(f"{line}\n{edge}\n{_closing_credits(doc)}"), "detected"),
        ),
        origin=_pick(
            found,
            "origin",
            (selected_origin, "selector"),
            (
                lambda: origin_party(
                    line, links(line_element, base) if line_element is not None else ()
                ),
                "detected",
            ),
            (lambda: Party(meta.origin) if meta.origin else None, "automatic"),
            (lambda: body_credit(body_text, content or "", base), "detected"),
            # an original WeChat article crediting nobody: its account wrote it (a repost
            # naming nobody would take the story from the copy it reposted)
            (lambda: Party(meta.account) if meta.original and meta.account else None, "automatic"),
        ),
        site_name=_pick(found, "site_name", (lambda: meta.site_name, "automatic")),
        provenance=tuple(found),
    )


def _closing_credits(doc: lxml.html.HtmlElement) -> str:
    """The staff credits closing the story, which are cut from its body."""
    return "\n".join(text_of(line) for line in staff_credits(doc))


def _timed(day: datetime | None, shown: datetime | None) -> datetime | None:
    """The meta line's date when a `<meta>` tag gives its day with no time (人民网's
    `publishdate` `2022-11-28` under `2022年11月28日08:25`): the tag read as midnight."""
    if day is None or shown is None or day.time() != time():
        return None
    local = shown.astimezone(day.tzinfo)
    return shown if local.date() == day.date() and local.time() != time() else None


def _content(
    page: ArticlePage,
    rules: ArticleRules,
    title: str | None,
    iframe_hosts: Collection[str],
    first_page: frozenset[str] = frozenset(),
) -> tuple[tuple[Callable[[], str | None], str], ...]:
    """The ways to a page's content, each run only if those before it find nothing: the
    selector, then automatic extraction, both on a copy without `rules.remove` nor a
    disclosure page's record (whose dates and agency are read from the page itself); automatic
    extraction on a later page also without what `first_page` showed (`feeds.pagefurniture`)."""
    base = base_url(page.doc, page.url)
    work = copy.deepcopy(page.doc)
    for selector in rules.remove:
        for node in selector.select(work):
            if node.getparent() is not None:
                node.drop_tree()
    write_attachments(work)
    prepare_links(work, base)
    drop_disclosure_tables(work)

    def clean(raw: str | None) -> str | None:
        if not raw:
            return None
        return clean_html(raw, base_url=base, iframe_hosts=iframe_hosts) or None

    def selected() -> str | None:
        if not rules.content:
            return None
        drop_trailer(work)  # which dates the page and, selected with the text, ended the body
        sel = rules.content
        if sel.attr is None and sel.regex is None:  # the element itself: its notice's 附件 too
            chosen = next((m for m in sel.select(work) if inner_html(m).strip()), None)
            if chosen is not None:
                append_attachments(chosen)
        return clean(select_html(work, sel))

    def automatic() -> str | None:
        drop_repeated(work, first_page)
        return clean(article_body(work, url=page.url, title=title))

    return (
        (selected, "selector"),
        (automatic, "automatic"),
    )
