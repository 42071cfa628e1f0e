"""The meta line of an article page: the short line near its title that Chinese portals fill
with date, poster, source and a counter (`发布时间：… 来源：… 浏览次数：…`), or a date alone.

`feeds.htmlpage` reads the page's date, author and origin from it; automatic extraction
(`feeds.autoextract`) leaves it out of a body it has to find itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice

import lxml.html
from lxml import etree

from feeds.attribution import label_text, role_byline
from feeds.dates import find_date
from feeds.han import HAN
from feeds.htmltree import text_of
from feeds.pressrelease import press_release_trailer

# A bare `时间：` or `日期：` labels the page only where it starts a label: in a body line, it is
# the time of an event (`报名时间：2022年3月1日`, `截止日期：…`), and would date the article.
# A counter (`浏览：128`, `点击次数：`) sits on that line too, often beside a date alone; a
# Discuz! forum post writes `发表于 2022-1-14 17:50`, with no colon, and in its first week
# `发表于 昨天 09:30` (`3 小时前`), its calendar date in a `title` (`feeds.pagedates`).
# A `资料来源：` alone (`_DATA_SOURCE`) is a meta line near the title only: after body text it
# credits a figure or a table. An agency (`发布机构：`, Macau's `發佈機構：`) labels a meta line.
_META_LINE = re.compile(
    r"(?:发布者|发布人|作者|编辑|(?<!资料)来源|来自|稿源|转载自|发布时间|发布日期|发表时间"
    r"|发布机构|发布单位|发文机关|发文单位"
    r"|(?:浏览|点击|阅读|访问)(?:次数|数|量)?"
    r"|(?<![" + HAN + r"])(?:时间|日期))\s*[:：]"
    r"|发表于\s*(?:\d|[今昨前]天|半小时前|刚刚)"
    r"|\b(?:By\s+[A-Z]|(?i:source|author|posted|published)\s*[:：])"
)
_DATA_SOURCE = re.compile(r"资料来源\s*[:：]")
# A line of a date alone (`2022-01-14 17:50`, `[2022年01月14日]`, `2026/11/29 上午 12:15`,
# `民國115年11月29日（週日）`) near the title, as many sites print it without a label.
_DATE_ONLY = re.compile(
    r"[\s\d/.:年月日时分秒時點点号號()（）\[\]【】|｜\uff10-\uff19－／：．"
    r"上下午早晚凌晨中民国國星期周週一二三四五六天-]{8,40}"
)
_ANY_TIME = datetime(9999, 12, 31, tzinfo=UTC)  # only whether a date is there is asked
_META_LINE_MAX_CHARS, _META_LINE_REACH, _META_LINE_BEFORE = 200, 60, 12


def _following(anchor: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """Elements after `anchor`'s start tag in document order, its own descendants first."""
    yield from anchor.iterdescendants()
    node: lxml.html.HtmlElement | None = anchor
    while node is not None:
        for sibling in node.itersiblings():
            yield sibling
            yield from sibling.iterdescendants()
        node = node.getparent()


def _preceding(anchor: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """Elements before `anchor` in reverse document order, nearest first: the siblings before
    it (each with its descendants, last first), then its parent's, up the tree."""
    node: lxml.html.HtmlElement | None = anchor
    while node is not None:
        for sibling in node.itersiblings(preceding=True):
            yield sibling
            yield from reversed(list(sibling.iterdescendants()))
        node = node.getparent()


def meta_element(anchor: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The short line near the title that carries labels such as `发布者:` `来源：` `发布时间：`,
    or a date alone: after the title, else just before it (county sites print it above). A
    line dating a document twice (`成文日期：… 发布日期：…`) is given as a copy without the
    dates that are not its publication's, so that its first date is that one; an undated one
    beside a date line (新华网's `来源：` under the day and time) as a copy ending in that date."""
    found = find_meta_line(anchor, closing=True)
    line = _publication_line(found) if found is not None else None
    if line is not None and _holds_date(text_of(line)):
        return line
    if found is not None and (dated := _dated_neighbour(found)) is not None:
        return _with_date(line, text_of(_publication_line(dated)))
    trailer = press_release_trailer(anchor.getroottree().getroot())
    return _with_date(line, trailer.published) if trailer is not None else line


_LINE_KINDS = ("labelled", "date", "source")


def find_meta_line(
    anchor: lxml.html.HtmlElement, *, closing: bool = False
) -> lxml.html.HtmlElement | None:
    """`meta_element`'s line as it is in the page: after the title, else before it. A line
    after body text is the body's: a credit or an editor's `【责任编辑:…】` ending the text, a
    letter's signature date (its 落款), a figure's `资料来源：`. With `closing`, a labelled one
    with a date (`发布日期：` under the text) is the page's where no line comes near the title."""
    passed: list[lxml.html.HtmlElement] = []  # elements after the title holding body text
    closing_line = None
    for count, element in enumerate(_following(anchor)):
        if count >= _META_LINE_REACH:
            break
        kind = _line_kind(element)
        if kind in _LINE_KINDS:
            if not _after_text(element, passed):
                return element
            if kind == "labelled" and closing_line is None and _holds_date(text_of(element)):
                closing_line = element
        if kind == "text":
            passed.append(element)
    for count, element in enumerate(_preceding(anchor)):
        if count >= _META_LINE_BEFORE:
            break
        if _line_kind(element) in _LINE_KINDS:
            return element
    return closing_line if closing else None


def _dated_neighbour(line: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """A dated line next to `line` in its block, no body text between them: 新华网 prints the
    day and time, then `来源：`, above its title."""
    for siblings in (line.itersiblings(preceding=True), line.itersiblings()):
        for sibling in islice(siblings, _NEIGHBOURS):
            kind = _line_kind(sibling)
            if kind == "text":
                break
            if kind in ("labelled", "date") and _holds_date(text_of(sibling)):
                return sibling
    return None


_NEIGHBOURS = 2


def is_meta_line(element: lxml.html.HtmlElement) -> bool:
    """Whether `element` reads as a meta line: labelled (`发布时间：`), or a date alone. One
    whose markup holds more text than `_RAW_LINE_MAX` characters (scripts and spaces counted)
    is none, and is read no further."""
    return is_short(element) and _line_kind(element) in ("labelled", "date")


def is_dated_label_line(element: lxml.html.HtmlElement) -> bool:
    """Whether `element` is a labelled meta line with a date (`发布时间：2022-11-27 10:31
    来源：…`), read no further than such a line's length: unmistakably an article's."""
    return (
        is_short(element, _META_LINE_RAW_MAX)
        and _line_kind(element) == "labelled"
        and _holds_date(text_of(element))
    )


_META_LINE_RAW_MAX = 400  # a meta line's markup text, its counter's script included


def is_short(element: lxml.html.HtmlElement, most: int | None = None) -> bool:
    """Whether the text in `element`'s markup is at most `most` characters (`_RAW_LINE_MAX`),
    read no further than that: a title or a meta line is."""
    limit = _RAW_LINE_MAX if most is None else most
    size = 0
    for piece in element.itertext():
        size += len(piece)
        if size > limit:
            return False
    return True


_RAW_LINE_MAX = 5_000


def _line_kind(element: lxml.html.HtmlElement) -> str | None:
    """What `element` is: "labelled", "date" or "source" (`资料来源：` alone), a meta line;
    "text", the body's (a sentence, or more than a line holds); else None."""
    if not isinstance(element.tag, str) or element.tag in ("script", "style", "a"):
        return None
    text = text_of(element)
    if len(text) > _META_LINE_MAX_CHARS or "。" in text:
        return "text"  # a sentence is the body's: a short notice crediting its source is no line
    if not text:
        return None
    folded = label_text(text)
    if _META_LINE.search(folded):
        return "labelled"
    if _DATA_SOURCE.search(folded):
        return "source"
    if _DATE_ONLY.fullmatch(text) and _holds_date(text):
        return "date"
    if len(text) <= _TIMED_LINE_MAX and _timed(element):
        return "date"
    return None


def _timed(element: lxml.html.HtmlElement) -> bool:
    """Whether the first child `<time>` of `element` holds a date: a mobile template's line of the
    source's name and the time (`<span>汉中日报</span> <time>11-29 10:20</time>`)."""
    found = element.find("time")
    return found is not None and find_date(text_of(found), tz=UTC, now=_SOME_DAY) is not None


_TIMED_LINE_MAX = 40
_SOME_DAY = datetime(2020, 12, 31, tzinfo=UTC)  # a day a date without its year is read by


def byline_under(anchor: lxml.html.HtmlElement) -> str | None:
    """The names of a reporter's byline printed alone just after the title (`本报记者 刘芳`,
    an e-paper's row under its 主标题 and 副标题), before any body text."""
    for element in islice(_following(anchor), _BYLINE_REACH):
        if not isinstance(element.tag, str) or not is_short(element, _BYLINE_MAX):
            continue
        if names := role_byline(text_of(element)):
            return names
        if _line_kind(element) == "text":
            return None
    return None


_BYLINE_REACH, _BYLINE_MAX = 12, 60


def _holds_date(text: str) -> bool:
    return find_date(text, tz=UTC, now=_ANY_TIME) is not None


def _after_text(element: lxml.html.HtmlElement, passed: list[lxml.html.HtmlElement]) -> bool:
    """Whether body text comes between the title and `element`: an element passed before it
    that does not hold it."""
    holders = set(element.iterancestors())
    return any(other not in holders for other in passed)


# Dates a government disclosure page (政府信息公开) writes beside its publication's: when the
# document was signed, made, comes into force or expires.
_DATE_VALUE = (
    r"\d{2,4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}[:：]\d{1,2}(?:[:：]\d{1,2})?)?"
)
_OTHER_DATE = re.compile(
    rf"(?:成文|生成|印发|发文|签发|废止|失效|实施|施行|生效)(?:日期|时间)\s*[:：]\s*(?P<date>{_DATE_VALUE})?"
)
_PUBLICATION_DATE = re.compile(r"(?:发布|公开|发表)(?:日期|时间)\s*[:：]")
_LEADING_DATE = re.compile(rf"^\s*(?:{_DATE_VALUE})")
_MOST_PIECES = 200


def _publication_line(line: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """`line`, or when it holds a publication date and another labelled date (`成文日期：`), a
    copy without the other dates: a label and its date, or a label and the date in the next
    text (the next cell of a metadata table)."""
    text = label_text(text_of(line))
    if not (_PUBLICATION_DATE.search(text) and _OTHER_DATE.search(text)):
        return line
    pruned = copy.deepcopy(line)
    pruned.tail = None
    pending = False  # a label whose date is in the next text
    walk = etree.iterwalk(pruned, events=("start", "end"))
    for count, (event, element) in enumerate(walk):
        if count >= _MOST_PIECES:
            break
        if event == "end" and element is pruned:
            continue
        value = (element.text if event == "start" else element.tail) or ""
        if not value.strip():
            continue
        if pending:
            value = _LEADING_DATE.sub("", value, count=1)
        last = next(reversed([*_OTHER_DATE.finditer(value)]), None)
        pending = last is not None and last["date"] is None and not value[last.end() :].strip()
        value = _OTHER_DATE.sub("", value)
        if event == "start":
            element.text = value
        else:
            element.tail = value
    return pruned


def _with_date(line: lxml.html.HtmlElement | None, published: str) -> lxml.html.HtmlElement:
    """A copy of `line` (or a new line) ending in `published`, set apart as its own word."""
    dated = copy.deepcopy(line) if line is not None else lxml.html.Element("span")
    dated.tail = None
    stamp = lxml.html.Element("span")
    stamp.text = f" {published}"
    dated.append(stamp)
    return dated
