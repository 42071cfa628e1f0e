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
  <outline text="News"><outline text="&#27721;&#20013;">
    <outline type="rss" text="&#27721;&#20013;&#26085;&#25253;" xmlUrl="https://hzrb.example/other"/>
  </outline></outline>
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
        ("hzrb-example-2", "汉中日报", "https://hzrb.example/other", ("News", "汉中"), "feed"),
    ]
    assert [f.id for f in loaded.feeds] == ["all", "local"]

    again = run_cli("opml", config, "import", "subs.opml")
    assert again.returncode == 0, again.stderr
    assert "0 added, 9 skipped" in again.stdout
    assert config.read_text("utf-8") == text


def test_import_refuses_a_result_that_would_not_load(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    # an inline array the import cannot append a table to
    config.write_text('sources = [{ id = "a", url = "a.xml" }]\n[service]\ntitle = "t"\n', "utf-8")
    before = config.read_bytes()
    (tmp_path / "one.opml").write_bytes(
        b'<opml version="2.0"><body><outline text="ok" xmlUrl="https://ok.example/feed"/>'
        b"</body></opml>"
    )
    (tmp_path / "broken.opml").write_bytes(b"<opml><body><outline")

    refused = run_cli("opml", config, "import", "one.opml")
    assert refused.returncode == 2
    assert "left unchanged" in refused.stderr
    assert "sources: not written as [[sources]] tables" in refused.stderr
    malformed = run_cli("opml", config, "import", "broken.opml")
    assert malformed.returncode == 1
    assert malformed.stderr.startswith("broken.opml: malformed OPML"), malformed.stderr
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.opml", "config.toml", "one.opml"]


def test_import_skips_what_the_loader_refuses_and_reads_feed_urls(tmp_path: Path) -> None:
    """One entry with a URL the loader refuses used to refuse the whole import, naming
    `sources[N]` places that exist only in the would-be file."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, "utf-8")
    (tmp_path / "mixed.opml").write_bytes(
        b'<opml version="2.0"><body>'
        b'<outline text="Good" xmlUrl="http://127.0.0.1:18080/feed2.xml"/>'
        b'<outline text="Gopher" xmlUrl="gopher://example.com/feed"/>'
        b'<outline text="Port" xmlUrl="http://example.com:99999/feed"/>'
        b'<outline text="FTP" xmlUrl="ftp://files.example/feed.xml"/>'
        b'<outline text="Reader" xmlUrl="feed://example.com/rss"/>'
        b'<outline text="Secure" xmlUrl="feed:https://secure.example/atom"/>'
        b"</body></opml>"
    )

    result = run_cli("opml", config, "import", "mixed.opml")

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "skipped gopher://example.com/feed: unsupported URL scheme 'gopher' (http, https, file"
        " or a path)",
        "skipped http://example.com:99999/feed: port out of range 0-65535",
        "skipped ftp://files.example/feed.xml: unsupported URL scheme 'ftp' (http, https, file"
        " or a path)",
    ]
    assert "3 added, 3 skipped" in result.stdout
    assert [s.url for s in load_config(config).sources[1:]] == [
        "http://127.0.0.1:18080/feed2.xml",
        "http://example.com/rss",
        "https://secure.example/atom",
    ]


def test_import_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    """The deployment, and other tools, read the link's target: it must get the sources."""
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "config.toml"
    target.write_text(CONFIG, "utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    (tmp_path / "subs.opml").write_bytes(SUBSCRIPTIONS)

    result = run_cli("opml", link, "import", "subs.opml")

    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert link.resolve() == target
    assert [s.id for s in load_config(target).sources] == [
        "hzfb", "planet-python", "hzrb-example", "hzrb-example-2"
    ]  # fmt: skip
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.toml"]


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


def test_names_are_plain_text_where_the_validator_reads_html() -> None:
    """`Tech <Blog>` in `text` and `title` was markup to the W3C validator (`Invalid HTML`),
    and a folder with `title` beside `text` wanted a `type`; but readers take them as plain
    text. Read back, the names are as they were."""
    from lxml import etree

    from feeds.opml import OpmlOutline, parse_opml, render_opml

    outlines = [
        OpmlOutline("Tech <Blog> & 汉中", "http://t.example/feed.xml", folders=("科技 & <新闻>",)),
        OpmlOutline("汉中发布", "http://hz.example/rss.xml"),
    ]
    document = render_opml("聚合 <all>", outlines)
    root = etree.fromstring(document)
    assert root.findtext("head/title") == "聚合 &lt;all&gt;"
    folder = root.find("body/outline")
    assert folder is not None
    assert list(folder.attrib.items()) == [("text", "科技 & &lt;新闻&gt;")]
    assert folder[0].get("text") == folder[0].get("title") == "Tech &lt;Blog&gt; & 汉中"
    assert parse_opml(document) == tuple(outlines)
    # An `&` HTML reads as text stays one: readers showed `Pub &amp; Co`. One it would read
    # as a reference is escaped, and read back.
    named = [
        OpmlOutline("Pub & Co", "http://p.example/f"),
        OpmlOutline("AT&T", "http://a.example/f"),
    ]
    document = render_opml("Pub & Co", named)
    assert b'text="Pub &amp; Co"' in document
    assert b"<title>Pub &amp; Co</title>" in document
    assert b'text="AT&amp;amp;T"' in document
    assert parse_opml(document) == tuple(named)
    written_as_is = b'<opml version="2.0"><body><outline text="Cars&amp;regulations" xmlUrl="http://c.example/f"/></body></opml>'
    assert parse_opml(written_as_is)[0].text == "Cars&regulations"  # not `Cars®ulations`


_IMPORT_AT = """
import sys, time
from pathlib import Path
from aggregator.config import load_config
from aggregator.opmlio import import_opml

config = load_config(Path(sys.argv[2]))
opml = Path(sys.argv[3]).read_bytes()
while time.time() < float(sys.argv[1]):
    pass
print(len(import_opml(config, opml, "subs.opml").added), "added")
"""


def test_imports_at_the_same_moment_keep_every_source(tmp_path: Path) -> None:
    """Each import reads, appends and renames the file: run at once (a provisioning script),
    the later rename dropped the other run's sources, both runs saying they added theirs."""
    import subprocess
    import sys
    import time

    config = tmp_path / "config.toml"
    config.write_text(CONFIG, "utf-8")
    runs = []
    at = str(time.time() + 2)
    for run in range(2):
        outlines = "".join(
            f'<outline type="rss" text="r{run}-{n}" xmlUrl="https://r{run}.example/{n}.xml"/>'
            for n in range(8)
        )
        opml = tmp_path / f"run{run}.opml"
        opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', "utf-8")
        runs.append(subprocess.Popen(
            [sys.executable, "-c", _IMPORT_AT, at, str(config), str(opml)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    said = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], said
    assert all("8 added" in out for out, _ in said), said
    urls = {source.url for source in load_config(config).sources}
    assert len(urls) == 1 + 2 * 8, sorted(urls)
