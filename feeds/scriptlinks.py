"""Links a page writes in script rather than in `href`: a list row that opens its article with
`onclick="openwin('…')"` or `href="javascript:window.open('…')"`, and the pager TRS WCM
templates write with `createPageHTML(count, index, "name", "ext")` (or, in later templates,
`createPageHTML('page_div', count, page, 'name', 'ext', records)`), and the attachments a TRS
notice writes out (`var file_appendix='<a href="./P0….pdf">…</a>'; document.write(…)`).

Read strictly: one quoted URL handed to a known call, else nothing. Every pattern is bounded,
and a script attribute longer than a real one is not read at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from feeds.files import document_type
from feeds.htmltree import page_link

_LONGEST_ATTRIBUTE = 4096  # an `onclick` or `javascript:` href longer than this opens nothing
# A quoted URL handed to `openwin(…)` (`openWin`, `openWindow`), `window.open(…)` or assigned to
# `location.href`: a list's ways of opening an article in a pop-up or the same window.
_OPENS = re.compile(
    r"(?:\b(?i:openwin)(?:dow)?|\bwindow\.open)\s*\(\s*(?P<q>['\"])"
    r"(?P<url>[^'\"\s<>]{1,2048})(?P=q)\s*[,)]"
    r"|\blocation\.href\s*=\s*(?P<q2>['\"])(?P<url2>[^'\"\s<>]{1,2048})(?P=q2)"
)
_VOID = re.compile(r"void\s*\(\s*(?:0\s*)?\)|void\s+0")  # with `;` and spaces stripped
# A path, a query or a file name with its extension: `openwin('5521')` hands a record's number
# to a function that makes the URL, which no list should guess.
_URL_LIKE = re.compile(r"[/?]|\.[A-Za-z]\w{0,5}$")
# `createPageHTML(3, 0, "t20261120_123100", "html")`: the page count, this page's index from 0,
# the file name of page 0 and the extension; page N is `name_N.ext`.
# Later templates name the pager's element first, count this page from 1 and end with the
# number of records: `createPageHTML('page_div', 5, 1, 'fg', 'shtml', 89)`, page 2 `fg_2.shtml`.
_TRS_PAGER = re.compile(
    r"\bcreatePageHTML\s*\(\s*(?:(?P<box>['\"])[\w-]{1,100}(?P=box)\s*,\s*)?"
    r"(?P<count>\d{1,5})\s*,\s*(?P<index>\d{1,5})\s*,\s*"
    r"(?P<q>['\"])(?P<name>[\w.-]{1,200})(?P=q)\s*,\s*(?P<q2>['\"])(?P<ext>[A-Za-z0-9]{1,10})(?P=q2)"
    r"\s*(?:,\s*\d{1,9}\s*)?\)"
)


# A script's string literal, read in one pass (possessive: nothing is tried again), of which
# those holding a link (`'<a href="./P0….pdf">任务表.pdf</a>'`) are read as markup.
_LITERAL = re.compile(r"'((?:[^'\\\n]|\\.)*+)'|\"((?:[^\"\\\n]|\\.)*+)\"")
_LINK_START = re.compile(r"<a\s", re.IGNORECASE)
_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]{1,2000})""", re.IGNORECASE)
_ESCAPE = re.compile(r"\\(.)")
# Scripts read at most, in all, per page: a hostile page's scripts cost no more than these.
_SCRIPT_CHARS, _MOST_WRITTEN = 100_000, 20


def write_attachments(doc: lxml.html.HtmlElement) -> None:
    """Put in place of each script that holds links to documents as strings (a TRS notice's
    `var file_appendix='<a href="./P0….pdf">任务表.pdf</a>';`, which `document.write` shows
    as `附件：…`) a paragraph `附件：` with those links, as the browser shows it: the notice's
    only link to its document was lost with the script. Links stay as written (relative),
    for `prepare_links`."""
    written, chars_left = 0, _SCRIPT_CHARS
    scripts = [s for s in doc.iter("script") if s.text and "<a" in s.text.lower()]
    for script in scripts:
        code = script.text or ""
        if written >= _MOST_WRITTEN or len(code) > chars_left:
            break
        chars_left -= len(code)
        links = _quoted_documents(code, _MOST_WRITTEN - written)
        if not links or script.getparent() is None:
            continue
        paragraph = lxml.html.Element("p")
        paragraph.text = "附件："
        for link in links:
            link.tail = " "
            paragraph.append(link)
        written += len(links)
        script.addprevious(paragraph)
        script.drop_tree()


def _quoted_documents(code: str, most: int) -> list[lxml.html.HtmlElement]:
    """The first `most` links to documents written in `code`'s string literals."""
    found: list[lxml.html.HtmlElement] = []
    for match in _LITERAL.finditer(code):
        literal = match[1] if match[1] is not None else match[2]
        markup = _ESCAPE.sub(r"\1", literal)
        if not _LINK_START.search(markup) or not any(map(document_type, _HREF.findall(markup))):
            continue  # parsed only where a link to a document is written
        try:
            fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
        except (etree.ParserError, ValueError):
            continue
        found += [link for link in fragment.iter("a") if _is_document(link)]
        if len(found) >= most:
            return found[:most]
    return found


def _is_document(link: lxml.html.HtmlElement) -> bool:
    return document_type(link.get("href") or "") is not None


def is_script_link(element: lxml.html.HtmlElement) -> bool:
    """Whether `element` opens something by script: a `javascript:` href that does more than
    nothing, or an `onclick` on a link that goes nowhere itself (`#`, `javascript:void(0)`, no
    href). One that does nothing at all (`javascript:;` alone) leads nowhere, as `#` does."""
    href = (element.get("href") or "").strip()
    script = href[11:] if href.lower().startswith("javascript:") else None
    code = (script or "").strip().rstrip(";").rstrip()
    if code and not _VOID.fullmatch(code):
        return True
    nowhere = script is not None or not href or href.startswith("#")
    return nowhere and bool((element.get("onclick") or "").strip())


def script_target(element: lxml.html.HtmlElement, base: str) -> str | None:
    """The URL a script link opens, resolved against `base`: the one quoted URL its
    `javascript:` href, or else its `onclick`, hands to `openwin`, `window.open` or
    `location.href`; None when there is none, or more than one."""
    href = (element.get("href") or "").strip()
    if href.lower().startswith("javascript:") and (found := _opened(href[11:], base)):
        return found
    return _opened(element.get("onclick") or "", base)


def _opened(code: str, base: str) -> str | None:
    if not code or len(code) > _LONGEST_ATTRIBUTE:
        return None
    urls = [match["url"] or match["url2"] for match in _OPENS.finditer(code)]
    if len(urls) != 1 or not _URL_LIKE.search(urls[0]) or urls[0].lower().startswith("javascript:"):
        return None
    return page_link(urls[0], base)


def trs_next_page(doc: lxml.html.HtmlElement, base: str, own: str | None = None) -> str | None:
    """The next page a TRS WCM pager written by script names (`createPageHTML(3, 0, "index",
    "html")` on page 0 leads to `index_1.html`; `createPageHTML('page_div', 3, 1, 'index',
    'html', 40)` on page 1 to `index_2.html`), resolved against `base`; None on its last page
    or without one. With `own`, the page's URL, only when the pager names this very page as the
    one it is on (an article's pager, not one of another article's pages)."""
    for script in doc.iter("script"):
        if not script.text or "createPageHTML" not in script.text:
            continue
        if match := _TRS_PAGER.search(script.text):
            count, index = int(match["count"]), int(match["index"])
            # the later form counts from 1, and its page N (N > 1) is `name_N`
            first = 1 if match["box"] else 0
            name, ext = match["name"], match["ext"]
            here = f"{name}.{ext}" if index <= first else f"{name}_{index}.{ext}"
            if index + 1 - first >= count or (
                own and urlsplit(own).path.rpartition("/")[2] != here
            ):
                return None
            return page_link(f"{name}_{index + 1}.{ext}", base)
    return None
