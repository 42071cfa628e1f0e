"""New selectors apply to what is stored: the walk-through's steps, fetched in order with the
real CLI. The list page unchanged, its items were skipped as read, and the step-1 extraction
stayed published."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aggregator.config import config_from_mapping
from feeds import selectors
from tests.conftest import ROOT, run_cli

LIST = """
[[sources]]
id = "hz1w"
name = "汉中第一网"
url = "examples/hz1w/list.html"
type = "html"

[sources.list]
item = "div.xld dl"
link = "dt a"
"""
ARTICLE = """
[sources.article]
title = "h1.ph"
content = "td#article_content"
author = { css = "p.xg1", regex = "发布者[:：]\\\\s*(\\\\S+)" }
"""


def authors(config: Path) -> dict[str, str | None]:
    done = run_cli("render", config, "all", "--format", "json")
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)["items"]
    return {i["title"]: (i.get("authors") or [{}])[0].get("name") for i in items}


def test_new_article_selectors_apply_at_the_next_fetch(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "hz1w", tmp_path / "examples" / "hz1w")
    config = tmp_path / "config.toml"
    service = f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n'
    config.write_text(service + LIST, encoding="utf-8")
    assert run_cli("fetch", config).returncode == 0
    before = authors(config)

    config.write_text(service + LIST + ARTICLE, encoding="utf-8")
    preview = run_cli("preview", config, "hz1w", "--json")
    assert preview.returncode == 0, preview.stderr
    items = json.loads(preview.stdout)["items"]
    shown = {i["fields"]["title"]: i["fields"]["author"] for i in items}
    fetched = run_cli("fetch", config)
    assert fetched.returncode == 0, fetched.stderr
    assert "unchanged" not in fetched.stdout.splitlines()[-1]
    after = authors(config)
    assert after != before, "the step-1 extraction stayed published"
    assert {title: after[title] for title in shown} == shown, "what preview showed is stored"

    again = run_cli("fetch", config)  # the rules are stored with the read: no re-read now
    assert "unchanged" in again.stdout, again.stdout


def test_a_release_reading_pages_otherwise_reads_page_sources_whole_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest stored with each read names how this release reads pages: items of an html
    source (or a feed read with `full_content`) would otherwise keep what an older one read."""
    config = config_from_mapping(
        {
            "sources": [
                {
                    "id": "page",
                    "url": "list.html",
                    "type": "html",
                    "list": {"item": "li", "link": "a"},
                },
                {"id": "full", "url": "feed.xml", "full_content": True},
                {"id": "feed", "url": "feed.xml"},
            ]
        },
        path=tmp_path / "config.toml",
    )
    before = {source.id: source.rules_digest() for source in config.sources}
    monkeypatch.setattr(selectors, "PAGE_RULES", selectors.PAGE_RULES + 1)
    after = {source.id: source.rules_digest() for source in config.sources}
    assert before["page"] != after["page"]
    assert before["full"] != after["full"]
    assert before["feed"] == after["feed"], "a feed's own items are read again only when changed"
