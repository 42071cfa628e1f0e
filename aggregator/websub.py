"""WebSub publisher: tell the hub which of our feeds changed, so subscribers hear at once.

When a source's items change, the hub gets one `hub.mode=publish` form POST per topic: the
source's own feed and every merged feed that includes it, in each format (each document
advertises the hub and is its own topic). Pings run in the background and coalesce: a topic
is pinged at most once every `TOPIC_GAP` seconds, the changes in between told by its next
ping, and at most `PARALLEL` pings are in flight. Without that, 150 sources fetched every 30 s
pinged the hub 1,400 times a minute, `all.rss` twice a second, over 70 connections at once: a
hub fetches the topic at each ping, and throttles or bans such a publisher. A hub that is down
costs a log line, never a fetch. Pings go through the proxy upstream requests use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

import aiohttp

from aggregator.config import Config
from aggregator.proxies import Proxies
from aggregator.publish import FORMATS, feed_url

log = logging.getLogger("aggregator.websub")
PING_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
TOPIC_GAP = 10.0  # seconds between two pings of one topic
PARALLEL = 4  # pings in flight at once


_Hub = tuple[str, str, str | None]  # (hub, user agent, proxy)


def topics(config: Config, source_id: str) -> set[str]:
    """The feed URLs whose content changes when `source_id`'s items do."""
    source = config.source(source_id)
    if source is None or not source.enabled:
        return set()
    channels = [("sources", source_id)]
    channels += [("feeds", feed.id) for feed in config.feeds if source_id in feed.source_set]
    return {feed_url(config, kind, ident, fmt) for kind, ident in channels for fmt in FORMATS}


class WebSubNotifier:
    """Coalescing background pings to `service.websub_hub`; inert when none is configured."""

    def __init__(self, gap: float = TOPIC_GAP) -> None:
        self._gap = gap
        self._pending: dict[_Hub, set[str]] = {}
        self._pinged: dict[str, float] = {}  # topic -> when last pinged (monotonic)
        self._wake = asyncio.Event()  # something new to ping, or `drain` wants it all now
        self._hurry = False  # `drain`: ping what waits now, gap or not
        self._proxies: tuple[str | None, Proxies] | None = None  # for this `fetch.proxy`
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.sent: int = 0  # pings the hub accepted, for status and tests

    def notify(self, config: Config, source_id: str) -> None:
        """Queue pings for `source_id`'s feeds; called from the event loop after a store."""
        hub = config.service.websub_hub
        if not hub:
            return
        urls = topics(config, source_id)
        if not urls:
            return
        if self._proxies is None or self._proxies[0] != config.fetch.proxy:
            self._proxies = (config.fetch.proxy, Proxies(config.fetch.proxy))
        key = (hub, config.fetch.user_agent, self._proxies[1].for_url(hub))
        self._pending.setdefault(key, set()).update(urls)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            self._wake.clear()
            due, next_due = self._due(time.monotonic())
            if not due:  # each waiting topic was pinged moments ago
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), next_due - time.monotonic())
                continue
            if self._session is None:
                self._session = aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=PING_TIMEOUT),
                    connector=aiohttp.TCPConnector(limit=PARALLEL),
                    cookie_jar=aiohttp.DummyCookieJar(),
                )
            slots = asyncio.Semaphore(PARALLEL)
            pings = [
                self._ping(slots, hub, agent, proxy, url)
                for (hub, agent, proxy), urls in due.items()
                for url in sorted(urls)
            ]
            await asyncio.gather(*pings)

    def _due(self, now: float) -> tuple[dict[_Hub, set[str]], float]:
        """The pending topics that may be pinged now, taken out of the queue, and when the
        first of the others may be."""
        self._pinged = {url: at for url, at in self._pinged.items() if now - at < self._gap}
        due: dict[_Hub, set[str]] = {}
        next_due = float("inf")
        for key, urls in self._pending.items():
            for url in urls:
                last = self._pinged.get(url)
                if self._hurry or last is None:
                    due.setdefault(key, set()).add(url)
                else:
                    next_due = min(next_due, last + self._gap)
        for key, urls in due.items():
            self._pending[key] -= urls
            if not self._pending[key]:
                del self._pending[key]
            self._pinged.update(dict.fromkeys(urls, now))
        return due, next_due

    async def _ping(
        self, slots: asyncio.Semaphore, hub: str, agent: str, proxy: str | None, url: str
    ) -> None:
        assert self._session is not None
        form = {"hub.mode": "publish", "hub.url": url}
        headers = {"User-Agent": agent}
        try:
            # A hub's redirect is not followed: the hub is a third party, and a 307 would
            # have every change POSTed on to any address, this network's own included.
            async with (
                slots,
                self._session.post(
                    hub, data=form, headers=headers, proxy=proxy, allow_redirects=False
                ) as reply,
            ):
                if 200 <= reply.status < 300:
                    self.sent += 1
                    return
                problem = f"HTTP {reply.status}"
                if location := reply.headers.get("Location"):
                    problem += f" to {location} (a hub's redirect is not followed)"
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = str(exc) or type(exc).__name__
        log.warning("websub ping failed", extra={"url": url, "hub": hub, "error": problem})

    async def drain(self) -> None:
        """Send every queued ping now, however recently its topic was pinged, and wait until
        each has been sent (or has failed)."""
        self._hurry = True
        self._wake.set()
        try:
            while self._task is not None and not self._task.done():
                await asyncio.shield(self._task)
        finally:
            self._hurry = False

    async def aclose(self, grace: float = CLOSE_TIMEOUT) -> None:
        """Give queued pings `grace` seconds to go out, then stop and release the session."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self.drain(), grace)
            except TimeoutError:
                self._task.cancel()
                with suppress(asyncio.CancelledError):
                    await self._task
        if self._session is not None:
            await self._session.close()
            self._session = None
