"""What a JSON list API is asked with when it wants a POST (`form` or `json` in a json source's
`[sources.list]`): the fields of a form, or a JSON document, as the portal's script sends them.
Government platforms (集约化 sites' `/api-gateway/…/page/build/unit`) and news apps read their
lists so, and answer a GET with an error or nothing.

`page_param` then names the field that numbers the pages: page N is the body with it N - 1 more
than the config gives (2 on page 2 when the config gives none), as in a list's URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["FORM_TYPE", "JSON_TYPE", "PostBody", "page_field_problem", "post_body"]

FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
JSON_TYPE = "application/json; charset=UTF-8"
_MOST_DEPTH = 8  # `a.b.c` of a JSON body's page field


@dataclass(frozen=True, slots=True)
class PostBody:
    """A form's fields in order (`form`), or a JSON document's text (`document`)."""

    form: tuple[tuple[str, str], ...] | None = None
    document: str | None = None

    def for_page(self, param: str | None, number: int) -> tuple[bytes, str]:
        """The body of page `number` (1 for the first) and its content type."""
        if self.form is not None:
            fields = list(self.form)
            if param is not None and number > 1:
                at = next((i for i, (name, _) in enumerate(fields) if name == param), None)
                value = str(_numbered(fields[at][1] if at is not None else None, number))
                if at is None:
                    fields.append((param, value))
                else:
                    fields[at] = (param, value)
            return urlencode(fields).encode("ascii"), FORM_TYPE
        data = json.loads(self.document or "{}")
        if param is not None and number > 1 and isinstance(data, dict):
            _set_page(data, param.split("."), number)
        return json.dumps(data, ensure_ascii=False).encode("utf-8"), JSON_TYPE


def _numbered(given: object, number: int) -> int | str:
    """`given` (the first page's number, as the config writes it) made page `number`'s, in
    the type it was given: `"1"` stays a string, `1` a number."""
    if isinstance(given, bool):
        return number
    if isinstance(given, int):
        return given + number - 1
    if isinstance(given, str) and given.isascii() and given.isdigit():
        return str(int(given) + number - 1)
    return number


def _set_page(data: dict[str, object], path: list[str], number: int) -> None:
    holder = data
    for key in path[:-1]:
        inner = holder.get(key)
        if not isinstance(inner, dict):
            inner = holder[key] = {}
        holder = inner
    holder[path[-1]] = _numbered(holder.get(path[-1]), number)


def post_body(table: Mapping[str, object], path: str, errors: list[str]) -> PostBody | None:
    """The body `form` or `json` of `[sources.list]` gives, or None for a GET; each fault is
    appended to `errors`, naming its key."""
    form, document = table.get("form"), table.get("json")
    if form is not None and document is not None:
        errors.append(f"{path}: form and json both give the POST's body; keep one")
        return None
    if form is not None:
        if not isinstance(form, Mapping):
            errors.append(f'{path}.form: expected a table {{ columnId = "123", pageNo = 1 }}')
            return None
        fields = []
        for name, value in form.items():
            if isinstance(value, bool):
                fields.append((name, "true" if value else "false"))
            elif isinstance(value, (str, int, float)):
                fields.append((name, str(value)))
            else:
                errors.append(f"{path}.form.{name}: expected a string or a number")
        return PostBody(form=tuple(fields))
    if document is not None:
        if not isinstance(document, Mapping):
            errors.append(f"{path}.json: expected a table, the JSON object to send")
            return None
        text = json.dumps(document, ensure_ascii=False, default=str)
        return PostBody(document=text)
    return None


def page_field_problem(body: PostBody, param: str) -> str | None:
    """Why `param` cannot number a JSON body's pages: a path deeper than any API's, or
    through a value that is no object."""
    if body.document is None:
        return None
    keys = param.split(".")
    if len(keys) > _MOST_DEPTH or not all(keys):
        return f"{param!r} is no path of the JSON body (names joined by '.')"
    holder: object = json.loads(body.document)
    for key in keys[:-1]:
        if not isinstance(holder, dict):
            return f"{param!r}: the JSON body has no object at {key!r}"
        holder = holder.get(key, {})
    if not isinstance(holder, dict):
        return f"{param!r}: the JSON body has no object to hold it"
    return None
