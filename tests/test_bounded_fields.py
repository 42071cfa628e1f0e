"""One line of an entry is bounded: a record's title of megabytes, within `max_bytes`, was
stored and published whole in every merged feed that showed it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_an_overlong_title_author_and_origin_are_cut(tmp_path: Path) -> None:
    title, author, origin = "长" * 300_000, "王" * 50_000, "汉中发布" * 10_000
    (tmp_path / "feed.json").write_text(
        json.dumps({
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "items": [
                {"id": "1", "url": "http://example.org/1", "title": title,
                 "content_text": "正文", "authors": [{"name": author}],
                 "_origin": {"name": origin}},
                {"id": "2", "url": "http://example.org/2", "title": "短标题",
                 "content_text": "正文", "authors": [{"name": "李娜"}]},
            ],
        }),
        encoding="utf-8",
    )  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n'
        '[[sources]]\nid = "big"\nurl = "feed.json"\n',
        encoding="utf-8",
    )
    fetched = run_cli("fetch", config)
    assert fetched.returncode == 0, fetched.stderr
    rendered = run_cli("render", config, "all", "--format", "json")
    assert rendered.returncode == 0, rendered.stderr
    entries = {entry["id"]: entry for entry in json.loads(rendered.stdout)["items"]}
    long, short = sorted(entries.values(), key=lambda entry: len(entry["title"]))[::-1]
    assert long["title"] == "长" * 999 + "…"
    assert long["authors"] == [{"name": "王" * 199 + "…"}]
    assert len(long["_origin"]["name"]) == 200
    assert (short["title"], short["authors"]) == ("短标题", [{"name": "李娜"}])
    assert len(rendered.stdout) < 10_000
