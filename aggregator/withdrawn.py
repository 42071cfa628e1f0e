"""Items an operator withdrew (`[[stories.withdraw]]`): kept in the store, published nowhere.

A withdrawn item is matched by its URL as stored, or by its normalised link as stories match
links (so the same article under `www.`, a mirror host or tracking parameters goes too).
It is left out where feeds are selected, so a story it was the canonical copy of shows its
next copy, under the same entry id, and no entry lists it among a story's copies. The story's
origin stays what it was: who first published it is a fact about the story.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from aggregator.config import StoriesConfig
from feeds.normalize import normalize_link

# Answers kept by URL: normalising a link takes about 9 us, and a cold render of a merged page
# checks some 300 items and copies, mostly the same from one render to the next.
_KEPT = 65_536


@dataclass(frozen=True, slots=True)
class Withdrawn:
    urls: frozenset[str]
    links: frozenset[str]
    mirrors: Mapping[str, str]
    _answers: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def covers(self, url: str | None) -> bool:
        if url is None:
            return False
        found = self._answers.get(url)
        if found is None:
            if len(self._answers) >= _KEPT:
                self._answers.clear()
            found = url in self.urls or normalize_link(url, self.mirrors) in self.links
            self._answers[url] = found
        return found


def withdrawn(stories: StoriesConfig) -> Withdrawn | None:
    """The config's withdrawals, or None when there are none (the common case, at no cost)."""
    if not stories.withdrawn:
        return None
    return _withdrawn(stories.withdrawn, tuple(sorted(stories.mirror_hosts.items())))


@lru_cache(maxsize=8)  # one config at a time, and the few a reload replaced
def _withdrawn(urls: frozenset[str], mirrors: tuple[tuple[str, str], ...]) -> Withdrawn:
    hosts = dict(mirrors)
    return Withdrawn(urls, frozenset(normalize_link(url, hosts) for url in urls), hosts)
