"""Typed application keys, in one place."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from aggregator.service import Service
from aggregator.web.cache import FeedCache


class Served:
    """Feed documents answered (200 or 304), by format, for `/metrics`."""

    def __init__(self) -> None:
        self.by_format: Counter[str] = Counter()


SERVICE = web.AppKey("service", Service)
CACHE = web.AppKey("cache", FeedCache)
SERVED = web.AppKey("served", Served)
