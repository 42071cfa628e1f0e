"""The robots.txt cache against real local origins: rules honoured, at most `capacity` kept."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from aiohttp import web

from aggregator.fetcher import Fetcher
from aggregator.robots import Robots
from tests.test_fetcher import CONFIG
from tests.upstream import local_site


@pytest.fixture
async def origins() -> AsyncIterator[tuple[list[str], list[str]]]:
    """Three origins (three ports of 127.0.0.1) and the robots.txt requests they received."""
    asked: list[str] = []

    async def robots_txt(request: web.Request) -> web.Response:
        asked.append(request.host)
        return web.Response(text="User-agent: *\nDisallow: /private/\n")

    app = web.Application()
    app.router.add_get("/robots.txt", robots_txt)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sites = [web.TCPSite(runner, "127.0.0.1", 0) for _ in range(3)]
    for site in sites:
        await site.start()
    try:
        yield [f"http://127.0.0.1:{address[1]}" for address in runner.addresses], asked
    finally:
        await runner.cleanup()


async def test_least_recently_used_origin_is_forgotten_first(
    origins: tuple[list[str], list[str]],
) -> None:
    (a, b, c), asked = origins
    async with Fetcher(CONFIG) as fetcher:
        robots = Robots(fetcher, "aggregator-test/1", capacity=2)
        for origin in (a, b, a, c):
            assert await robots.allowed(f"{origin}/page")
        assert not await robots.allowed(f"{a}/private/page")
        assert len(robots) == 2
        assert await robots.allowed(f"{b}/page")  # forgotten: asked again
        assert await robots.allowed(f"{a}/page")  # used since c: still remembered
    assert asked == [origin.removeprefix("http://") for origin in (a, b, c, b)]
    assert len(robots) == 2


async def test_a_broken_certificate_hides_the_rules_except_from_a_source_that_accepts_it() -> None:
    """`tls_verify = false` reads robots.txt as it reads the pages: the rules then apply."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(tls)  # an authority nobody trusts

    async def robots_txt(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /p/\n")

    app = web.Application()
    app.router.add_get("/robots.txt", robots_txt)
    async with local_site(app, tls=tls) as origin, Fetcher(CONFIG) as fetcher:
        robots = Robots(fetcher, "aggregator-test/1")
        assert await robots.allowed(f"{origin}/p/1.html")  # unreadable: everything allowed
        assert not await robots.allowed(f"{origin}/p/1.html", verify_tls=False)
        assert await robots.allowed(f"{origin}/news/1.html", verify_tls=False)


async def test_rules_still_hold_where_a_rate_line_holds_a_digit_python_cannot_read() -> None:
    """`Crawl-delay: ²` passes the standard parser's `isdigit` check, then `int` raises: every
    page of the origin failed as an internal error. Found by fuzzing robots.txt bodies."""

    async def robots_txt(request: web.Request) -> web.Response:
        rules = "User-agent: *\nCrawl-delay: ²\nRequest-rate: ٣/5\nDisallow: /private/\n"
        return web.Response(text=rules)

    app = web.Application()
    app.router.add_get("/robots.txt", robots_txt)
    async with local_site(app) as origin, Fetcher(CONFIG) as fetcher:
        robots = Robots(fetcher, "aggregator-test/1")
        assert await robots.allowed(f"{origin}/page")
        assert not await robots.allowed(f"{origin}/private/page")
