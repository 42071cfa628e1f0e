"""Read who wrote a story and where it was first published from the labels pages print.

Chinese portals credit in running text, not markup: `发布者: admin| 来自: 汉中发布`,
`（来源：汉中发布）`, `责任编辑：张三`. A label is followed by a colon (full- or half-width),
but for the verb `转载自`; the value runs until a separator (`|`, whitespace, a bracket, a
comma or full stop) or the next label, and loses its quotes and trailing punctuation.
English credits (`By …`, `Source: …`) may hold single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import lxml.html

from feeds import htmltree
from feeds.han import HAN
from feeds.model import ParsedItem, Party
from feeds.normalize import fold

# How an origin read from an aggregator's `<source>` is labelled (`ParsedItem.provenance`): it
# names the feed the item came from, and a credit in the body outranks it.
CHANNEL = "channel"

_COLON = r"\s*[:：]\s*"
# Labels of a meta line: each ends a value written flush against it, as in `来源：汉中市人民政府
# 发布时间：…`, and none is a name. A counter is a label whole (`浏览次数：`), so that a `来源：`
# whose value a script writes (`信息来源：<script>…</script> 浏览次数：`) reads as empty.
_LABELS = (
    "发布时间", "发布日期", "发表时间", "更新时间", "时间", "日期", "来源", "信息来源", "来自",
    "稿源", "发布机构", "发布单位", "发文机关", "发文单位", "原作者", "作者", "责任编辑",
    "编辑", "发布者", "发布人", "浏览次数", "阅读次数",
    "点击次数", "访问次数", "点击数", "点击量", "浏览量", "阅读量", "访问量", "评论数", "浏览",
    "阅读", "点击", "查看", "访问", "评论", "字号", "次数",
)  # fmt: skip
_NEXT_LABEL = f"(?:{'|'.join(_LABELS)})" + _COLON
_FLUSH_LABEL = re.compile(_NEXT_LABEL)
_CJK_VALUE = rf"(?P<value>(?:(?!{_NEXT_LABEL})[^\s|｜()（）【】\[\]<>，。；;])+)"
_LATIN_VALUE = (
    r"(?P<value>[^\s|｜()（）【】\[\]<>,;]+(?:[ ](?![^\s]*:)[^\s|｜()（）【】\[\]<>,;]+)*)"
)
_TRIM = "。，,.;；:：!！?？、\"'“”‘’「」『』《》 \u3000\xa0"
_MAX_CHARS = 60
# Quotes around the name within a credit (`“汉中发布”微信公众号`, `《汉中日报》客户端`): the
# name is what sources and aliases are matched against, so they go wherever they stand.
_QUOTES = re.compile("[\"'“”‘’「」『』《》〈〉]")

_HAN = f"[{HAN}]"
# A byline's name, read without a label to end it: two to four characters, or a Latin name.
_LATIN_NAME = r"[A-Z][A-Za-z.'-]*(?: [A-Z][A-Za-z.'-]*){0,3}(?![A-Za-z])"
_NAME = rf"(?P<value>{_HAN}{{2,4}}(?!{_HAN})|{_LATIN_NAME})"
# Taiwan's bylines, unlabelled: `〔記者王小明／台北報導〕` (also with `、` and more reporters), and
# `文／林志明` starting a line.
_REPORTED = re.compile(
    rf"(?:^|(?<=[\s〔【\[(（]))记者\s*(?P<value>{_HAN}{{2,4}})(?:[、，,]{_HAN}{{2,4}}){{0,5}}"
    rf"\s*[／/]\s*{_HAN}{{1,8}}报[导道]",
    re.M,
)
_WRITTEN = re.compile(rf"(?:^|(?<=[〔【\[(（|｜]))[ \t\u3000]*文\s*[／/]\s*{_NAME}", re.M)
# A wire story's dateline, `（中央社記者王小明台北29日電）`: the agency is its origin, the first
# reporter its author. The name runs into the place: a name of three characters is read, one of
# two or four only before a `、` naming the next reporter.
_DATELINE_END = rf"{_HAN}{{2,5}}\d{{1,2}}日专?电[)）]"
_DATELINE_AUTHOR = re.compile(
    rf"[(（]{_HAN}{{1,6}}社记者(?P<value>{_HAN}{{3}}(?=[、{HAN}])|{_HAN}{{2,4}}(?=、))"
    rf"(?:、{_HAN}{{2,4}}){{0,5}}{_DATELINE_END}"
)
_DATELINE_ORIGIN = re.compile(
    rf"[(（](?P<value>{_HAN}{{1,6}}社)(?:记者[^()（）\n]{{2,30}}?)?{_DATELINE_END}"
)

# A reporter's role, written before the name (`作者：本报记者 王伟`, `（记者 李睿）`): no name.
_ROLES = (
    "本报记者", "本台记者", "本网记者", "特约记者", "见习记者", "首席记者", "实习记者", "记者",
    "特约通讯员", "通讯员", "实习生",
)  # fmt: skip
_ROLE = f"(?:{'|'.join(_ROLES)})"
_LEADING_ROLE = re.compile(f"^{_ROLE}(?=.)")
_ONLY_HAN = re.compile(f"{_HAN}+")
_AFTER_ROLE = r"[ \t\u3000\xa0]{0,4}"
# A mainland story's opening byline, `华商报讯（记者 李睿）`, `（本报记者 李睿 通讯员 王五）`:
# the first reporter named. Not a photograph's credit (`（记者 李睿 摄）`).
_BYLINE_NAME = rf"{_HAN}{{2,4}}(?<!摄)"
_OPENING_BYLINE = re.compile(
    rf"[(（]{_AFTER_ROLE}{_ROLE}{_AFTER_ROLE}(?P<value>{_BYLINE_NAME})"
    rf"(?:(?:[ \t\u3000\xa0、，,]{{1,4}}(?:{_ROLE}{_AFTER_ROLE})?|{_ROLE}{_AFTER_ROLE})"
    rf"{_BYLINE_NAME}){{0,5}}"
    rf"{_AFTER_ROLE}[)）]"
)
# Writers in order of preference: the writer over the account that posted it.
_SPACE = r"[ \t\u3000\xa0]"
_NOT_A_LABEL = f"(?!{'|'.join(_LABELS)})"  # `浏览` of `浏览次数：` is no second name
# Several reporters after one label, a space between them (`作者：李娟 张伟`), as county
# portals write them: only where the line goes on with another label or ends after them.
_NAMES_BY_SPACE = re.compile(
    r"(?:作者|记者|撰稿)" + _COLON + f"(?:{_ROLE}{_AFTER_ROLE})?"
    rf"(?P<value>(?!{_ROLE}){_HAN}{{2,4}}(?:{_SPACE}{{1,3}}(?!{_ROLE}){_NOT_A_LABEL}{_HAN}{{2,4}}){{1,5}})"
    rf"(?={_SPACE}*(?:$|\n|{_NEXT_LABEL}|[|｜【\[(（]))"
)
_BETWEEN_NAMES = re.compile(rf"(?<={_HAN}){_SPACE}+(?={_HAN})")
_WRITER_LABELS = (
    _NAMES_BY_SPACE,
    re.compile(r"(?:作者|记者|撰稿)" + _COLON + f"(?:{_ROLE}{_AFTER_ROLE})?" + _CJK_VALUE),
    _REPORTED,
    _OPENING_BYLINE,
    _DATELINE_AUTHOR,
    _WRITTEN,
    re.compile(r"(?:\b(?i:author)\s*[:：]\s*|\b(?i:written by)\s+)" + _LATIN_VALUE),
    re.compile(r"(?:^|(?<=[\s|｜(（\[【]))By\s+(?=[A-Z])" + _LATIN_VALUE),
    re.compile(r"(?:发布者|发布人)" + _COLON + _CJK_VALUE),
)
# The desk editor (`责任编辑：`, `编辑：`) checked the story and did not write it.
_EDITOR_LABELS = (re.compile(r"(?:责任编辑|责编|编辑)" + _COLON + _CJK_VALUE),)
# The staff credits closing a story (`（责任编辑：admin）`, `编辑：张敏  审核：刘伟`, `责编：王佳、
# 李昕`): a line of nothing else is no part of its text.
_STAFF = (
    "责任编辑|值班编辑|编辑|责编|美编|审核|校对|终审|监制|初审|复审|二审|三审"
    "|審核|校對|終審|監製|初審|複審"
)
_STAFF_LABEL = rf"(?:{_STAFF})[ \t]*[:：]"
_STAFF_NAME = rf"(?:(?!{_STAFF_LABEL})[^\s|｜/／:：()（）【】\[\]<>，。；;,、]){{1,16}}"
_STAFF_CREDIT = rf"{_STAFF_LABEL}\s*{_STAFF_NAME}(?:[、，,]\s*{_STAFF_NAME}){{0,5}}"
_STAFF_LINE = re.compile(
    rf"[(（【\[]?\s*{_STAFF_CREDIT}(?:[\s|｜/／]{{0,8}}{_STAFF_CREDIT}){{0,7}}\s*[)）】\]]?[。.]?"
)
# A picture's or a figure's credit (`图片来源：网络`, `数据来源：国家统计局`) is not the story's.
_NOT_THE_STORY = r"(?<!图片)(?<!照片)(?<!视频)(?<!数据)(?<!资料)"
_ORIGIN_LABELS = (
    re.compile(_NOT_THE_STORY + r"(?:来源|来自|稿源|转载自|转自|出处)" + _COLON + _CJK_VALUE),
    # `本文转载自汉中发布`: a verb, written with or without the colon
    re.compile(r"(?:转载自|转自)(?![:：])\s*" + _CJK_VALUE),
    _DATELINE_ORIGIN,
    re.compile(r"\b(?i:source)\s*[:：]\s*" + _LATIN_VALUE),
    re.compile(r"\b(?i:originally published (?:at|in|on))\s+" + _LATIN_VALUE),
)
# The agency a government disclosure page (政府信息公开) names as publishing or issuing a
# document: its origin where no credit above names another.
_AGENCY_LABELS = (re.compile(r"(?:发布机构|发布单位|发文机关|发文单位)" + _COLON + _CJK_VALUE),)
# `资料来源：` (Taiwan's and Hong Kong's credit line) credits the story in a meta line, or as a
# whole line among the body's last; elsewhere in a body it credits a figure or a table.
_DATA_SOURCE = re.compile(r"资料来源" + _COLON + _CJK_VALUE)
_DATA_SOURCE_LINE = re.compile(
    r"^[ \t\u3000(（【\[]*资料来源" + _COLON + _CJK_VALUE + r"[ \t\u3000)）】\]。.]*$", re.M
)
_LONGEST_LINE = 80  # a credit line's; longer last lines are the body's text


# Credits that name nobody: "unknown", "anonymous", "the web", "this site('s own)", as `fold`
# writes them, so that Traditional forms (`不詳`, `本網原創`) are refused alike; Taiwan calls the
# web `網路` (`网路`) and `網際網路`.
_NOBODY = frozenset({
    "佚名", "未知", "匿名", "不详", "网络", "互联网", "网络转载", "本站", "本站原创", "原创",
    "本网", "本网原创", "网路", "网际网路", "网路转载",
})  # fmt: skip


# The Traditional forms of the labels' characters (`來源`, `發佈時間`, `責任編輯`), one for
# one, so that a span found in the folded text is the same span of the text as written.
_LABEL_CHARS = str.maketrans(
    "來發佈時間轉載處記責編輯瀏覽閱讀點擊評論號數圖資據視頻訪問機構單關報導專電",
    "来发布时间转载处记责编辑浏览阅读点击评论号数图资据视频访问机构单关报导专电",
)


_TRADITIONAL = re.compile(
    "[來發佈時間轉載處記責編輯瀏覽閱讀點擊評論號數圖資據視頻訪問機構單關報導專電]"
)
# Words one of `_ORIGIN_LABELS` or `_AGENCY_LABELS` holds, searched first: most bodies hold
# none, and a search for literals is several times cheaper than the patterns.
_ORIGIN_HINT = re.compile(
    "来源|來源|来自|來自|稿源|转载|轉載|转自|轉自|出处|出處|机构|機構|单位|單位|机关|機關"
    "|日电|日電|专电|專電|source|Source|SOURCE|riginally|RIGINALLY"
)


def label_text(text: str) -> str:
    """`text` with its labels' Traditional characters written as the Simplified ones the
    patterns name; of the same length."""
    return text.translate(_LABEL_CHARS) if _TRADITIONAL.search(text) else text


def _credit(value: str) -> str | None:
    """`value` if it names someone: not empty, not too long, not a placeholder, not a label
    (`来源：浏览次数`: the name was left to a script)."""
    if not value or len(value) > _MAX_CHARS or fold(value) in _NOBODY:
        return None
    return None if label_text(value) in _LABELS or label_text(value) in _ROLES else value


def _value(match: re.Match[str], text: str) -> str | None:
    written = text[match.start("value") : match.end("value")]  # as the page writes the name
    return _credit(_QUOTES.sub("", written).strip(_TRIM))


def _first(patterns: Iterable[re.Pattern[str]], text: str, *, by_position: bool) -> str | None:
    found: list[tuple[int, str]] = []
    folded = label_text(text)
    for pattern in patterns:
        for match in pattern.finditer(folded):
            if (value := _value(match, text)) is not None:
                if not by_position:
                    return value
                found.append((match.start(), value))
                break
    return min(found)[1] if found else None


def find_author(text: str) -> str | None:
    """Who wrote it (`find_writer`), else the editor (`find_editor`)."""
    return find_writer(text) or find_editor(text)


def find_writer(text: str) -> str | None:
    """Who wrote it, from labels such as `作者：`, `发布者:`, `By …` and bylines such as
    `（记者 李睿）`; a reporter's role before the name (`作者：本报记者 王伟`) is no name, and
    names a space apart are joined as `、` joins them (`作者：李娟 张伟` is `李娟、张伟`)."""
    found = _first(_WRITER_LABELS, text, by_position=False)
    return _BETWEEN_NAMES.sub("、", found) if found else None


def byline_names(text: str) -> str | None:
    """A byline a template prints alone (人民网's `p.author`) as a name: without a reporter's
    role (`本报记者 刘晓涛` is `刘晓涛`), Chinese names a space apart joined as `、` joins them
    (`记者 刘晓涛 王伟` is `刘晓涛、王伟`)."""
    words = [_LEADING_ROLE.sub("", word) for word in text.split()]
    names = [word for word in words if word and word not in _ROLES]
    if names and all(_ONLY_HAN.fullmatch(name) for name in names):
        return "、".join(names)
    return " ".join(names) or None


def role_byline(text: str) -> str | None:
    """`byline_names` of a line that is only a byline opening with a reporter's role
    (`本报记者 王伟 通讯员 李明` is `王伟、李明`), else None."""
    if len(text) > _LONGEST_BYLINE or not _BYLINE_LINE.fullmatch(text):
        return None
    return byline_names(text)


# Roles and the names after each, a space apart or flush (`记者王伟`).
_BYLINE_LINE = re.compile(
    rf"{_ROLE}{_AFTER_ROLE}{_BYLINE_NAME}"
    rf"(?:{_SPACE}{{1,3}}(?:{_ROLE}{_AFTER_ROLE})?{_BYLINE_NAME}){{0,5}}"
)
_LONGEST_BYLINE = 60


def find_editor(text: str) -> str | None:
    """The desk editor a label names (`责任编辑：`, `责编：`, `编辑：`): an author only where
    nothing names the writer."""
    return _first(_EDITOR_LABELS, text, by_position=False)


def is_staff_credits(text: str) -> bool:
    """Whether a line `text` holds only the staff credits closing a story (`_STAFF_LINE`)."""
    line = text.strip()
    return len(line) <= _LONGEST_LINE and _STAFF_LINE.fullmatch(label_text(line)) is not None


def find_origin(text: str) -> str | None:
    """Where it was first published, from the first label such as `来源：`, `来自:`, `Source:`
    or a wire's dateline (`（中央社記者王小明台北29日電）`), else from a government page's
    `发布机构：`."""
    if not _ORIGIN_HINT.search(text):
        return None
    return _first(_ORIGIN_LABELS, text, by_position=True) or _agency(text)


def _agency(text: str) -> str | None:
    return _first(_AGENCY_LABELS, text, by_position=True)


def _line_origin(text: str) -> str | None:
    """`find_origin` of a meta line, whose `资料来源：` credits the story."""
    if not _ORIGIN_HINT.search(text):
        return None
    labels = (*_ORIGIN_LABELS, _DATA_SOURCE)
    return _first(labels, text, by_position=True) or _agency(text)


def _body_origin(text: str) -> str | None:
    """`find_origin` of a body's edges (`body_edges`), else a whole `资料来源：` line among its
    last lines."""
    edge = body_edges(text)
    if not _ORIGIN_HINT.search(edge):
        return None
    if found := _first(_ORIGIN_LABELS, edge, by_position=True):
        return found
    lines = text.rstrip().rsplit("\n", _EDGE_LINES)[-_EDGE_LINES:]
    last = "\n".join(line for line in lines if len(line) <= _LONGEST_LINE)
    return _first((_DATA_SOURCE_LINE,), last, by_position=True) or _agency(edge)


def clean_credit(value: str | None) -> str | None:
    """A credit a selector read: without its label (`来源：汉中发布`), cut at the first separator
    or the next label (DedeCMS's `汉中发布作者：张三点击：次`), trimmed like a labelled value."""
    value = (value or "").strip(_TRIM + "(（【[")
    value = re.split(r"[|｜()（）【】\[\]<>]|\s{2,}", value, maxsplit=1)[0]
    if (label := _FLUSH_LABEL.match(label_text(value))) is not None:  # `来源：汉中发布`
        value = value[label.end() :]
    if (label := _FLUSH_LABEL.search(label_text(value))) is not None:
        value = value[: label.start()]
    if names := role_byline(value):  # `本报记者 王伟 通讯员 李明`: the names only
        value = names
    return _credit(_QUOTES.sub("", value).strip(_TRIM))


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # a host holding "／" or "？", which NFKC turns into "/" or "?"
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def link_for(name: str, links: Iterable[tuple[str, str]]) -> str | None:
    """The URL of the link whose text names `name` (exactly, else by containment), if any."""
    candidates = [(" ".join(text.split()).strip(_TRIM), url) for text, url in links]
    candidates = [(text, url) for text, url in candidates if text and _is_web_url(url)]
    for text, url in candidates:
        if text == name:
            return url
    for text, url in candidates:
        if len(text) >= 2 and (name in text or text in name):
            return url
    return None


def origin_party(text: str, links: Iterable[tuple[str, str]] = ()) -> Party | None:
    """The origin a meta line `text` credits (its `资料来源：` too), with its URL when one of
    `links` (text, URL) names it.

    A credit that is itself a URL (`Originally published at https://…`) is named by its host.
    """
    return _party(_line_origin(text), links)


def _party(name: str | None, links: Iterable[tuple[str, str]]) -> Party | None:
    if name is None:
        return None
    if _is_web_url(name):
        return Party(name=urlsplit(name).hostname or name, url=name)
    return Party(name=name, url=link_for(name, links))


_EDGE_LINES = 3  # lines at each end of the body where credits like `(来源:汉中发布)` sit


_EDGE_CHARS = 300  # of those lines at each end: a body of one long line is not all edge


def body_edges(text: str) -> str:
    """The lines at either end of a body's text, where credits sit."""
    lines = text.split("\n")
    if len(lines) <= 2 * _EDGE_LINES and len(text) <= 2 * _EDGE_CHARS:
        return text
    head = "\n".join(lines[:_EDGE_LINES])[:_EDGE_CHARS]
    tail = "\n".join(lines[-_EDGE_LINES:])[-_EDGE_CHARS:]
    return f"{head}\n{tail}"


def credit_in_body_counts(item: ParsedItem) -> bool:
    """Whether a credit in the item's body decides its origin: when its document names none,
    or only the feed it came from (`CHANNEL`), as an aggregator's `<source>` does."""
    return item.origin is None or dict(item.provenance).get("origin") == CHANNEL


def body_credit(text: str, content_html: str, base: str | None) -> Party | None:
    """The origin a body credits at either end (`(来源:汉中发布)`) or in a `资料来源：` line
    among its last, with the URL of a link in `content_html` that names it; `text` is the
    body's plain text (`html_to_text`). A feed's items carry these as pages do: a portal's RSS
    copy ends with the credit its page shows."""
    name = _body_origin(text)
    if name is None:
        return None  # most bodies: their markup is not parsed for links
    body = lxml.html.fragment_fromstring(content_html, create_parent="div")
    return _party(name, htmltree.links(body, base or ""))
