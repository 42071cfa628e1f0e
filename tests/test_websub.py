"""WebSub publishing against a local hub: the feeds that changed are pinged, nothing else."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from aggregator.config import load_config
from aggregator.service import Service, running_service
from aggregator.websub import PARALLEL, WebSubNotifier, topics
from tests.conftest import FIXTURES
from tests.publishing import client_for
from tests.upstream import local_site

BASE = "http://feeds.example"


@dataclass
class Hub:
    url: str = ""
    status: int = 204
    location: str | None = None
    pings: list[dict[str, str]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # each ping's URL, absolute when proxied
    delay: float = 0.0  # seconds each answer takes
    answering: int = 0
    most_at_once: int = 0

    def topics(self) -> set[str]:
        return {ping["hub.url"] for ping in self.pings}


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    state = Hub()

    async def publish(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-www-form-urlencoded"
        state.answering += 1
        state.most_at_once = max(state.most_at_once, state.answering)
        await asyncio.sleep(state.delay)
        state.answering -= 1
        state.pings.append(dict(await request.post()))  # type: ignore[arg-type]
        state.asked.append(str(request.url))
        redirect = {"Location": state.location} if state.location else {}
        return web.Response(status=state.status, headers=redirect)

    app = web.Application()
    app.router.add_post("/hub", publish)
    async with local_site(app) as origin:
        state.url = f"{origin}/hub"
        yield state


@pytest.fixture
async def service(tmp_path: Path, hub: Hub) -> AsyncIterator[Service]:
    shutil.copy(FIXTURES / "upstream" / "hzfb.xml", tmp_path / "a.xml")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[service]
base_url = "{BASE}"
database = "{tmp_path / "db.sqlite3"}"
websub_hub = "{hub.url}"

[[sources]]
id = "a"
url = "a.xml"

[[sources]]
id = "b"
url = "{FIXTURES / "upstream" / "portal-rss.gbk.xml"}"

[[feeds]]
id = "only-b"
sources = ["b"]
""",
        "utf-8",
    )
    async with running_service(load_config(config), schedule=False) as running:
        yield running


async def fetch_all(service: Service) -> None:
    """Every source fetched, and every ping that caused sent."""
    for source in service.config.sources:
        await service.pipeline.run(source)
    await service.websub.drain()


async def fetched_config(service: Service) -> str:
    """Every source fetched; the config file's text as the fixture wrote it."""
    await fetch_all(service)
    return await asyncio.to_thread(service.config.path.read_text, "utf-8")


async def reloaded(service: Service, hub: Hub, text: str) -> set[str]:
    """The topics pinged for a reload of the config file, written anew as `text`."""
    hub.pings.clear()
    await asyncio.to_thread(service.config.path.write_text, text, "utf-8")
    await service.reload()
    await service.websub.drain()
    return hub.topics()


def _urls(kind: str, ident: str) -> set[str]:
    return {f"{BASE}/{kind}/{ident}.{fmt}" for fmt in ("rss", "atom", "json")}


# every feed of the fixture's service: a's and b's own, the merged feed and b's channel
EVERY_FEED = (
    _urls("sources", "a") | _urls("sources", "b") | _urls("feeds", "all") | _urls("feeds", "only-b")
)


async def test_changed_sources_ping_the_hub_for_their_feeds(
    service: Service, hub: Hub, tmp_path: Path
) -> None:
    await fetch_all(service)
    assert all(ping["hub.mode"] == "publish" for ping in hub.pings)
    assert hub.topics() == EVERY_FEED

    hub.pings.clear()
    await service.fetch_now("a")  # nothing changed upstream: nobody to tell
    await service.websub.drain()
    assert hub.pings == []

    path = tmp_path / "a.xml"
    path.write_text(path.read_text("utf-8").replace("七千只", "八千只"), "utf-8")
    report = await service.fetch_now("a")
    assert report.updated == 1
    await service.websub.drain()
    assert sorted(hub.topics()) == sorted(_urls("sources", "a") | _urls("feeds", "all"))
    assert len(hub.pings) == 6, "one ping per topic"


async def _pinged(hub: Hub, count: int) -> None:
    for _ in range(200):
        if len(hub.pings) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(hub.pings)} pings, not {count}")


async def test_a_topic_is_pinged_at_most_once_a_gap(
    service: Service, hub: Hub, tmp_path: Path
) -> None:
    """Changes to a topic pinged moments ago wait for the gap and go out as one ping: the hub
    fetches the topic at each, and 150 sources fetched every 30 s pinged `all.rss` twice a
    second."""
    service.websub = WebSubNotifier(gap=3.0)
    path = tmp_path / "a.xml"
    path.write_text(path.read_text("utf-8").replace("七千只", "八千只"), "utf-8")
    assert (await service.fetch_now("a")).new == 3
    await _pinged(hub, 6)  # never pinged: at once
    for before, after in (("八千只", "九千只"), ("九千只", "一万只")):
        path.write_text(path.read_text("utf-8").replace(before, after), "utf-8")
        assert (await service.fetch_now("a")).updated == 1
    assert len(hub.pings) == 6, "held for the gap"
    await _pinged(hub, 12)
    await asyncio.sleep(0.5)
    assert len(hub.pings) == 12, "two changes, one ping per topic"
    assert hub.topics() == _urls("sources", "a") | _urls("feeds", "all")


async def test_pings_go_a_few_at_a_time(service: Service, hub: Hub) -> None:
    hub.delay = 0.2
    await service.fetch_now("b")  # nine topics
    await service.websub.drain()
    assert len(hub.pings) == 9
    assert hub.most_at_once == PARALLEL


async def test_feeds_advertise_the_hub(service: Service, hub: Hub) -> None:
    async with client_for(service) as client:
        atom = await (await client.get("/feeds/all.atom")).text()
        rss = await (await client.get("/sources/a.rss")).text()
        document = json.loads(await (await client.get("/feeds/only-b.json")).read())
    assert f'<link href="{hub.url}" rel="hub"/>' in atom
    assert f'href="{hub.url}" rel="hub"' in rss
    assert document["hubs"] == [{"type": "WebSub", "url": hub.url}]


async def test_feed_answers_name_the_hub_and_themselves_in_link_headers(
    service: Service, hub: Hub
) -> None:
    """WebSub's discovery: a subscriber reads `Link` headers, and a JSON Feed's `hubs` is no
    word of WebSub's, so its topic could not be subscribed to."""
    async with client_for(service) as client:
        for target in ("/feeds/all.json", "/sources/a.atom", "/feeds/all.rss"):
            answer = await client.get(target)
            self_url = f"{service.config.service.base_url}{target}"
            assert answer.headers.getall("Link") == [
                f'<{hub.url}>; rel="hub", <{self_url}>; rel="self"'
            ], target
        paged = await client.get("/feeds/all.json?limit=3")
        assert "Link" not in paged.headers


async def test_searches_and_pages_advertise_no_hub(service: Service, hub: Hub) -> None:
    """The hub is told of each feed's own URL only: a subscriber to `?q=…` or a page through
    it would never hear of a change."""
    async with client_for(service) as client:
        for target in ("/feeds/all.atom?limit=3", "/sources/a.rss?q=%E6%B1%89%E4%B8%AD",
                       "/feeds/all.json?tag=news"):  # fmt: skip
            answer = await client.get(target)
            assert answer.status == 200, target
            assert hub.url not in await answer.text(), target


async def test_a_failing_hub_costs_a_log_line(
    service: Service, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.status = 503
    await service.fetch_now("b")
    await service.websub.drain()
    assert len(hub.pings) == 9  # b is in "all" and "only-b"
    assert service.websub.sent == 0
    assert "websub ping failed" in caplog.text
    assert topics(service.config, "nope") == set()


async def test_a_hub_redirecting_elsewhere_is_not_followed(
    service: Service, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    """A 307 keeps the POST: followed, every change would go on to wherever the hub says,
    the cloud's metadata address or this network's admin ports included."""
    elsewhere: list[str] = []

    async def record(request: web.Request) -> web.Response:
        elsewhere.append(str(request.url))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/inner", record)
    async with local_site(app) as origin:
        hub.status = 307
        hub.location = f"{origin}/inner"
        await service.fetch_now("b")
        await service.websub.drain()
    assert len(hub.pings) == 9
    assert elsewhere == []
    assert service.websub.sent == 0
    said = {getattr(record, "error", None) for record in caplog.records}
    assert said == {f"HTTP 307 to {origin}/inner (a hub's redirect is not followed)"}


async def test_pings_go_through_the_fetch_proxy(tmp_path: Path, hub: Hub) -> None:
    """The hub fixture answers as the proxy too: a hub under a name nobody resolves is
    reached only if the ping really went through it."""
    shutil.copy(FIXTURES / "upstream" / "hzfb.xml", tmp_path / "a.xml")
    config = tmp_path / "config.toml"
    proxy = hub.url.removesuffix("/hub")
    config.write_text(
        f'[service]\nbase_url = "{BASE}"\ndatabase = "{tmp_path / "db.sqlite3"}"\n'
        'websub_hub = "http://hub.proxied.invalid/hub"\n\n'
        f'[fetch]\nproxy = "{proxy}"\n\n[[sources]]\nid = "a"\nurl = "a.xml"\n',
        "utf-8",
    )
    async with running_service(load_config(config), schedule=False) as running:
        await running.fetch_now("a")
        await running.websub.drain()
        assert running.websub.sent == 6
    assert hub.topics() == _urls("sources", "a") | _urls("feeds", "all")
    assert set(hub.asked) == {"http://hub.proxied.invalid/hub"}


async def test_a_withdrawal_pings_the_feeds_that_showed_the_item(
    service: Service, hub: Hub
) -> None:
    """Partners subscribed through the hub take the item down at once, and put it back."""
    plain = await fetched_config(service)
    withdrawal = '\n[[stories.withdraw]]\nurls = ["https://example.org/hzfb/2022/0114/1001.html"]\n'
    # a's copy of a story b carries too: every feed of both sources shows or listed it
    for text, expected in ((plain + withdrawal, EVERY_FEED), (plain + withdrawal, set()),
                           (plain, EVERY_FEED)):  # fmt: skip
        assert await reloaded(service, hub, text) == expected


PORTAL_COPY = "http://example.net/article-5316-1.html"  # b's copy of a story of a's


async def test_a_split_pings_the_feeds_of_every_copy(service: Service, hub: Hub) -> None:
    plain = await fetched_config(service)
    split = f'\n[[stories.split]]\nurls = ["{PORTAL_COPY}"]\n'
    for text, expected in ((plain + split, EVERY_FEED), (plain + split, set())):
        assert await reloaded(service, hub, text) == expected

    # the copy split off has no normalised link left: its withdrawal is still heard of
    withdrawal = f'\n[[stories.withdraw]]\nurls = ["{PORTAL_COPY}#comments"]\n'
    b_only = _urls("sources", "b") | _urls("feeds", "all") | _urls("feeds", "only-b")
    assert await reloaded(service, hub, plain + split + withdrawal) == b_only


async def test_a_split_found_at_start_pings_the_hub(
    service: Service, hub: Hub, tmp_path: Path
) -> None:
    """A split added while the service was stopped reaches partners when it starts."""
    await fetch_all(service)
    hub.pings.clear()
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text("utf-8") + f'\n[[stories.split]]\nurls = ["{PORTAL_COPY}"]\n', "utf-8"
    )
    async with running_service(load_config(config), schedule=False) as started:
        await started.websub.drain()
    assert hub.topics() >= _urls("sources", "a") | _urls("sources", "b")
    hub.pings.clear()
    async with running_service(load_config(config), schedule=False) as again:
        await again.websub.drain()
    assert hub.pings == [], "a split already applied changes nothing"
