"""`aggregator stories`: recent stories seen at several sources, their copies and match rules."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.config import Config
from aggregator.configtable import parse_duration
from aggregator.withdrawn import withdrawn
from storage import Database, StoredItem, StoryView


def _describe(config: Config, story: StoryView, titles: dict[int, str]) -> dict[str, object]:
    hidden = withdrawn(config.stories)

    def name(source_id: str) -> str:
        source = config.source(source_id)
        return source.name if source else source_id

    def disabled(source_id: str) -> bool:  # its copies are published nowhere meanwhile
        source = config.source(source_id)
        return source is not None and not source.enabled

    return {
        "id": story.entry_id,
        "title": titles.get(story.canonical_item or -1, ""),
        "origin": story.origin_name,
        "origin_source": story.origin_source,
        "reason": story.reason,
        "copies": [
            {
                "source": copy.source_id,
                "source_name": name(copy.source_id),
                "url": copy.url,
                "canonical": copy.item_id == story.canonical_item,
                "rule": copy.rule or "first",
                "withdrawn": hidden is not None and hidden.covers(copy.url),
                "disabled": disabled(copy.source_id),
            }
            for copy in story.copies
            if config.source(copy.source_id) is not None
        ],
    }


DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class StoryReport:
    """The report's text; `cut` when more stories were seen than `limit` let it show."""

    text: str
    cut: bool


async def story_report(
    config: Config, *, since: str, as_json: bool, limit: int = DEFAULT_LIMIT
) -> StoryReport:
    """The report as text, newest stories first, at most `limit` of them; `since` is a
    duration back from now, such as "7d"."""
    cutoff = time.time() - parse_duration(since)
    db = await Database.open(config.service.database, existing=True, schema="current")
    try:
        configured = [source.id for source in config.sources]
        found = await db.multi_source_stories(configured, cutoff, limit + 1)
        stories = found[:limit]
        items = await db.items_by_id([s.canonical_item for s in stories if s.canonical_item])
    finally:
        await db.close()
    text = _text(config, stories, items, cutoff, as_json=as_json)
    return StoryReport(text, cut=len(found) > limit)


def _text(
    config: Config,
    stories: list[StoryView],
    items: dict[int, StoredItem],
    cutoff: float,
    *,
    as_json: bool,
) -> str:
    described = [
        _describe(config, s, {i: item.title for i, item in items.items()}) for s in stories
    ]
    if as_json:
        return json.dumps(described, ensure_ascii=False, indent=2)
    if not described:
        since_when = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"no story seen at several sources since {since_when}"
    lines = []
    for story in described:
        lines.append(f"{story['title']}  [origin: {story['origin'] or '—'}, {story['reason']}]")
        for copy in story["copies"]:  # type: ignore[attr-defined]
            mark = "*" if copy["canonical"] else " "
            line = f"  {mark} {copy['source_name']:<16} {copy['rule']:<6} {copy['url']}"
            notes = [note for note in ("withdrawn", "disabled") if copy[note]]
            lines.append(line + "".join(f"  ({note})" for note in notes))
    return "\n".join(lines)
