"""Normal forms of links, titles and body text, so that copies of one story compare equal.

Copies of a story differ in ways a reader ignores: `http` vs `https`, tracking parameters,
full- vs half-width punctuation, Traditional vs Simplified characters, `【喜讯】` prefixes and
`(来源:汉中发布)` attribution lines. These functions erase exactly those differences.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import cache
from types import MappingProxyType
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import idna
import numpy as np
import numpy.typing as npt
import opencc

from feeds.han import HAN, HAN_RANGES

# Query parameters that say how a reader arrived, not what they read. Exact names, plus the
# `utm_` prefix; anything else is kept, since portals route by query (`?mod=view&aid=1`).
TRACKING_PARAMS = frozenset(
    {"spm", "from", "fbclid", "gclid", "isappinstalled", "scene", "clicktime", "enterid"}
)
TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_NO_MIRRORS: Mapping[str, str] = MappingProxyType({})
_BMP = 0x10000
_VECTORISED_FROM = 150  # characters; measured break-even of the two filters: ~120

# Editorial tags a copy adds or drops: any bracketed tag of up to 12 characters before a title
# (【喜讯】 [转载] 〔视频〕) but a place's (【汉台区】, 【南郑区】: two districts' notices are two
# stories), and after it only those that say what the page holds (（图） (组图) [视频]): a part,
# a batch or a place there (（一）, (第二批)) tells one story from the next. Full-width （） and
# ［］ are already ( and [ after NFKC.
_BRACKETS = (("【", "】"), ("[", "]"), ("(", ")"), ("〔", "〕"), ("〖", "〗"))
_PLACE = "区县市镇乡省州村"
_EDITORIAL = (
    "图|组图|多图|附图|图文|高清组图|动图|视频|附视频|音频|海报|转载|转|原创|独家|快讯|更新|全文"
    "|直播|双语|video|photos?"
)


def _tags(inner: Callable[[str], str]) -> str:
    """Bracketed tags of each kind, `inner(closing bracket)` the pattern of what they hold."""
    return "|".join(rf"{re.escape(o)}{inner(re.escape(c))}{re.escape(c)}" for o, c in _BRACKETS)


# Or, unbracketed, a repost's or an original's mark before a colon or a bar: `转载：`, `原创｜`
# (`丨`, a CJK stroke, stands in for the bar in many accounts' titles).
_MARKED = r"(?:转载|转自|转发|原创|独家|快讯)\s*[:|丨]"
_LEADING = _tags(lambda c: rf"(?![^{c}]*[{_PLACE}]{c})[^{c}]{{1,12}}") + "|" + _MARKED
_TRAILING = _tags(lambda c: f"(?:{_EDITORIAL})")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_TITLE_TAGS = re.compile(rf"^(?:\s*(?:{_LEADING}))+|(?:\s*(?:{_TRAILING}))+\s*$")
# A site's name after the title, as `<title>`s and reposting feeds write it (`_汉中新闻网`,
# ` - 汉中第一网`, `｜汉中发布`, ` - Shaanxi English`): the last part after `_`, a bar, or a
# hyphen between spaces or between Chinese characters, ending as a site's name does, of at
# most 8 Chinese characters (24 others). So a title's own hyphen (`汉中 - 西安高铁今日开通`,
# `2026-2027学年校历`) and a column's title after its name (`两会特别报道｜政府工作报告全文发布`)
# stay.
_SITE_NAME = re.compile(
    rf"(?:\s+-\s+|(?<=[{HAN}])-(?=[{HAN}])|\s*[_|丨]\s*)(?P<name>"
    rf"(?=[^-_|丨]{{2,8}}\s*$)[^-_|丨]*"
    "(?:网|网站|在线|发布|日报|晚报|早报|时报|电视台|频道|客户端|公众号|政府|融媒|融媒体中心|新闻)"
    "(?<!互联网)(?<!物联网)(?<!电网)"
    rf"|[^-_|丨{HAN}]{{1,24}}(?:english|news|daily|times|online|\.com|\.cn)"
    r")\s*$"
)
_TITLED = 6  # characters of title left before a site's name, as stories require of a title

# Attribution and editorial credits. Copies add or drop them, so they must not weigh in a body
# fingerprint. Applied to folded text, so `：`, `（` and `來源` arrive as `:`, `(` and `来源`.
_CREDIT_WORDS = (
    "来源", "来自", "转载自", "转自", "稿源", "责任编辑", "编辑", "审核", "校对",
    "作者", "记者", "通讯员", "摄影", "供稿", "source", "editor",
)  # fmt: skip
_CREDIT = f"(?:{'|'.join(_CREDIT_WORDS)})"
_CREDIT_IN_BRACKETS = re.compile(rf"[(\[【〔]\s*{_CREDIT}[^()\[\]【】〔〕\n]{{0,40}}[)\]】〕]")
# `来源: 汉中发布` up to the end of its line, when what follows is short enough to be a name.
_CREDIT_TO_EOL = re.compile(
    rf"(?:本文|文章|信息|稿件|图片)?(?:{_CREDIT}\s*[:|]|转载自|转自)[^\n]{{0,40}}$", re.M
)
# A repost's statement, a credit line with the usual disclaimer after the name (`声明：本文
# 转载自汉中发布，仅供学习交流，如有侵权请联系删除。`): dropped whole, however long the disclaimer.
_STATEMENT = re.compile(
    r"^[^\S\n]*(?:版权|免责|转载)?声明\s*:(?=[^\n]*(?:转载自|转自|来源|来自))[^\n]{0,160}$", re.M
)
# A WeChat account's share footer: a short line that asks the reader to press, scan or click
# (`长按识别二维码关注…`, `点击“阅读原文”查看更多`), for a QR code, the original or the account.
# Reposts add and drop it; a line of the story seldom both begins so and holds one of those.
_SHARE_WANTS = "二维码|阅读原文|蓝字|扫码关注"
_SHARE_LINE = re.compile(
    rf"^(?=[^\w\n]{{0,3}}(?:长按|扫码|扫描|识别|点击))(?=[^\n]*(?:{_SHARE_WANTS}))[^\n]{{1,103}}$",
    re.M,
)
_SHARE_HINT = re.compile(_SHARE_WANTS)
# A line that lists a notice's or a post's attachment (`附件：方案.zip`, `附件1：…`, `附件一：…`):
# reposts keep or drop them. One line only, and no backtracking over a long run of spaces.
_ATTACHMENT_LINE = re.compile(
    r"^[^\S\n]*+附件[^\S\n]*+[\d一二三四五六七八九十]{0,3}+[^\S\n]*+:[^\n]{0,160}$", re.M
)


def is_share_line(text: str) -> bool:
    """Whether `text` is one line of a WeChat account's share footer (`_SHARE_LINE`)."""
    return "\n" not in text and _SHARE_LINE.fullmatch(text) is not None


# Every credit match holds one of these words. A flat alternation of literals is searched only
# where their first characters occur; the patterns above try every position (~25 µs a body).
_CREDIT_HINT = re.compile("|".join(_CREDIT_WORDS))


@cache
def _to_simplified() -> Callable[[str], str]:
    """The t2s converter: built once, on first use, because loading its dictionaries is slow."""
    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


@cache
def _regional_variants() -> tuple[re.Pattern[str], dict[str, str]]:
    """What t2s leaves of the characters Taiwan or Hong Kong write otherwise than the standard
    it reads, and the Simplified character each stands for: HK's `衞` (`衛`, 卫), Taiwan's `著`
    in `隨著` (着). Folded alike in every script, `著名` becomes `着名` too, which matters to
    no comparison. Found once by converting each ideograph alone with OpenCC's Taiwan and Hong
    Kong converters: their dictionaries are the one list of such variants. A character that
    is the Simplified form of another (`么` of `麼`) stays as it is."""
    taiwan, hong_kong = opencc.OpenCC("tw2s").convert, opencc.OpenCC("hk2s").convert
    ideographs = "\n".join(chr(cp) for start, end in HAN_RANGES for cp in range(start, end + 1))
    written = ideographs.split("\n")
    standard = _to_simplified()(ideographs).split("\n")
    regional = hong_kong(taiwan(ideographs)).split("\n")
    simplified_of_another = {plain for char, plain in zip(written, standard, strict=True)
                             if plain != char}  # fmt: skip
    variants = {
        plain: folded
        for plain, folded in zip(standard, regional, strict=True)
        if plain != folded and plain not in simplified_of_another
    }
    return re.compile(f"[{''.join(variants)}]"), variants


def _simplified(text: str) -> str:
    plain = _to_simplified()(text)
    found, variants = _regional_variants()
    if found.search(plain) is None:
        return plain
    return found.sub(lambda variant: variants[variant[0]], plain)


def _kept(char: str) -> bool:
    """Letters, digits and marks are kept; punctuation, symbols, separators and controls are
    not."""
    return unicodedata.category(char)[0] not in "PSZC"


@cache
def _kept_in_bmp() -> npt.NDArray[np.bool_]:
    """`_kept` of every Basic Multilingual Plane code point, looked up by NumPy."""
    return np.array([_kept(chr(cp)) for cp in range(_BMP)])


@cache
def _dropped_in_bmp() -> re.Pattern[str]:
    """Runs of Basic Multilingual Plane characters to drop, as one character class built once:
    SRE tests a class by bitmap, 3× faster than a `str.translate` dict and 20× faster than a
    category lookup per character."""
    ranges: list[tuple[int, int]] = []
    for cp in np.flatnonzero(~_kept_in_bmp()).tolist():
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]+")


def _drop_punctuation(text: str) -> str:
    """Keep letters, digits and marks; drop punctuation, symbols, whitespace and control chars.

    A body is filtered by a NumPy lookup per code point, twice as fast as the class above on
    a few hundred characters; a title is shorter than NumPy's fixed cost pays back.
    """
    if len(text) >= _VECTORISED_FROM:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        keep = _kept_in_bmp()[np.minimum(codes, _BMP - 1)]
        for index in np.flatnonzero(codes >= _BMP):  # astral characters are rare
            keep[index] = _kept(chr(codes[index]))
        return codes[keep].tobytes().decode("utf-32-le")
    kept = _dropped_in_bmp().sub("", text)
    if _ASTRAL.search(kept) is None:
        return kept
    return "".join(filter(_kept, kept))


def fold(text: str) -> str:
    """Width, compatibility forms, script and case: the differences no reader notices."""
    normal = unicodedata.normalize("NFKC", text)
    try:
        return _simplified(normal).casefold()
    except UnicodeEncodeError:  # OpenCC takes UTF-8, which a lone surrogate cannot be
        return _simplified(_SURROGATES.sub("", normal)).casefold()


def _host(netloc_host: str, mirror_hosts: Mapping[str, str]) -> str:
    """Lowercased host without a trailing dot or `www.`, mapped through the operator's mirrors;
    an IDNA host (`xn--fiqw74e.cn`, as links are published) in the Unicode it stands for."""
    host = _plain_host(netloc_host)
    for mirror, canonical in mirror_hosts.items():
        if host == _plain_host(mirror):
            return _plain_host(canonical)
    return host


def _plain_host(host: str) -> str:
    host = host.lower().rstrip(".").removeprefix("www.")
    if "xn--" in host:
        with suppress(UnicodeError):  # idna.IDNAError: not valid IDNA, compared as written
            host = idna.decode(host)
    return host


def normalize_link(url: str, mirror_hosts: Mapping[str, str] = _NO_MIRRORS) -> str:
    """A scheme-less form of `url` under which the same article's addresses compare equal.

    Drops the scheme, user info, `www.`, default ports, the fragment, a trailing slash and the
    tracking parameters above; sorts the remaining query; escapes path and query one way. The
    host is lowercased and mapped through `mirror_hosts` (mirror host -> canonical host); the
    path keeps its case, because many article ids are case-sensitive. An unparseable URL comes
    back stripped, unchanged.
    """
    url = url.strip()
    if "://" not in url and not url.startswith("//"):
        url = "//" + url
    try:
        return _normal_link(url, mirror_hosts)
    except ValueError:  # UnicodeEncodeError too: a lone surrogate has no UTF-8 to escape
        return url.removeprefix("//")


def _normal_link(url: str, mirror_hosts: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    host = _host(parts.hostname or "", mirror_hosts)
    if (port := parts.port) is not None and str(port) != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    )
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=").rstrip("/")  # one escaping
    return f"{host}{path}?{urlencode(query)}" if query else f"{host}{path}"


def normalize_title(title: str) -> str:
    """A title folded for equality: width, script and case folded, editorial tags, site names
    after it and all punctuation and whitespace removed. A title that is nothing but tags
    keeps their words."""
    # Whitespace collapsed first: the tag and site-name patterns, tried at every place, each
    # ran over a whole run of blanks, and 40,000 of them took seconds.
    folded = " ".join(fold(title).split())
    return _drop_punctuation(_TITLE_TAGS.sub("", _without_site_names(folded))) or (
        _drop_punctuation(folded)
    )


def _without_site_names(title: str) -> str:
    """`title` without the names after it: a site's, and a column's before that
    (`X_汉中新闻_汉中在线`)."""
    for _ in range(2):
        found = _SITE_NAME.search(title)
        if found is None:
            break
        left = len(_drop_punctuation(_TITLE_TAGS.sub("", title[: found.start()])))
        if left < _TITLED or left <= len(_drop_punctuation(found["name"])):
            break
        title = title[: found.start()]
    return title


def normalize_text(text: str) -> str:
    """Body text reduced to its wording: folded like titles, with attribution and editor credits
    (`(来源:汉中发布)`, `责任编辑：…`, `Source: …`), share footers and attachment lines removed,
    then punctuation and whitespace."""
    return normalize_folded(fold(text))


def normalize_folded(folded: str) -> str:
    """`normalize_text` of text already through `fold`, for callers that fold it once for
    several uses."""
    if _CREDIT_HINT.search(folded) is not None:  # most bodies have no credit: skip the scans
        folded = _CREDIT_IN_BRACKETS.sub("", _STATEMENT.sub("", folded))
        folded = _CREDIT_TO_EOL.sub("", folded)
    if _SHARE_HINT.search(folded) is not None:
        folded = _SHARE_LINE.sub("", folded)
    if "附件" in folded:
        folded = _ATTACHMENT_LINE.sub("", folded)
    return _drop_punctuation(folded)
