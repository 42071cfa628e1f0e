"""`Last-Modified` moves whenever what a document shows does, not only with its newest entry:
a reader asking `If-Modified-Since` must not get a 304 for a document that changed."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.service import Service, running_service
from tests.conftest import FIXTURES
from tests.publishing import Client, client_for

# dated a day before the feed's newest item
OLDER_ITEM = (
    "<item><title>汉中旧闻补发</title><link>https://example.org/hzfb/2022/0113/0900.html</link>"
    "<guid>hzfb-0900</guid><pubDate>Thu, 13 Jan 2022 09:00:00 +0800</pubDate>"
    "<description>补发的旧闻。</description></item>"
)
PATHS = ("/sources/a.atom", "/feeds/all.json", "/embed/all")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    shutil.copy(FIXTURES / "upstream" / "hzfb.xml", tmp_path / "a.xml")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n'
        '[[sources]]\nid = "a"\nurl = "a.xml"\n',
        "utf-8",
    )
    async with running_service(load_config(config), schedule=False) as running:
        await running.fetch_now("a")
        yield running


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with client_for(service) as test_client:
        yield test_client


async def _modified(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return response.headers["Last-Modified"]


async def _changed(client: Client, path: str, since: str) -> bool:
    response = await client.get(path, headers={"If-Modified-Since": since})
    assert response.status in (200, 304), path
    later = parsedate_to_datetime(response.headers["Last-Modified"]) > parsedate_to_datetime(since)
    assert later == (response.status == 200), path
    return response.status == 200


async def test_an_entry_dated_before_the_newest_moves_last_modified(
    service: Service, client: Client, tmp_path: Path
) -> None:
    before = {path: await _modified(client, path) for path in PATHS}
    assert not [path for path in PATHS if await _changed(client, path, before[path])]
    await asyncio.sleep(1.1)  # `Last-Modified` counts whole seconds
    feed = tmp_path / "a.xml"
    feed.write_text(feed.read_text("utf-8").replace("</channel>", OLDER_ITEM + "</channel>"))
    assert (await service.fetch_now("a")).new == 1
    assert [path for path in PATHS if await _changed(client, path, before[path])] == list(PATHS)


async def test_a_config_change_moves_last_modified(
    service: Service, client: Client, tmp_path: Path
) -> None:
    """A withdrawal takes an entry out, a reload renames a feed: the documents changed."""
    paths = (*PATHS, "/opml", "/embed/all.js")
    before = {path: await _modified(client, path) for path in paths}
    await asyncio.sleep(1.1)
    config = tmp_path / "config.toml"
    withdrawal = '\n[[stories.withdraw]]\nurls = ["https://example.org/hzfb/2022/0114/1001.html"]\n'
    config.write_text(config.read_text("utf-8") + withdrawal, "utf-8")
    await service.reload()
    assert [path for path in paths if await _changed(client, path, before[path])] == list(paths)


async def _validators(client: Client, path: str) -> tuple[str, str]:
    response = await client.get(path)
    assert response.status == 200, path
    return response.headers["ETag"], response.headers["Last-Modified"]


# a republisher's copy of one of a.xml's stories: same link, same title
COPY = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>转载</title>'
    "<item><title>汉中朱鹮数量突破七千只</title>"
    "<link>https://example.org/hzfb/2022/0113/0998.html</link><guid>copy-0998</guid>"
    "<pubDate>Thu, 13 Jan 2022 19:00:00 +0800</pubDate>"
    "<description>记者从汉中朱鹮国家级自然保护区获悉，朱鹮种群数量已突破七千只。</description>"
    "</item></channel></rss>"
)


async def test_what_changes_nothing_shown_keeps_the_validators(
    service: Service, client: Client, tmp_path: Path
) -> None:
    """Another source's copy of a story a feed shows, and a config saved with a source added
    that has nothing yet, change what is stored but not the document: readers asking with its
    ETag or its date get 304, where they downloaded it again (at every copy of every story)."""
    paths = ("/sources/a.atom", "/sources/a.rss", "/sources/a.json")
    before = {path: await _validators(client, path) for path in paths}
    await asyncio.sleep(1.1)  # `Last-Modified` counts whole seconds
    (tmp_path / "b.xml").write_text(COPY, "utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text("utf-8") + '\n[[sources]]\nid = "b"\nurl = "b.xml"\n'
        '\n[[sources]]\nid = "later"\nurl = "later.xml"\n',
        "utf-8",
    )
    await service.reload()
    assert (await service.fetch_now("b")).duplicates == 1, "b's copy joins a's story"
    for path in paths:
        assert await _validators(client, path) == before[path], path
        etag, modified = before[path]
        assert (await client.get(path, headers={"If-None-Match": etag})).status == 304
        assert not await _changed(client, path, modified), path


async def test_a_config_saved_unchanged_dates_no_document_anew(
    service: Service, client: Client, tmp_path: Path
) -> None:
    """Saved with a comment added (or only touched): a document rendered for the first time
    since was dated at the file's time, one rendered before kept its date, and the processes
    of `service.workers` answered one feed with two dates."""
    before = await _modified(client, "/sources/a.atom")
    await asyncio.sleep(1.1)  # `Last-Modified` counts whole seconds
    config = tmp_path / "config.toml"
    config.write_text(config.read_text("utf-8") + "\n# saved again\n", "utf-8")
    await service.reload()
    assert await _modified(client, "/sources/a.atom?limit=5") == before
    assert await _modified(client, "/sources/a.atom") == before


async def test_other_bytes_are_dated_after_the_ones_served(
    service: Service, client: Client, tmp_path: Path
) -> None:
    """A clock stepped back (an NTP correction), or a config file dated in the past (copied
    with its time kept), dated a changed document as the one served before it: a reader
    asking by date got 304 for it."""
    paths = ("/sources/a.atom", "/feeds/all.json", "/embed/all")
    before = {path: await _validators(client, path) for path in paths}
    config = tmp_path / "config.toml"
    withdrawal = '\n[[stories.withdraw]]\nurls = ["https://example.org/hzfb/2022/0114/1001.html"]\n'
    config.write_text(config.read_text("utf-8") + withdrawal, "utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(config, (an_hour_ago, an_hour_ago))
    await service.reload()
    for path in paths:
        etag, modified = await _validators(client, path)
        assert etag != before[path][0], path
        assert parsedate_to_datetime(modified) > parsedate_to_datetime(before[path][1]), path
        assert await _changed(client, path, before[path][1]), path
