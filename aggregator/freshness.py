"""Which published documents a change reaches, so that only those are rendered again.

A document shows its sources' items and the copies of their stories; storage moves a source's
items version whenever those may read differently (`WriteSummary.versions`). Each server
process keeps a counter per source and per merged feed, moved by the versions it writes or
reads back: a cached document stays valid while its own counter does, however many other
sources were fetched meanwhile. Before, every commit, a 304's outcome included, re-rendered
every document once the next request came.
"""

from __future__ import annotations

from collections.abc import Iterable

from aggregator.config import Config


class Freshness:
    def __init__(self) -> None:
        self._stored: dict[str, int] = {}  # the items version last seen of each source
        self._sources: dict[str, int] = {}
        self._feeds: dict[str, int] = {}

    def version(self, kind: str, ident: str) -> int:
        """The counter of `/{kind}/{ident}`: it moves when that document may read differently."""
        return (self._feeds if kind == "feeds" else self._sources).get(ident, 0)

    def saw(self, config: Config, versions: Iterable[tuple[str, int]]) -> list[str]:
        """Take in items versions, written here or read from the database; the documents of
        every source whose version moved are stale. Returns those sources."""
        moved = []
        for source_id, version in versions:
            if self._stored.get(source_id) != version:
                self._stored[source_id] = version
                moved.append(source_id)
        if moved:
            self._moved(config, moved)
        return moved

    def _moved(self, config: Config, source_ids: list[str]) -> None:
        for source_id in source_ids:
            self._sources[source_id] = self._sources.get(source_id, 0) + 1
        touched = frozenset(source_ids)
        for feed in config.feeds:
            if not feed.source_set.isdisjoint(touched):
                self._feeds[feed.id] = self._feeds.get(feed.id, 0) + 1
