"""Big and archive pages rendered in the parsing processes, which read the store themselves.

A cold render is queries, `build_feed` and feedgen, all of it Python holding the GIL: about
6 ms for a page of 50 entries and 50 ms for one of 500. On the loop's thread, the readers of
cached feeds waited behind each one; in a thread, the GIL made them wait longer still. A
worker process opens the store read-only (`ReadOnlyDatabase`) and runs the same
`render_page` the loop would, so the loop sends a request of a few hundred bytes and
receives the document's bytes.

A feed's first page of up to `ON_LOOP_ENTRIES` stays on the loop: it is what readers poll,
every reader of it waits for its render after each change, and a worker, at a lower
priority and busy parsing the very fetch that changed it, answered in up to a second on a
loaded machine instead of 6 ms. Pages further back (a `before` cursor) and bigger pages are
asked for by few, cost up to 50 ms, and go to the workers once they have started.

The config goes to each worker once for each version of it (pickling a config of 2,000
sources takes milliseconds): a worker that has not seen the version a request names answers
`_ConfigWanted`, and the request goes again with the config.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aggregator.config import Config
from aggregator.cpu import CpuPool, WorkerCrashed
from aggregator.documents import Page, render_page
from feeds.errors import AggregatorError
from storage import ReadOnlyDatabase, Reads

log = logging.getLogger("aggregator.render")
T = TypeVar("T")
_OPEN_STORES = 4  # read-only connections a worker keeps, the least recently used closed first
ON_LOOP_ENTRIES = 100
PRELOAD = (__name__,)  # for `CpuPool(preload=...)`: workers do not import it at a first render


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """A page to render, the store to read it from and the version of the config to use."""

    database: Path
    config_version: str
    page: Page


class _ConfigWanted(AggregatorError):
    """The worker has not seen the config version the request names."""


class PooledRenderer:
    """Renders big and archive pages in `cpu`'s worker processes, or on the loop if one dies."""

    def __init__(self, cpu: CpuPool) -> None:
        self._cpu = cpu
        self._config: Config | None = None
        self._version = ""

    def takes(self, page: Page, entries: int) -> bool:
        """Whether `page`, of at most `entries`, renders in a worker: not a first page of up
        to `ON_LOOP_ENTRIES`, and not before the workers are up (the loop renders while they
        start, rather than have readers wait for a start)."""
        if page.query.before is None and entries <= ON_LOOP_ENTRIES:
            return False
        if not self._cpu.started:
            self._cpu.start()
            return False
        return True

    async def render(self, config: Config, db: Reads, page: Page) -> tuple[bytes, datetime]:
        """The document's bytes and `updated` time, as `render_page` gives them."""
        if config is not self._config:
            self._config, self._version = config, uuid.uuid4().hex
        request = RenderRequest(db.path, self._version, page)
        try:
            try:
                return await self._cpu.run(render_request, request, None)
            except _ConfigWanted:
                return await self._cpu.run(render_request, request, config)
        except WorkerCrashed as exc:
            log.warning("rendering on the event loop: %s", exc, extra={"feed": page.ident})
            return await render_page(config, db, page)


# A worker's state: it runs one call at a time, so module globals are its own.
_configs: dict[str, Config] = {}
_stores: OrderedDict[Path, ReadOnlyDatabase] = OrderedDict()


def render_request(request: RenderRequest, config: Config | None) -> tuple[bytes, datetime]:
    """In a worker process: the document `request` asks for, read from the store. `config`
    comes only when the worker has answered `_ConfigWanted` for this version of it."""
    if config is None:
        config = _configs.get(request.config_version)
        if config is None:
            raise _ConfigWanted(request.config_version)
    else:
        _configs.clear()
        _configs[request.config_version] = config
    return _complete(render_page(config, _store(request.database), request.page))


def _store(path: Path) -> ReadOnlyDatabase:
    store = _stores.pop(path, None) or ReadOnlyDatabase(path)
    _stores[path] = store
    while len(_stores) > _OPEN_STORES:
        _stores.popitem(last=False)[1].close()
    return store


def _complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine that never suspends (its reads are a `ReadOnlyDatabase`'s), with no
    event loop: one `send` runs it to its end."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a read-only render waited for something")
