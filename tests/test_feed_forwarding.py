"""A feed source's URL that answers an HTML page instead: the feed it forwards to at once, or
links, is read, and a change behind a page that stays the same is seen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.service import Service, running_service
from tests.upstream import Upstream, upstream_site

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml"


def rss(*titles: str, content: str = "") -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>http://example.org/{n}</link><guid>{title}</guid>"
        f"<description><![CDATA[<p>{title}</p>{content}]]></description></item>"
        for n, title in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>汉中日报</title>'
        f"<link>http://example.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def page(head: str) -> bytes:
    html = f"<!DOCTYPE html><html><head><title>汉中日报</title>{head}</head><body>…</body></html>"
    return html.encode()


@pytest.fixture
async def site() -> AsyncIterator[Upstream]:
    async with upstream_site() as upstream:
        yield upstream


@pytest.fixture
async def service(tmp_path: Path, site: Upstream) -> AsyncIterator[Service]:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n'
        f'[[sources]]\nid = "paper"\nname = "汉中日报"\nurl = "{site.url("/index.htm")}"\n',
        "utf-8",
    )
    async with running_service(load_config(path), schedule=False) as running:
        yield running


async def run(service: Service) -> tuple[str, int, str | None]:
    report = await service.pipeline.run(service.config.sources[0])
    return report.result, report.new, report.error


async def test_a_feed_url_that_refreshes_to_the_feed_is_read_there(
    service: Service, site: Upstream
) -> None:
    """An e-paper's stable address forwards to today's feed: each change there is seen though
    the forwarding page stays the same, and nothing is read again while neither changes."""
    site.publish(
        "/index.htm", page('<meta http-equiv="refresh" content="0; url=today/feed.xml">'), HTML
    )
    site.publish("/today/feed.xml", rss("寒潮蓝色预警"), RSS)
    assert await run(service) == ("ok", 1, None)
    assert await run(service) == ("unchanged", 0, None)
    site.publish("/today/feed.xml", rss("寒潮蓝色预警", "天坑群入选国家地质公园"), RSS)
    assert await run(service) == ("ok", 1, None)
    stubs = site.seen("/index.htm")
    assert all("If-None-Match" not in h for h in stubs), "the feed's validators are not the page's"


async def test_a_page_that_links_its_feed_is_read_again_when_the_feed_changes(
    service: Service, site: Upstream
) -> None:
    site.publish(
        "/index.htm", page('<link rel="alternate" type="application/rss+xml" href="/f.xml">'), HTML
    )
    site.publish("/f.xml", rss("寒潮蓝色预警"), RSS)
    result, new, error = await run(service)
    assert (result, new) == ("degraded", 1)
    assert f"followed its feed link {site.url('/f.xml')}; use it as url" in (error or "")
    result, _, error = await run(service)
    assert result == "unchanged"
    assert "use it as url" in (error or ""), "the advice stays in the source's status"
    site.publish("/f.xml", rss("寒潮蓝色预警", "天坑群入选国家地质公园"), RSS)
    assert (await run(service))[:2] == ("degraded", 1)


async def test_a_feed_quoting_a_refresh_in_its_content_is_read_as_a_feed(
    service: Service, site: Upstream
) -> None:
    quoted = '<meta http-equiv="refresh" content="0; url=/elsewhere.htm">'
    site.publish("/index.htm", rss("寒潮蓝色预警", content=quoted), RSS)
    assert (await run(service))[:2] == ("ok", 1)
    assert site.seen("/elsewhere.htm") == []


async def test_a_feed_url_refreshing_in_a_loop_fails_clearly(
    service: Service, site: Upstream
) -> None:
    site.publish(
        "/index.htm", page('<meta http-equiv="refresh" content="0; url=/other.htm">'), HTML
    )
    site.publish(
        "/other.htm", page('<meta http-equiv="refresh" content="0; url=/index.htm">'), HTML
    )
    result, _, error = await run(service)
    assert result == "error"
    assert f"refresh loop through {site.url('/index.htm')}" in (error or "")
