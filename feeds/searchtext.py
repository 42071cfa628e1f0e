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

import re
from dataclasses import dataclass

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
    return _folded_tokens(fold(text))


def _folded_tokens(folded: str) -> list[str]:
    tokens: list[str] = []
    for piece, cjk in _pieces(folded):
        tokens += [*_bigrams(piece), piece[-1]] if cjk else [piece]
    return tokens


def search_text(title: str, summary: str, content_html: str) -> str:
    """The one indexed column of an item: its title, summary and body text as tokens."""
    return index_text(title, summary, html_to_text(content_html))


def index_text(title: str, summary: str, body: str, folded_body: str | None = None) -> str:
    """`search_text` of a body already turned into text (and maybe through `fold`), for
    callers that need that text too. Folding is per character or per dictionary phrase, and no
    phrase spans a line break, so the parts fold apart exactly as they would together.

    A summary cut from the body (most feeds' description) adds no word the body lacks, only a
    fifth more tokens to write: it is left out.
    """
    brief = " ".join(summary.split()).removesuffix("…")
    if brief and brief in " ".join(body.split()):
        summary = ""
    if folded_body is None:
        folded_body = fold(body)
    head = fold(f"{title}\n{summary}")
    return " ".join(_folded_tokens(f"{head}\n{folded_body}"))


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
