"""Dates and ids that move by themselves: a CMS stamping every item of its feed with the time
the feed was made, moving a pinned item to now, or giving every item a new `<guid>` at each
fetch. What readers see of such an item never changes, so it is no edit, and no new item."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from aggregator.config import load_config
from aggregator.service import running_service
from aggregator.web.app import make_app

CONFIG = """
[service]
base_url = "http://feeds.example"
database = "{db}"

[[sources]]
id = "gen"
name = "动态网站"
url = "{feed}"
"""


def feed(dates: list[datetime], bodies: tuple[str, ...] = ("第一", "第二", "第三")) -> str:
    items = "".join(
        f"<item><title>新闻{n}</title><link>http://gen.example/{n}.html</link>"
        f"<guid>gen-{n}</guid><pubDate>{format_datetime(date)}</pubDate>"
        f"<description>{body}条新闻的正文。</description></item>"
        for n, (date, body) in enumerate(zip(dates, bodies, strict=True))
    )
    channel = f"<channel><title>动态</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


async def test_a_feed_dated_when_it_is_made_edits_nothing(tmp_path: Path) -> None:
    source = tmp_path / "gen.xml"
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3", feed=source), "utf-8")
    config = load_config(path)
    now = datetime.now(UTC)
    pinned = now - timedelta(days=10)
    source.write_text(feed([now + timedelta(seconds=5), now + timedelta(seconds=5), pinned]))
    async with running_service(config, schedule=False) as service:
        first = await service.pipeline.run(config.sources[0])
        assert first.new == 3
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            before = await client.get("/sources/gen.json")
            shown: dict[str, Any] = await before.json()
            for minutes in (15, 30):
                later = now + timedelta(minutes=minutes)
                source.write_text(feed([later, later, later]))  # the pinned item moved to now
                report = await service.pipeline.run(config.sources[0])
                assert (report.new, report.updated, report.unchanged) == (0, 0, 3)
            after = await client.get("/sources/gen.json")
            assert after.headers["ETag"] == before.headers["ETag"]
            assert await after.json() == shown
            pinned_entry = next(i for i in shown["items"] if i["title"] == "新闻2")
            assert datetime.fromisoformat(pinned_entry["date_published"]) == pinned.replace(
                microsecond=0
            )
            # an edit still shows, its dates as readers saw them
            edited = now + timedelta(minutes=45)
            source.write_text(feed([edited] * 3, bodies=("第一", "更正后的第二", "第三")))
            report = await service.pipeline.run(config.sources[0])
            assert (report.updated, report.unchanged) == (1, 2)
            final = {
                i["title"]: i
                for i in (await (await client.get("/sources/gen.json")).json())["items"]
            }
            assert "更正后的第二" in json.dumps(final["新闻1"], ensure_ascii=False)
            was = {i["title"]: i for i in shown["items"]}
            assert final["新闻1"]["date_published"] == was["新闻1"]["date_published"]


def atom(updated: datetime, body: str = "第一条新闻的正文。") -> str:
    published = "2026-11-20T08:00:00+08:00"
    entry = (
        f"<entry><title>新闻</title><link href='http://gen.example/1.html'/>"
        f"<id>gen-1</id><published>{published}</published>"
        f"<updated>{updated.isoformat()}</updated><content>{body}</content></entry>"
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>动态</title>'
        f"<id>gen</id><updated>{updated.isoformat()}</updated>{entry}</feed>"
    )


async def test_an_updated_stamped_at_every_fetch_is_no_edit(tmp_path: Path) -> None:
    """Atom's `<updated>` written with the time the feed was made: the entry's `updated`,
    which never shows a time later than our last change of it, stays; a real edit moves it."""
    source = tmp_path / "gen.xml"
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3", feed=source), "utf-8")
    config = load_config(path)
    now = datetime.now(UTC)
    source.write_text(atom(now + timedelta(seconds=5)))
    async with running_service(config, schedule=False) as service:
        assert (await service.pipeline.run(config.sources[0])).new == 1
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            before = await client.get("/sources/gen.atom")
            shown = await before.text()
            source.write_text(atom(now + timedelta(minutes=15)))
            report = await service.pipeline.run(config.sources[0])
            assert (report.updated, report.unchanged) == (0, 1)
            after = await client.get("/sources/gen.atom")
            assert (after.headers["ETag"], await after.text()) == (before.headers["ETag"], shown)
            source.write_text(atom(now + timedelta(minutes=30), body="更正后的正文。"))
            assert (await service.pipeline.run(config.sources[0])).updated == 1
            edited = await (await client.get("/sources/gen.json")).json()
    assert "更正后的正文" in edited["items"][0]["content_html"]


def reissued(fetch: int, bodies: tuple[str, ...] = ("第一", "第二", "第三")) -> str:
    """The same three articles, each under a new guid at every fetch."""
    items = "".join(
        f"<item><title>新闻{n}</title><link>http://gen.example/{n}.html</link>"
        f"<guid isPermaLink='false'>{fetch}-{n}-{fetch * 7919 % 1000}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 08:00:0{n} +0800</pubDate>"
        f"<description>{body}条新闻的正文。</description></item>"
        for n, body in enumerate(bodies)
    )
    channel = f"<channel><title>动态</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


async def test_an_item_given_a_new_id_at_every_fetch_stays_one_item(tmp_path: Path) -> None:
    """Each fetch added the three articles again: 96 copies of each a day at 15 minutes.
    A correction under a new id, its text changed, is still a new item."""
    source = tmp_path / "gen.xml"
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3", feed=source), "utf-8")
    config = load_config(path)
    source.write_text(reissued(1))
    async with running_service(config, schedule=False) as service:
        assert (await service.pipeline.run(config.sources[0])).new == 3
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            before = await (await client.get("/sources/gen.json")).json()
            for fetch in (2, 3):
                source.write_text(reissued(fetch))
                report = await service.pipeline.run(config.sources[0])
                assert (report.new, report.updated, report.unchanged) == (0, 0, 3)
            after = await (await client.get("/sources/gen.json")).json()
            assert after == before
            source.write_text(reissued(4, bodies=("第一", "更正后的第二", "第三")))
            report = await service.pipeline.run(config.sources[0])
            assert (report.new, report.unchanged) == (1, 2)
