"""Rendered documents in memory: one render per change, however many requests wait for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.web.cache import FeedCache, Rendered, Variant, make_rendered
from aggregator.web.encoding import COMPRESSORS
from tests.pauses import longest_pause

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


class Renderer:
    """Counts its renders; each waits for `go` so that requests pile up behind it."""

    def __init__(self) -> None:
        self.renders = 0
        self.go = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self, generation: int) -> Rendered:
        self.renders += 1
        await self.go.wait()
        if self.fail is not None:
            raise self.fail
        body = f"<feed>{self.renders}</feed>".encode()
        return make_rendered(generation, body, "text/xml", WHEN, {})


async def test_requests_missing_together_share_one_render() -> None:
    cache, renderer = FeedCache(), Renderer()
    waiting = [
        asyncio.ensure_future(cache.render_once("/feeds/all.atom", 1, lambda: renderer(1)))
        for _ in range(20)
    ]
    await asyncio.sleep(0.01)
    renderer.go.set()
    documents = await asyncio.gather(*waiting)
    assert renderer.renders == 1
    assert {document.body for document in documents} == {b"<feed>1</feed>"}
    assert cache.get("/feeds/all.atom", 1) is documents[0]
    assert (cache.hits, cache.misses) == (1, 1), "misses count renders, not waiters"


async def test_a_new_generation_renders_again_and_keys_do_not_share() -> None:
    cache, renderer = FeedCache(), Renderer()
    renderer.go.set()
    first = await cache.render_once("/feeds/all.atom", 1, lambda: renderer(1))
    other = await cache.render_once("/feeds/all.rss", 1, lambda: renderer(1))
    second = await cache.render_once("/feeds/all.atom", 2, lambda: renderer(2))
    assert renderer.renders == 3
    assert (first.generation, other.generation, second.generation) == (1, 1, 2)
    assert cache.get("/feeds/all.atom", 1) is None, "the old generation is gone"
    assert cache.get("/feeds/all.atom", 2) is second


async def test_a_client_going_away_cancels_only_its_wait() -> None:
    cache, renderer = FeedCache(), Renderer()
    leaving = asyncio.ensure_future(cache.render_once("k", 1, lambda: renderer(1)))
    staying = asyncio.ensure_future(cache.render_once("k", 1, lambda: renderer(1)))
    await asyncio.sleep(0.01)
    leaving.cancel()
    await asyncio.sleep(0)
    renderer.go.set()
    assert (await staying).body == b"<feed>1</feed>"
    assert leaving.cancelled()
    assert cache.get("k", 1) is not None, "the render finished and was kept"


async def test_a_failed_render_reaches_its_waiters_and_is_not_kept() -> None:
    cache, renderer = FeedCache(), Renderer()
    renderer.fail = RuntimeError("database gone")
    waiting = [asyncio.ensure_future(cache.render_once("k", 1, lambda: renderer(1)))]
    waiting.append(asyncio.ensure_future(cache.render_once("k", 1, lambda: renderer(1))))
    await asyncio.sleep(0.01)
    renderer.go.set()
    for future in waiting:
        with pytest.raises(RuntimeError, match="database gone"):
            await future
    assert renderer.renders == 1
    assert cache.get("k", 1) is None
    renderer.fail = None
    assert (await cache.render_once("k", 1, lambda: renderer(1))).body == b"<feed>2</feed>"


def test_a_full_cache_lets_go_of_the_document_asked_for_least_recently() -> None:
    cache = FeedCache()
    cache.put("/feeds/all.atom", make_rendered(1, b"<feed/>", "text/xml", WHEN, {}))
    for number in range(2000):  # readers polling many per-source feeds, one after another
        cache.put(f"/sources/s{number}.atom", make_rendered(1, b"<feed/>", "text/xml", WHEN, {}))
        assert cache.get("/feeds/all.atom", 1) is not None, "read all along, never let go"
    assert cache.get("/sources/s0.atom", 1) is None, "asked for once, long ago"
    assert cache.get("/sources/s1999.atom", 1) is not None


async def test_compressions_asked_together_are_one_and_leave_the_loop_free() -> None:
    """zlib and brotli let go of the GIL: compressed on a thread, a big document does not
    hold the loop (a page of 500 entries took 15-20 ms to compress on it)."""
    words = [f"汉中 word{n} " for n in range(5000)]
    body = "".join(words[(n * 7919) % 5000] for n in range(400_000)).encode()
    started = time.perf_counter()
    expected = COMPRESSORS["gzip"](body)
    alone = time.perf_counter() - started

    async def asked_together(rendered: Rendered) -> list[Variant]:
        return await asyncio.gather(*(rendered.variant("gzip") for _ in range(5)))

    for _ in range(3):  # the best of three: one pause may be the collector's, not ours
        rendered = make_rendered(1, body, "application/atom+xml", WHEN, {})
        variants, pause, _ = await longest_pause(asked_together(rendered))
        assert all(variant is variants[0] for variant in variants), "one compression, shared"
        assert variants[0].body == expected
        assert variants[0].etag == f'{rendered.etag[:-1]}-gzip"'
        if pause < alone / 3:
            break
    assert pause < alone / 3, (pause, alone)


def _document(size: int, generation: int = 1) -> Rendered:
    return make_rendered(generation, b"x" * size, "text/xml", WHEN, {})


def test_what_is_kept_stays_within_its_bytes_letting_go_the_least_recently_asked() -> None:
    cache = FeedCache(lambda: 10_000)
    cache.put("/feeds/all.atom", _document(2_000))
    for number in range(100):  # a client asking for one query string after another
        cache.put(f"/feeds/all.atom?limit={number}", _document(1_500))
        assert cache.get("/feeds/all.atom", 1) is not None, "polled all along, never let go"
        assert cache.kept_bytes <= 10_000
    assert cache.get("/feeds/all.atom?limit=0", 1) is None
    assert cache.get("/feeds/all.atom?limit=99", 1) is not None
    assert cache.evictions == 100 - 5, "the merged feed and five others fit"


def test_a_document_over_a_quarter_of_the_bytes_is_not_kept() -> None:
    cache = FeedCache(lambda: 10_000)
    cache.put("/feeds/all.atom", _document(2_000))
    cache.put("/feeds/all.atom?limit=500", _document(2_501))
    assert cache.get("/feeds/all.atom?limit=500", 1) is None
    assert cache.get("/feeds/all.atom", 1) is not None, "one big page pushes nothing out"
    assert (cache.kept_bytes, cache.evictions) == (2_000, 1)


async def test_compressed_forms_count_from_the_next_store() -> None:
    budget = [1_000_000]
    cache = FeedCache(lambda: budget[0])
    body = "".join(f"<entry>{n * 7919 % 1000}</entry>" for n in range(2_000)).encode()
    kept = make_rendered(1, body, "text/xml", WHEN, {})
    cache.put("/feeds/all.atom", kept)
    gzipped = await kept.variant("gzip")
    assert cache.kept_bytes == len(body) + len(gzipped.body)
    # a reload lowering `service.cache_max_bytes`, read at each store
    budget[0] = len(body) + len(gzipped.body) + 999
    cache.put("/feeds/all.rss", _document(1_000))
    assert cache.get("/feeds/all.atom", 1) is None, "its compressed form counted"
    assert cache.kept_bytes <= budget[0]


async def test_a_second_version_of_one_second_keeps_its_date_where_processes_share_the_port() -> (
    None
):
    """Dated a second after the first by the process that had rendered it, and by its own
    second by a process started later: two processes gave one version two dates."""
    for settle, dated in ((0.0, WHEN + timedelta(seconds=1)), (3.0, WHEN)):
        cache = FeedCache()

        def version(body: bytes, settle: float = settle) -> Callable[[], Awaitable[Rendered]]:
            async def render() -> Rendered:
                return make_rendered(1, body, "text/xml", WHEN, {}, settle=settle)

            return render

        await cache.render_once("/feeds/all.atom", 1, version(b"<feed>1</feed>"))
        second = await cache.render_once("/feeds/all.atom", 2, version(b"<feed>2</feed>"))
        assert second.modified_at == dated
