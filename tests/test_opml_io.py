"""OPML for readers (`/opml`) and operators (`aggregator opml export|import`, real CLI)."""

from __future__ import annotations

from pathlib import Path

from aggregator.config import load_config
from feeds.opml import OpmlOutline, parse_opml
from tests.conftest import ROOT, run_cli
from tests.publishing import BASE, client_for, fetched_service


async def test_opml_route_lists_published_feeds_and_sources(tmp_path: Path) -> None:
    async with fetched_service(tmp_path) as service, client_for(service) as client:
        response = await client.get("/opml")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/x-opml; charset=utf-8"
        outlines = parse_opml(await response.read())
    feeds = [(o.text, o.xml_url) for o in outlines if o.category == "Feeds"]
    assert feeds == [
        ("测试 <聚合> & co", f"{BASE}/feeds/all.atom"),
        ("科技 & <b>", f"{BASE}/feeds/keji.atom"),
        ("本地", f"{BASE}/feeds/local.atom"),
    ]
    sources = {o.xml_url: o for o in outlines if o.category == "Sources"}
    assert set(sources) == {
        f"{BASE}/sources/{s}.atom" for s in ("hzfb", "portal", "hostile", "broken")
    }
    assert sources[f"{BASE}/sources/hzfb.atom"].html_url == "https://example.org/"
    assert all("file:" not in o.xml_url for o in outlines), "upstream addresses stay private"


def test_export_lists_sources_by_their_upstream_urls() -> None:
    result = run_cli("opml", ROOT / "config.toml", "export")
    assert result.returncode == 0, result.stderr
    outlines = {o.text: o for o in parse_opml(result.stdout.encode())}
    assert outlines["汉中发布"].xml_url == (ROOT / "examples" / "hzfb.xml").as_uri()
    assert outlines["汉中发布"].category == "汉中"
    # An html source has no feed upstream: readers get ours, and its page as the site.
    assert outlines["汉中第一网"].xml_url == "http://127.0.0.1:8080/sources/hz1w.atom"
    assert outlines["汉中第一网"].html_url == (ROOT / "examples/hz1w/list.html").as_uri()


CONFIG = """\
# 我的配置: this comment must survive an import
[service]
title = "聚合"
database = "var/db.sqlite3"

[[sources]]
id = "hzfb"                 # the official account
name = "汉中发布"
url = "https://example.org/hzfb/rss.xml"

[[feeds]]                   # a channel after the sources
id = "local"
sources = ["hzfb"]
"""

SUBSCRIPTIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="Tech" title="Tech">
    <outline type="rss" text="Planet Python" xmlUrl="https://planetpython.org/rss20.xml"/>
    <outline type="rss" text="Planet Python again" xmlUrl="https://planetpython.org/rss20.xml"/>
  </outline>
  <outline type="rss" text="&#27721;&#20013;&#21457;&#24067;"
           xmlUrl="https://www.example.org/hzfb/rss.xml?utm_source=reader"/>
  <outline type="rss" text="&#27721;&#20013;&#26085;&#25253;" xmlUrl="https://www.hzrb.example/feed"/>
  <outline type="rss" text="&#27721;&#20013;&#26085;&#25253;" xmlUrl="https://hzrb.example/other"/>
  <outline type="rss" text="Secrets" xmlUrl="file:///etc/passwd"/>
  <outline type="rss" text="Ours" xmlUrl="http://127.0.0.1:8080/feeds/all.atom"/>
  <outline type="rss" text="Broken" xmlUrl="http://[x/feed"/>
  <outline type="rss" text="Hostless" xmlUrl="https:planetpython.org/rss20.xml"/>
</body></opml>
"""


def test_import_appends_new_sources_and_keeps_comments(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, "utf-8")
    (tmp_path / "subs.opml").write_bytes(SUBSCRIPTIONS)

    result = run_cli("opml", config, "import", "subs.opml")

    assert result.returncode == 0, result.stderr
    assert "3 added, 6 skipped" in result.stdout
    for reason in ("already configured", "listed twice", "a local file", "one of our own feeds",
                   "http://[x/feed: not a URL",
                   "https:planetpython.org/rss20.xml: no host"):  # fmt: skip
        assert reason in result.stderr
    text = config.read_text("utf-8")
    assert text.startswith(CONFIG.split("[[feeds]]")[0]), "the original text is kept as it was"
    assert "# the official account" in text
    assert "# a channel after the sources" in text
    assert "# imported from subs.opml" in text
    loaded = load_config(config)
    added = [(s.id, s.name, s.url, s.tags, s.type) for s in loaded.sources[1:]]
    assert added == [
        ("planet-python", "Planet Python", "https://planetpython.org/rss20.xml", ("Tech",), "feed"),
        ("hzrb-example", "汉中日报", "https://www.hzrb.example/feed", (), "feed"),
        ("hzrb-example-2", "汉中日报", "https://hzrb.example/other", (), "feed"),
    ]
    assert [f.id for f in loaded.feeds] == ["all", "local"]

    again = run_cli("opml", config, "import", "subs.opml")
    assert again.returncode == 0, again.stderr
    assert "0 added, 9 skipped" in again.stdout
    assert config.read_text("utf-8") == text


def test_import_refuses_a_result_that_would_not_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, "utf-8")
    before = config.read_bytes()
    (tmp_path / "bad.opml").write_bytes(
        b'<opml version="2.0"><body><outline text="ok" xmlUrl="https://ok.example/feed"/>'
        b'<outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/></body></opml>'
    )
    (tmp_path / "broken.opml").write_bytes(b"<opml><body><outline")

    refused = run_cli("opml", config, "import", "bad.opml")
    assert refused.returncode == 2
    assert "left unchanged" in refused.stderr
    assert "sources[2].url: unsupported URL scheme 'ftp'" in refused.stderr
    malformed = run_cli("opml", config, "import", "broken.opml")
    assert malformed.returncode == 1
    assert "malformed OPML" in malformed.stderr
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.opml", "broken.opml", "config.toml"]


def test_new_ids_are_valid_and_unique() -> None:
    from aggregator.opmlio import new_id

    taken = {"abc"}
    ids = [
        new_id(OpmlOutline(text, url), taken)
        for text, url in [
            ("ABC", "https://a.example/"),
            ("ABC", "https://a.example/2"),
            ("Café Über-News!", "https://c.example/"),
            ("人民网", "https://www.people.com.cn/rss"),
            ("人民网", "https://127.0.0.1/rss"),
            ("x" * 80, "https://x.example/"),
            ("", "/relative"),
        ]
    ]
    assert ids == [
        "abc-2", "abc-3", "cafe-uber-news", "people-com-cn", "127-0-0-1", "x" * 40, "source",
    ]  # fmt: skip
