"""Items an operator withdrew (`[[stories.withdraw]]`): kept in the store, published nowhere.

A withdrawn item is matched by its URL as stored, or by its normalised link as stories match
links (so the same article under `www.`, a mirror host or tracking parameters goes too).
It is left out where feeds are selected, so a story it was the canonical copy of shows its
next copy, under the same entry id, and no entry lists it among a story's copies. The story's
origin stays what it was: who first published it is a fact about the story.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from aggregator.config import StoriesConfig
from feeds.normalize import normalize_link


@dataclass(frozen=True, slots=True)
class Withdrawn:
    urls: frozenset[str]
    links: frozenset[str]
    mirrors: Mapping[str, str]

    def covers(self, url: str | None) -> bool:
        if url is None:
            return False
        return url in self.urls or normalize_link(url, self.mirrors) in self.links


def withdrawn(stories: StoriesConfig) -> Withdrawn | None:
    """The config's withdrawals, or None when there are none (the common case, at no cost)."""
    if not stories.withdrawn:
        return None
    return _withdrawn(stories.withdrawn, tuple(sorted(stories.mirror_hosts.items())))


@lru_cache(maxsize=8)  # one config at a time, and the few a reload replaced
def _withdrawn(urls: frozenset[str], mirrors: tuple[tuple[str, str], ...]) -> Withdrawn:
    hosts = dict(mirrors)
    return Withdrawn(urls, frozenset(normalize_link(url, hosts) for url in urls), hosts)
