"""What an operator reads when a JSON answer is not the shape the source's rules expect, and
when a feed source is pointed at a list API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feeds.errors import ParseError
from feeds.jsonlist import parse_json_list
from feeds.jsonpaths import json_list_rules
from feeds.parse import parse_feed

RULES = json_list_rules({"item": "data.list", "link": "url"}, path="sources[0].list")
NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ('"hello"', 'finds nothing (the answer is a string, "hello")'),
        ("42", "finds nothing (the answer is a number, 42)"),
        ("null", "finds nothing (the answer is null)"),
        ("[1, 2]", 'finds nothing (the answer is a list of 2 values: item = "[*]" reads them)'),
        (
            '{"data": {"list": {"a": {"url": "/1"}}}}',
            "finds an object, not a list ('data.list.*' takes its values)"
            " (the document has data={…})",
        ),
        ('{"data": {"list": "none"}}', "finds a string, not a list (the document has data={…})"),
    ],
)
def test_an_answer_of_another_shape_says_what_it_is(answer: str, said: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_json_list(answer, url="http://api.example/l", rules=RULES, tz=UTC, now=NOW)
    assert str(raised.value) == f"http://api.example/l: sources.list.item 'data.list' {said}"


def test_a_wrapped_answer_nested_too_deeply_says_so() -> None:
    answer = "callback(" + "[" * 100_000 + "]" * 100_000 + ")"
    with pytest.raises(ParseError) as raised:
        parse_json_list(answer, url="http://api.example/l", rules=RULES, tz=UTC, now=NOW)
    assert "maximum recursion depth exceeded" in str(raised.value)


@pytest.mark.parametrize(
    "answer",
    [b'jQuery123({"data": {"list": []}});', b'[{"title": "t"}]', b'var list = [{"t": 1}];'],
)
def test_a_feed_source_pointed_at_a_list_api_is_told_of_type_json(answer: bytes) -> None:
    with pytest.raises(ParseError) as raised:
        parse_feed(answer, url="http://api.example/l")
    assert 'read by a source of type = "json"' in str(raised.value)


def test_a_json_feed_without_version_or_items_is_told_of_type_json() -> None:
    with pytest.raises(ParseError) as raised:
        parse_feed(b'{"code": 0, "data": {"list": []}}', url="http://api.example/l")
    assert str(raised.value) == (
        "http://api.example/l: not a JSON Feed: no version or items"
        ' (a list API\'s JSON is read by a source of type = "json")'
    )
