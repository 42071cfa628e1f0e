"""From parsed items to storable records: identity, tags and the story-matching keys."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from aggregator.config import Config, SourceConfig, StoriesConfig
from aggregator.cpu import CpuPool
from feeds.attribution import body_credit, credit_in_body_counts
from feeds.fingerprint import bands, measured_fingerprint
from feeds.identity import content_hash, entry_id, item_key
from feeds.model import ParsedFeed, ParsedItem
from feeds.normalize import fold, normalize_link, normalize_title
from feeds.parse import parse_feed
from feeds.sanitize import html_to_text, plain_line, summarize
from feeds.searchtext import index_text
from feeds.stories import SourceNames, body_days, keys_made_by
from storage import Database, HeldItem, ItemRecord, MatchKeys, StoredText, StoryContext

log = logging.getLogger("aggregator.records")
_NO_STORIES = StoriesConfig()
_NO_KEYS = MatchKeys(norm_link=None, norm_title=None, fingerprint=None, body_chars=None, bands=())
_REKEY_BATCH = 2000  # items read, keyed and written at a time, a progress line each
# Items keyed per call to the CPU pool: a body of 300,000 characters takes 0.09 s, so even a
# call of such bodies ends well within `cpu.CALL_LIMIT` (2,000 of them took 175 s).
_KEYED_PER_CALL = 200


def story_context(config: Config) -> StoryContext:
    """Names and aliases that origin credits are matched against, and the config order.

    Built once per loaded config: it is a pass over every source.
    """
    names: dict[str, str] = {}
    for source in config.sources:
        for name in (source.name, *source.aliases):
            names.setdefault(name, source.id)  # the first source wins a shared name
    order = {source.id: index for index, source in enumerate(config.sources)}
    return StoryContext(source_names=SourceNames.of(names), source_order=order)


def split_links(stories: StoriesConfig) -> frozenset[str]:
    """The operator's `[[stories.split]]` URLs, normalised as stored links are."""
    return _split_links(stories.split, tuple(sorted(stories.mirror_hosts.items())))


@cache
def _split_links(urls: frozenset[str], mirrors: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(normalize_link(url, dict(mirrors)) for url in urls)


def _match_keys(
    dedupe: bool, item: ParsedItem | StoredText, folded_body: str, stories: StoriesConfig
) -> dict[str, Any]:
    """Keys that find other sources' copies; none for `dedupe = false` or a split item."""
    link = normalize_link(item.url, stories.mirror_hosts) if item.url else None
    if not dedupe or (link is not None and link in split_links(stories)):
        return {}
    text = folded_body or fold(item.summary)
    fingerprint, chars = measured_fingerprint(text)
    return {
        "norm_link": link,
        "norm_title": normalize_title(item.title) or None,
        "fingerprint": fingerprint,
        "body_chars": chars if fingerprint is not None else None,
        "body_days": body_days(text) if fingerprint is not None else None,
        "bands": bands(fingerprint) if fingerprint is not None else (),
    }


def _stored_keys(
    sources: Mapping[str, SourceConfig], stories: StoriesConfig, rows: Sequence[StoredText]
) -> list[tuple[int, MatchKeys]]:
    """The keys that stored items without any would be given now, for those that get some."""
    found: list[tuple[int, MatchKeys]] = []
    for row in rows:
        keys = _keys_now(sources[row.source_id].dedupe, stories, row)
        if keys.norm_link or keys.norm_title or keys.fingerprint is not None:
            found.append((row.id, keys))
    return found


def _keys_now(dedupe: bool, stories: StoriesConfig, row: StoredText) -> MatchKeys:
    """The keys a stored item's text is given now; all None for none."""
    keys = _match_keys(dedupe, row, fold(html_to_text(row.content)), stories)
    return MatchKeys(**keys) if keys else _NO_KEYS


def rekeyed(
    stories: StoriesConfig, rows: Sequence[StoredText]
) -> list[tuple[int, str | None, MatchKeys]]:
    """(id, content hash read, keys now) of stored items that take part in stories, for
    `Database.rekey_stories`. Pure, for the CPU pool."""
    return [(row.id, row.content_hash, _keys_now(True, stories, row)) for row in rows]


async def rekey_stories(db: Database, config: Callable[[], Config], cpu: CpuPool) -> int:
    """Once per start, beside serving and fetching: if the stored items' story keys were made
    otherwise than this release makes them (an older one folded titles or made fingerprints
    another way), make them again from each item's text, in batches, and record it done.
    Until then, a new copy of a stored story can miss it. The keys are made in `cpu`, under
    the `config()` of the moment (a reload may change a source's `dedupe`); the stories
    formed stay as they are. Stopped before the end, it is all done again at the next start.
    Returns how many items' keys were written."""
    made_by = keys_made_by()
    try:
        if await db.keys_made_by() == made_by:
            return 0
        total, newest = await db.keyed_span()
        if total:
            log.info("rekeying stories", extra={"done": 0, "total": total})
        started = time.monotonic()
        done = rekeyed_items = after = 0
        while rows := await db.keyed_texts(after, newest, _REKEY_BATCH):
            if done and await db.keys_made_by() == made_by:
                # another process of this release (a server, `aggregator fetch` beside it)
                # made them meanwhile: each made them all, one after the other
                log.info("stories rekeyed by another process", extra={"done": done})
                return rekeyed_items
            current = config()
            # A source out of the config keeps its items (until retention) and may come back:
            # its keys are made as a source taking part's, the default. One with `dedupe =
            # false` has none: applying it took them.
            apart = {source.id for source in current.sources if not source.dedupe}
            keyed: list[tuple[int, str | None, MatchKeys]] = []
            for start in range(0, len(rows), _KEYED_PER_CALL):
                chunk = [row for row in rows[start : start + _KEYED_PER_CALL]
                         if row.source_id not in apart]  # fmt: skip
                if chunk:
                    keyed += await cpu.run(rekeyed, current.stories, chunk)
            rekeyed_items += await db.rekey_stories(keyed)
            done, after = done + len(rows), rows[-1].id
            log.info("rekeying stories", extra={"done": done, "total": total})
        await db.set_keys_made_by(made_by)
    except Exception:  # a worker died, the store failed: serving goes on
        log.exception("rekeying stories stopped: it is done again at the next start")
        return 0
    if total:
        seconds = round(time.monotonic() - started, 1)
        log.info("stories rekeyed", extra={"items": rekeyed_items, "seconds": seconds})
    return rekeyed_items


async def _rejoin_stories(db: Database, config: Config, context: StoryContext) -> set[str]:
    """Items stored without keys while their source had `dedupe = false`, or their link a
    `[[stories.split]]` entry, take part again once that is no longer so: they are given
    their keys and matched as new copies are. Unchanged upstream, they would otherwise stay
    apart for good. Returns the sources whose documents changed."""
    taking_part = {source.id: source for source in config.sources if source.dedupe}
    rows = await db.unkeyed_items(sorted(taking_part))
    if not rows:
        return set()
    keyed = await asyncio.to_thread(_stored_keys, taking_part, config.stories, rows)
    return await db.rejoin_stories(keyed, context)


def _costly(source: SourceConfig, item: ParsedItem, stories: StoriesConfig) -> dict[str, Any]:
    """What only an item about to be written needs: its story keys, its search text, and the
    origin its body credits when its document names none, or only the feed it came from."""
    body = html_to_text(item.content_html)  # made and folded once, for all three
    folded = fold(body)
    text = index_text(item.title, item.summary, body, folded)
    found = {"search_text": text, **_match_keys(source.dedupe, item, folded, stories)}
    if credit_in_body_counts(item) and (credit := body_credit(body, item.content_html, item.url)):
        found["origin"] = credit
    return found


def to_record(
    source: SourceConfig,
    item: ParsedItem,
    listing_hash: str | None,
    stories: StoriesConfig = _NO_STORIES,
    *,
    known: Mapping[str, HeldItem] | None = None,
) -> ItemRecord:
    """The record to store. With `known` (key → the stored item), an item whose hash shows
    it unchanged goes without its story keys and search text: it is not written again; and
    dates later than any it could be published with keep their stored values (`_settled`)."""
    key = item_key(item)
    item = _bounded(item)
    held = known.get(key) if known is not None else None
    if held is not None:
        item = _settled(item, held)
    # as every format publishes them, so that `?tag=` finds what a reader sees
    tags = tuple(dict.fromkeys(filter(None, map(plain_line, (*item.tags, *source.tags)))))
    digest = content_hash(item, tags)
    unchanged = held is not None and held.content_hash == digest
    costly = {} if unchanged else _costly(source, item, stories)
    origin = costly.pop("origin", item.origin)
    return ItemRecord(
        key=key,
        entry_id=entry_id(source.id, key),
        title=item.title,
        url=item.url,
        upstream_id=item.upstream_id,
        content=item.content_html,
        summary=item.summary,
        author=item.author,
        origin_name=origin.name if origin else None,
        origin_url=origin.url if origin else None,
        tags=tags,
        enclosures=item.enclosures,
        published=item.published,
        updated=item.updated,
        content_hash=digest,
        listing_hash=listing_hash,
        **costly,
    )


# What one line of an entry may hold: no real title or name is longer, and one record's title
# of 3 million characters (within `max_bytes`) was published whole in every merged feed.
_LONGEST_TITLE, _LONGEST_NAME = 1_000, 200


def _bounded(item: ParsedItem) -> ParsedItem:
    """`item` with its title, author and origin's name cut to `_LONGEST_TITLE` and
    `_LONGEST_NAME` characters (its key is made before: a hash of its title, it stays)."""
    author, origin = item.author or "", item.origin
    if (
        len(item.title) <= _LONGEST_TITLE
        and len(author) <= _LONGEST_NAME
        and (origin is None or len(origin.name) <= _LONGEST_NAME)
    ):
        return item
    if origin is not None:
        origin = replace(origin, name=summarize(origin.name, _LONGEST_NAME))
    return replace(
        item,
        title=summarize(item.title, _LONGEST_TITLE),
        author=summarize(author, _LONGEST_NAME) if item.author else item.author,
        origin=origin,
    )


def _settled(item: ParsedItem, held: HeldItem) -> ParsedItem:
    """`item` with the dates it was stored with where its new ones are later than what a feed
    shows of them: a date after the item was first seen is published as that moment, and an
    update after its last change as that change (`aggregator/publish.py`). A feed stamping
    every item with the time it was made, or a pinned item moved to now, changed nothing a
    reader sees, and made every item look edited at every fetch."""
    published, updated = item.published, item.updated
    if published is not None and published.timestamp() > held.first_seen:
        published = datetime.fromisoformat(held.published) if held.published else None
    if updated is not None and updated.timestamp() > held.last_changed:
        updated = datetime.fromisoformat(held.updated) if held.updated else None
    if published is item.published and updated is item.updated:
        return item
    return replace(item, published=published, updated=updated)


def build_records(
    source: SourceConfig,
    items: Sequence[tuple[ParsedItem, str | None]],
    stories: StoriesConfig,
    known: Mapping[str, HeldItem],
) -> list[ItemRecord]:
    """Records of fetched (item, listing digest) pairs; story keys (a SimHash of the body) and
    search text only for items new or changed since `known` (key → the stored item), since
    the unchanged are not written again. Pure, for the CPU pool."""
    return [to_record(source, item, listing, stories, known=known) for item, listing in items]


def parse_and_build(
    body: bytes,
    source: SourceConfig,
    stories: StoriesConfig,
    known: Mapping[str, HeldItem],
    *,
    url: str,
    header_charset: str | None,
    encoding: str | None,
    default_tz: tzinfo,
    max_entries: int | None = None,
) -> tuple[ParsedFeed, list[ItemRecord]]:
    """`parse_feed` then `build_records`, in one call to the CPU pool. The feed comes back
    without its items: the records carry everything stored of them."""
    feed = parse_feed(
        body,
        url=url,
        header_charset=header_charset,
        encoding=encoding,
        default_tz=default_tz,
        max_entries=max_entries,
        iframe_hosts=source.iframe_hosts,
    )
    records = build_records(source, [(item, None) for item in feed.items], stories, known)
    return replace(feed, items=()), records


async def apply_config(db: Database, config: Config) -> set[str]:
    """Bring the database in line with a (re)loaded config: sources known, splits applied,
    the items of `dedupe = false` sources out of every story. Returns the sources whose
    documents that changed."""
    await db.register_sources([(s.id, s.url) for s in config.sources])
    context = story_context(config)
    changed = await db.split_stories(sorted(split_links(config.stories)), context)
    apart = [source.id for source in config.sources if not source.dedupe]
    changed |= await db.leave_stories(apart, context)
    return changed | await _rejoin_stories(db, config, context)
