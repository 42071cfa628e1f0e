"""Typed application keys, in one place."""

from __future__ import annotations

from aiohttp import web

from aggregator.service import Service
from aggregator.web.cache import FeedCache

SERVICE = web.AppKey("service", Service)
CACHE = web.AppKey("cache", FeedCache)
