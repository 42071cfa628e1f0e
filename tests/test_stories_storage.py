"""Stories end to end through storage and publishing: the seed scenario in every arrival order."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import Config, FeedConfig, StoriesConfig, config_from_mapping
from aggregator.documents import Page, Query, render_page, select
from aggregator.records import split_links, story_context, to_record
from feeds.fingerprint import bands
from feeds.model import ParsedItem, Party
from storage import Database, FetchOutcome, WriteSummary, items, stories, storykeys
from tests.conftest import FIXTURES, run_cli_async

STORIES = FIXTURES / "stories"
SEED = json.loads((STORIES / "items.json").read_text("utf-8"))


def config_for(tmp_path: Path, source_ids: list[str]) -> Config:
    sources = [
        {"id": s["id"], "name": s["name"], "aliases": s["aliases"], "url": f"{s['id']}.xml"}
        for s in SEED["sources"]
        if s["id"] in source_ids
    ]
    data = {"service": {"database": str(tmp_path / "db.sqlite3")}, "sources": sources}
    return config_from_mapping(data, path=tmp_path / "config.toml")


def seed_item(entry: dict[str, str]) -> ParsedItem:
    text = (STORIES / entry["text"]).read_text("utf-8")
    html = "".join(f"<p>{line.strip()}</p>" for line in text.splitlines() if line.strip())
    return ParsedItem(
        title=entry["title"],
        url=entry["link"],
        upstream_id=entry["key"],
        content_html=html,
        summary=text[:100],
        published=datetime.fromisoformat(entry["published"]),
        origin=Party(entry["origin"]) if entry["origin"] else None,
    )


async def store(db: Database, config: Config, entry: dict[str, str], at: float) -> None:
    source = config.source(entry["source"])
    assert source is not None
    outcome = FetchOutcome(attempted_at=at, seconds=0.0, ok=True, result="ok")
    record = to_record(source, seed_item(entry), None)
    await db.store_fetch(source.id, outcome, [record], story_context(config))


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_seed_story_merges_in_every_arrival_order(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        for step, index in enumerate(order):
            await store(db, config, SEED["seed"][index], 1_700_000_000.0 + step)
        feed = config.feeds[0]
        entries = await select(db, feed, Query(), merged=True)
        assert len(entries) == 1
        item, story = entries[0]
        assert story is not None
        assert item.source_id == "hzfb", "the official original is the canonical copy"
        assert story.origin_name == "汉中发布"
        assert story.origin_source == "hzfb"
        assert len(story.copies) == 3
        first = SEED["seed"][order[0]]
        first_record = to_record(config.source(first["source"]), seed_item(first), None)  # type: ignore[arg-type]
        assert story.entry_id == first_record.entry_id, "the story keeps its first id"
        url = "http://x/feeds/all.json"
        body, _ = await render_page(config, db, Page("feeds", "all", "json", Query(), url, url))
        document = json.loads(body)
        (published,) = document["items"]
        assert published["id"] == first_record.entry_id
        assert published["url"] == SEED["seed"][0]["link"]
        assert published["_origin"]["name"] == "汉中发布"
        assert sorted(c["source"] for c in published["_copies"]) == ["hz1w", "hzxw"]
        for source_id in ("hzfb", "hz1w", "hzxw"):
            own = FeedConfig(source_id, source_id, "", (source_id,))
            assert len(await select(db, own, Query(), merged=False)) == 1
    finally:
        await db.close()


async def test_credited_origin_that_is_not_aggregated_still_names_it(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hz1w", "hzxw"])
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        await store(db, config, SEED["seed"][1], 1.0)
        await store(db, config, SEED["seed"][2], 2.0)
        ((item, story),) = await select(db, config.feeds[0], Query(), merged=True)
        assert story is not None
        assert story.origin_name == "汉中发布"
        assert story.origin_source is None
        assert item.source_id == "hz1w", "the earliest copy stands in for the missing original"
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("label", "origin"),
    [
        ("channel", Party("汉中门户")),
        ("feed", Party("汉中日报", "https://rb.example/1")),
        (None, None),
    ],
)
def test_a_body_credit_outranks_the_feed_an_item_came_from(
    tmp_path: Path, label: str | None, origin: Party | None
) -> None:
    """An aggregator's `<source>` names the feed it read the item from (`CHANNEL`): the body's
    `来源：汉中发布` says who published it first. A credit the entry itself gives (`via`,
    `dcterms:provenance`) still stands."""
    config = config_for(tmp_path, ["hz1w"])
    item = ParsedItem(
        title="t",
        url="https://example.org/1",
        content_html="<p>正文。</p><p>（来源：汉中发布）</p>",
        origin=origin,
        provenance=(("origin", label),) if label else (),
    )
    record = to_record(config.sources[0], item, None)
    credited = Party("汉中发布") if label != "feed" else origin
    assert record.origin_name == (credited.name if credited else None)


async def test_different_articles_and_recurring_titles_stay_apart(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hzfb", "hz1w"])
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        for n, article in enumerate(SEED["articles"]):
            entry = {"key": article["key"], "title": article["title"], "text": article["text"],
                     "link": f"https://a.example/{n}", "published": article["published"],
                     "origin": None, "source": "hzfb"}  # fmt: skip
            await store(db, config, entry, 1.0)
            short = tmp_path / f"short-{n}.txt"
            short.write_text("详见附件。汉中市人民政府办公室", "utf-8")
            retitled = {**entry, "key": f"{n}-b", "link": f"https://b.example/{n}",
                        "title": article["retitle"], "text": str(short),
                        "source": "hz1w"}  # fmt: skip
            await store(db, config, retitled, 2.0)
        # the same weekly title 30 days later, at the other source
        week5 = next(a for a in SEED["articles"] if a["key"] == "weather-week5")
        again = {"key": "w5-b", "title": "汉中市本周天气预报", "text": week5["text"],
                 "link": "https://b.example/w5", "published": week5["published"],
                 "origin": None, "source": "hz1w"}  # fmt: skip
        await store(db, config, again, 3.0)
        entries = await select(db, config.feeds[0], Query(limit=100), merged=True)
        merged = [story for _, story in entries if story and len(story.copies) > 1]
        rules = sorted(c.rule or "" for story in merged for c in story.copies)
        # only week5's own copy merges (identical title within 7 days and identical body)
        assert len(merged) == 1, rules
        assert len(entries) == 2 * len(SEED["articles"])
    finally:
        await db.close()


def _bulletin(key: str, source: str, text: str, day: int) -> dict[str, Any]:
    return {"key": key, "title": "汉中市今日天气预报", "text": text, "origin": None,
            "link": f"https://{source}.example/{key}", "source": source,
            "published": f"2022-01-{day}T09:00:00+08:00"}  # fmt: skip


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_a_bulletins_copy_joins_its_own_day_in_every_order(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    """Two days' bulletins under one title and a portal's copy of the second: the copy joined
    the first day's story in three of four orders, and a meeting under a generic title joined
    another meeting's story, hidden from the merged feed."""
    config = config_for(tmp_path, ["hzfb", "hz1w"])
    arrivals = [
        _bulletin("day1", "hzfb", "bulletin_day1.txt", 14),
        _bulletin("day2", "hzfb", "bulletin_day2.txt", 15),
        _bulletin("copy", "hz1w", "bulletin_day2.txt", 15),
    ]
    meetings = [
        {**_bulletin("m45", "hzfb", "meeting_45.txt", 14), "title": "汉中市召开常务会议"},
        {**_bulletin("m46", "hz1w", "meeting_46.txt", 16), "title": "汉中市召开常务会议"},
    ]
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        for at, n in enumerate(order):
            await store(db, config, arrivals[n], float(at + 1))
        for entry in meetings if order[0] else reversed(meetings):
            await store(db, config, entry, 5.0)
        with sqlite3.connect(config.service.database) as conn:
            story = dict(conn.execute("SELECT upstream_id, story_id FROM items").fetchall())
        assert story["copy"] == story["day2"] != story["day1"]
        assert story["m45"] != story["m46"]
        entries = await select(db, config.feeds[0], Query(limit=100), merged=True)
        assert len(entries) == 4, "each day's bulletin and each meeting, once"
    finally:
        await db.close()


async def test_dedupe_false_and_split_keep_items_apart(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    portal = next(s for s in config.sources if s.id == "hz1w")
    config = replace(config, sources=tuple(
        replace(s, dedupe=False) if s is portal else s for s in config.sources
    ))  # fmt: skip
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        for step, entry in enumerate(SEED["seed"]):
            await store(db, config, entry, 10.0 + step)
        entries = await select(db, config.feeds[0], Query(), merged=True)
        assert sorted(len(story.copies) for _, story in entries if story) == [1, 2]
        (merged,) = [story for _, story in entries if story and len(story.copies) == 2]
        official_id = merged.entry_id

        # the operator splits the retitled copy off: it stands alone, the story keeps its id
        retitled = SEED["seed"][2]["link"]
        stories = StoriesConfig(split=frozenset([retitled]))
        links = sorted(split_links(stories))
        assert await db.split_stories(links, story_context(config)) == {"hzfb", "hzxw"}
        assert await db.split_stories(links, story_context(config)) == set(), (
            "applied at each start"
        )
        entries = await select(db, config.feeds[0], Query(), merged=True)
        assert [len(story.copies) for _, story in entries if story] == [1, 1, 1]
        assert official_id in [story.entry_id for _, story in entries if story]
        # and it never joins again when fetched anew
        copy = {**SEED["seed"][2], "key": "again", "link": retitled + "?utm_source=x"}
        source = config.source("hzxw")
        assert source is not None
        record = to_record(
            source, seed_item(copy), None, replace(config.stories, split=stories.split)
        )
        assert record.norm_title is None
        assert record.fingerprint is None
    finally:
        await db.close()


def test_mirror_hosts_fold_links(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hzfb"])
    source = config.sources[0]
    stories = StoriesConfig(mirror_hosts={"m.example.net": "example.net"})
    a = to_record(
        source, ParsedItem(title="t", url="https://m.example.net/a-1.html"), None, stories
    )
    b = to_record(
        source, ParsedItem(title="t", url="http://www.example.net/a-1.html/"), None, stories
    )
    assert a.norm_link == b.norm_link


async def test_stories_command_lists_copies_and_rules(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{config.service.database}"\n'
        + "".join(
            f'[[sources]]\nid = "{s.id}"\nname = "{s.name}"\nurl = "{s.id}.xml"\n'
            for s in config.sources
        ),
        "utf-8",
    )
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        now = time.time()
        for step, entry in enumerate(SEED["seed"]):
            await store(db, config, entry, now + step)
    finally:
        await db.close()
    code, out, err = await run_cli_async("stories", path, "--json")
    assert code == 0, err
    (story,) = json.loads(out)
    assert story["origin"] == "汉中发布"
    assert story["title"] == "汉中又新增一项国字号荣誉！"
    rules = {c["source"]: (c["rule"], c["canonical"]) for c in story["copies"]}
    assert rules["hzfb"][1] is True
    assert {rules["hz1w"][0], rules["hzxw"][0]} <= {"first", "link", "title", "body"}
    code, _, err = await run_cli_async("stories", path, "--since", "soon")
    assert code == 2
    assert "--since" in err
    # hz1w renamed: its copies stay stored until retention, but belong to no source now
    path.write_text(path.read_text("utf-8").replace('id = "hz1w"', 'id = "hz1w2"'), "utf-8")
    code, out, err = await run_cli_async("stories", path, "--json")
    assert code == 0, err
    (story,) = json.loads(out)
    assert {c["source"] for c in story["copies"]} == {"hzfb", "hzxw"}
    path.write_text(path.read_text("utf-8").replace('id = "hzxw"', 'id = "hzxw2"'), "utf-8")
    code, out, err = await run_cli_async("stories", path, "--json")
    assert (code, json.loads(out)) == (0, []), "seen at one configured source only"


async def test_one_fetch_never_gives_a_story_two_copies_of_its_source(tmp_path: Path) -> None:
    config = config_for(tmp_path, ["hzfb", "hz1w"])
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        await store(db, config, SEED["seed"][0], 1.0)
        portal = config.source("hz1w")
        assert portal is not None
        twice = [
            to_record(portal, seed_item({**SEED["seed"][1], "key": key, "link": link}), None)
            for key, link in (
                ("a", "http://example.net/a.html"),
                ("b", "http://example.net/b.html"),
            )
        ]
        outcome = FetchOutcome(attempted_at=2.0, seconds=0.0, ok=True, result="ok")
        await db.store_fetch("hz1w", outcome, twice, story_context(config))
        entries = await select(db, config.feeds[0], Query(), merged=True)
        assert sorted(len(story.copies) for _, story in entries if story) == [1, 2]
    finally:
        await db.close()


async def test_a_copy_with_a_feeds_words_stands_in_for_its_story(tmp_path: Path) -> None:
    """`include`/`exclude` judged the canonical copy alone: a story whose other copy had the
    word was in no entry of the feed, though `?q=` found it through that copy."""
    config = config_for(tmp_path, ["hzfb", "hz1w"])
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        await store(db, config, SEED["seed"][0], 1.0)
        await store(db, config, SEED["seed"][1], 2.0)
        ((_, story),) = await select(db, config.feeds[0], Query(), merged=True)
        assert story is not None
        assert len(story.copies) == 2
        shown = {copy.item_id: copy.source_id for copy in story.copies}
        portal_id = next(i for i, source in shown.items() if source == "hz1w")
        with sqlite3.connect(config.service.database) as conn:
            conn.execute(
                "UPDATE items SET content = content || '同步推进' WHERE id = ?", (portal_id,)
            )
        words = replace(config.feeds[0], include=("同步推进",))
        (entry,) = await select(db, words, Query(), merged=True)
        assert entry[0].id == portal_id, "the copy with the word"
        left_out = replace(config.feeds[0], exclude=("同步推进",))
        (entry,) = await select(db, left_out, Query(), merged=True)
        assert entry[0].source_id == "hzfb", "the copy without it"
        assert await select(db, replace(words, include=("无此词",)), Query(), merged=True) == []
    finally:
        await db.close()


async def official_stored(tmp_path: Path, source_ids: list[str]) -> Config:
    """A closed database that holds the official copy of the seed story."""
    config = config_for(tmp_path, source_ids)
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        await store(db, config, SEED["seed"][0], 1.0)
    finally:
        await db.close()
    return config


async def portal_copy_stored(config: Config) -> WriteSummary:
    """The portal's copy of the seed story stored, where only the body can tell it is the
    same story: another title, no link."""
    portal = config.source("hz1w")
    assert portal is not None
    copy = replace(seed_item(SEED["seed"][1]), title="转载:国字号荣誉一项", url=None)
    db = await Database.open(config.service.database)
    try:
        outcome = FetchOutcome(attempted_at=2.0, seconds=0.0, ok=True, result="ok")
        return await db.store_fetch(
            "hz1w", outcome, [to_record(portal, copy, None)], story_context(config)
        )
    finally:
        await db.close()


async def test_candidate_lookups_use_indexes(tmp_path: Path) -> None:
    """Every statement that looks for another source's copies searches an index: with a
    scan, each new item would read the whole table."""
    config = await official_stored(tmp_path, ["hzfb", "hz1w"])
    portal = config.source("hz1w")
    assert portal is not None
    records = [to_record(portal, seed_item(SEED["seed"][1]), None)]
    statements: list[str] = []
    conn = sqlite3.connect(config.service.database, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("BEGIN IMMEDIATE")
        stored = items.upsert_items(conn, "hz1w", records, 2.0)[1]
        conn.set_trace_callback(statements.append)
        joined = stories.assign_stories(conn, "hz1w", stored, story_context(config), 2.0)
        conn.set_trace_callback(None)
        assert joined == len(records), "the lookups found the stored copy"
        lookups = [sql.strip() for sql in statements if sql.lstrip().startswith("SELECT")]
        assert [sql for sql in lookups if "UNION ALL" in sql] == lookups[:1], (
            "one statement, first, finds the candidates of every item"
        )
        assert any("FROM item_bands" in sql for sql in lookups), "the body rule's band lookup"
        for sql in lookups:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert any("INDEX" in step for step in plan), plan
            # a SCAN reads every row, through an index or not; only searches may touch tables
            assert not [s for s in plan if re.match(r"SCAN (items|item_bands|b)\b", s)], plan
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def test_the_look_for_items_without_keys_reads_only_those(tmp_path: Path) -> None:
    """Every start and reload looks for items stored without keys (`dedupe = false` once): a
    scan of the items would read the whole store, bodies and all, each time."""
    config = await official_stored(tmp_path, ["hzfb", "hz1w"])
    database = await Database.open(config.service.database)
    try:
        assert await database.unkeyed_items(["hzfb", "hz1w"]) == [], "every item has keys"
    finally:
        await database.close()
    with sqlite3.connect(config.service.database) as conn:
        sql = f"EXPLAIN QUERY PLAN {storykeys._UNKEYED_SQL}"
        plan = [row[3] for row in conn.execute(sql, ('["hzfb"]',))]
    assert plan[0] == "SEARCH items USING INDEX items_unkeyed (source_id=?)", plan


async def test_a_store_from_before_band_fingerprints_still_matches_bodies(tmp_path: Path) -> None:
    """Migration 5 rebuilds the band rows from each item's fingerprint, which they now carry
    for the body rule: an item stored by an older version is still found by a new copy of its
    text, even where its old band rows were stale."""
    config = await official_stored(tmp_path, ["hzfb", "hz1w"])
    with sqlite3.connect(config.service.database) as conn:  # the band rows as version 4 wrote them
        conn.execute("ALTER TABLE item_bands DROP COLUMN fingerprint")
        conn.execute("ALTER TABLE sources DROP COLUMN items_version")  # migration 6's
        conn.execute("ALTER TABLE sources DROP COLUMN reread_at")  # migration 9's
        conn.execute("DROP TABLE secrets")  # migration 10's
        conn.execute("ALTER TABLE sources DROP COLUMN items_changed")  # migration 11's
        conn.execute("ALTER TABLE stories DROP COLUMN changed")  # migration 12's
        conn.execute("ALTER TABLE sources DROP COLUMN rules")  # migration 14's
        conn.execute("ALTER TABLE sources DROP COLUMN recorded")
        conn.execute("ALTER TABLE sources DROP COLUMN listed")  # migration 15's
        conn.execute("ALTER TABLE items DROP COLUMN enclosures")  # migration 13's
        conn.execute("DROP INDEX items_unkeyed")  # migration 16's
        conn.execute("ALTER TABLE items DROP COLUMN body_chars")  # migration 17's
        conn.execute("ALTER TABLE items DROP COLUMN body_days")  # migration 19's
        conn.execute("DROP TABLE story_keys")  # migration 18's
        conn.execute("DROP TABLE config_state")  # migration 20's
        conn.executescript(  # migration 7's: the index as it was, with a copy of the text
            "DROP TABLE search_tokens; DROP TRIGGER items_search_delete; DROP TABLE items_search;"
            "CREATE VIRTUAL TABLE items_search USING fts5 (text);"
            "CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN "
            "DELETE FROM items_search WHERE rowid = old.id; END;"
        )
        conn.execute("UPDATE item_bands SET band = band + 1")  # as if its body had changed since
        conn.execute("PRAGMA user_version = 4")
    assert (await portal_copy_stored(config)).duplicates == 1
    with sqlite3.connect(config.service.database) as conn:
        rules = conn.execute("SELECT source_id, match_rule FROM items ORDER BY id").fetchall()
        assert rules == [("hzfb", None), ("hz1w", "body")]
        stored = conn.execute("SELECT id, fingerprint FROM items").fetchall()
        rows = conn.execute("SELECT band, item_id, fingerprint FROM item_bands").fetchall()
    assert sorted(rows) == sorted(
        (band, item_id, fingerprint)
        for item_id, fingerprint in stored
        for band in bands(fingerprint)
    ), "the migration's bands are feeds.fingerprint's"


async def test_a_changed_body_is_matched_by_its_new_text_only(tmp_path: Path) -> None:
    """An item updated in place is found by what it says now: a later copy of its new body
    joins its story, and a copy of the text it no longer carries stands alone."""
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    official = seed_item(SEED["seed"][0])
    old_html = official.content_html
    new_text = (STORIES / "other_tea_harvest.txt").read_text("utf-8")
    new_html = "".join(f"<p>{line.strip()}</p>" for line in new_text.splitlines() if line.strip())
    db = await Database.open(config.service.database)

    async def put(source_id: str, item: ParsedItem, at: float) -> int:
        source = config.source(source_id)
        assert source is not None
        outcome = FetchOutcome(attempted_at=at, seconds=0.0, ok=True, result="ok")
        written = await db.store_fetch(
            source_id, outcome, [to_record(source, item, None)], story_context(config)
        )
        return written.duplicates

    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        await put("hzfb", official, 1.0)
        await put("hzfb", replace(official, content_html=new_html), 2.0)
        # other titles and no links: only the bodies can match
        copy_of_new = replace(official, title="茶叶采摘转载", url=None, content_html=new_html)
        assert await put("hz1w", copy_of_new, 3.0) == 1, "the new body is found"
        copy_of_old = replace(official, title="国字号荣誉转载", url=None, content_html=old_html)
        assert await put("hzxw", copy_of_old, 4.0) == 0, "the old body is not"
    finally:
        await db.close()
    with sqlite3.connect(config.service.database) as conn:
        rules = dict(conn.execute("SELECT source_id, match_rule FROM items").fetchall())
        item_id, fingerprint = conn.execute(
            "SELECT id, fingerprint FROM items WHERE source_id = 'hzfb'"
        ).fetchone()
        rows = conn.execute(
            "SELECT band, fingerprint FROM item_bands WHERE item_id = ?", (item_id,)
        ).fetchall()
    assert rules == {"hzfb": None, "hz1w": "body", "hzxw": None}
    assert sorted(rows) == sorted((band, fingerprint) for band in bands(fingerprint))


async def test_broken_band_rows_neither_crash_nor_match(tmp_path: Path) -> None:
    """Band rows another SQLite client left behind: without a fingerprint, or of an item it
    deleted. Storing goes on, nothing stored is lost, and such rows match nothing."""
    config = await official_stored(tmp_path, ["hzfb", "hz1w"])
    with sqlite3.connect(config.service.database) as conn:
        (item_id,) = conn.execute("SELECT id FROM items").fetchone()
        conn.execute("UPDATE item_bands SET fingerprint = NULL WHERE item_id = ?", (item_id,))
        conn.executemany(  # an item deleted without its bands: the same keys, no row
            "INSERT INTO item_bands (band, item_id, fingerprint) "
            "SELECT band, 999, ? FROM item_bands WHERE item_id = ?",
            [(conn.execute("SELECT fingerprint FROM items").fetchone()[0], item_id)],
        )
    written = await portal_copy_stored(config)
    assert (written.new, written.duplicates) == (1, 0)
    with sqlite3.connect(config.service.database) as conn:
        rows = conn.execute("SELECT source_id, match_rule FROM items ORDER BY id").fetchall()
    assert rows == [("hzfb", None), ("hz1w", None)]


async def test_a_write_moves_the_items_version_of_each_source_it_shows_in(tmp_path: Path) -> None:
    """What a server renders again after a write: the documents of the writing source when it
    added or changed items, and of every source sharing a story with them; none for a fetch
    that found nothing new or answered 304. Pruning may change any of them."""
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    official, portal = config.source("hzfb"), config.source("hz1w")
    assert official is not None
    assert portal is not None
    item = seed_item(SEED["seed"][0])
    copy = replace(seed_item(SEED["seed"][1]), title="转载:国字号荣誉一项", url=None)

    def fetched(at: float, result: str = "ok") -> FetchOutcome:
        return FetchOutcome(attempted_at=at, seconds=0.0, ok=True, result=result)

    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        context = story_context(config)
        writes = [
            ("hzfb", fetched(1.0), [to_record(official, item, None)]),
            ("hzfb", fetched(2.0), [to_record(official, item, None)]),  # nothing new
            ("hzfb", fetched(3.0, "not modified"), []),
            ("hzfb", fetched(4.0), [to_record(official, replace(item, title="新标题"), None)]),
            ("hz1w", fetched(5.0), [to_record(portal, copy, None)]),  # joins hzfb's story
        ]
        summaries = [await db.store_fetch(*write, context) for write in writes]
        assert [summary.versions for summary in summaries] == [
            (("hzfb", 1),),
            (),
            (),
            (("hzfb", 2),),
            (("hz1w", 1), ("hzfb", 3)),
        ]
        assert summaries[-1].duplicates == 1
        assert await db.items_versions() == {"hzfb": 3, "hz1w": 1, "hzxw": 0}
        assert await db.prune(time.time() + 1e9, ["hzfb", "hz1w", "hzxw"]) == 2
        assert await db.items_versions() == {"hzfb": 4, "hz1w": 2, "hzxw": 1}
    finally:
        await db.close()


async def test_stories_command_says_when_limit_left_stories_out(tmp_path: Path) -> None:
    """The newest stories at two configured sources: one of a source no longer configured
    (`hzxw`, its items kept until retention) takes no place."""
    config = config_for(tmp_path, ["hzfb", "hz1w", "hzxw"])
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{config.service.database}"\n'
        + "".join(f'[[sources]]\nid = "{s.id}"\nurl = "{s.id}.xml"\n' for s in config.sources[:2]),
        "utf-8",
    )
    db = await Database.open(config.service.database)
    try:
        await db.register_sources([(s.id, s.url) for s in config.sources])
        now = time.time()
        for number in range(4):  # four stories, each at two sources by one link
            pair = config.sources[:2] if number < 3 else config.sources[::2]
            for step, source in enumerate(pair):
                item = ParsedItem(title=f"汉中新闻第{number}条", url=f"http://example.net/{number}")
                outcome = FetchOutcome(attempted_at=now, seconds=0.0, ok=True, result="ok")
                record = to_record(source, item, None)
                at = number * 10 + step
                await db.store_fetch(source.id, replace(outcome, attempted_at=now + at),
                                     [record], story_context(config))  # fmt: skip
    finally:
        await db.close()
    code, out, err = await run_cli_async("stories", path, "--json", "--limit", "2")
    assert code == 0, err
    assert [story["title"] for story in json.loads(out)] == ["汉中新闻第2条", "汉中新闻第1条"]
    assert "more stories than --limit 2 were seen" in err
    code, out, err = await run_cli_async("stories", path, "--limit", "3")
    assert (code, err) == (0, "")
    assert "汉中新闻第0条" in out
    code, _, err = await run_cli_async("stories", path, "--limit", "0")
    assert code == 2
    assert "--limit" in err
