"""SQL for stories: indexed candidate lookups, applying the pure decisions of `feeds.stories`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from feeds.fingerprint import NEAR_DUPLICATE_BITS, hamming
from feeds.stories import (
    Decision,
    Match,
    StoryKey,
    StoryMember,
    choose_canonical,
    match,
    matches,
)
from storage.connection import Reader, Row
from storage.items import INSERT_BANDS
from storage.records import ItemRecord, StoryContext, StoryCopy, StoryView
from storage.sources import NOW_SQL

TITLE_WINDOW_SECONDS = 7 * 86400.0
_CANDIDATE_COLUMNS = (
    "id, key, source_id, norm_link, norm_title, published, fingerprint, body_chars, body_days, "
    "origin_name, origin_url, story_id, first_seen"
)


def published_of(row: Row) -> datetime | None:
    return datetime.fromisoformat(row["published"]) if row["published"] else None


def _key(row: Row, order: dict[str, int], story: int | None = None) -> StoryKey:
    """`story`: the one the row's story went into (`_current`), when not its own."""
    return StoryKey(
        item_key=str(row["id"]),
        source_id=row["source_id"],
        link=row["norm_link"],
        title=row["norm_title"] or "",
        published=published_of(row),
        fingerprint=row["fingerprint"],
        body_chars=row["body_chars"],
        days=row["body_days"],
        origin_name=row["origin_name"],
        seen=datetime.fromtimestamp(row["first_seen"], UTC),
        story_id=str(row["story_id"] if story is None else story),
        source_order=order.get(row["source_id"], len(order)),
    )


_BATCH = 500  # items per candidate query
# Lists travel as JSON arrays, so each statement has one text whatever the number of items:
# an `IN (?, ?, …)` per batch size filled the statement cache with thousands of variants,
# and SQLite's memory grew with every source fetched (10 MB at 2,000 sources).
# An undated item's title is compared at the time it was first seen (`StoryKey.seen`).
_COLUMNS = f"{_CANDIDATE_COLUMNS}, coalesce(published_ts, first_seen) AS title_ts"
_CANDIDATES_SQL = f"""
    SELECT * FROM (
        SELECT {_COLUMNS} FROM items WHERE norm_link IN (SELECT value FROM json_each(?))
        UNION ALL
        SELECT {_COLUMNS} FROM items
            WHERE norm_title IN (SELECT value FROM json_each(?))
            AND coalesce(published_ts, first_seen) BETWEEN ? AND ?
    ) WHERE source_id != ?
"""
# A band is shared by many unrelated items (more as the store grows): their fingerprints come
# from the band index itself, and only the items within the distance are read.
_BANDS_SQL = (
    "SELECT band, item_id, fingerprint FROM item_bands "
    "WHERE band IN (SELECT value FROM json_each(?))"
)
_NEAR_SQL = (
    f"SELECT {_COLUMNS} FROM items WHERE id IN (SELECT value FROM json_each(?)) AND source_id != ?"
)
_MEMBERS_SQL = (
    f"SELECT {_COLUMNS} FROM items WHERE story_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY story_id, id"
)


def _title_time(item: ItemRecord, now: float) -> float:
    """When an item's title is compared: its date, else now, when it is first seen (an undated
    copy of a dated story otherwise never matched it by title)."""
    return item.published.timestamp() if item.published else now


def _candidates(
    conn: sqlite3.Connection, source_id: str, items: Sequence[ItemRecord], now: float
) -> list[list[Row]]:
    """For each item, the items of other sources sharing its link, its title within the window
    or a SimHash band, and every other member of the stories found (so that `match` can refuse
    a story that already holds this source). A few statements per batch of items, each on its
    own index: a statement per item cost more than the matching itself."""
    found: list[list[Row]] = []
    for start in range(0, len(items), _BATCH):
        found += _candidates_of_batch(conn, source_id, items[start : start + _BATCH], now)
    return found


def _candidates_of_batch(
    conn: sqlite3.Connection, source_id: str, items: Sequence[ItemRecord], now: float
) -> list[list[Row]]:
    links = sorted({item.norm_link for item in items if item.norm_link})
    titled = [item for item in items if item.norm_title]
    titles = sorted({item.norm_title for item in titled if item.norm_title})
    bands = sorted({band for item in items for band in item.bands})
    if not (links or titles or bands):
        return [[] for _ in items]
    stamps = [_title_time(item, now) for item in titled] or [0.0]
    window = (min(stamps) - TITLE_WINDOW_SECONDS, max(stamps) + TITLE_WINDOW_SECONDS)
    params = (json.dumps(links), json.dumps(titles), *window, source_id)
    wanted_links, wanted_titles = set(links), set(titles)
    by_link: dict[str, dict[int, Row]] = {}
    by_title: dict[str, dict[int, Row]] = {}
    for row in conn.execute(_CANDIDATES_SQL, params) if links or titles else ():
        if row["norm_link"] in wanted_links:
            by_link.setdefault(row["norm_link"], {})[row["id"]] = row
        if row["norm_title"] in wanted_titles:
            by_title.setdefault(row["norm_title"], {})[row["id"]] = row
    near = _near_ids(conn, items, bands)
    wanted = sorted({row_id for ids in near for row_id in ids})
    by_id: dict[int, Row] = {}
    if wanted:
        by_id = {row["id"]: row for row in conn.execute(_NEAR_SQL, (json.dumps(wanted), source_id))}
    by_body = [{row_id: by_id[row_id] for row_id in ids if row_id in by_id} for ids in near]
    direct = [
        _direct(item, by_link, by_title, body, now)
        for item, body in zip(items, by_body, strict=True)
    ]
    stories = sorted({row["story_id"] for rows in direct for row in rows.values()})
    members: dict[int, list[Row]] = {}
    if stories:
        for row in conn.execute(_MEMBERS_SQL, (json.dumps(stories),)):
            members.setdefault(row["story_id"], []).append(row)
    return [
        list(
            {
                **rows,
                **{
                    row["id"]: row
                    for story in sorted({r["story_id"] for r in rows.values()})
                    for row in members.get(story, ())
                },
            }.values()
        )
        for rows in direct
    ]


def _near_ids(
    conn: sqlite3.Connection, items: Sequence[ItemRecord], bands: list[int]
) -> list[set[int]]:
    """For each item, the stored items (of any source) within `NEAR_DUPLICATE_BITS` of its
    fingerprint: every one shares a band with it (see `feeds.fingerprint.bands`)."""
    by_band: dict[int, list[tuple[int, int | None]]] = {}
    if bands:
        for band, item_id, fingerprint in conn.execute(_BANDS_SQL, (json.dumps(bands),)):
            by_band.setdefault(band, []).append((item_id, fingerprint))
    near: list[set[int]] = []
    for item in items:
        mine = item.fingerprint
        if mine is None:
            near.append(set())
            continue
        near.append(
            {
                item_id
                for band in item.bands
                for item_id, theirs in by_band.get(band, ())
                if theirs is not None and hamming(mine, theirs) <= NEAR_DUPLICATE_BITS
            }
        )
    return near


def _direct(
    item: ItemRecord,
    by_link: dict[str, dict[int, Row]],
    by_title: dict[str, dict[int, Row]],
    by_body: dict[int, Row],
    now: float,
) -> dict[int, Row]:
    """The rows one item reaches through its own link, title window and near fingerprints."""
    rows: dict[int, Row] = {}
    if item.norm_link:
        rows.update(by_link.get(item.norm_link, {}))
    if item.norm_title:
        at = _title_time(item, now)
        rows.update(
            (row_id, row)
            for row_id, row in by_title.get(item.norm_title, {}).items()
            if at - TITLE_WINDOW_SECONDS <= row["title_ts"] <= at + TITLE_WINDOW_SECONDS
        )
    rows.update(by_body)
    return dict(sorted(rows.items()))


def _alone(item: ItemRecord, item_id: int, source_id: str, context: StoryContext) -> Decision:
    """The decision for a story of one item, without reading it back."""
    member = StoryMember(
        item_key=str(item_id),
        source_id=source_id,
        published=item.published,
        source_order=context.source_order.get(source_id, len(context.source_order)),
        origin_name=item.origin_name,
        origin_url=item.origin_url,
    )
    return choose_canonical([member], context.source_names)


def _new_key(
    item_id: int, item: ItemRecord, source_id: str, order: dict[str, int], seen: float
) -> StoryKey:
    return StoryKey(
        item_key=str(item_id),
        source_id=source_id,
        link=item.norm_link,
        title=item.norm_title or "",
        published=item.published,
        fingerprint=item.fingerprint,
        body_chars=item.body_chars,
        days=item.body_days,
        origin_name=item.origin_name,
        source_order=order.get(source_id, len(order)),
        seen=datetime.fromtimestamp(seen, UTC),
    )


def _merge(conn: sqlite3.Connection, into: int, other: int) -> bool:
    """Move the copies of story `other` into story `into`, unless a source would then hold two
    copies of one story; `other`'s id goes with it. True when merged."""
    sources_of = "SELECT DISTINCT source_id FROM items WHERE story_id = ?"
    theirs = {row[0] for row in conn.execute(sources_of, (other,))}
    if theirs & {row[0] for row in conn.execute(sources_of, (into,))}:
        return False
    conn.execute("UPDATE items SET story_id = ? WHERE story_id = ?", (into, other))
    conn.execute("DELETE FROM stories WHERE id = ?", (other,))
    return True


def _join(conn: sqlite3.Connection, found: Sequence[Match], merged: dict[int, int]) -> int:
    """The story a new copy joins: the first it matched, which takes in the others it matched
    (`feeds.stories.matches`), recorded in `merged` (old story -> the one it went into)."""
    story = int(found[0].story_id)
    for other in found[1:]:
        if _merge(conn, story, int(other.story_id)):
            merged[int(other.story_id)] = story
    return story


def _current(story: int, merged: dict[int, int]) -> int:
    while story in merged:
        story = merged[story]
    return story


def assign_stories(
    conn: sqlite3.Connection,
    source_id: str,
    inserted: Sequence[tuple[int, ItemRecord]],
    context: StoryContext,
    now: float,
) -> int:
    """Give every newly inserted item a story: an existing one it matches, or its own.

    Returns how many joined an existing story (the duplicates `aggregator fetch` reports).
    """
    if not inserted:
        return 0
    order = context.source_order
    assigned: list[tuple[int, str | None, int]] = []  # story, rule, item
    joined_stories: set[int] = set()
    taken: set[int] = set()
    merged: dict[int, int] = {}
    bands: list[tuple[int, int, int | None]] = []
    candidates = _candidates(conn, source_id, [item for _, item in inserted], now)
    for (item_id, item), found_rows in zip(inserted, candidates, strict=True):
        found: list[Match] = []
        if item.norm_link or item.norm_title or item.fingerprint is not None:
            # stories this batch merged are found under the story they went into; one this
            # batch already gave a copy of this source is taken, like in `match`
            stories = [_current(row["story_id"], merged) for row in found_rows]
            found = matches(
                _new_key(item_id, item, source_id, order, now),
                [
                    _key(row, order, story)
                    for row, story in zip(found_rows, stories, strict=True)
                    if story not in taken
                ],
            )
        if not found:
            assigned.append(
                (_own_story(conn, item_id, item, source_id, context, now), None, item_id)
            )
        else:
            assigned.append((_join(conn, found, merged), found[0].rule, item_id))
            joined_stories.add(assigned[-1][0])
        taken.add(assigned[-1][0])
        bands += [(band, item_id, item.fingerprint) for band in item.bands]
    # Written once for the batch: items of one source never match each other anyway.
    conn.executemany(INSERT_BANDS, bands)
    conn.executemany("UPDATE items SET story_id = ?, match_rule = ? WHERE id = ?", assigned)
    for story_id in sorted({_current(story, merged) for story in joined_stories}):
        _decide(conn, story_id, context)
    return sum(1 for _, rule, _ in assigned if rule is not None)


def _own_story(
    conn: sqlite3.Connection,
    item_id: int,
    item: ItemRecord,
    source_id: str,
    context: StoryContext,
    now: float,
) -> int:
    """A new story of this one item, decided without reading it back."""
    decision = _alone(item, item_id, source_id, context)
    cursor = conn.execute(
        "INSERT INTO stories (entry_id, canonical_item, origin_name, origin_url, "
        "origin_source, reason, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            item.entry_id,
            item_id,
            decision.origin.name if decision.origin else None,
            decision.origin.url if decision.origin else None,
            decision.origin_source_id,
            decision.reason,
            now,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def rematch(
    conn: sqlite3.Connection,
    source_id: str,
    changed: Sequence[tuple[int, ItemRecord, bool]],
    context: StoryContext,
) -> set[str]:
    """Match again the stored items changed upstream, given as (id, record, whether its link,
    title, date or body changed), as new ones are: an item still a copy of one of its story's
    others stays; one that is not any more leaves it (`_detach`) and joins the story it now
    matches, or stands alone. Every story touched is decided again (a credit may have
    changed). Returns the sources of the copies an item left: their entries changed."""
    order = context.source_order
    left: set[str] = set()
    decide: set[int] = set()
    merged: dict[int, int] = {}
    for item_id, item, rekeyed in changed:
        story, seen = conn.execute(
            "SELECT story_id, first_seen FROM items WHERE id = ?", (item_id,)
        ).fetchone()
        if story is None:
            continue
        decide.add(story)
        if not rekeyed:
            continue
        others = conn.execute(
            f"SELECT {_CANDIDATE_COLUMNS} FROM items WHERE story_id = ? AND id != ? ORDER BY id",
            (story, item_id),
        ).fetchall()
        new = _new_key(item_id, item, source_id, order, seen)
        if others and match(new, [_key(row, order) for row in others]) is not None:
            continue  # still a copy of its story
        left.update(row["source_id"] for row in others)
        alone = _detach(conn, item_id, story, [row["id"] for row in others]) if others else story
        (rows,) = _candidates(conn, source_id, [item], seen)
        found = matches(new, [_key(row, order) for row in rows if row["story_id"] != alone])
        if found:
            target = _join(conn, found, merged)
            conn.execute(
                "UPDATE items SET story_id = ?, match_rule = ? WHERE id = ?",
                (target, found[0].rule, item_id),
            )
            conn.execute("DELETE FROM stories WHERE id = ?", (alone,))  # it held only this item
            decide.add(target)
        else:
            conn.execute("UPDATE items SET match_rule = NULL WHERE id = ?", (item_id,))
            decide.add(alone)
    for story_id in sorted({_current(story, merged) for story in decide}):
        _decide(conn, story_id, context)
    return left


def _detach(conn: sqlite3.Connection, item_id: int, story_id: int, others: Sequence[int]) -> int:
    """Take an item out of its story, which has `others` (ids, in order) too. The published id
    of the story stays with the item that gave it: if that is this item, the others move to a
    new story under the first one's id. Returns the story the item is now alone in."""
    (owner,) = conn.execute("SELECT entry_id FROM stories WHERE id = ?", (story_id,)).fetchone()
    (mine,) = conn.execute("SELECT entry_id FROM items WHERE id = ?", (item_id,)).fetchone()
    moving = list(others) if owner == mine else [item_id]
    (first,) = conn.execute("SELECT entry_id FROM items WHERE id = ?", (moving[0],)).fetchone()
    reused = conn.execute("SELECT id FROM stories WHERE entry_id = ?", (first,)).fetchone()
    if reused is not None:  # left behind by an earlier move, under this very id
        new_story = int(reused[0])
    else:
        cursor = conn.execute(
            "INSERT INTO stories (entry_id, canonical_item, created) "
            "SELECT ?, ?, created FROM stories WHERE id = ?",
            (first, moving[0], story_id),
        )
        assert cursor.lastrowid is not None
        new_story = cursor.lastrowid
    conn.execute(
        f"UPDATE items SET story_id = ? WHERE id IN ({', '.join('?' * len(moving))})",
        (new_story, *moving),
    )
    return story_id if owner == mine else new_story


def _decide(conn: sqlite3.Connection, story_id: int | None, context: StoryContext) -> None:
    """Re-decide a story's origin and canonical copy; its entry id never changes."""
    rows = conn.execute(
        f"SELECT {_CANDIDATE_COLUMNS} FROM items WHERE story_id = ?", (story_id,)
    ).fetchall()
    members = [
        StoryMember(
            item_key=str(row["id"]),
            source_id=row["source_id"],
            published=published_of(row),
            source_order=context.source_order.get(row["source_id"], len(context.source_order)),
            origin_name=row["origin_name"],
            origin_url=row["origin_url"],
        )
        for row in rows
    ]
    if not members:
        return
    decision = choose_canonical(members, context.source_names)
    conn.execute(
        "UPDATE stories SET changed = CASE WHEN canonical_item IS NOT NULL AND "
        f"canonical_item != ?1 THEN {NOW_SQL} ELSE changed END, canonical_item = ?1, "
        "origin_name = ?2, origin_url = ?3, origin_source = ?4, reason = ?5 WHERE id = ?6",
        (
            int(decision.canonical_key),
            decision.origin.name if decision.origin else None,
            decision.origin.url if decision.origin else None,
            decision.origin_source_id,
            decision.reason,
            story_id,
        ),
    )


async def story_views(db: Reader, story_ids: Sequence[int]) -> dict[int, StoryView]:
    if not story_ids:
        return {}
    marks = ", ".join("?" * len(story_ids))
    stories = await db.read(f"SELECT * FROM stories WHERE id IN ({marks})", story_ids)
    members = await db.read(
        f"SELECT id, story_id, source_id, url, match_rule FROM items WHERE story_id IN ({marks}) "
        "ORDER BY id",
        story_ids,
    )
    copies: dict[int, list[StoryCopy]] = {}
    for row in members:
        copies.setdefault(row["story_id"], []).append(
            StoryCopy(row["id"], row["source_id"], row["url"], row["match_rule"])
        )
    return {
        row["id"]: StoryView(
            id=row["id"],
            entry_id=row["entry_id"],
            canonical_item=row["canonical_item"],
            origin_name=row["origin_name"],
            origin_url=row["origin_url"],
            origin_source=row["origin_source"],
            reason=row["reason"],
            copies=tuple(copies.get(row["id"], ())),
            changed=row["changed"],
        )
        for row in stories
    }


async def multi_source_stories(
    db: Reader, source_ids: Sequence[str], since: float, limit: int
) -> list[StoryView]:
    """Recent stories seen at more than one of these sources, newest first (`aggregator
    stories`): a source removed keeps its items until retention, and each of its stories was
    listed again."""
    rows = await db.read(
        "SELECT story_id FROM items WHERE story_id IS NOT NULL "
        "AND source_id IN (SELECT value FROM json_each(?)) GROUP BY story_id "
        "HAVING count(DISTINCT source_id) > 1 AND max(first_seen) >= ? "
        "ORDER BY max(first_seen) DESC LIMIT ?",
        (json.dumps(sorted(source_ids)), since, limit),
    )
    views = await story_views(db, [row[0] for row in rows])
    return [views[row[0]] for row in rows if row[0] in views]


def sources_sharing(conn: sqlite3.Connection, item_ids: Sequence[int]) -> set[str]:
    """The sources of these items and of every other copy of their stories: the documents
    that may show them (an entry lists its story's copies)."""
    found: set[str] = set()
    for start in range(0, len(item_ids), _BATCH):
        batch = item_ids[start : start + _BATCH]
        found.update(
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT other.source_id FROM items AS mine "
                "JOIN items AS other ON other.story_id = mine.story_id "
                f"WHERE mine.id IN ({', '.join('?' * len(batch))})",
                batch,
            )
        )
    return found


async def unlinked_items(db: Reader) -> list[tuple[str, str]]:
    """`(source_id, url)` of the items without a normalised link (a `dedupe = false` source's,
    an item split off): the link index cannot find them, and each is its story's only copy."""
    rows = await db.read(
        "SELECT DISTINCT source_id, url FROM items WHERE norm_link IS NULL AND url IS NOT NULL"
    )
    return [(row[0], row[1]) for row in rows]


def shown_anew(conn: sqlite3.Connection, links: Sequence[str], when: float) -> set[str]:
    """The stories of the items with these normalised links changed at `when` (a copy of
    theirs withdrawn or withdrawn no more: another is shown under the story's id, and its
    entry's `updated` moves on, never back); the sources whose documents show them."""
    found: set[str] = set()
    for start in range(0, len(links), _BATCH):
        batch = links[start : start + _BATCH]
        marks = ", ".join("?" * len(batch))
        story_ids = f"SELECT story_id FROM items WHERE norm_link IN ({marks})"
        conn.execute(
            f"UPDATE stories SET changed = max(coalesce(changed, 0), ?) WHERE id IN ({story_ids})",
            [when, *batch],
        )
        rows = conn.execute(
            f"SELECT DISTINCT source_id FROM items WHERE story_id IN ({story_ids})", batch
        )
        found.update(row[0] for row in rows)
    return found


def split_off(conn: sqlite3.Connection, links: Sequence[str], context: StoryContext) -> set[str]:
    """Take the items with these normalised links out of their stories (an operator's
    correction); see `leave_stories`."""
    if not links:
        return set()
    rows = conn.execute(
        f"SELECT id FROM items WHERE norm_link IN ({', '.join('?' * len(links))})", links
    ).fetchall()
    return leave_stories(conn, [row[0] for row in rows], context)


def leave_stories(
    conn: sqlite3.Connection, item_ids: Sequence[int], context: StoryContext
) -> set[str]:
    """Take these items out of their stories for good: split off by the operator, or of a
    source that no longer takes part (`dedupe = false`).

    The published id of each story stays with the item that gave it, so a reader sees the
    wrongly merged copy reappear as its own entry and the rest keep theirs. An item taken out
    loses its matching keys, so applying the same again (at every start) finds it no more.
    Returns the sources whose documents changed: those of every copy of a story split.
    """
    changed: set[str] = set()
    for item_id in item_ids:
        row = conn.execute(
            "SELECT story_id, source_id FROM items WHERE id = ?", (item_id,)
        ).fetchone()
        conn.execute(
            "UPDATE items SET norm_link = NULL, norm_title = NULL, fingerprint = NULL, "
            "match_rule = NULL WHERE id = ?",
            (item_id,),
        )
        conn.execute("DELETE FROM item_bands WHERE item_id = ?", (item_id,))
        copies = conn.execute(
            "SELECT id, source_id FROM items WHERE story_id = ? AND id != ? ORDER BY id",
            (row["story_id"], item_id),
        ).fetchall()
        if not copies:
            continue
        changed.update({row["source_id"], *(copy[1] for copy in copies)})
        alone = _detach(conn, item_id, row["story_id"], [copy[0] for copy in copies])
        _decide(conn, row["story_id"], context)
        _decide(conn, alone, context)
        if alone == row["story_id"]:  # the others moved: decide the story they moved to
            (moved,) = conn.execute(
                "SELECT story_id FROM items WHERE id = ?", (copies[0][0],)
            ).fetchone()
            _decide(conn, moved, context)
    return changed
