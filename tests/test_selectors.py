"""Field selectors: config values checked with their place, and what they read from a page."""

from __future__ import annotations

import pickle
import re

import lxml.html
import pytest

from feeds.errors import SelectorError, SelectorErrors
from feeds.selectors import (
    ArticleRules,
    FieldSelector,
    ListRules,
    article_rules,
    field_selector,
    list_rules,
    select_html,
    select_link,
    select_text,
)

PAGE = lxml.html.document_fromstring(
    """<html><body>
    <p class="xg1">2022-1-14 17:50<span class="pipe">|</span>
      发布者: <a href="home.php?mod=space&amp;uid=1">admin</a><span class="pipe">|</span>
      来自: <a href="https://mp.weixin.qq.com/s/x">汉中发布</a></p>
    <div id="c"><p>第一段 <b>加粗</b></p><script>var x = 1;</script><p>第二段</p></div>
    <a class="empty" href=""></a><a class="empty" href="second.html">第二个链接</a>
    </body></html>"""
)


def test_a_string_is_a_css_selector() -> None:
    sel = field_selector("div.xld dl", path="sources[0].list.item")
    assert sel == FieldSelector("div.xld dl")
    assert (sel.attr, sel.regex) == (None, None)


def test_a_table_has_css_attr_and_regex() -> None:
    sel = field_selector(
        {"css": "p.xg1", "attr": "title", "regex": r"发布者[:：]\s*(\S+)"}, path="p"
    )
    assert sel == FieldSelector("p.xg1", "title", re.compile(r"发布者[:：]\s*(\S+)"))
    assert hash(sel) == hash(FieldSelector("p.xg1", "title", re.compile(r"发布者[:：]\s*(\S+)")))


def test_a_selector_pickles_and_selects_the_same() -> None:
    """The config goes to worker processes: lxml's compiled XPath does not pickle itself."""
    sel = FieldSelector("p.xg1", "title", re.compile(r"发布者[:：]\s*(\S+)"))
    again = pickle.loads(pickle.dumps(sel))  # noqa: S301 (our own bytes)
    assert again == sel
    page = lxml.html.fromstring('<div><p class="xg1" title="t">a</p><p class="xg1">b</p></div>')
    assert [e.text for e in again.select(page)] == [e.text for e in sel.select(page)] == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("div[", "sources[1].list.item: not a valid CSS selector: Expected ident or '*', got <EOF"),
        ("a::text", "sources[1].list.item: not a valid CSS selector: Pseudo-elements are not"),
        ("", "sources[1].list.item: needs a CSS selector"),
        (42, 'sources[1].list.item: expected a CSS selector or a table { css = "…" }'),
        ({"attr": "href"}, "sources[1].list.item: needs a CSS selector"),
        (
            {"css": "a", "atr": "href"},
            'sources[1].list.item.atr: unknown key (did you mean "attr"?)',
        ),
        ({"css": "a", "attr": ""}, "sources[1].list.item.attr: expected an attribute name"),
        ({"css": "a", "regex": "(unclosed"}, "sources[1].list.item.regex: not a valid regular"),
        ({"css": "a", "regex": r"\d+"}, "sources[1].list.item.regex: needs a group"),
        ({"css": "a", "regex": 3}, "sources[1].list.item.regex: expected a string"),
    ],
)
def test_mistakes_are_reported_with_their_place(value: object, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        field_selector(value, path="sources[1].list.item")
    assert str(caught.value).startswith(message)


def test_list_rules() -> None:
    rules = list_rules(
        {
            "item": "div.xld dl",
            "link": "dt a",
            "title": "dt a",
            "summary": "dd.xs2",
            "published": "dd .xg1",
            "next_page": "a.nxt",
            "max_pages": 3,
        },
        path="sources[1].list",
    )
    assert rules == ListRules(
        item=FieldSelector("div.xld dl"),
        link=FieldSelector("dt a"),
        title=FieldSelector("dt a"),
        summary=FieldSelector("dd.xs2"),
        published=FieldSelector("dd .xg1"),
        next_page=FieldSelector("a.nxt"),
        max_pages=3,
    )


def test_list_rules_report_every_error_at_once() -> None:
    with pytest.raises(SelectorErrors) as caught:
        list_rules(
            {
                "titel": "h1",
                "summary": "dd[",
                "published": {"css": "x", "regex": "no group"},
                "max_pages": 0,
            },
            path="sources[2].list",
        )
    assert caught.value.errors == (
        'sources[2].list.titel: unknown key (did you mean "title"?)',
        "sources[2].list.item: is required",
        "sources[2].list.link: is required",
        "sources[2].list.summary: not a valid CSS selector: Expected ident or '*', got <EOF at 3>",
        "sources[2].list.published.regex: needs a group ( … ) around the part to keep",
        "sources[2].list.max_pages: must be between 1 and 100",
    )
    assert isinstance(caught.value, SelectorError)


@pytest.mark.parametrize("max_pages", [True, "2", 101])
def test_max_pages_is_a_small_whole_number(max_pages: object) -> None:
    with pytest.raises(SelectorErrors, match=r"^x\.max_pages: "):
        list_rules({"item": "dl", "link": "a", "max_pages": max_pages}, path="x")


def test_article_rules() -> None:
    rules = article_rules(
        {
            "title": "h1.ph",
            "content": "td#article_content",
            "summary": "div.s",
            "published": "p.xg1",
            "author": {"css": "p.xg1", "regex": r"发布者[:：]\s*(\S+)"},
            "origin": {"css": "p.xg1", "regex": r"来自[:：]\s*(\S+)"},
            "remove": [".a_af", "script", "style"],
        },
        path="sources[1].article",
    )
    assert rules == ArticleRules(
        title=FieldSelector("h1.ph"),
        content=FieldSelector("td#article_content"),
        summary=FieldSelector("div.s"),
        published=FieldSelector("p.xg1"),
        author=FieldSelector("p.xg1", regex=re.compile(r"发布者[:：]\s*(\S+)")),
        origin=FieldSelector("p.xg1", regex=re.compile(r"来自[:：]\s*(\S+)")),
        remove=(FieldSelector(".a_af"), FieldSelector("script"), FieldSelector("style")),
    )
    assert article_rules({}, path="a") == ArticleRules()
    assert ArticleRules().max_pages == 10, "an article's pages are followed unless told"
    paged = article_rules({"next_page": "div.pg a.nxt", "max_pages": 1}, path="a")
    assert (paged.next_page, paged.max_pages) == (FieldSelector("div.pg a.nxt"), 1)


def test_article_rules_report_every_error_at_once() -> None:
    with pytest.raises(SelectorErrors) as caught:
        article_rules(
            {
                "content": "td[",
                "author": {"css": "p", "regex": "("},
                "remove": ["ok", 3, "::x"],
                "next_page": "a[",
                "max_pages": 0,
            },
            path="sources[0].article",
        )
    assert [error.split(":")[0] for error in caught.value.errors] == [
        "sources[0].article.content",
        "sources[0].article.author.regex",
        "sources[0].article.next_page",
        "sources[0].article.max_pages",
        "sources[0].article.remove[1]",
        "sources[0].article.remove[2]",
    ]
    with pytest.raises(SelectorErrors, match=r"^a\.remove: expected a list of CSS selectors$"):
        article_rules({"remove": ".ad"}, path="a")


def test_select_text_collapses_whitespace_and_skips_scripts() -> None:
    assert select_text(PAGE, FieldSelector("#c")) == "第一段 加粗 第二段"
    assert select_text(PAGE, FieldSelector("p.xg1")) == (
        "2022-1-14 17:50| 发布者: admin| 来自: 汉中发布"
    )


def test_select_text_applies_attr_and_the_first_group() -> None:
    author = FieldSelector("p.xg1", regex=re.compile(r"发布者[:：]\s*(\S+)"))
    assert select_text(PAGE, author) == "admin|"  # `clean_credit` trims the pipe
    assert select_text(PAGE, FieldSelector("p.xg1 a", "href")) == "home.php?mod=space&uid=1"
    assert select_text(PAGE, FieldSelector("p.xg1", regex=re.compile(r"评论: (\d+)"))) is None
    assert select_text(PAGE, FieldSelector("h1")) is None


def test_select_takes_the_first_match_that_has_a_value() -> None:
    assert select_link(PAGE, FieldSelector("a.empty")) == "second.html"
    assert select_link(PAGE, FieldSelector("a.empty", regex=re.compile(r"(\w+)\.html"))) == "second"


def test_select_html_is_inner_markup() -> None:
    assert select_html(PAGE, FieldSelector("#c")) == (
        "<p>第一段 <b>加粗</b></p><script>var x = 1;</script><p>第二段</p>"
    )
    assert select_html(PAGE, FieldSelector("#c", regex=re.compile(r"<b>(.*?)</b>"))) == "加粗"
    assert select_html(PAGE, FieldSelector("a.empty", "href")) == "second.html"
    assert select_html(PAGE, FieldSelector("table")) is None
