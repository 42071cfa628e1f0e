"""The status pages (`/`, `/api/sources`, `/metrics`): written on a thread, shared by the
requests that ask together, reused for a while when they are slow to build, and answered like
feeds (compressed when accepted, 304 to a validator that matches).

At 2,000 sources they are 0.4-2.4 MB and took 70-170 ms each to build. Built per request on
the loop's thread, one client polling them raised the p99 of every feed reader from 3.5 ms to
over 100 ms.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from aiohttp import web

from aggregator.service import Service
from aggregator.web.cache import FeedCache, Rendered, make_rendered
from aggregator.web.feedroutes import respond
from aggregator.web.keys import SERVICE

Writer = Callable[[], bytes]
# Reads on the loop what the page shows (the database, a snapshot of what the loop changes)
# and returns the function that writes the page from it on another thread.
Gather = Callable[[Service], Awaitable[Writer]]

# A page that took `_SLOW` seconds or more to build is reused for `_REUSE` times as long, up
# to `_OLDEST`: polling it costs at most a fifth of a core, however many sources it shows. A
# quicker one shows every change at once.
_SLOW = 0.02
_REUSE = 4.0
_OLDEST = 5.0
_HEADERS = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


class StatusPages:
    """One app's status pages, by path: a feed cache whose generations are the service's
    and an epoch, the next one begun when a page may be reused no longer. Requests during a
    build share it (`FeedCache.render_once`); a failed build is not kept."""

    def __init__(self) -> None:
        self._cache = FeedCache()
        self._epochs: dict[str, tuple[tuple[int, int], float]] = {}  # path -> (generation, until)
        self._count = itertools.count()

    async def answer(
        self,
        request: web.Request,
        service: Service,
        gather: Gather,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        """The page at `request.path`: reused while it may be, else built once for every
        request waiting on it. A client that goes away cancels only its own wait."""
        path = request.path
        generation, until = self._epochs.get(path, ((-1, -1), 0.0))
        if generation[0] != service.generation or time.monotonic() >= until:
            generation = (service.generation, next(self._count))
            self._epochs[path] = (generation, math.inf)  # until built: shared meanwhile
        rendered = self._cache.get(path, generation)
        if rendered is None:
            build = functools.partial(
                self._build, path, generation, service, gather, content_type, headers or {}
            )
            rendered = await self._cache.render_once(path, generation, build)
        return await respond(request, rendered)

    async def _build(
        self,
        path: str,
        generation: tuple[int, int],
        service: Service,
        gather: Gather,
        content_type: str,
        headers: Mapping[str, str],
    ) -> Rendered:
        started = time.monotonic()
        body = await asyncio.to_thread(await gather(service))
        cost = time.monotonic() - started
        reuse = min(cost * _REUSE, _OLDEST) if cost >= _SLOW else 0.0
        if self._epochs.get(path, (None,))[0] == generation:
            self._epochs[path] = (generation, time.monotonic() + reuse)
        answer_headers = {**_HEADERS, **headers}
        # each process dates its own pages, built at its own moments: with several, two
        # pages of one second shared a date, so none is dated (their `ETag` stays)
        never = math.inf if service.processes > 1 else 0.0
        return make_rendered(
            generation, body, content_type, datetime.now(UTC), answer_headers, settle=never
        )


STATUS_PAGES = web.AppKey("status_pages", StatusPages)


async def status_page(
    request: web.Request,
    gather: Gather,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A status page of `request`'s app, gathered by `gather`."""
    app = request.app
    return await app[STATUS_PAGES].answer(request, app[SERVICE], gather, content_type, headers)
