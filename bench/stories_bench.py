"""Story matching: quality on the labelled pairs, and cost per new item as the store grows.

Run from the repository root: `python -m bench.stories_bench`.

(a) precision and recall of `feeds.stories.match` on `tests/fixtures/stories/pairs.jsonl`;
(b) time to find candidates and decide one new item against 10k, 50k and 100k stored items,
    through an in-memory index keyed like the storage one (link, title, band keys), beside a
    linear scan. Stored items are synthetic: random titles and links, uniformly random
    fingerprints (so band collisions are those of unrelated texts).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.fingerprint import bands
from feeds.stories import StoryKey, match, story_key

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stories" / "pairs.jsonl"
SIZES = (10_000, 50_000, 100_000)
PROBES = 2_000
LINEAR_PROBES = 20


def _key(item: dict[str, str], name: str) -> StoryKey:
    return story_key(
        item_key=name,
        source_id=item["source"],
        title=item["title"],
        text=item["text"],
        link=item["link"],
        published=datetime.fromisoformat(item["published"]),
        story_id=name,
    )


def quality(lines: Iterable[str]) -> None:
    """Print precision, recall, the rules that fired and every mislabelled kind."""
    outcome: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for line in lines:
        pair: dict[str, Any] = json.loads(line)
        found = match(_key(pair["b"], "b"), [_key(pair["a"], "a")])
        outcome[
            ("T" if (found is not None) == pair["same"] else "F") + ("P" if found else "N")
        ] += 1
        if found is not None:
            rules[found.rule] += 1
        if (found is not None) != pair["same"]:
            wrong[pair["kind"]] += 1
    tp, fp, fn = outcome["TP"], outcome["FP"], outcome["FN"]
    print(f"(a) {sum(outcome.values())} pairs: {dict(sorted(outcome.items()))}")
    print(f"    precision {tp / (tp + fp):.3f}  recall {tp / (tp + fn):.3f}")
    print(f"    rules that matched: {dict(rules)}")
    print(f"    wrong, by kind: {dict(wrong)}")


class Index:
    """Stored items by normalised link, normalised title and band key, as storage indexes them."""

    def __init__(self) -> None:
        self.by_link: dict[str, list[StoryKey]] = defaultdict(list)
        self.by_title: dict[str, list[StoryKey]] = defaultdict(list)
        self.by_band: dict[int, list[StoryKey]] = defaultdict(list)

    def add(self, key: StoryKey) -> None:
        if key.link:
            self.by_link[key.link].append(key)
        self.by_title[key.title].append(key)
        if key.fingerprint is not None:
            for band in bands(key.fingerprint):
                self.by_band[band].append(key)

    def candidates(self, key: StoryKey) -> list[StoryKey]:
        found = {c.item_key: c for c in self.by_link.get(key.link or "", ())}
        found |= {c.item_key: c for c in self.by_title.get(key.title, ())}
        if key.fingerprint is not None:
            for band in bands(key.fingerprint):
                found |= {c.item_key: c for c in self.by_band.get(band, ())}
        return list(found.values())


def _stored(rng: random.Random, count: int) -> list[StoryKey]:
    start = datetime(2022, 1, 1, tzinfo=UTC)
    return [
        StoryKey(
            item_key=f"s{i}",
            source_id=f"src{rng.randrange(50)}",
            link=f"site{rng.randrange(50)}.example/article/{i}.html",
            title="".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(12)),
            published=start + timedelta(minutes=rng.randrange(525_600)),
            fingerprint=rng.getrandbits(64) - (1 << 63),
            story_id=f"s{i}",
        )
        for i in range(count)
    ]


def _probe(rng: random.Random, stored: list[StoryKey], i: int) -> StoryKey:
    """A new item from another source: a copy by link, title or body, or nothing stored."""
    old = rng.choice(stored)
    assert old.fingerprint is not None
    kind = i % 4
    return StoryKey(
        item_key=f"n{i}",
        source_id="newsource",
        link=old.link if kind == 0 else f"new.example/{i}",
        title=old.title if kind == 1 else f"新条目{i}号的标题",
        published=old.published,
        fingerprint=old.fingerprint ^ 0b101 if kind == 2 else rng.getrandbits(64) - (1 << 63),
    )


def cost() -> None:
    rng = random.Random(7)
    stored = _stored(rng, max(SIZES))
    text = (PAIRS.parent / "hz1w_portal.txt").read_text(encoding="utf-8")
    published = datetime(2022, 1, 14, 17, 50, tzinfo=UTC)
    began = time.perf_counter()
    for i in range(20):
        story_key(
            item_key="k",
            source_id="x",
            title="汉中又新增一项国字号荣誉!",
            text=text,
            link=f"a{i}",
            published=published,
        )
    build_ms = (time.perf_counter() - began) / 20 * 1000
    print(f"(b) building one key (normalise + fingerprint, 1.9k-char body): {build_ms:.2f} ms")
    print("    stored   indexed µs/item  candidates/item  matched  linear-scan µs/item")
    for size in SIZES:
        index = Index()
        for key in stored[:size]:
            index.add(key)
        probes = [_probe(rng, stored[:size], i) for i in range(PROBES)]
        seen = matched = 0
        began = time.perf_counter()
        for probe in probes:
            candidates = index.candidates(probe)
            seen += len(candidates)
            matched += match(probe, candidates) is not None
        indexed_us = (time.perf_counter() - began) / PROBES * 1e6
        began = time.perf_counter()
        for probe in probes[:LINEAR_PROBES]:
            match(probe, stored[:size])
        linear_us = (time.perf_counter() - began) / LINEAR_PROBES * 1e6
        print(
            f"    {size:>7,}  {indexed_us:>14.1f}  {seen / PROBES:>15.1f}  "
            f"{matched / PROBES:>7.0%}  {linear_us:>19,.0f}"
        )


def main() -> None:
    with PAIRS.open(encoding="utf-8") as lines:
        quality(lines)
    cost()


if __name__ == "__main__":
    main()
