"""Operator-written JMESPath fields for JSON list sources (`type = "json"`), checked once when
the config loads.

A portal whose list is filled in by script reads it from a JSON (or JSONP) API; the fields say
where in each record the link, title and the rest are. JMESPath (https://jmespath.org) is the
query language the AWS tools and Ansible made familiar: `data.list`, `items[?top != '1']`,
`join('', [channel, '/', to_string(id)])`. A field may add a regular expression whose first
group is kept, and a template the value is written into (`detail/{}.html`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions

from feeds.errors import SelectorErrors
from feeds.jsonpost import PostBody, page_field_problem, post_body
from feeds.selectors import RuleCollector, group_regex

__all__ = ["JsonDetailRules", "JsonField", "JsonListRules", "json_detail_rules", "json_list_rules"]

_FIELD_KEYS = frozenset({"path", "regex", "template"})
_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)
_PLACE = "{}"


@dataclass(frozen=True, slots=True)
class JsonField:
    """A JMESPath expression compiled once, with what to make of the value it finds."""

    path: str
    regex: re.Pattern[str] | None = None
    template: str | None = None  # the value written in place of its `{}`
    compiled: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", jmespath.compile(self.path))

    def __reduce__(
        self,
    ) -> tuple[type[JsonField], tuple[str, re.Pattern[str] | None, str | None]]:
        """Pickled as its settings, compiled again when loaded, as `FieldSelector` is."""
        return JsonField, (self.path, self.regex, self.template)

    def find(self, record: object) -> object:
        """What the expression finds in `record`, None for nothing; raises `JMESPathError`
        where it fails on a record of another shape (a function given a number where it
        wants a string)."""
        return self.compiled.search(record)


@dataclass(frozen=True, slots=True)
class JsonListRules:
    """How to read a JSON list: `item` finds the records, the rest is read in each record.

    `page_param` names the query parameter that numbers the list's pages (`pgnum`): page N+1
    is the URL with it set to one more, up to `max_pages` (with `post`, the body's field).
    `next_page` instead reads the next page's URL (or a cursor, through a template) from the
    document. `post`: the list is asked for by POST, with that body (`feeds.jsonpost`)."""

    item: JsonField
    link: JsonField
    title: JsonField | None = None
    summary: JsonField | None = None
    content: JsonField | None = None
    published: JsonField | None = None
    author: JsonField | None = None
    origin: JsonField | None = None
    image: JsonField | None = None
    tags: JsonField | None = None
    id: JsonField | None = None
    next_page: JsonField | None = None
    page_param: str | None = None
    max_pages: int = 1
    post: PostBody | None = None


@dataclass(frozen=True, slots=True)
class JsonDetailRules:
    """How to read a record's body from a second API (a portal whose article page its script
    fills in): `url` is read in the list's record, the rest in the detail answer, under
    `item` when given."""

    url: JsonField
    item: JsonField | None = None
    content: JsonField | None = None
    title: JsonField | None = None
    summary: JsonField | None = None
    published: JsonField | None = None
    author: JsonField | None = None
    origin: JsonField | None = None
    image: JsonField | None = None
    tags: JsonField | None = None


def json_field(value: object, *, path: str) -> JsonField:
    """A field from a config value: `"a.b"` or `{ path = "a.b", regex = "…", template = "…" }`.

    Raises `SelectorErrors` with every fault of a table at once."""
    if isinstance(value, str):
        table: Mapping[str, object] = {"path": value}
    elif isinstance(value, Mapping):
        table = value
    else:
        raise SelectorErrors(
            (f'{path}: expected a JMESPath expression or a table {{ path = "…" }}',)
        )
    errors = [
        f"{path}.{key}: unknown key (expected path, regex, template)"
        for key in sorted(set(table) - _FIELD_KEYS)
    ]
    expression, template = table.get("path"), table.get("template")
    regex = group_regex(table.get("regex"), f"{path}.regex", errors)
    if template is not None and (not isinstance(template, str) or _PLACE not in template):
        errors.append(f"{path}.template: expected a string with {_PLACE} where the value goes")
        template = None
    made = None
    if not isinstance(expression, str) or not expression.strip():
        errors.append(f"{path}: needs a JMESPath expression")
    else:
        try:
            made = JsonField(expression.strip(), regex, template)
        except JMESPathError as error:
            errors.append(f"{path}: not a valid JMESPath expression: {_one_line(error)}")
        except RecursionError:
            errors.append(f"{path}: not a valid JMESPath expression: nested too deeply")
        else:
            errors.extend(
                f"{path}: {name}() is no JMESPath function" for name in _unknown_functions(made)
            )
    if made is None or errors:
        raise SelectorErrors(tuple(errors))
    return made


def _unknown_functions(field: JsonField) -> list[str]:
    """Functions the expression calls that JMESPath has not (`to_str` for `to_string`):
    each would fail on every record, and the field read nothing."""
    unknown: list[str] = []
    pending = [field.compiled.parsed]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "function_expression" and node.get("value") not in _FUNCTIONS:
            unknown.append(str(node.get("value")))
        pending.extend(node.get("children", ()))
    return sorted(set(unknown))


def _one_line(error: JMESPathError) -> str:
    """jmespath's message draws a caret under the expression on lines of its own."""
    return " ".join(str(error).split())


class _RuleFields(RuleCollector):
    def json(self, key: str, *, required: bool = False) -> JsonField | None:
        if key not in self.table:
            if required:
                self.missing(key)
            return None
        try:
            return json_field(self.table[key], path=f"{self.path}.{key}")
        except SelectorErrors as error:
            self.errors.extend(error.errors)
            return None


_NAMED = ("title", "summary", "content", "published", "author", "origin", "image", "tags", "id")


def json_list_rules(table: Mapping[str, object], *, path: str) -> JsonListRules:
    """`[sources.list]` of a `type = "json"` source checked; `SelectorErrors` lists every
    problem found."""
    known = (set(JsonListRules.__dataclass_fields__) - {"post"}) | {"form", "json"}
    fields = _RuleFields(table, path, frozenset(known))
    item, link = fields.json("item", required=True), fields.json("link", required=True)
    named = {name: fields.json(name) for name in _NAMED}
    next_page, max_pages = fields.json("next_page"), fields.pages(1)
    page_param = table.get("page_param")
    if page_param is not None and (not isinstance(page_param, str) or not page_param.strip()):
        fields.errors.append(f"{path}.page_param: expected the name of a query parameter")
        page_param = None
    if page_param is not None and next_page is not None:
        fields.errors.append(f"{path}: page_param and next_page both say where page 2 is")
    param = page_param.strip() if isinstance(page_param, str) else None
    post = post_body(table, path, fields.errors)
    if post is not None and param is not None and (problem := page_field_problem(post, param)):
        fields.errors.append(f"{path}.page_param: {problem}")
    fields.check()
    assert item is not None, "check() raised when a required field is missing"
    assert link is not None, "check() raised when a required field is missing"
    return JsonListRules(
        item, link, **named, next_page=next_page, page_param=param, max_pages=max_pages,
        post=post,
    )  # fmt: skip


_DETAIL_NAMED = ("item", "content", "title", "summary", "published", "author", "origin", "image",
                 "tags")  # fmt: skip


def json_detail_rules(table: Mapping[str, object], *, path: str) -> JsonDetailRules:
    """`[sources.detail]` checked; `SelectorErrors` lists every problem found."""
    fields = _RuleFields(table, path, frozenset(JsonDetailRules.__dataclass_fields__))
    url = fields.json("url", required=True)
    named = {name: fields.json(name) for name in _DETAIL_NAMED}
    if "content" not in table:
        fields.errors.append(f"{path}.content: is required (the body the detail API gives)")
    fields.check()
    assert url is not None, "check() raised when a required field is missing"
    return JsonDetailRules(url, **named)
