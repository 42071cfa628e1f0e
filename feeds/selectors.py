"""Operator-written selectors for HTML sources (SPEC §3), checked once when the config loads.

A field selector is a CSS selector, optionally with an attribute to read instead of the text
and a regular expression whose first group is kept. The constructors collect every mistake in a
block before raising, so `aggregator check` can report them all with their places.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import cast

import cssselect
import lxml.html
from lxml import etree

from feeds.errors import SelectorError, SelectorErrors
from feeds.htmltree import inner_html, text_of

__all__ = [
    "PAGE_RULES",
    "ArticleRules",
    "FieldSelector",
    "KeyCheck",
    "ListRules",
    "RuleCollector",
    "SelectorError",
    "SelectorErrors",
    "article_rules",
    "close_key",
    "field_selector",
    "group_regex",
    "list_rules",
    "select_html",
    "select_link",
    "select_text",
    "unknown_key",
]

_TRANSLATOR = cssselect.HTMLTranslator()
_SELECTOR_KEYS = frozenset({"css", "attr", "regex"})
_MAX_PAGES = 100
ARTICLE_PAGES = 10  # an article's pages read by default, the first included
# Renumber with any change to how a page becomes an item (feeds/htmlpage.py, feeds/listpage.py
# and the modules they read pages with, aggregator/follow.py's files): a source read from pages
# (`type = "html"`, or a feed with `full_content`) is then read whole once, as after an edit of
# its selectors, else its stored items keep what the older code read (a linked PDF's bytes as
# their text).
PAGE_RULES = 5


_Regex = re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A CSS selector compiled to XPath once, with what to read from the elements it matches."""

    css: str
    attr: str | None = None
    regex: re.Pattern[str] | None = None
    xpath: etree.XPath = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            expression = _TRANSLATOR.css_to_xpath(self.css, prefix="descendant-or-self::")
            xpath = etree.XPath(expression)
        except cssselect.SelectorError as error:
            raise SelectorError(f"not a valid CSS selector: {error}") from error
        except RecursionError as error:  # cssselect parses `:is(:is(…))` by recursion
            raise SelectorError("not a valid CSS selector: nested too deeply") from error
        except (ValueError, etree.XPathError) as error:  # lxml: a control character in it
            raise SelectorError(f"not a valid CSS selector: {error} in {self.css!r}") from error
        object.__setattr__(self, "xpath", xpath)

    def __reduce__(self) -> tuple[type[FieldSelector], tuple[str, str | None, _Regex]]:
        """Pickled as its settings, compiled again when loaded: lxml's XPath objects do not
        pickle, and the config, selectors included, goes to the rendering processes."""
        return FieldSelector, (self.css, self.attr, self.regex)

    def select(self, element: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        """The elements this selector matches in `element` (itself included), in document order."""
        return cast(list[lxml.html.HtmlElement], self.xpath(element))


@dataclass(frozen=True, slots=True)
class ListRules:
    """How to find items on a list page: one `item` match per item, the rest inside it."""

    item: FieldSelector
    link: FieldSelector
    title: FieldSelector | None = None
    summary: FieldSelector | None = None
    published: FieldSelector | None = None
    next_page: FieldSelector | None = None
    max_pages: int = 1


@dataclass(frozen=True, slots=True)
class ArticleRules:
    """How to read an article page; a field without a selector is extracted automatically."""

    title: FieldSelector | None = None
    content: FieldSelector | None = None
    summary: FieldSelector | None = None
    published: FieldSelector | None = None
    author: FieldSelector | None = None
    origin: FieldSelector | None = None
    remove: tuple[FieldSelector, ...] = ()
    next_page: FieldSelector | None = None  # else a "下一页" link that continues the page's URL
    max_pages: int = ARTICLE_PAGES


def field_selector(value: object, *, path: str) -> FieldSelector:
    """A selector from a config value: `"css"` or `{css = "…", attr = "…", regex = "…"}`.

    Raises `SelectorErrors` with every fault of a table at once, so that a fix is not
    followed by the next fault at each `aggregator check`.
    """
    if isinstance(value, str):
        table: Mapping[str, object] = {"css": value}
    elif isinstance(value, Mapping):
        table = value
    else:
        raise SelectorErrors((f'{path}: expected a CSS selector or a table {{ css = "…" }}',))
    errors = [
        f"{path}.{key}: {unknown_key(key, _SELECTOR_KEYS)}"
        for key in sorted(set(table) - _SELECTOR_KEYS)
    ]
    css, attr = table.get("css"), table.get("attr")
    attr_name = attr.strip() if isinstance(attr, str) else None
    if attr is not None and not attr_name:
        errors.append(f"{path}.attr: expected an attribute name")
    regex = group_regex(table.get("regex"), f"{path}.regex", errors)
    selector = None
    if not isinstance(css, str) or not css.strip():
        errors.append(f"{path}: needs a CSS selector")
    else:
        try:
            selector = FieldSelector(css.strip(), attr_name, regex)
        except SelectorError as error:
            errors.append(f"{path}: {error}")
    if selector is None or errors:
        raise SelectorErrors(tuple(errors))
    return selector


def group_regex(pattern: object, path: str, errors: list[str]) -> re.Pattern[str] | None:
    """`pattern` compiled, with a group to keep; a fault is added to `errors`."""
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        errors.append(f"{path}: expected a string")
        return None
    try:
        regex = re.compile(pattern)
    except (re.error, OverflowError) as error:  # OverflowError: a{99999999999}
        errors.append(f"{path}: not a valid regular expression: {error}")
        return None
    except RecursionError:  # the parser recurses once per group
        errors.append(f"{path}: not a valid regular expression: groups nested too deeply")
        return None
    if regex.groups == 0:
        errors.append(f"{path}: needs a group ( … ) around the part to keep")
        return None
    return regex


def close_key(key: str, known: Collection[str]) -> str | None:
    """The known key `key` most likely misspells, if one is close (as Python's argparse
    suggests a command): linear in the keys, as difflib's quick ratios come first."""
    found = difflib.get_close_matches(key, sorted(known), n=1)
    return found[0] if found else None


def unknown_key(key: str, known: Collection[str]) -> str:
    """What is said of `key`, not one of `known`: the key it most likely misspells, or every
    known key when none is close."""
    return _unknown(known, close_key(key, known))


def _unknown(known: Collection[str], meant: str | None) -> str:
    if meant is not None:
        return f'unknown key (did you mean "{meant}"?)'
    return f"unknown key (known: {', '.join(sorted(known))})"


class KeyCheck:
    """A table's keys against the known ones: each unknown key an error naming the key it most
    likely misspells; a required key absent that one of them misspells, one error naming both
    (`item: is required; itme is unknown: did you mean "item"?`), not two unrelated ones."""

    def __init__(
        self,
        keys: Collection[str],
        known: Collection[str],
        place: Callable[[str], str],
        errors: list[str],
    ) -> None:
        self._place, self._errors = place, errors
        # a key meant but absent -> the unknown key written for it, and the place of its error
        self._misspelt: dict[str, tuple[str, int]] = {}
        for key in keys:
            if key in known:
                continue
            meant = close_key(key, known)
            if meant is not None and meant not in keys:
                self._misspelt.setdefault(meant, (key, len(errors)))
            errors.append(f"{place(key)}: {_unknown(known, meant)}")

    def missing(self, key: str) -> None:
        """`key` is required and absent."""
        message = f"{self._place(key)}: is required"
        if key not in self._misspelt:
            self._errors.append(message)
            return
        typo, index = self._misspelt[key]
        self._errors[index] = f'{message}; {typo} is unknown: did you mean "{key}"?'


class RuleCollector:
    """Reads one block of selectors, remembering every error instead of stopping at the first."""

    def __init__(self, table: Mapping[str, object], path: str, known: frozenset[str]) -> None:
        self.table, self.path = table, path
        self.errors: list[str] = []
        self._keys = KeyCheck(table.keys(), known, lambda key: f"{path}.{key}", self.errors)

    def selector(self, key: str, *, required: bool = False) -> FieldSelector | None:
        if key in self.table:
            return self.parse(self.table[key], f"{self.path}.{key}")
        if required:
            self.missing(key)
        return None

    def missing(self, key: str) -> None:
        self._keys.missing(key)

    def parse(self, value: object, path: str) -> FieldSelector | None:
        try:
            return field_selector(value, path=path)
        except SelectorErrors as error:
            self.errors.extend(error.errors)
            return None

    def pages(self, default: int) -> int:
        """`max_pages`: how many pages are read, the first included."""
        value = self.table.get("max_pages", default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.errors.append(f"{self.path}.max_pages: must be an integer")
        elif not 1 <= value <= _MAX_PAGES:
            self.errors.append(f"{self.path}.max_pages: must be between 1 and {_MAX_PAGES}")
        else:
            return value
        return default

    def check(self) -> None:
        if self.errors:
            raise SelectorErrors(tuple(self.errors))


def list_rules(table: Mapping[str, object], *, path: str) -> ListRules:
    """`[sources.list]` checked; `SelectorErrors` lists every problem found."""
    rules = RuleCollector(table, path, frozenset(ListRules.__dataclass_fields__))
    item, link = rules.selector("item", required=True), rules.selector("link", required=True)
    title, summary = rules.selector("title"), rules.selector("summary")
    published, next_page = rules.selector("published"), rules.selector("next_page")
    max_pages = rules.pages(1)
    rules.check()
    assert item is not None, "check() raised when a required selector is missing"
    assert link is not None, "check() raised when a required selector is missing"
    return ListRules(item, link, title, summary, published, next_page, max_pages)


def article_rules(table: Mapping[str, object], *, path: str) -> ArticleRules:
    """`[sources.article]` checked; `SelectorErrors` lists every problem found."""
    rules = RuleCollector(table, path, frozenset(ArticleRules.__dataclass_fields__))
    fields = {name: rules.selector(name) for name in ("title", "content", "summary", "published")}
    author, origin = rules.selector("author"), rules.selector("origin")
    next_page, max_pages = rules.selector("next_page"), rules.pages(ARTICLE_PAGES)
    remove: list[FieldSelector] = []
    raw_remove = table.get("remove", [])
    if isinstance(raw_remove, list | tuple):
        for index, css in enumerate(raw_remove):
            where = f"{path}.remove[{index}]"
            if not isinstance(css, str):
                rules.errors.append(f"{where}: expected a CSS selector string")
            elif found := rules.parse(css, where):
                remove.append(found)
    else:
        rules.errors.append(f"{path}.remove: expected a list of CSS selectors")
    rules.check()
    return ArticleRules(
        **fields,
        author=author,
        origin=origin,
        remove=tuple(remove),
        next_page=next_page,
        max_pages=max_pages,
    )


def _read(
    match: lxml.html.HtmlElement, sel: FieldSelector, attr: str | None, markup: bool
) -> str | None:
    if attr:
        raw = match.get(attr)
        raw = html.escape(raw, quote=False) if markup and raw is not None else raw
    else:
        raw = inner_html(match) if markup else text_of(match)
    if raw is not None and sel.regex is not None:
        found = sel.regex.search(raw)
        raw = found.group(1) if found else None
    return (raw.strip() or None) if raw is not None else None


def _first(
    element: lxml.html.HtmlElement, sel: FieldSelector, attr: str | None, markup: bool
) -> str | None:
    return next((v for m in sel.select(element) if (v := _read(m, sel, attr, markup))), None)


def select_text(element: lxml.html.HtmlElement, sel: FieldSelector) -> str | None:
    """The text (or `attr`) of the first match that yields a value, through `regex` if given."""
    return _first(element, sel, sel.attr, markup=False)


def select_html(element: lxml.html.HtmlElement, sel: FieldSelector) -> str | None:
    """The inner HTML (or escaped `attr`) of the first match that yields a value."""
    return _first(element, sel, sel.attr, markup=True)


def select_link(element: lxml.html.HtmlElement, sel: FieldSelector) -> str | None:
    """The `href` (or `attr`) of the first match that has one, through `regex` if given."""
    return _first(element, sel, sel.attr or "href", markup=False)
