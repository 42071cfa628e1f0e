"""WebSub publisher: tell the hub which of our feeds changed, so subscribers hear at once.

When a source's items change, the hub gets one `hub.mode=publish` form POST per topic: the
source's own feed and every merged feed that includes it, in each format (each document
advertises the hub and is its own topic). Pings run in the background and coalesce: changes
that arrive while a round is in flight go out together in the next round. A hub that is down
costs a log line, never a fetch. Pings go through the proxy upstream requests use.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import aiohttp

from aggregator.config import Config
from aggregator.proxies import Proxies
from aggregator.publish import FORMATS, feed_url

log = logging.getLogger("aggregator.websub")
PING_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0


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

    def __init__(self) -> None:
        # (hub, user agent, proxy) -> topics
        self._pending: dict[tuple[str, str, str | None], set[str]] = {}
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
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            if self._session is None:
                self._session = aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=PING_TIMEOUT),
                    cookie_jar=aiohttp.DummyCookieJar(),
                )
            for (hub, agent, proxy), urls in batch.items():
                pings = (self._ping(hub, agent, proxy, url) for url in sorted(urls))
                await asyncio.gather(*pings)

    async def _ping(self, hub: str, agent: str, proxy: str | None, url: str) -> None:
        assert self._session is not None
        form = {"hub.mode": "publish", "hub.url": url}
        headers = {"User-Agent": agent}
        try:
            # A hub's redirect is not followed: the hub is a third party, and a 307 would
            # have every change POSTed on to any address, this network's own included.
            async with self._session.post(
                hub, data=form, headers=headers, proxy=proxy, allow_redirects=False
            ) as reply:
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
        """Wait until every queued ping has been sent (or has failed)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

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
