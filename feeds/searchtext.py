"""Search text for SQLite FTS5 that finds Chinese words without a word segmenter.

Why bigrams and not FTS5's `trigram` tokenizer: Chinese words are mostly two characters
(`汉中`, `科技`, `春运`), and a trigram index cannot answer a query shorter than three
characters except by scanning every row. Instead each run of CJK characters is written as its
overlapping bigrams followed by the run's last character (`汉中发布` → `汉中 中发 发布 布`),
and that text is indexed by the stock `unicode61` tokenizer, which splits on the spaces and
keeps Latin words whole (case- and accent-folded). A query is tokenised the same way and
searched as a phrase, so `汉中` is one index lookup, `汉中发布` is the phrase `汉中 中发 发布`,
and a single character is a prefix query that the bigram starting with it (or the trailing
unigram) satisfies. Text is NFKC- and case-folded and Traditional characters are folded to
Simplified on both sides, so `漢中` finds `汉中` and full-width `ＡＢＣ` finds `abc`.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from feeds.normalize import fold
from feeds.sanitize import html_to_text

# Han (with extensions and compatibility ideographs), kana and hangul: scripts written without
# spaces between words, which unicode61 would otherwise keep as one token per sentence.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002ffff\U00030000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
# What unicode61 keeps in a token: letters, digits and marks. Everything else separates.
_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 16
# Renumber with any change to how tokens are made (see `tokens_made_by`).
TOKEN_RULES = 3
# Characters of an item indexed for search, its title and summary first: a long report is
# some 50,000. One item of 3 million random Chinese characters (9 MB, within
# `fetch.max_bytes`) took 8 s and 370 MB to index whole, and as long again to delete.
INDEXED_CHARS = 200_000
# Text through every step tokens are made by: markup, entities and blocks, NFKC and case
# folding, Traditional characters and phrases, CJK runs beside Latin words, astral characters.
_SAMPLE = (
    ("漢中發佈：春運開始", "ＡＢＣ　Café naïve", "<p>朱鹮&amp;熊猫</p><br>第二行 x&nbsp;y 𠀋 ﬁle"),
    ("Ｗｉ-Ｆｉ 網路", "", "<div>計算機軟體<b>雲端</b></div>\n<li>Straße ΣΑΣ 한국어 ひらがな</li>"),
)
_SEPARATOR, _IN_WORD, _IN_CJK = 0, 1, 2
_BMP = 0x10000
_SPACE = ord(" ")


def _pieces(text: str) -> list[tuple[str, bool]]:
    """`text` split into (piece, is_cjk_run) in order; non-CJK pieces are words."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for run in _CJK_RUN.finditer(text):
        pieces += [(word, False) for word in _WORD.findall(text[position : run.start()])]
        pieces.append((run.group(), True))
        position = run.end()
    pieces += [(word, False) for word in _WORD.findall(text[position:])]
    return pieces


def _bigrams(run: str) -> list[str]:
    return list(map(str.__add__, run, run[1:]))  # pairs of neighbours, without index arithmetic


def index_tokens(text: str) -> list[str]:
    """The tokens stored for `text`: words, and each CJK run as bigrams plus its last character."""
    return _token_text(fold(text)).split()


def _char_class(char: str) -> int:
    if _CJK_RUN.match(char):
        return _IN_CJK
    return _IN_WORD if _WORD.match(char) else _SEPARATOR


@cache
def _bmp_classes() -> npt.NDArray[np.uint8]:
    """The class of every Basic Multilingual Plane code point under the patterns above, built
    once by running them over the whole plane."""
    classes = np.zeros(_BMP, dtype=np.uint8)
    plane = "".join(map(chr, range(_BMP)))
    for pattern, value in ((_WORD, _IN_WORD), (_CJK_RUN, _IN_CJK)):  # CJK wins over word
        for match in pattern.finditer(plane):
            classes[match.start() : match.end()] = value
    return classes


def _token_text(folded: str) -> str:
    """The tokens of folded text, space-separated: words (runs of word characters outside CJK
    runs), and each CJK run as its bigrams and last character.

    Vectorised over UTF-32 code points: each position may emit a separating space (where a
    token starts), its own character (word or CJK) and, inside a CJK run, the next character
    to close a bigram. Building each bigram as a Python string cost three times as much.
    """
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32)
    if not len(codes):
        return ""
    classes = _bmp_classes()[np.minimum(codes, _BMP - 1)]
    for index in np.flatnonzero(codes >= _BMP):  # astral characters are rare: one at a time
        classes[index] = _char_class(chr(codes[index]))
    cjk, word = classes == _IN_CJK, classes == _IN_WORD
    word_start = word.copy()
    word_start[1:] &= ~word[:-1]
    emitted = np.empty((len(codes), 3), dtype=np.uint32)
    emitted[:, 0] = _SPACE
    emitted[:, 1] = codes
    emitted[:-1, 2] = codes[1:]
    kept = np.empty((len(codes), 3), dtype=bool)
    kept[:, 0] = cjk | word_start
    kept[:, 1] = cjk | word
    kept[:-1, 2] = cjk[:-1] & cjk[1:]
    kept[-1, 2] = False
    return emitted[kept][1:].tobytes().decode("utf-32-le")  # without the first token's space


def search_text(title: str, summary: str, content_html: str) -> str:
    """The one indexed column of an item: its title, summary and body text as tokens."""
    return index_text(title, summary, html_to_text(content_html))


@cache
def tokens_made_by() -> str:
    """How this program makes tokens, as a store records it beside its index: a contentless
    index deletes an item's tokens only when given them again exactly (storage/searchindex.py).
    The rules' number, the Python and Unicode versions behind them, and a digest of the tokens
    of a sample, which moves with any step that changes them (HTML to text, OpenCC's
    dictionaries)."""
    sample = "\x1e".join(search_text(*parts) for parts in _SAMPLE)
    digest = hashlib.sha256(sample.encode()).hexdigest()[:16]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"rules {TOKEN_RULES}; Python {python}; Unicode {unicodedata.unidata_version}; "
        f"sample {digest}"
    )


def index_text(title: str, summary: str, body: str, folded_body: str | None = None) -> str:
    """`search_text` of a body already turned into text (and maybe through `fold`), for
    callers that need that text too. Folding is per character or per dictionary phrase, and no
    phrase spans a line break, so the parts fold apart exactly as they would together.

    A summary cut from the body (most feeds' description) adds no word the body lacks, only a
    fifth more tokens to write: it is left out. What is past `INDEXED_CHARS` is not searched.
    """
    brief = " ".join(summary.split()).removesuffix("…")
    if brief and brief in " ".join(body.split()):
        summary = ""
    if folded_body is None:
        folded_body = fold(body)
    head = fold(f"{title}\n{summary}")
    return _token_text(f"{head}\n{folded_body[:INDEXED_CHARS]}"[:INDEXED_CHARS])


@dataclass(frozen=True, slots=True)
class Term:
    """One whitespace-separated query word as index tokens that must appear in sequence.

    `prefix`: the last token may continue (a Latin word being typed, or a single CJK
    character, which the index only holds as the first half of a bigram or a run's end).
    """

    tokens: tuple[str, ...]
    prefix: bool


def query_terms(query: str) -> tuple[Term, ...]:
    """The terms of a user's query; all must match. Empty when nothing in it is searchable."""
    terms: list[Term] = []
    for word in query.split()[:MAX_QUERY_TERMS]:
        pieces = _pieces(fold(word))
        tokens: list[str] = []
        for index, (piece, cjk) in enumerate(pieces):
            last = index == len(pieces) - 1
            if not cjk:
                tokens.append(piece)
            elif last:  # the document's run may go on: its bigrams cover this run exactly
                tokens += _bigrams(piece) or [piece]
            else:  # the run ends here in the document too, so its trailing unigram follows
                tokens += [*_bigrams(piece), piece[-1]]
        if tokens:
            last_cjk = pieces[-1][1]
            terms.append(Term(tuple(tokens), prefix=not last_cjk or len(pieces[-1][0]) == 1))
    return tuple(terms)
