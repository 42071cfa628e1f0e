"""Where a page sends its reader on at once: `<meta http-equiv="refresh" content="0; url=…">`,
or the `Refresh` header that says the same.

Chinese e-papers (数字报) answer their stable address with such a page pointing at today's
edition, and many government portals send their index on to a column page the same way. A
browser follows it; a list page read without following it holds no items. Only an immediate
refresh counts: a news page that reloads itself, or goes back to the home page after ten
minutes, says nothing about where its content is.
"""

from __future__ import annotations

import re

from feeds.charset import decode
from feeds.htmltree import page_link

MAX_DELAY = 5.0  # seconds: longer is a page meant to be read first
_FORWARDING_PAGE = 4096  # bytes: a page forwarded by script is a stub
_STUB_TEXT = 40  # characters outside scripts, styles, the title and tags ("正在跳转，请稍候…")
_SCRIPT = re.compile(r"<(script|style|title)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_LOCATION = re.compile(
    r"""\blocation(?:\.href)?\s*=\s*(["'])([^"'\s]+)\1"""
    r"""|\blocation\.(?:replace|assign)\(\s*(["'])([^"'\s]+)\3\s*\)"""
)
_HEAD = 32768  # bytes searched: the element belongs in the page's head
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_REFRESH = re.compile(rb"""\bhttp-equiv\s*=\s*["']?\s*refresh(?=["'\s/>])""", re.IGNORECASE)
_CONTENT = re.compile(rb"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# "0; url=/a", "0;URL='/a'", "3, /a": a delay, then the address, perhaps named and quoted.
_TARGET = re.compile(
    r"""^\s*(\d+(?:\.\d*)?)\s*[;,]?\s*(?:url\s*=\s*)?(["']?)([^"']*)\2""", re.IGNORECASE
)


def meta_refresh(
    body: bytes,
    url: str,
    header: str | None = None,
    *,
    charset: str | None = None,
    override: str | None = None,
) -> str | None:
    """The web address a page sends its reader to within `MAX_DELAY` seconds, by its `Refresh`
    `header` or else the meta refresh in `body`, resolved against `url`; None when there is
    none, or it names the page itself. An address written with characters beyond ASCII is
    read in the page's charset (`charset` from its header, `override` the source's
    `encoding`), as a browser reads it: `url=/专题/今日.htm` in a GBK page."""
    if header is not None:
        return _target(header, url)
    head = body[:_HEAD]
    if not re.search(rb"(?i)refresh", head):
        return None
    for tag in _META.finditer(head):
        if not _REFRESH.search(tag[0]) or not (content := _CONTENT.search(tag[0])):
            continue
        value = next(part for part in content.groups() if part is not None)
        return _target(_in_page_charset(value, body, charset, override), url)
    return None


def _in_page_charset(value: bytes, body: bytes, charset: str | None, override: str | None) -> str:
    if value.isascii():
        return value.decode("ascii")
    codec = decode(body[:_HEAD], header_charset=charset, override=override).charset
    return value.decode(codec, errors="replace")


def script_redirect(body: bytes, url: str) -> str | None:
    """Where a forwarding page's script sends its reader: `window.location.href = "…"` or
    `location.replace("…")` in a small page with nothing to read besides. A page with text of
    its own is a page to read, whatever its scripts do."""
    if len(body) > _FORWARDING_PAGE or not re.search(rb"(?i)location", body):
        return None
    page = body.decode("latin-1")
    if len("".join(_TAG.sub("", _SCRIPT.sub("", page)).split())) > _STUB_TEXT:
        return None
    found = {m[2] or m[4] for m in _LOCATION.finditer(page)}
    if len(found) != 1:  # none, or a choice made by the script: not for us to guess
        return None
    return _elsewhere(found.pop(), url)


def _target(content: str, url: str) -> str | None:
    found = _TARGET.match(content)
    if found is None or float(found[1]) > MAX_DELAY:
        return None
    return _elsewhere(found[3], url)


def _elsewhere(address: str, url: str) -> str | None:
    """`address` resolved against `url`, if it is a web page other than `url` itself."""
    target = page_link(address, url)
    return target if target and target.split("#")[0] != url.split("#")[0] else None
