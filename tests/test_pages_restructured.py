"""Our HTML page fixtures rebuilt with hostile markup: what an article or a list page yields is
still safe to publish.

`test_mutated_inputs` breaks pages byte by byte; these mutations work on the tree instead (add
a script, a frame, an event handler or a `javascript:` link anywhere; copy, move or drop an
element), so automatic extraction and the selectors meet them in every position. Seeds are
fixed, so a failure reproduces.
"""

from __future__ import annotations

import random
from datetime import UTC

import lxml.html
import pytest
from lxml import etree

from feeds.errors import ParseError
from feeds.htmlpage import parse_article
from feeds.listpage import parse_list_page
from tests.test_mutated_inputs import LIST, NOW, PAGES, _forbidden
from tests.treemutation import elements, rearrange, rebuilt

ROUNDS = 400
TAGS = ("script", "style", "iframe", "svg", "object", "base", "meta", "form", "img", "a", "video")
ATTRIBUTES = (
    ("onclick", "x()"), ("onerror", "x()"), ("style", "background:url(javascript:x)"),
    ("href", "javascript:alert(1)"), ("href", " java\tscript:1"), ("href", "//evil.example/x"),
    ("src", "data:text/html,<script>x</script>"), ("href", "http://[::1/"), ("src", "vbscript:x"),
    ("srcset", "javascript:x 1x"), ("href", "rel/link.html"), ("src", "/img.png"),
    ("poster", "javascript:x"), ("formaction", "javascript:x"), ("srcdoc", "<script>x</script>"),
)  # fmt: skip
TEXTS = ("", "来源：汉中发布", "作者：小王 2022-01-14 17:50", "<script>x()</script>")
BANNED_TAGS = frozenset(("script", "style", "iframe", "svg", "object", "embed", "form", "base"))
WEB = ("http://", "https://", "mailto:", "#")


def _mutate(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    element = rng.choice(elements(root)[1:] or [root])
    roll = rng.randrange(4)
    if roll < 2:
        rearrange(root, element, rng)
    elif roll == 2:
        element.set(*rng.choice(ATTRIBUTES))
        child = etree.SubElement(element, rng.choice(TAGS))
        child.set(*rng.choice(ATTRIBUTES))
        child.text = rng.choice(TEXTS)
    else:
        element.tail = rng.choice(TEXTS)


def _unsafe(content: str) -> list[str]:
    """Elements, attributes and addresses a published entry must not carry."""
    if not content.strip():
        return []
    found = []
    for element in lxml.html.fragment_fromstring(content, create_parent="div").iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in BANNED_TAGS:
            found.append(element.tag)
        for name, value in element.attrib.items():
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                found.append(name)
            if name in ("href", "src", "poster") and not value.strip().startswith(WEB):
                found.append(f"{name}={value}")
    return found


@pytest.fixture(scope="module")
def pages() -> list[lxml.html.HtmlElement]:
    return [
        lxml.html.document_fromstring(
            path.read_bytes().decode("gbk" if ".gbk." in path.name else "utf-8", "replace")
        )
        for path in PAGES
    ]


@pytest.mark.parametrize("seed", range(2))
def test_rebuilt_pages_yield_only_safe_content(
    pages: list[lxml.html.HtmlElement], seed: int
) -> None:
    wrong = []
    for root in rebuilt(pages, _mutate, seed=seed, count=ROUNDS // 2, most=5):
        text = lxml.html.tostring(root, encoding="unicode")
        try:
            listed = parse_list_page(
                text, url="http://a.example/l.html", rules=LIST, tz=UTC, now=NOW
            )
            article = parse_article(
                text, url="http://a.example/a.html", rules=None, tz=UTC, now=NOW
            )
        except ParseError:
            continue
        problems = _forbidden(listed) + _forbidden(article) + _unsafe(article.content_html)
        problems += [found for item in listed.items for found in _unsafe(item.content_html)]
        problems += [url for url in [article.url, *(i.url for i in listed.items)]
                     if url and not url.startswith(WEB[:2])]  # fmt: skip
        if problems:
            wrong.append(f"{problems[:3]} in {text[:2000]!r}")
    assert not wrong, "\n".join(wrong[:3])
