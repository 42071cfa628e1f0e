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
# A robots.txt answering 5xx is a site in trouble, whose rules are unknown: nothing of it is
# read (RFC 9309 §2.3.1.4) until it is asked again this much later, not the next day.
_UNAVAILABLE_TTL = 600.0
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
        self._cache: OrderedDict[tuple[str, bool], tuple[float, RobotFileParser | str]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._cache)

    async def allowed(
        self, url: str, verify_tls: bool = True, user_agent: str | None = None
    ) -> bool:
        return await self.refusal(url, verify_tls, user_agent) is None

    async def refusal(
        self, url: str, verify_tls: bool = True, user_agent: str | None = None
    ) -> str | None:
        """Why our user agent (or a source's own) may not fetch `url`, or None. A robots.txt
        that is missing (4xx) or cannot be reached at all allows everything (the page's own
        fetch then fails for the same reason); one answering 5xx refuses everything for a
        while. `verify_tls` False reads it as the source's pages are read."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (origin, verify_tls)  # a certificate refused with checks is read without them
        cached = self._cache.get(key)
        ttl = _UNAVAILABLE_TTL if cached is not None and isinstance(cached[1], str) else _TTL
        if cached is None or time.monotonic() - cached[0] > ttl:
            cached = (time.monotonic(), await self._load(origin, verify_tls))
            self._cache[key] = cached
        self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        rules = cached[1]
        if isinstance(rules, str):
            return rules
        agent = user_agent.split("/")[0] if user_agent else self._agent
        return None if rules.can_fetch(agent, url) else "robots.txt disallows this page"

    async def _load(self, origin: str, verify_tls: bool) -> RobotFileParser | str:
        """The rules of `origin`, or why none of its pages may be read for now."""
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
        except FetchError as exc:
            if exc.status is not None and exc.status >= 500:
                return f"robots.txt answered HTTP {exc.status}: no page is read until it answers"
            text = ""
        parser.parse([line for line in text.splitlines() if not _RATES.match(line)])
        return parser
