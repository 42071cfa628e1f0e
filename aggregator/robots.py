"""robots.txt for scraped pages, fetched once per origin and cached for a day (LRU-bounded)."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from aggregator.errors import FetchError
from aggregator.fetcher import Fetcher
from aggregator.netpolicy import allowed_hosts

_TTL = 86400.0
# Not honoured here (per-host limits are), and the standard parser raises on a digit that is
# not ASCII in them ("Crawl-delay: ²" passes its `isdigit` check, then `int` refuses it).
_RATES = re.compile(r"\s*(?:crawl-delay|request-rate)\s*:", re.IGNORECASE)
# Origins remembered at most, least recently used dropped first: every scraped source and
# article host adds one, so an unbounded cache would grow with the sources ever configured.
MAX_ORIGINS = 1024


class Robots:
    def __init__(self, fetcher: Fetcher, user_agent: str, *, capacity: int = MAX_ORIGINS) -> None:
        self._fetcher = fetcher
        self._agent = user_agent.split("/")[0]
        self._capacity = capacity
        self._cache: OrderedDict[tuple[str, bool], tuple[float, RobotFileParser]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    async def allowed(
        self, url: str, verify_tls: bool = True, user_agent: str | None = None
    ) -> bool:
        """Whether our user agent (or a source's own) may fetch `url`; an unreachable
        robots.txt allows everything. `verify_tls` False reads it as the source's pages are
        read, whatever the certificate."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return True
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (origin, verify_tls)  # a certificate refused with checks is read without them
        cached = self._cache.get(key)
        if cached is None or time.monotonic() - cached[0] > _TTL:
            cached = (time.monotonic(), await self._load(origin, verify_tls))
            self._cache[key] = cached
        self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        agent = user_agent.split("/")[0] if user_agent else self._agent
        return cached[1].can_fetch(agent, url)

    async def _load(self, origin: str, verify_tls: bool) -> RobotFileParser:
        parser = RobotFileParser()
        robots_url = f"{origin}/robots.txt"
        try:
            response = await self._fetcher.get(
                robots_url,
                source_url=robots_url,
                hosts=allowed_hosts(robots_url, ()),
                verify_tls=verify_tls,
            )
            text = response.body.decode("utf-8", errors="replace")
        except FetchError:
            text = ""
        parser.parse([line for line in text.splitlines() if not _RATES.match(line)])
        return parser
