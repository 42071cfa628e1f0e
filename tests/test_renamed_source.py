"""A source renamed in the config (or removed and added back under another id, as `opml
import` names it) publishes its items as before: its copies under the old id, kept until
retention, are no earlier publisher to credit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def _rss(count: int) -> str:
    items = "".join(
        f"<item><title>汉中新闻第{n}条</title><link>http://example.org/news/{n}.html</link>"
        f"<guid>n{n}</guid><description>汉中市第{n}条新闻的正文。</description></item>"
        for n in range(count)
    )
    return f'<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>{items}</channel></rss>'


def _config(folder: Path, source_id: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{folder / "db.sqlite3"}"\n\n'
        f'[[sources]]\nid = "{source_id}"\nname = "汉中新闻网"\nurl = "feed.xml"\n',
        encoding="utf-8",
    )
    return path


def _entries(config: Path) -> list[dict[str, object]]:
    done = run_cli("render", config, "all", "--format", "json")
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, object]] = json.loads(done.stdout)["items"]
    return entries


def test_a_renamed_source_credits_no_origin_to_itself(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(_rss(3), encoding="utf-8")
    config = _config(tmp_path, "hzxw")
    assert run_cli("fetch", config).returncode == 0
    before = _entries(config)
    assert [entry.get("_origin") for entry in before] == [None] * 3
    _config(tmp_path, "hzxw-new")
    (tmp_path / "feed.xml").write_text(_rss(4), encoding="utf-8")
    fetched = run_cli("fetch", config)
    assert fetched.returncode == 0, fetched.stderr
    after = _entries(config)
    assert len(after) == 4
    assert [entry.get("_origin") for entry in after] == [None] * 4
    assert {entry["id"] for entry in before} <= {entry["id"] for entry in after}
