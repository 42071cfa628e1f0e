"""Config mistakes name the key or source meant: a typo is fixed from the message alone."""

from __future__ import annotations

import time

import pytest

from aggregator.config import load_config
from aggregator.errors import ConfigError
from tests.conftest import WriteConfig, run_cli

TYPOS = """
[service]
prot = 8080
cache_max_age = 300

[fetch]
intervall = "15m"
max_bytes = 10

[[sources]]
id = "hz1w"
url = "http://127.0.0.1:9/list"
type = "html"
tag = ["x"]

[sources.list]
itme = "div.xld dl"
link = "dt a"
max_pages = 0

[sources.article]
titel = "h1"
content = { css = "td", atr = "href" }
max_pages = "3"

[[sources]]
id = "s2"
ulr = "http://127.0.0.1:9/feed"
publisher = { name = "A", nmae = "B" }

[[feeds]]
id = "x"
sources = ["hz1x"]
limt = 5
"""


def problems(write_config: WriteConfig, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    return list(info.value.problems)


def test_each_typo_names_the_key_or_source_meant(write_config: WriteConfig) -> None:
    assert problems(write_config, TYPOS) == [
        'service.prot: unknown key (did you mean "port"?)',
        'service.cache_max_age: must be a duration such as "5m"',
        'fetch.intervall: unknown key (did you mean "interval"?)',
        'fetch.max_bytes: must be a size such as "10MB"',
        'sources[0].tag: unknown key (did you mean "tags"?) (source "hz1w")',
        # one error for the misspelt required key, naming both
        'sources[0].list.item: is required; itme is unknown: did you mean "item"? (source "hz1w")',
        'sources[0].list.max_pages: must be between 1 and 100 (source "hz1w")',
        'sources[0].article.titel: unknown key (did you mean "title"?) (source "hz1w")',
        'sources[0].article.content.atr: unknown key (did you mean "attr"?) (source "hz1w")',
        'sources[0].article.max_pages: must be an integer (source "hz1w")',
        'sources[1].url: is required; ulr is unknown: did you mean "url"? (source "s2")',
        'sources[1].publisher.nmae: unknown key (did you mean "name"?) (source "s2")',
        'feeds[0].limt: unknown key (did you mean "limit"?)',
        'feeds[0].sources: unknown source "hz1x" (did you mean "hz1w"?)',
    ]


def test_a_key_like_none_lists_the_known_ones(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        '[[sources]]\nid = "a"\nurl = "http://127.0.0.1:9/"\ntype = "html"\n'
        '[sources.list]\nitem = "dl"\nlink = "a"\ncolour = "red"\n'
        '[sources.article]\nwidget = "x"\n[[feeds]]\nid = "f"\nsources = ["zzzz"]\n',
    )
    assert found == [
        "sources[0].list.colour: unknown key (known: item, link, max_pages, next_page,"
        ' published, summary, title) (source "a")',
        "sources[0].article.widget: unknown key (known: author, content, max_pages, next_page,"
        ' origin, published, remove, summary, title) (source "a")',
        'feeds[0].sources: unknown source "zzzz"',
    ]


def test_a_required_key_missing_without_a_typo_is_said_alone(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        '[[sources]]\nid = "a"\nurl = "http://127.0.0.1:9/"\ntype = "html"\n'
        '[sources.list]\nlink = "a"\n[[sources]]\nid = "b"\n',
    )
    assert found == [
        'sources[0].list.item: is required (source "a")',
        'sources[1].url: is required (source "b")',
    ]


def test_check_prints_the_hints(write_config: WriteConfig) -> None:
    result = run_cli("check", write_config(TYPOS))
    assert result.returncode == 2
    assert '  service.prot: unknown key (did you mean "port"?)\n' in result.stderr
    assert '  feeds[0].sources: unknown source "hz1x" (did you mean "hz1w"?)\n' in result.stderr


def test_hostile_keys_and_many_unknown_sources_stay_fast(write_config: WriteConfig) -> None:
    """A megabyte-long key, and 100 feeds naming 1,000 unknown sources each among 1,000
    configured: the close matches are bounded, not one per name and id."""
    sources = "".join(
        f'[[sources]]\nid = "s{i}"\nurl = "http://127.0.0.1:9/{i}"\n' for i in range(1000)
    )
    names = ", ".join(f'"s{i}x"' for i in range(1000))
    feeds = "".join(f'[[feeds]]\nid = "f{i}"\nsources = [{names}]\n' for i in range(100))
    text = f"[service]\n{'x' * 1_000_000} = 1\n{sources}{feeds}"
    started = time.monotonic()
    found = problems(write_config, text)
    assert time.monotonic() - started < 20
    assert found[0].startswith("service.xxxxxxxx")
    assert found[0].endswith("workers)")
    assert len(found) == 1 + 100 * 1000
    assert found[1] == 'feeds[0].sources: unknown source "s0x" (did you mean "s0"?)'
    assert found[-1] == 'feeds[99].sources: unknown source "s999x"'


def test_a_json_source_s_tables_name_the_key_meant(write_config: WriteConfig) -> None:
    found = problems(
        write_config,
        '[[sources]]\nid = "api"\ntype = "json"\nurl = "http://127.0.0.1:9/list"\n'
        '[sources.list]\nitem = "data.list"\nlink = "url"\ntitel = "title"\n'
        '[sources.detail]\nurl = "id"\ncontent = "body"\nwidget = "x"\n',
    )
    assert 'sources[0].list.titel: unknown key (did you mean "title"?) (source "api")' in found
    assert any(p.startswith("sources[0].detail.widget: unknown key (known: ") for p in found)


def test_a_json_sources_misspelt_required_field_is_one_error(write_config: WriteConfig) -> None:
    path = write_config(
        '[[sources]]\nid = "api"\ntype = "json"\nurl = "http://api.example/list"\n'
        '[sources.list]\nitme = "data.list"\nlink = "url"\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert [p for p in raised.value.problems if ".list." in p] == [
        'sources[0].list.item: is required; itme is unknown: did you mean "item"? (source "api")'
    ]
