"""An operator's corrections in `config.toml`, applied to what is already stored and published:
`[[stories.split]]` takes a wrongly merged copy out of its story, `[[stories.withdraw]]` keeps
items out of every published document. Through the real app, over a real store, by reload
and by restart."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator import renderjobs
from aggregator.config import StoriesConfig, load_config
from aggregator.cpu import CpuPool
from aggregator.service import Service, running_service
from aggregator.storyreport import story_report
from aggregator.web.app import make_app
from aggregator.withdrawn import withdrawn
from tests.conftest import FIXTURES

Client = TestClient[web.Request, web.Application]
OFFICIAL = "https://example.org/hzfb/2022/0114/1001.html"  # 汉中发布's story
REPUBLISHED = "http://example.net/article-5316-1.html"  # the portal's copy of it
CONFIG = """
[service]
base_url = "http://feeds.example"
database = "{db}"

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{fixtures}/upstream/hzfb.xml"

[[sources]]
id = "portal"
name = "汉中第一网"
url = "{fixtures}/upstream/portal-rss.gbk.xml"
"""


def write(folder: Path, corrections: str = "") -> Path:
    path = folder / "config.toml"
    text = CONFIG.format(db=folder / "db.sqlite3", fixtures=FIXTURES) + corrections
    path.write_text(text, "utf-8")
    return path


@asynccontextmanager
async def serving(
    path: Path, *, fetch: bool, cpu: CpuPool | None = None
) -> AsyncIterator[tuple[Service, Client]]:
    config = load_config(path)
    async with running_service(config, schedule=False, cpu=cpu) as service:
        if fetch:
            for source in config.sources:
                assert (await service.pipeline.run(source)).result in ("ok", "unchanged")
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            yield service, client


async def entries(client: Client, path: str = "/feeds/all.json") -> dict[str, dict[str, Any]]:
    """The document's entries by their link."""
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return {item["url"]: item for item in (await response.json())["items"]}


def copies(entry: dict[str, Any]) -> list[str]:
    return [copy["url"] for copy in entry.get("_copies", [])]


async def test_a_split_takes_apart_a_story_already_merged(tmp_path: Path) -> None:
    path = write(tmp_path)
    async with serving(path, fetch=True) as (service, client):
        before = await entries(client)
        assert REPUBLISHED not in before
        assert copies(before[OFFICIAL]) == [REPUBLISHED]
        story_id = before[OFFICIAL]["id"]
        write(tmp_path, f'[[stories.split]]\nurls = ["{REPUBLISHED}"]\n')
        await service.reload()
        after = await entries(client)
    assert len(after) == len(before) + 1
    assert after[OFFICIAL]["id"] == story_id, "the story keeps its published id"
    assert copies(after[OFFICIAL]) == []
    assert copies(after[REPUBLISHED]) == []
    assert after[REPUBLISHED]["id"] != story_id
    async with serving(path, fetch=True) as (service, client):  # at a start, fetched again
        assert await entries(client) == after
        write(tmp_path)  # the split taken back: one story again, under the id it had
        await service.reload()
        assert await entries(client) == before


async def test_a_withdrawn_item_is_published_nowhere_and_kept(tmp_path: Path) -> None:
    path = write(tmp_path)
    async with serving(path, fetch=True) as (service, client):
        merged = await entries(client)
        story_id = merged[OFFICIAL]["id"]
        own = await entries(client, "/sources/hzfb.json")
        # as another site links it: `www.`, a tracking parameter, a fragment
        listed = "https://www.example.org/hzfb/2022/0114/1001.html?utm_source=wx#top"
        write(tmp_path, f'[[stories.withdraw]]\nurls = ["{listed}"]\n')
        withdrawn_at = datetime.now(UTC).replace(microsecond=0)
        await service.reload()

        now = await entries(client)
        assert OFFICIAL not in now
        assert now[REPUBLISHED]["id"] == story_id, "the story goes on as its next copy"
        # another copy shown under the story's id: readers holding the entry learn it changed
        assert datetime.fromisoformat(now[REPUBLISHED]["date_modified"]) >= withdrawn_at
        assert copies(now[REPUBLISHED]) == []
        # who first published it, not linking the copy withdrawn
        assert now[REPUBLISHED]["_origin"] == {"name": "汉中发布"}
        assert set(now) == set(merged) - {OFFICIAL} | {REPUBLISHED}
        assert set(await entries(client, "/sources/hzfb.json")) == set(own) - {OFFICIAL}
        for path_and_query in ("/feeds/all.json?q=国字号", "/feeds/all.json?source=hzfb"):
            assert OFFICIAL not in await entries(client, path_and_query)
        for document in ("/feeds/all.atom", "/feeds/all.rss", "/sources/hzfb.atom", "/embed/all"):
            body = await (await client.get(document)).text()
            assert "0114/1001.html" not in body, document
        stored = await service.db.latest_items(["hzfb"], limit=50)
        assert OFFICIAL in [item.url for item in stored], "withdrawn, not deleted"
        (story,) = json.loads((await story_report(service.config, since="7d", as_json=True)).text)
        assert {c["url"]: c["withdrawn"] for c in story["copies"]} == {
            OFFICIAL: True,
            REPUBLISHED: False,
        }
        report = await story_report(service.config, since="7d", as_json=False)
        assert f"{OFFICIAL}  (withdrawn)" in report.text

        write(tmp_path, f'[[stories.withdraw]]\nurls = ["{OFFICIAL}", "{REPUBLISHED}"]\n')
        await service.reload()
        gone = await entries(client)
        assert {OFFICIAL, REPUBLISHED}.isdisjoint(gone)
        assert len(gone) == len(merged) - 1
        assert story_id not in [entry["id"] for entry in gone.values()]

        write(tmp_path)
        taken_back_at = datetime.now(UTC).replace(microsecond=0)
        await service.reload()
        again = await entries(client)
        modified = datetime.fromisoformat(again[OFFICIAL].pop("date_modified"))
        assert modified >= taken_back_at, "its date moves on, never back"
        merged[OFFICIAL].pop("date_modified")
        assert again == merged, "taken back, it is published as before"


async def test_pages_rendered_in_worker_processes_leave_withdrawn_items_out(
    tmp_path: Path,
) -> None:
    """A page of over 100 entries renders in a parsing process, from the config it is sent."""
    path = write(tmp_path)
    pool = CpuPool(1, preload=renderjobs.PRELOAD)
    async with serving(path, fetch=True, cpu=pool) as (service, client):
        await pool.start()
        assert OFFICIAL in await entries(client, "/feeds/all.json?limit=200")
        write(tmp_path, f'[[stories.withdraw]]\nurls = ["{OFFICIAL}"]\n')
        await service.reload()
        in_a_worker = await entries(client, "/feeds/all.json?limit=200")
        assert in_a_worker == await entries(client)
    assert OFFICIAL not in in_a_worker
    assert REPUBLISHED in in_a_worker


def test_withdrawn_urls_that_do_not_parse_match_only_themselves() -> None:
    """An operator's typo or a pasted fragment is no error, and withdraws nothing else."""
    odd = [
        "http://[::1/feed",
        "//example.net",
        "汉中发布",
        "x" * 10_000,
        "http://example.net:99999/a",
    ]
    hidden = withdrawn(StoriesConfig(withdrawn=frozenset(odd)))
    assert hidden is not None
    assert all(hidden.covers(url) for url in odd)
    assert not hidden.covers(OFFICIAL)
    assert not hidden.covers(None)
    assert not hidden.covers("")


async def test_the_story_report_marks_the_copies_of_a_disabled_source(tmp_path: Path) -> None:
    """Its copies are published nowhere meanwhile, which the report did not say."""
    path = write(tmp_path)
    async with serving(path, fetch=True):
        pass
    config = load_config(write(tmp_path, "enabled = false\n"))  # the portal, the last source
    (story,) = json.loads((await story_report(config, since="7d", as_json=True)).text)
    assert {c["url"]: c["disabled"] for c in story["copies"]} == {
        OFFICIAL: False,
        REPUBLISHED: True,
    }
    report = await story_report(config, since="7d", as_json=False)
    assert f"{REPUBLISHED}  (disabled)" in report.text
