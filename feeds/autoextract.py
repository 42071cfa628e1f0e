"""Automatic extraction: what an article page yields when the operator wrote no selector for it.

Machine-readable metadata comes first (OpenGraph and `<meta>` tags, JSON-LD, WeChat's script
variables), then the page's visible conventions: the heading, and the short line under it that
Chinese portals fill with date, poster and source. The body is the known content element of the
platforms we target, else what trafilatura extracts, else the block with the most paragraph text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from itertools import islice

import lxml.html
from lxml import etree

from feeds.attachments import append_attachments, append_missing_attachments
from feeds.attribution import byline_names
from feeds.bodyprep import content_cell, drop_line, drop_tool_lines, link_embedded_documents
from feeds.dates import parse_date
from feeds.discuz import thread_subject, tidy_post, without_forum_name
from feeds.founder import PaperFields, paper_fields
from feeds.htmltree import inner_html, text_lines, text_of
from feeds.mainextract import extract_main
from feeds.metaline import find_meta_line, is_dated_label_line, is_meta_line, is_short
from feeds.sanitize import xml_safe
from feeds.selectors import FieldSelector

_ARTICLE_TYPES = frozenset({"Article", "NewsArticle", "ReportageNewsArticle", "BlogPosting"})
_PUBLISHED = ("article:published_time", "og:published_time", "pubdate", "publishdate", "dc.date")
_UPDATED = ("article:modified_time", "og:updated_time", "dc.date.modified")
_SUMMARY = ("og:description", "description", "twitter:description")
# `application-name` is how a Discuz! portal names itself; `SiteName` is China's government CMS.
_SITE = ("og:site_name", "sitename", "application-name")
# WeChat's variables, and TRS templates' `var pubdate = "2022-11-28 09:30:00";` that their date
# line writes out (`document.write(pubdate…)`).
_SCRIPT_DATE = re.compile(
    r"\b(?:ct|create_time|publish_time|createTime|(?i:pubdate|publishdate))\s*=\s*"
    r"[\"']([^\"']{8,30})[\"']"
)
_TITLE_PARTS = re.compile(r"\s+[-|–—·_]\s+|\s*(?:[_|]|--)\s*")
# Template furniture trafilatura keeps: Discuz! reaction buttons and ad slots, WeChat tool bars,
# Baidu's share buttons (on most Chinese sites), the page lists of DedeCMS and PHPCMS, PHPCMS's
# share-collect-print bar, a Discuz! post's hidden pop-up on each attached picture (name, size,
# "上传" time: it dated a short post), the QR code of the 集约化 (UCAP) government platforms.
# Not `form`: ASP.NET pages, common on government sites, wrap the whole page in one.
_BOILERPLATE = FieldSelector(
    "#click_div, .a_af, .a_pr, .a_pt, .a_pb, .a_t, .a_fl, .a_cn, .a_mu, #comment,"
    " .rich_media_tool, #js_pc_qr_code, nav, footer, template, noscript,"
    " .bdsharebuttonbox, .bdshare, .dede_pages, .Article-Tool, .aimg_tip, .article-qr"
)
# Bodies of the platforms this service exists for, taken whole: trafilatura drops WeChat's images
# (their URLs have no file extension), and keeps a stock template's heading, page list and
# links to the previous and next articles. WeChat, Discuz! portal articles and forum threads
# (the first post), TRS government CMS, PHPCMS v9 and DedeCMS stock templates, and Hanweb
# JCMS's text its font-size buttons enlarge, in or on its `bt_content` cell: trafilatura took
# the layout table around it, title and `发布时间：…【字体：大 中 小】` line included. VSB (博达)
# and the 集约化 platforms' UCAP content elements: trafilatura kept their title and meta line.
# TRS's later editors write `TRS_UEDITOR` and `trs_editor_view`; government templates of every
# make name the text their font-size buttons enlarge `#zoom` (with the title and meta line
# inside, these are left out): read by trafilatura, a disclosure page's record table above it
# opened the body.
_KNOWN_BODIES = FieldSelector(
    "#js_content, td#article_content, td.t_f, .TRS_Editor, .TRS_UEDITOR, .trs_editor_view,"
    " #Article > .content, .viewbox > .content, #zoom, .v_news_content, #UCAP-CONTENT"
)
# A Founder e-paper's (`feeds.founder`), looked for where none of those is: read by
# trafilatura, the page's scan and the day's other articles opened it.
_PAPER_BODIES = FieldSelector("#ozoom, founder-content")
# Who wrote a Discuz! forum thread: its first post's poster; a 人民网 story: the byline under
# its heading.
_KNOWN_AUTHORS = FieldSelector(".authi a.xw1, .text_title > p.author")
# A WeChat article's author field, beside its account's name (`#js_name`): the `原创` mark
# (`#copyright_logo`) and the date are other elements of that line.
_WECHAT_AUTHOR = FieldSelector("#meta_content > span.rich_media_meta_text")
_MIN_BLOCK_CHARS = 10


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a page says about itself in machine-readable form."""

    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None  # JSON-LD: about this article
    page_author: str | None = None  # <meta name="author">: often the same for a whole site
    summary: str | None = None
    site_name: str | None = None
    origin: str | None = None  # <meta name="ContentSource"> of government sites
    site_names: tuple[str, ...] = ()  # every name the page gives its site
    account: str | None = None  # a WeChat article's account
    original: bool = False  # marked `原创` by WeChat: its account wrote it, and is its origin


def _meta_tags(doc: lxml.html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in doc.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key and (value := " ".join((meta.get("content") or "").split())):
            found.setdefault(key.strip(), value)
    return found


def _json_ld(doc: lxml.html.HtmlElement) -> Iterator[Mapping[str, object]]:
    """Article objects in the page's JSON-LD, wherever they sit (lists, `@graph`)."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            stack: list[object] = [json.loads(script.text or "")]
        except (ValueError, RecursionError):
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                kinds = node.get("@type")
                kinds = [kinds] if isinstance(kinds, str) else kinds
                if isinstance(kinds, list) and _ARTICLE_TYPES.intersection(map(str, kinds)):
                    yield node
                stack.append(node.get("@graph"))


def _names(value: object) -> str | None:
    """A JSON-LD author (a name, a Person, or a list of them) as one string."""
    items = value if isinstance(value, list) else [value]
    names = [_string(item.get("name") if isinstance(item, dict) else item) for item in items]
    return ", ".join(name for name in names if name) or None


def _string(value: object) -> str | None:
    r"""A JSON-LD string, without what JSON escapes can hold and XML cannot (`\u0001`, a lone
    `\ud800`, on which lxml's XPath raised)."""
    return (xml_safe(value).strip() or None) if isinstance(value, str) else None


def page_meta(doc: lxml.html.HtmlElement, text: str, *, tz: tzinfo, now: datetime) -> PageMeta:
    """Metadata from `<meta>` tags, JSON-LD and WeChat's script variables (`text` is the source)."""
    tags = _meta_tags(doc)
    ld = next(_json_ld(doc), {})

    def date(keys: tuple[str, ...], ld_key: str) -> datetime | None:
        values = [tags.get(key) for key in keys] + [_string(ld.get(ld_key))]
        return next((d for v in values if v and (d := parse_date(v, tz=tz, now=now))), None)

    scripted = (parse_date(m.group(1), tz=tz, now=now) for m in _SCRIPT_DATE.finditer(text))
    paper = paper_fields(text, tz=tz) or _NO_PAPER
    published = (
        date(_PUBLISHED, "datePublished")
        or _time_element(doc, tz=tz, now=now)
        or next((d for d in scripted if d), None)
        or paper.published
    )
    account = _account(doc)
    declared = [account] if account else []
    declared = [name for name in (*declared, *(tags[k] for k in _SITE if k in tags)) if name]
    head = _head(doc)
    parts = [part.strip() for part in _TITLE_PARTS.split(head)]
    # `城固县人民政府门户网站`: a site's description of itself names it, when its `<title>` does.
    described = (_SELF_NAMED.fullmatch(tags.get(key, "")) for key in _SUMMARY)
    named = [found["name"] for found in described if found and found["name"] in (head, *parts)]
    site_names = tuple(dict.fromkeys((*declared, *named)))
    title = (
        tags.get("og:title")
        or _string(ld.get("headline"))
        or tags.get("articletitle")
        or paper.title
    )
    known = (*site_names, *parts[1:])  # and the site's or column's name after the title
    summaries = [*(tags[k] for k in _SUMMARY if k in tags), _string(ld.get("description"))]
    summaries = [without_forum_name(s, known) if s else s for s in summaries]
    return PageMeta(
        title=title,
        published=published,
        updated=date(_UPDATED, "dateModified"),
        author=_names(ld.get("author")) or paper.author,
        page_author=_person(tags.get("author")),
        summary=next(
            (s for s in summaries if s and not _names_page(s, head, known, (title, parts[0]))),
            None,
        ),
        site_name=declared[0] if declared else None,
        origin=tags.get("contentsource"),
        site_names=site_names,
        account=account or None,
        original=bool(account) and _marked_original(doc),
    )


def _marked_original(doc: lxml.html.HtmlElement) -> bool:
    """Whether WeChat marks the article `原创` (its `#copyright_logo`)."""
    mark = doc.get_element_by_id("copyright_logo", None)
    return mark is not None and "原创" in text_of(mark)


def _account(doc: lxml.html.HtmlElement) -> str:
    """A WeChat article's account name, or ""."""
    account = doc.get_element_by_id("js_name", None)
    return text_of(account) if account is not None else ""


_NO_PAPER = PaperFields()
_SELF_NAMED = re.compile(r"(?P<name>\S{2,30}?)(?:门户网站|官方网站|政府网站|官网|网站)")
_SEPARATORS = "-|–—·_｜"  # between a title and the site's name in `<title>`


def _head(doc: lxml.html.HtmlElement) -> str:
    return next((text_of(t) for t in doc.iter("title")), "")


def _site_suffix(head: str, text: str) -> bool:
    """Whether `text` ends `head` after a separator, as a site's name ends a `<title>`."""
    before = head[: len(head) - len(text)].rstrip()
    return bool(text) and head.endswith(text) and before[-1:] in _SEPARATORS and bool(before[:-1])


def _names_page(
    text: str, head: str, names: tuple[str, ...], titles: tuple[str | None, ...]
) -> bool:
    """Whether a description says only what the page is called: its site's name (TRS templates
    write it on every page), or a description of the site (`城固县人民政府门户网站`), its
    `<title>`, or its title with the site's name after it (`标题 ,汉中第一网`)."""
    if text == head or text in names or _site_suffix(head, text):
        return True
    if (described := _SELF_NAMED.fullmatch(text)) and described["name"] in names:
        return True
    for title in titles:
        if title and text.startswith(title):
            rest = text[len(title) :].strip(" ,，、" + _SEPARATORS)
            if not rest or rest in names or _site_suffix(head, rest):
                return True
    return False


def _time_element(doc: lxml.html.HtmlElement, *, tz: tzinfo, now: datetime) -> datetime | None:
    times = [t for t in doc.iter("time") if t.get("datetime")]
    times.sort(
        key=lambda t: not (t.get("itemprop") == "datePublished" or t.get("pubdate") is not None)
    )
    return next(
        (d for t in times if (d := parse_date(t.get("datetime") or "", tz=tz, now=now))), None
    )


def strip_site_name(title: str, names: tuple[str, ...]) -> str:
    """`title` without a trailing ` - Site` or `_Site` for any of the site's `names`."""
    for name in names:
        if stripped := re.sub(rf"\s*[-|–—·_:：]\s*{re.escape(name)}\s*$", "", title):
            title = stripped
    return title.strip()


def _headings(doc: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    return [(h, lines[0]) for h in doc.iter("h1") if (lines := text_lines(h))]


def page_title(
    doc: lxml.html.HtmlElement, meta: PageMeta, site_names: Collection[str] = ()
) -> str | None:
    """The article's title: OpenGraph or JSON-LD, the heading that `<title>` names, or `<title>`;
    `site_names` are the site's names known beside the page's own (`PageMeta.site_names`).

    Not an `<h1>` naming the site (many Chinese templates write their logo as one, and the
    title in an `<h2>`): every article of such a site was published under the site's name. Nor
    a `<title>` that is only the site's name (old county templates write it on every page):
    no title, rather than that one for every article."""
    head = _head(doc)
    names = tuple(dict.fromkeys(n for n in (meta.site_name, *meta.site_names, *site_names) if n))
    if meta.title and (title := strip_site_name(meta.title, names)) and title not in names:
        return title
    parts = [part.strip() for part in _TITLE_PARTS.split(strip_site_name(head, names))]
    first = parts[0] if parts else ""
    bare = first in names
    site = {*names, *parts[1:]} - (set() if bare else {first})
    if subject := thread_subject(doc.iter("h1")):  # not its category: `[本地新闻]`
        return subject
    headings = [line for _, line in _headings(doc) if line not in site]
    if shown := _shown_title(doc, head, names):
        return shown
    for line in headings:
        if line in head:
            return line
    for line in headings:  # `[本地新闻] 标题`: a forum thread's heading, its category first
        if len(first) >= _MIN_TITLE_PART and first in line:
            return first
    if headings:
        return headings[0]
    return _heading_over_text(doc, names) if bare else first or None


def _heading_over_text(doc: lxml.html.HtmlElement, names: tuple[str, ...]) -> str | None:
    """The first `<h1>`–`<h3>` (or the block holding it alone) right above a meta line or a
    known body: the title a page shows whose `<title>` names only its site (an old TRS
    template's `<h2 class="article-title">`), not a column's heading over a list of links."""
    bodies = set(_KNOWN_BODIES.select(doc))
    for heading in islice(doc.iter("h1", "h2", "h3"), _MOST_HEADINGS):
        if not is_short(heading):
            continue
        line = next(iter(text_lines(heading)), "")
        if not line or line in names:
            continue
        holder = heading
        parent = heading.getparent()
        alone = not any(
            True
            for direction in (False, True)
            for _ in islice(heading.itersiblings(etree.Element, preceding=direction), 1)
        )
        if alone and parent is not None and parent.tag != "body":
            holder = parent
        for after in islice(holder.itersiblings(etree.Element), _HEADING_REACH):
            if after in bodies or is_meta_line(after):
                return line
    return _line_over_meta_line(doc, names)


def _line_over_meta_line(doc: lxml.html.HtmlElement, names: tuple[str, ...]) -> str | None:
    """The short line right above the first labelled, dated meta line: a county template's
    `<div class="con_title">` over `发布时间：… 来源：… 作者：…`, its heading in no `<h1>`.
    The line is the innermost block holding it (a block around the heading and the line holds
    them both), then, where it opens its block, that block (a line of `<span>`s)."""
    for found in islice(doc.iter("div", "p", "td", "span"), _MOST_LINES):
        if not is_dated_label_line(found):
            continue
        line = found
        while (inner := next((c for c in line if is_dated_label_line(c)), None)) is not None:
            line = inner
        for level in (line, *islice(line.iterancestors(), _CLIMB)):
            if level is not line and found not in (level, *level.iterancestors()):
                return None  # no higher than the block first found: above it is the page's
            title, shown = _shown_above(level, names)
            if title or shown:
                return title
        return None
    return None


def _shown_above(level: lxml.html.HtmlElement, names: tuple[str, ...]) -> tuple[str | None, bool]:
    """The title a line just above `level` gives, and whether any line shows there."""
    for above in islice(level.itersiblings(etree.Element, preceding=True), _HEADING_REACH):
        if not is_short(above) or not (lines := text_lines(above)):
            continue
        one = len(lines) == 1 and len(lines[0]) <= _LONGEST_TITLE and lines[0] not in names
        return (lines[0] if one and not _NO_TITLE.search(lines[0]) else None), True
    return None, False


# A breadcrumb, not a heading: `当前位置：首页 >> 新闻中心`.
_NO_TITLE = re.compile(r"当前位置|您的位置|所在位置|>>|»|›")
_CLIMB = 3
_HEADING_REACH, _MOST_LINES, _LONGEST_TITLE = 2, 3_000, 120


def _shown_title(doc: lxml.html.HtmlElement, head: str, names: tuple[str, ...]) -> str | None:
    """A heading showing what `<title>` holds before a short suffix after a separator: a VSB
    page's `<h3>` (or `<td class="titlestyle1040">`) under `<title>标题-汉台区教育体育局</title>`,
    whose hyphen has no spaces. A title's own hyphen (`2026-2027学年校历`) has no heading
    showing only what precedes it."""
    found = _TITLE_ELEMENTS(doc)
    for heading in islice(found if isinstance(found, list) else [], _MOST_HEADINGS):
        if not isinstance(heading, lxml.html.HtmlElement):
            continue
        line = next(iter(text_lines(heading)), "")
        if len(line) < _MIN_SHOWN_TITLE or line in names or not head.startswith(line):
            continue
        rest = head[len(line) :].strip()
        name = rest[1:].strip()
        if rest[:1] in _SEPARATORS and 0 < len(name) <= min(_SITE_SUFFIX_MAX, len(line) - 1):
            return line
    return None


_TITLE_ELEMENTS = etree.XPath("//h1|//h2|//h3|//*[contains(@class, 'title')]")
_MOST_HEADINGS, _MIN_SHOWN_TITLE, _SITE_SUFFIX_MAX = 50, 6, 16


_MIN_TITLE_PART = 4  # shorter, a `<title>`'s first part may be a word of any heading


def title_element(doc: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The element showing the title on the page: where the meta line is looked for. Not a
    link, where another shows it: an e-paper lists the day's articles by title beside each."""
    for heading, line in _headings(doc):
        if line == title or title in line or title in text_of(heading):
            return heading
    body = doc.find("body")
    candidates = body.xpath(".//*[normalize-space(.)=$t]", t=title) if body is not None else []
    shown = (c for c in islice(candidates, _MOST_HEADINGS) if not _links_to(c, title))
    return next(shown, candidates[0]) if candidates else None


# What portal software writes in every page's `<meta name="author">`: its makers, no writer.
_SOFTWARE_MAKERS = re.compile(r"(?i)discuz|comsenz|phpcms|dedecms|empirecms|帝国|织梦|phpwind")


# A CMS's id for whoever keyed the story in (人民网's `F_200963`, `admin123`, `user_12`): a digit
# or an underscore, or no letter at all, is in no person's name.
_NOT_A_NAME = re.compile(r"[\d_]|^[\W_]*$")


def _person(author: str | None) -> str | None:
    """A `<meta name="author">` that names a person: not the software's makers, not an id."""
    if author is None or _SOFTWARE_MAKERS.search(author) or _NOT_A_NAME.search(author):
        return None
    return author


def _has_content(element: lxml.html.HtmlElement) -> bool:
    return bool(text_of(element)) or any(True for _ in islice(element.iter("img"), 1))


def _densest_block(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element whose paragraphs hold the most text outside links (a readability-style score)."""
    scores: dict[lxml.html.HtmlElement, float] = {}
    body = root.find("body")
    for element in (body if body is not None else root).iter():
        if not isinstance(element.tag, str) or element.tag in ("a", "script", "style"):
            continue
        own = len("".join([element.text or ""] + [child.tail or "" for child in element]).strip())
        if own < _MIN_BLOCK_CHARS:
            continue
        scores[element] = scores.get(element, 0) + own
        for share, ancestor in zip((1.0, 0.5), element.iterancestors(), strict=False):
            scores[ancestor] = scores.get(ancestor, 0) + own * share
    return max(scores, key=scores.__getitem__) if scores else None


def _tidy(body: lxml.html.HtmlElement, title: str | None) -> str:
    """Unwrap one-cell layout tables and drop a heading that repeats the title."""
    for table in list(body.iterdescendants("table")):
        cells = table.xpath(".//td|.//th")
        if len(cells) == 1:
            wrappers = [cells[0], *cells[0].iterancestors()]
            for wrapper in wrappers[: wrappers.index(table) + 1]:
                wrapper.drop_tag()
    first = next(iter(body), None)
    if title and first is not None and _repeats_title(first, title):
        first.drop_tree()
    return inner_html(body)


def _repeats_title(element: lxml.html.HtmlElement, title: str) -> bool:
    """The title again, or a heading whose first line is the title (PHPCMS writes the date and
    source line inside the `<h1>`, after a `<br>`)."""
    if text_of(element) == title:
        return True
    return element.tag in _HEADINGS and next(iter(text_lines(element)), None) == title


_HEADINGS = frozenset({"h1", "h2", "h3"})


def _links_to(element: lxml.html.HtmlElement, title: str) -> bool:
    """Whether `element` showing `title` is, or holds, or is inside, a link showing it."""
    links = (element, *element.iterancestors("a"), *element.iterdescendants("a"))
    return any(link.tag == "a" and text_of(link) == title for link in links)


def known_author(doc: lxml.html.HtmlElement, original_of: str | None = None) -> str | None:
    """The poster a platform's template names (`_KNOWN_AUTHORS`), or the author field of an
    original (`原创`) WeChat article of the account `original_of`, unless it holds the
    account's own name; None. A repost's field names the outlet it came from (`汉中日报`),
    which its `来源：` line credits."""
    names = (byline_names(text_of(found)) for found in _KNOWN_AUTHORS.select(doc))
    if found := next((name for name in names if name), None):
        return found
    if account := original_of:
        fields = (byline_names(text_of(field)) for field in _WECHAT_AUTHOR.select(doc))
        return next((name for name in fields if name and name != account), None)
    return None


def article_body(work: lxml.html.HtmlElement, *, url: str, title: str | None) -> str | None:
    """The article's body HTML (unsanitised) from a prepared copy of the page, or None.

    A known body element holding only pictures or a document's viewer (a notice of scanned
    pages, a PDF shown in pdf.js) is the body still. Without one, the title and the meta line
    are left out of what extraction reads: a table-layout page holds them in the rows of the
    table around its text."""
    for furniture in _BOILERPLATE.select(work):
        furniture.drop_tree()
    drop_tool_lines(work)
    link_embedded_documents(work)
    known = _KNOWN_BODIES.select(work) or _PAPER_BODIES.select(work)
    body = next((k for k in known if text_of(k)), None)  # with text: a banner's picture is none
    if body is None:
        body = next((k for k in known if _has_content(k)), None)
    anchor = title_element(work, title) if title else None
    if body is not None and anchor is not None:
        _drop_heading(body, anchor)
    elif anchor is not None:
        line = find_meta_line(anchor)
        body = content_cell(line if line is not None else anchor)
        for element in (line, anchor):
            if body is None and element is not None:
                drop_line(element)
    if body is not None:
        if body.tag == "td" and "t_f" in (body.get("class") or "").split():
            tidy_post(body)  # a forum thread's first post
        append_attachments(body)
    if body is None and (body := extract_main(work, url=url)) is not None:
        append_missing_attachments(body, work)
    if body is None:
        body = _densest_block(work)
    return _tidy(body, title) if body is not None else None


def _drop_heading(body: lxml.html.HtmlElement, anchor: lxml.html.HtmlElement) -> None:
    """Leave out of a known body the title and its meta line when it holds them (a template
    whose `#zoom` is the whole article)."""
    if body not in anchor.iterancestors():
        return
    line = find_meta_line(anchor)
    for element in (line, anchor):
        if element is not None and body in element.iterancestors():
            drop_line(element)
