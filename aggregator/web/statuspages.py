"""The status pages (`/`, `/api/sources`, `/metrics`): written on a thread, shared by the
requests that ask together, reused for a while when they are slow to build, and answered like
feeds (compressed when accepted, 304 to a validator that matches).

At 2,000 sources they are 0.4-2.4 MB and took 70-170 ms each to build. Built per request on
the loop's thread, one client polling them raised the p99 of every feed reader from 3.5 ms to
over 100 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from aggregator.service import Service
from aggregator.web.cache import Rendered, make_rendered
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


@dataclass(frozen=True, slots=True)
class _Built:
    rendered: Rendered
    generation: int  # the service's: a reload shows at once
    until: float  # monotonic time it may be reused until


class StatusPages:
    """One app's status pages, by path."""

    def __init__(self) -> None:
        self._built: dict[str, _Built] = {}
        self._building: dict[str, asyncio.Future[_Built]] = {}

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
        found = self._built.get(path)
        if not _fresh(found, service):
            pending = self._building.get(path)
            if pending is None:
                build = self._build(service, gather, content_type, headers or {})
                pending = self._building[path] = asyncio.ensure_future(build)
                pending.add_done_callback(lambda done: self._finished(path, done))
            found = await asyncio.shield(pending)
        assert found is not None
        return await respond(request, found.rendered)

    async def _build(
        self, service: Service, gather: Gather, content_type: str, headers: Mapping[str, str]
    ) -> _Built:
        generation, started = service.generation, time.monotonic()
        body = await asyncio.to_thread(await gather(service))
        rendered = make_rendered(
            None, body, content_type, datetime.now(UTC), {**_HEADERS, **headers}
        )
        cost = time.monotonic() - started
        reuse = min(cost * _REUSE, _OLDEST) if cost >= _SLOW else 0.0
        return _Built(rendered, generation, time.monotonic() + reuse)

    def _finished(self, path: str, done: asyncio.Future[_Built]) -> None:
        del self._building[path]
        if not done.cancelled() and done.exception() is None:
            self._built[path] = done.result()


def _fresh(found: _Built | None, service: Service) -> bool:
    return (
        found is not None
        and found.generation == service.generation
        and time.monotonic() < found.until
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
