"""A page's copy made ready for its body to be chosen (`feeds.autoextract.article_body`).

Government templates print tool lines around an article (`[打印本页] [关闭窗口]`, `字号：[大 中
小]`, a QR code's `扫一扫在手机打开当前页`) in elements no class names reliably, and old
table-layout sites put the title, the meta line, the text and those tools in rows of one
table, which extraction then keeps whole. A notice whose text is a document shows it in a
viewer (`<iframe src="…/viewer.html?file=….pdf">`, `<embed src="….pdf">`), which the
sanitiser removes: the reader had no way to the document. A Hong Kong government press
release ends its text with a trailer (`完`, its day and time of issue), which dates it
(`feeds.pressrelease`) and is no part of the story. A government disclosure page (政府信息公开)
prints its record (`索引号：` `发布机构：` `成文日期：`…) as a table above the document, which
extraction, or a content element holding both, took for the document's first block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from posixpath import basename
from urllib.parse import parse_qsl, unquote, urlsplit

import lxml.html
from lxml import etree

from feeds.attribution import is_staff_credits, label_text
from feeds.files import document_type
from feeds.htmltree import text_of
from feeds.normalize import is_share_line
from feeds.pressrelease import press_release_trailer
from feeds.urls import resolve

# An element whose whole text is tools: print, close, font size, a QR caption, with their
# brackets and separators. Found from the text nodes holding one of `_TOOL_WORDS`.
_TOOL_WORDS = ("打印", "关闭", "字号", "字体", "扫一扫", "纠错")
_TOOL_LINE = re.compile(
    r"(?:[\s\[\]【】()（）|｜/:：·、]*"
    r"(?:打印本页|打印此页|打印本文|打印文章|打印|关闭窗口|关闭本页|关闭|返回顶部|收藏本页|加入收藏"
    r"|我要纠错|纠错"
    r"|字号|字体|大|中|小|默认|扫一扫在手机打开当前页|扫一扫在手机上打开当前页|扫一扫在手机打开"
    r"))+[\s\[\]【】()（）|｜/:：·、]*"
)
_TOOL_MAX_CHARS, _MOST_TOOL_TEXTS, _REACH = 60, 50, 8
_MEDIA = ("img", "iframe", "embed", "object", "video", "audio")
_TOOL_HINT = re.compile("|".join(_TOOL_WORDS))
# Texts that may hold a desk's staff credits (`staff_credits`), in either script.
_STAFF_WORDS = (
    "编辑", "編輯", "责编", "責編", "审核", "審核", "校对", "校對", "终审", "終審", "监制", "監製",
    "初审", "初審", "复审", "複審", "二审", "三审",
)  # fmt: skip
# Read with a loop over the elements' own text: an XPath over every text node with these
# words, outside script and style, cost a millisecond a page.
_STAFF_HINT = re.compile("|".join(_STAFF_WORDS))
_STAFF_MAX_CHARS, _MOST_STAFF_TEXTS, _MOST_SIBLINGS = 80, 20, 30
# What a follow footer's line holds (`drop_follow_footer`): asked of the page's text first.
_SHARE_HINT = re.compile("二维码|阅读原文|蓝字|扫码关注")
_NAMES_A_CODE = re.compile("二维码|扫码")
_SHARE_MAX_CHARS, _MOST_SHARE_TEXTS = 104, 10
# Query parameters through which a document viewer (pdf.js's `viewer.html?file=`) is given
# the document it shows.
_VIEWER_PARAMETERS = frozenset({"file", "url", "src", "path", "pdf", "doc"})
_MOST_EMBEDS = 20


def drop_tool_lines(work: lxml.html.HtmlElement) -> None:
    """Remove each outermost element whose whole text is tools (`_TOOL_LINE`), up to the row
    of a layout table that holds nothing else, never one holding a picture or a viewer; and a
    press release's trailer (`drop_trailer`)."""
    drop_trailer(work)
    found = []
    for element in islice(_tool_owners(work), _MOST_TOOL_TEXTS):
        outer = None
        for candidate in islice(_up(element), _REACH):
            if candidate.tag in ("body", "html") or not _is_tools(candidate):
                break
            outer = candidate
        if outer is not None:
            found.append(outer)
    for element in found:
        if element.getparent() is not None and not any(a in found for a in element.iterancestors()):
            element.drop_tree()


def drop_trailer(work: lxml.html.HtmlElement) -> None:
    """Remove a press release's trailer (`feeds.pressrelease`) and the line
    breaks and emptied elements it leaves at the end of the text it ended; and what closes a
    story: a WeChat account's follow footer (`drop_follow_footer`), then the staff credits
    (`staff_credits`) it hid."""
    drop_follow_footer(work)
    for line in staff_credits(work):
        line.drop_tree()
    trailer = press_release_trailer(work)
    if trailer is None:
        return
    for owner, is_tail in trailer.pieces:
        if is_tail:
            owner.tail = None
        else:
            owner.text = None
    for _ in range(_MOST_EMPTIED):
        last = trailer.holder[-1] if len(trailer.holder) else None
        if last is None or (last.tail or "").strip() or _shows(last):
            break
        last.drop_tree()


def drop_follow_footer(work: lxml.html.HtmlElement) -> None:
    """Remove the lines of a WeChat account's follow footer (`长按识别二维码关注我们`,
    `点击上方蓝字关注`: `feeds.normalize.is_share_line`, asking to follow) with the QR code just
    before one, as a portal republishing the article keeps them: no part of the story. So is
    the picture just above a `点击蓝字 关注我们` opening the text (an animated banner pointing
    at the account's name)."""
    if "关注" not in (page_text := work.text_content()) or not _SHARE_HINT.search(page_text):
        return
    for owner in _holding(work, _SHARE_HINT)[-_MOST_SHARE_TEXTS:]:
        if owner.getparent() is None:
            continue
        line = _short_text(owner, _SHARE_MAX_CHARS)
        # only one asking to follow: `扫描二维码报名` is a notice's own line, its QR code too
        if not line or "关注" not in line or not is_share_line(line):
            continue
        outer: lxml.html.HtmlElement = owner
        for parent in islice(owner.iterancestors(), _REACH):
            if parent.tag in ("body", "html") or _short_text(parent, len(line)) != line:
                break
            outer = parent
        code = outer.getprevious()
        # the QR code the line asks to press or scan; `点击上方蓝字关注` points at none
        if (
            isinstance(code, lxml.html.HtmlElement)
            and not text_of(code)
            and _holds_media(code)
            and (_NAMES_A_CODE.search(line) or ("蓝字" in line and _opens(code)))
        ):
            code.drop_tree()
        outer.drop_tree()


def _opens(element: lxml.html.HtmlElement) -> bool:
    """Whether nothing shows before `element` in the block holding it (a few siblings read)."""
    parent = element.getparent()
    if parent is None or (parent.text or "").strip():
        return False
    before = islice(element.itersiblings(preceding=True), _REACH + 1)
    return not any((s.tail or "").strip() or _shows(s) for s in before)


def staff_credits(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The outermost elements holding only a desk's staff credits (`（责任编辑：admin）`,
    `编辑：张敏  审核：刘伟`: `feeds.attribution.is_staff_credits`) after which nothing shows
    in the block holding them but others of them: a mainland story's closing lines, no part
    of its text. Read from the last texts naming a desk's role."""
    lines: list[lxml.html.HtmlElement] = []
    if not _STAFF_HINT.search(root.text_content()):
        return lines
    for owner in reversed(_holding(root, _STAFF_HINT)[-_MOST_STAFF_TEXTS:]):
        outer = None
        for candidate in islice(_up(owner), _REACH):
            if candidate.tag in ("body", "html") or not _is_staff_line(candidate):
                break
            outer = candidate
        if outer is not None and outer not in lines and _ends_block(outer, lines):
            lines.append(outer)
    return lines


def _holding(root: lxml.html.HtmlElement, words: re.Pattern[str]) -> list[lxml.html.HtmlElement]:
    """The elements whose own text (not a tail, not a script's) holds one of `words`, in
    document order."""
    return [
        element
        for element in root.iter(etree.Element)
        if element.text and element.tag not in ("script", "style") and words.search(element.text)
    ]


def _is_staff_line(element: lxml.html.HtmlElement) -> bool:
    text = _short_text(element, _STAFF_MAX_CHARS)
    return bool(text and is_staff_credits(text)) and not _holds_media(element)


def _ends_block(element: lxml.html.HtmlElement, others: list[lxml.html.HtmlElement]) -> bool:
    """Whether nothing but `others` shows after `element` within its parent (a few siblings
    are read: a block ending in many more is no story's end)."""
    following = list(islice(element.itersiblings(), _MOST_SIBLINGS + 1))
    if (element.tail or "").strip() or len(following) > _MOST_SIBLINGS:
        return False
    for sibling in following:
        if (sibling.tail or "").strip():
            return False
        if sibling not in others and isinstance(sibling.tag, str) and _shows(sibling):
            return False
    return True


def _tool_owners(work: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """The elements holding a text that names a tool (`_TOOL_WORDS`), its own or a child's
    tail; read by a loop, as an XPath over every text node cost half a millisecond a page."""
    if not _TOOL_HINT.search(work.text_content()):
        return
    for element in work.iter(etree.Element):
        if element.text and _TOOL_HINT.search(element.text):
            yield element
        if element.tail and _TOOL_HINT.search(element.tail):
            parent = element.getparent()
            if parent is not None:
                yield parent


def _up(element: lxml.html.HtmlElement | None) -> Iterator[lxml.html.HtmlElement]:
    while element is not None:
        yield element
        element = element.getparent()


def _is_tools(element: lxml.html.HtmlElement) -> bool:
    text = _short_text(element, _TOOL_MAX_CHARS)
    return bool(text and _TOOL_LINE.fullmatch(text)) and not _holds_media(element)


def _short_text(element: lxml.html.HtmlElement, limit: int) -> str | None:
    """`text_of(element)`, or None without reading it all when its raw text is over `limit`."""
    size = 0
    for piece in element.itertext():
        size += len(piece.strip())
        if size > limit:
            return None
    return text_of(element)


def _holds_media(element: lxml.html.HtmlElement) -> bool:
    return any(True for _ in islice(element.iter(*_MEDIA), 1))


def drop_line(element: lxml.html.HtmlElement) -> None:
    """Remove a short line (the title, the meta line) with the wrappers that hold only it, such
    as its row of a layout table; one holding a picture or blocks of its own is left."""
    text = text_of(element)
    if element.getparent() is None or _holds_media(element) or _has_blocks(element):
        return
    outer = element
    for parent in islice(outer.iterancestors(), _REACH):
        if parent.tag in ("body", "html") or _short_text(parent, len(text)) != text:
            break
        if _holds_media(parent):
            break
        outer = parent
    outer.drop_tree()


def _has_blocks(element: lxml.html.HtmlElement) -> bool:
    return any(True for _ in islice(element.iterdescendants("p", "table", "ul", "ol"), 1))


def content_cell(line: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The table cell holding an article's text on a table-layout page: in the first row after
    the row of `line` (its meta line, else its title) that shows anything, its one cell that
    does (others are spacers)."""
    row = next((e for e in islice(_up(line), _ROW_REACH) if e.tag == "tr"), None)
    if row is None:
        return None
    for sibling in islice(row.itersiblings("tr"), _ROW_REACH):
        shown = [cell for cell in sibling.xpath("./td|./th") if _shows(cell)]
        if not shown:
            continue
        if len(shown) == 1 and len(text_of(shown[0])) >= _MIN_CELL_CHARS:
            return shown[0]
        return None
    return None


def _shows(element: lxml.html.HtmlElement) -> bool:
    return bool(text_of(element)) or _holds_media(element)


_ROW_REACH, _MIN_CELL_CHARS = 4, 10
_MOST_EMPTIED = 20  # the `<br>`s and emptied lines a trailer leaves


def link_embedded_documents(work: lxml.html.HtmlElement) -> None:
    """Replace each `<iframe>`, `<embed>` or `<object>` showing a document (its own address, or
    the `file=` a viewer is given) by a link to it; links are already absolute."""
    for element in list(islice(work.iter("iframe", "embed", "object"), _MOST_EMBEDS)):
        source = (element.get("data" if element.tag == "object" else "src") or "").strip()
        target = _document(source)
        if target is None or element.getparent() is None:
            continue
        link = lxml.html.Element("a", href=target)
        link.text = unquote(basename(urlsplit(target).path)) or target
        link.tail = element.tail
        element.getparent().replace(element, link)


def _document(source: str) -> str | None:
    if not source:
        return None
    if document_type(source):
        return source
    try:
        query = parse_qsl(urlsplit(source).query)
    except ValueError:
        return None
    for name, value in query:
        if name.lower() in _VIEWER_PARAMETERS and document_type(value.strip()):
            try:
                return resolve(source, value.strip())  # pdf.js reads it relative to the viewer
            except ValueError:
                return None
    return None


# The labels of a disclosure page's record (Simplified, as `label_text` folds Traditional ones).
_RECORD_LABELS = (
    "索引号|发布机构|发布单位|发文机关|发文单位|主题分类|信息分类|体裁分类|组配分类|服务对象"
    "|发文字号|文号|文件编号|生成日期|成文日期|发布日期|公开日期|实施日期|废止日期|失效日期"
    "|有效性|效力状态|公开方式|公开形式|公开范围|公开时限|信息名称|名称|主题词|所属机构"
)
# A record holds one of these at least, in either script.
_RECORD_HINT = re.compile("索引[号號]|发文字号|發文字號|成文日期|生成日期|主[题題]分[类類]")
_RECORD_LABEL = re.compile(rf"^(?P<label>{_RECORD_LABELS})(?:[:：](?P<value>.*))?$")
_MOST_BLOCKS, _MOST_CELLS, _CELL_CHARS, _MIN_LABELS = 300, 60, 200, 3


def drop_disclosure_tables(work: lxml.html.HtmlElement) -> None:
    """Remove each table, `dl` or list that is a disclosure page's record: at least three of
    its labels (`_RECORD_LABELS`), each with its value in its own cell or after its colon, and
    those pairs the most of what it shows. A table of documents whose header row names
    `文号` `名称` `发布日期` has no label beside a value, and stays."""
    if not _RECORD_HINT.search(work.text_content()):
        return  # most pages: their every list and table read for labels cost 0.2 ms
    blocks = islice(work.iter("table", "dl", "ul", "ol"), _MOST_BLOCKS)
    for block in [block for block in blocks if _is_record(block)]:
        if block.getparent() is not None:
            block.drop_tree()


def _record_cells(block: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement] | None:
    """The cells of `block` (not of a table inside it), or None when it has more than a
    record holds."""
    if block.tag == "table":
        found = (
            cell
            for cell in islice(block.iter("td", "th"), _MOST_CELLS * 4)
            if next(cell.iterancestors("table"), None) is block
        )
    else:
        found = (child for child in block if child.tag in ("li", "dt", "dd"))
    cells = list(islice(found, _MOST_CELLS + 1))
    return cells if len(cells) <= _MOST_CELLS else None


def _is_record(block: lxml.html.HtmlElement) -> bool:
    cells = _record_cells(block)
    if not cells:
        return False
    texts = [_cell_text(cell) for cell in cells]
    if None in texts or any(_holds_blocks(cell) for cell in cells):
        return False  # a cell no value is: a layout table holding the document too
    labels: set[str] = set()
    paired = 0  # the cells of a label and its value
    for index, (cell, text) in enumerate(zip(cells, texts, strict=True)):
        found = _RECORD_LABEL.match(text) if text else None
        if found is None:
            continue
        if found["value"]:  # `索引号：11610700…` in one cell
            labels.add(found["label"])
            paired += 1
            continue
        following = cells[index + 1] if index + 1 < len(cells) else None
        if following is None or following is not cell.getnext():
            continue  # the last label of a header row
        value = texts[index + 1]
        if value is not None and _RECORD_LABEL.match(value):
            continue  # a header row's label beside the next
        labels.add(found["label"])
        paired += 2 if value else 1
    shown = sum(1 for text in texts if text != "")
    return len(labels) >= _MIN_LABELS and paired * 2 >= shown


def _holds_blocks(cell: lxml.html.HtmlElement) -> bool:
    """Whether a cell holds paragraphs, blocks or headings, as a document does: a value has
    one at most (`<td><p>汉中市人民政府办公室</p></td>`)."""
    return sum(1 for _ in islice(cell.iter(*_BLOCKS), 2)) > 1


_BLOCKS = ("p", "div", "table", "ul", "ol", "section", "h1", "h2", "h3", "h4")


def _cell_text(cell: lxml.html.HtmlElement) -> str | None:
    """The cell's text without spaces (`索 引 号：` is a label too), with its labels' Traditional
    characters folded; None when it is longer than a record's value."""
    text = _short_text(cell, _CELL_CHARS)
    return None if text is None else label_text("".join(text.split()))
