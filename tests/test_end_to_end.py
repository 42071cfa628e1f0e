"""The whole service as users run it: upstream site → `aggregator fetch` → `aggregator serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import feedparser

from tests.conftest import FIXTURES, cli_command, free_port, run_cli_async
from tests.upstream import Upstream, upstream_site

UPSTREAM = FIXTURES / "upstream"


@asynccontextmanager
async def serving(config: Path, port: int) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        *cli_command("serve", config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=config.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("server did not start")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=15)
        assert process.returncode == 0, err.decode()


def config_text(upstream: Upstream, port: int, tmp: Path) -> str:
    return f"""
[service]
title = "汉中新闻聚合"
base_url = "http://127.0.0.1:{port}"
port = {port}
database = "{tmp / "agg.sqlite3"}"

[fetch]
interval = "1h"
user_agent = "aggregator-test/1"

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{upstream.url("/hzfb.xml")}"
publisher = {{ name = "汉中市人民政府新闻办公室", url = "https://example.org/" }}
tags = ["政务"]

[[sources]]
id = "hz1w-rss"
name = "汉中第一网"
url = "{upstream.url("/portal.php")}"
publisher = {{ name = "汉中第一网", url = "http://example.net/" }}

[[feeds]]
id = "official"
title = "官方"
sources = ["hzfb"]
"""


async def fetch_text(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as response:
        assert response.status == 200, (url, response.status)
        return await response.read()


async def test_fetch_store_and_publish(tmp_path: Path) -> None:
    port = free_port()
    async with upstream_site() as upstream:
        hzfb = (UPSTREAM / "hzfb.xml").read_bytes()
        upstream.publish("/hzfb.xml", hzfb, "application/rss+xml")
        upstream.publish(
            "/portal.php", (UPSTREAM / "portal-rss.gbk.xml").read_bytes(), "text/xml"
        )  # no charset in the header: the XML declaration says gbk
        config = tmp_path / "config.toml"
        config.write_text(config_text(upstream, port, tmp_path), encoding="utf-8")

        code, out, err = await run_cli_async("fetch", config)
        assert code == 0, err
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        assert rows["hzfb"][1:3] == ["ok", "3"], out
        assert rows["hz1w-rss"][1:3] == ["ok", "2"], out
        assert upstream.seen("/hzfb.xml")[0]["User-Agent"] == "aggregator-test/1"

        code, out, err = await run_cli_async("fetch", config)
        assert code == 0, err
        assert "If-None-Match" in upstream.seen("/hzfb.xml")[-1]
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        assert rows["hzfb"][1:4] == ["not", "modified", "(304)"], out

        async with serving(config, port) as base, aiohttp.ClientSession() as session:
            atom = feedparser.parse(await fetch_text(session, f"{base}/feeds/all.atom"))
            assert not atom.bozo, atom.bozo_exception
            titles = [e.title for e in atom.entries]
            assert len(titles) == 4, "the portal's copy of the seed story merges into one entry"
            seed = next(e for e in atom.entries if e.title == "汉中又新增一项国字号荣誉！")
            assert seed.source.title == "汉中发布"
            related = [link for link in seed.links if link.rel == "related"]
            assert [link.href for link in related] == ["http://example.net/article-5316-1.html"]
            for entry in atom.entries:
                assert entry.id.startswith("urn:uuid:")
                assert entry.source.title in ("汉中发布", "汉中第一网")

            own = feedparser.parse(await fetch_text(session, f"{base}/sources/hz1w-rss.atom"))
            assert not own.bozo, own.bozo_exception
            assert len(own.entries) == 2
            portal = next(e for e in own.entries if e.title.endswith("!"))
            assert portal.title == "汉中又新增一项国字号荣誉!"  # from GBK bytes, no mojibake
            assert portal.source.title == "汉中第一网"
            assert portal.author == "admin"
            assert portal.published == "2022-01-14T09:50:00+00:00"

            rss = await fetch_text(session, f"{base}/feeds/all.rss")
            parsed = feedparser.parse(rss)
            official = next(e for e in parsed.entries if e.title == "汉中又新增一项国字号荣誉！")
            assert official.publisher == "汉中市人民政府新闻办公室"
            assert official.source.href == f"{base}/sources/hzfb.atom"
            assert {t.term for t in official.tags} >= {"科技", "政务"}

            feed_json = await (await session.get(f"{base}/feeds/official.json")).json()
            assert len(feed_json["items"]) == 3
            assert feed_json["items"][0]["_source"]["id"] == "hzfb"
            assert feed_json["items"][0]["_publisher"]["name"] == "汉中市人民政府新闻办公室"

            # An upstream edit updates the stored item in place.
            upstream.publish(
                "/hzfb.xml",
                hzfb.replace("汉中朱鹮数量突破七千只".encode(), "汉中朱鹮数量突破八千只".encode()),
                "application/rss+xml",
            )
            code, out, err = await run_cli_async("fetch", config, "hzfb")
            assert code == 0, err
            rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
            assert rows["hzfb"][1:5] == ["ok", "0", "1", "2"], out
            for _ in range(100):  # the server notices the other process's commit
                atom = feedparser.parse(await fetch_text(session, f"{base}/feeds/all.atom"))
                if "汉中朱鹮数量突破八千只" in [e.title for e in atom.entries]:
                    break
                await asyncio.sleep(0.05)
            titles = [e.title for e in atom.entries]
            assert "汉中朱鹮数量突破八千只" in titles
            assert "汉中朱鹮数量突破七千只" not in titles
            assert len(titles) == 4


async def test_fetch_exit_code_and_unknown_source(tmp_path: Path) -> None:
    port = free_port()
    async with upstream_site() as upstream:
        config = tmp_path / "config.toml"
        config.write_text(config_text(upstream, port, tmp_path), encoding="utf-8")
        code, _, err = await run_cli_async("fetch", config)  # nothing published: both answer 404
        assert code == 1
        assert "HTTP 404" in err
        code, _, err = await run_cli_async("fetch", config, "nope")
        assert code == 2
        assert 'fetch: unknown source "nope"' in err


async def test_sources_fetched_together_are_next_due_apart(tmp_path: Path) -> None:
    """Twenty sources of one interval fetched by one `aggregator fetch` (as at a first
    start) are next due over the whole interval: they fetched in the same moment for good."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n'
        + "".join(
            f'[[sources]]\nid = "s{n}"\nurl = "{UPSTREAM / "hzfb.xml"}"\ninterval = "1h"\n\n'
            for n in range(20)
        ),
        encoding="utf-8",
    )
    code, _, err = await run_cli_async("fetch", config)
    assert code == 0, err
    code, out, err = await run_cli_async("status", config, "--json")
    assert code == 0, err
    rows = json.loads(out)
    due = sorted(row["next_fetch"] - row["last_attempt"] for row in rows)
    assert len(due) == 20
    assert due[0] >= 1800, "half an interval at least"
    assert due[-1] < 5400, "one and a half at most"
    assert due[-1] - due[0] > 1800, "spread, not bunched"


async def test_fetches_that_found_nothing_new_are_debug_lines(tmp_path: Path) -> None:
    """Most fetches find nothing new: at the default level they write no line (2,000 sources
    wrote 55 MB a day of them); `service.log_level = "debug"` shows them. So does a document
    that changed while its items did not (a feed dated when made, ids made anew at each
    fetch): an `info` line of nothing stored at every fetch."""
    config = tmp_path / "config.toml"
    feed = tmp_path / "hzfb.xml"
    feed.write_bytes((UPSTREAM / "hzfb.xml").read_bytes())
    text = (
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\nlog_level = "LEVEL"\n\n'
        f'[[sources]]\nid = "a"\nurl = "{feed}"\n'
    )
    results: dict[int, list[str]] = {}
    for level in ("info", "info", "debug", "info", "debug"):
        if len(results) >= 3:  # the document changes, its items do not
            feed.write_bytes(feed.read_bytes() + f"<!-- made {len(results)} -->".encode())
        config.write_text(text.replace("LEVEL", level), encoding="utf-8")
        code, _, err = await run_cli_async("fetch", config)
        assert code == 0, err
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        results[len(results)] = [line["result"] for line in lines if line["event"] == "fetched"]
        loggers = {line["logger"].partition(".")[0] for line in lines}
        assert loggers <= {"aggregator", "storage"}, "debug is ours: not every SQL statement"
    assert results == {0: ["ok"], 1: [], 2: ["unchanged"], 3: [], 4: ["ok"]}


async def test_an_item_dated_before_1990_sorts_as_first_seen(tmp_path: Path) -> None:
    """A zero timestamp is published as the time we first saw the item: it sorted as 1970,
    below every page, so a reader never saw that new item on the first."""
    feed = tmp_path / "zero.xml"
    feed.write_text(
        '<rss version="2.0"><channel><title>z</title>'
        "<item><title>dated 2022</title><link>https://z.example/2022</link>"
        "<pubDate>Fri, 14 Jan 2022 09:30:00 +0800</pubDate></item>"
        "<item><title>dated zero</title><link>https://z.example/zero</link>"
        "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n'
        f'[[sources]]\nid = "z"\nurl = "{feed}"\n',
        encoding="utf-8",
    )
    code, _, err = await run_cli_async("fetch", config)
    assert code == 0, err
    render = ("all", "--format", "json", "--limit", "1")
    code, out, err = await run_cli_async("render", config, *render)
    assert code == 0, err
    (first,) = json.loads(out)["items"]
    assert first["title"] == "dated zero"
    assert first["date_published"].startswith(datetime.now(UTC).strftime("%Y-"))
