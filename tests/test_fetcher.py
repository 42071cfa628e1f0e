"""The fetcher against a misbehaving local upstream, over real sockets."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from aiohttp import web

from aggregator.config import FetchConfig
from aggregator.errors import BodyTooLarge, FetchError, Refused, RetryLater
from aggregator.fetcher import IDLE_CONNECTION_SECONDS as IDLE
from aggregator.fetcher import Fetcher, HostSlots, retry_after_seconds
from aggregator.netpolicy import allowed_hosts
from tests.conftest import free_port
from tests.upstream import local_site

CONFIG = FetchConfig(
    interval=900, timeout=2, max_bytes=256 * 1024, concurrency=8, per_host=2,
    user_agent="aggregator-test/1", retention=86400, max_interval=86400,
    respect_robots=True, failing_after=3,
)  # fmt: skip


def _routes(base: list[str]) -> web.Application:
    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=b"<rss/>", headers={"ETag": '"v1"', "Content-Type": "text/xml"})

    async def loop_a(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop-b")

    async def loop_b(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop-a")

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/chain/{n + 1}")

    async def slow_chain(request: web.Request) -> web.Response:
        """Each hop well within the timeout, the whole chain beyond it."""
        n = int(request.match_info["n"])
        await asyncio.sleep(0.8)
        if n == 3:
            return web.Response(body=b"<rss/>", content_type="text/xml")
        raise web.HTTPFound(f"/slow-chain/{n + 1}")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/feed")

    async def broken_location(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://[::1/feed"})  # no "]"

    async def bad_port(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://127.0.0.1:99999/feed"})

    async def elsewhere(request: web.Request) -> web.Response:
        raise web.HTTPFound(base[0].replace("127.0.0.1", "localhost") + "/feed")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (CONFIG.max_bytes + 1))

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"y" * 65536)
        return response

    async def bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"\0" * (50 * 1024 * 1024))
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"<")
            await asyncio.sleep(0.2)
        return response

    async def echo(request: web.Request) -> web.Response:
        wanted = ("User-Agent", "Referer", "Cookie", "Accept", "If-None-Match")
        seen = "\n".join(f"{name}: {request.headers.get(name)}" for name in wanted)
        return web.Response(text=seen)

    async def to_echo(request: web.Request) -> web.Response:
        raise web.HTTPFound("/echo")

    async def error(request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    async def nowhere(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": ""})

    async def for_years(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "999999999"})

    async def throttled(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "120"})

    app = web.Application()
    for path, handler in [
        ("/feed", feed), ("/loop-a", loop_a), ("/loop-b", loop_b), ("/chain/{n}", chain),
        ("/slow-chain/{n}", slow_chain),
        ("/moved", moved), ("/broken-location", broken_location), ("/elsewhere", elsewhere),
        ("/bad-port", bad_port),
        ("/big", big), ("/big-chunked", big_chunked),
        ("/bomb", bomb), ("/slow", slow), ("/error", error), ("/throttled", throttled),
        ("/echo", echo), ("/to-echo", to_echo), ("/nowhere", nowhere), ("/for-years", for_years),
    ]:  # fmt: skip
        app.router.add_get(path, handler)
    return app


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    base: list[str] = []
    async with local_site(_routes(base)) as origin:
        base.append(origin)
        yield origin


def _own(source_url: str) -> frozenset[str]:
    """What a source at `source_url` may follow: its own host and port."""
    return allowed_hosts(source_url, ())


async def get(url: str, etag: str | None = None, last_modified: str | None = None) -> object:
    async with Fetcher(CONFIG) as fetcher:
        return await fetcher.get(
            url,
            source_url=url,
            hosts=_own(url),
            etag=etag,
            last_modified=last_modified,
        )


async def test_conditional_get(upstream: str) -> None:
    first = await get(f"{upstream}/feed")
    assert first.status == 200  # type: ignore[attr-defined]
    assert first.etag == '"v1"'  # type: ignore[attr-defined]
    second = await get(f"{upstream}/feed", etag='"v1"')
    assert second.not_modified  # type: ignore[attr-defined]


async def test_a_sources_headers_go_with_every_hop(upstream: str) -> None:
    """Its User-Agent replaces the fetcher's; the fetcher's own others stay."""
    own = (("User-Agent", "portalbot/1.0"), ("Referer", "http://a.example/"), ("Cookie", "a=1"))
    async with Fetcher(CONFIG) as fetcher:
        response = await fetcher.get(
            f"{upstream}/to-echo", source_url=upstream, hosts=_own(upstream), etag='"v1"',
            headers=own,
        )  # fmt: skip
        plain = await fetcher.get(f"{upstream}/echo", source_url=upstream, hosts=_own(upstream))
    seen = dict(line.split(": ", 1) for line in response.body.decode().splitlines())
    assert [seen[name] for name, _ in own] == ["portalbot/1.0", "http://a.example/", "a=1"]
    assert seen["If-None-Match"] == '"v1"'
    assert seen["Accept"].startswith("application/atom+xml")
    assert plain.body.decode().splitlines()[:3] == [
        "User-Agent: aggregator-test/1",
        "Referer: None",
        "Cookie: None",
    ]


async def test_permanent_redirect_is_reported(upstream: str) -> None:
    response = await get(f"{upstream}/moved")
    assert response.permanent_url == f"{upstream}/feed"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/loop-a", FetchError, "redirect loop"),
        ("/chain/0", FetchError, "more than 5 redirects"),
        ("/elsewhere", Refused, "host 'localhost' is not the source's host"),
        ("/broken-location", FetchError, r"redirect to an invalid URL: 'http://\[::1/feed'"),
        (
            "/bad-port",
            FetchError,
            r"redirect to an invalid URL: 'http://127\.0\.0\.1:99999/feed' "
            r"\(port out of range 0-65535\)",
        ),
        ("/big", BodyTooLarge, "exceeds fetch.max_bytes"),
        ("/big-chunked", BodyTooLarge, "exceeds fetch.max_bytes"),
        ("/bomb", BodyTooLarge, "once decompressed"),
        ("/slow", FetchError, "timed out after 2s"),
        ("/slow-chain/0", FetchError, "timed out after 2s"),  # the timeout covers every hop
        ("/error", FetchError, "HTTP 502"),
        ("/nowhere", FetchError, "HTTP 302 Found, redirect to an empty Location"),
        (
            "/for-years",
            RetryLater,
            "retry after 999999999s: longer than fetch.max_interval, which is waited",
        ),
        ("/missing", FetchError, "HTTP 404"),
    ],
)
async def test_hostile_upstreams_give_clear_errors(
    upstream: str, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        await get(f"{upstream}{path}")
    assert upstream in str(info.value)


async def test_retry_after_is_read(upstream: str) -> None:
    with pytest.raises(RetryLater) as info:
        await get(f"{upstream}/throttled")
    assert info.value.retry_after == 120
    assert info.value.status == 429


async def test_connection_refused() -> None:
    with pytest.raises(FetchError, match=r"connection refused by 127\.0\.0\.1:"):
        await get(f"http://127.0.0.1:{free_port()}/feed")


async def test_dns_failure_names_the_host() -> None:
    with pytest.raises(FetchError, match=r"DNS lookup failed for feeds\.example\.invalid"):
        await get("http://feeds.example.invalid/feed")


@asynccontextmanager
async def _serving(handler: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[int]:
    """A local upstream answering every `/{name}` with `handler`; yields its port."""
    app = web.Application()
    app.router.add_get("/{name}", handler)
    async with local_site(app) as origin:
        yield int(origin.rpartition(":")[2])


async def test_per_host_limit_holds_across_callers() -> None:
    """Several sources on one host share `per_host` slots; another host is not held up."""
    active = {"now": 0, "peak": 0}

    async def slow(request: web.Request) -> web.Response:
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        await asyncio.sleep(0.2)
        active["now"] -= 1
        return web.Response(body=b"<rss/>")

    async with _serving(slow) as port, Fetcher(replace(CONFIG, per_host=2)) as fetcher:
        urls = [f"http://127.0.0.1:{port}/source-{n}" for n in range(6)]
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(fetcher.get(u, source_url=u, hosts=_own(u)) for u in urls))
        elapsed = asyncio.get_running_loop().time() - started
    assert active["peak"] == 2
    assert elapsed >= 0.55, "six requests two at a time take three rounds"


async def test_requests_queued_for_one_host_hold_up_no_other() -> None:
    """A list page's articles, all asked for at once from a slow host, wait for that host's
    slot without taking the places `fetch.concurrency` gives every host together."""
    events: list[str] = []
    release, asked = asyncio.Event(), asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        events.append(f"{request.host.partition(':')[0]} {name}")
        asked.set()
        if name.startswith("article"):
            await asyncio.wait_for(release.wait(), 5)
        return web.Response(body=b"<rss/>")

    async with (
        _serving(answer) as port,
        Fetcher(replace(CONFIG, concurrency=2, per_host=1)) as fetcher,
    ):
        slow = [f"http://127.0.0.1:{port}/article-{n}" for n in range(4)]
        articles = [
            asyncio.ensure_future(fetcher.get(u, source_url=u, hosts=_own(u))) for u in slow
        ]
        await asyncio.wait_for(asked.wait(), 5)
        other = f"http://localhost:{port}/feed"
        await asyncio.wait_for(fetcher.get(other, source_url=other, hosts=_own(other)), 5)
        release.set()
        await asyncio.gather(*articles)
    assert events[:2] == ["127.0.0.1 article-0", "localhost feed"], events


async def test_waiting_for_a_slot_between_hops_is_not_timed() -> None:
    """`fetch.timeout` is for the requests: a redirect's next hop that waits behind a slow
    source of the same host does not time out for it."""

    async def answer(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "hop":
            await asyncio.sleep(0.3)  # the slow source queues for the host's one slot
            raise web.HTTPFound("/feed")
        if name == "hold":
            await asyncio.sleep(1.5)  # beyond the timeout: it holds the slot for 1 s
        return web.Response(body=b"<rss/>")

    async with _serving(answer) as port, Fetcher(replace(CONFIG, per_host=1, timeout=1)) as f:
        hop, hold = (f"http://127.0.0.1:{port}/{name}" for name in ("hop", "hold"))
        redirected = asyncio.ensure_future(f.get(hop, source_url=hop, hosts=_own(hop)))
        await asyncio.sleep(0)
        slow = f.get(hold, source_url=hold, hosts=_own(hold))
        held, response = await asyncio.gather(slow, redirected, return_exceptions=True)
    assert isinstance(held, FetchError)
    assert "timed out after 1s" in str(held)
    assert not isinstance(response, BaseException), response
    assert (response.status, response.body) == (200, b"<rss/>")


async def test_a_connection_is_reused_soon_after_and_closed_when_idle() -> None:
    """A portal's article pages follow its list page within seconds, over one connection;
    a host not asked again is let go, or a large first fetch holds a socket per host."""
    peers: list[object] = []

    async def page(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=b"<rss/>")

    async with _serving(page) as port, Fetcher(CONFIG) as fetcher:
        for name, pause in (("list", 0.0), ("article", 0.1), ("later", IDLE + 1.0)):
            await asyncio.sleep(pause)
            url = f"http://127.0.0.1:{port}/{name}"
            await fetcher.get(url, source_url=url, hosts=_own(url))
    assert peers[0] == peers[1], "the article page came over the list page's connection"
    assert peers[2] != peers[1], "the idle connection was closed"


async def test_host_slots_limit_each_host_and_forget_idle_ones() -> None:
    """`per_host` at a time on one host, others not held up; a host nobody is fetching from,
    nor waiting for (a cancelled waiter included), is not remembered."""
    slots = HostSlots(per_host=1)
    release = asyncio.Event()
    entered: list[str] = []

    async def use(host: str, name: str) -> None:
        async with slots.slot(host):
            entered.append(name)
            await release.wait()

    tasks = [asyncio.create_task(use(h, n)) for h, n in (("a", "a1"), ("a", "a2"), ("a", "a3"),
                                                          ("b", "b1"))]  # fmt: skip
    await asyncio.sleep(0)
    assert entered == ["a1", "b1"]
    assert len(slots) == 2
    tasks[2].cancel()
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert entered == ["a1", "b1", "a2"]
    assert len(slots) == 0


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", 0) == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 60) == 60
    assert retry_after_seconds("soon", 0) is None
    assert retry_after_seconds("\xb2", 0) is None  # a digit to str.isdigit, not to float
    assert retry_after_seconds("Wed, 21 Oct 99999 07:28:00 GMT", 0) is None
    assert retry_after_seconds("Mon, 01 Jan 99999999999 00:00:00 GMT", 0) is None
    # asctime's form carries no zone: HTTP dates are UTC, whatever this machine's zone
    assert retry_after_seconds("Wed Oct 21 07:28:00 2015", 1445412480 - 60) == 60


async def test_file_urls_respect_max_bytes(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "big.xml"
    path.write_bytes(b"z" * 100)
    small = replace(CONFIG, max_bytes=10)
    async with Fetcher(small) as fetcher:
        with pytest.raises(BodyTooLarge):
            await fetcher.get(path.as_uri(), source_url=path.as_uri(), hosts=set())
    assert (await get(path.as_uri())).body == b"z" * 100  # type: ignore[attr-defined]


async def test_a_link_with_an_impossible_port_says_so() -> None:
    """An article link or a page's feed link reaches the fetcher unchecked by the config:
    aiohttp refuses `:99999` without saying why."""
    with pytest.raises(FetchError, match=r"not a URL that can be requested: port out of range"):
        await get("http://127.0.0.1:99999/feed")
