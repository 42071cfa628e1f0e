"""Story keys made by an older release are made again once, when a server starts: a new copy of
a stored story then finds it. Feeds are files fetched by the real pipeline into a real SQLite
store; the keys an older release made are written into it as it would have left them."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest

from aggregator import records
from aggregator.config import Config, load_config
from aggregator.cpu import CpuPool
from aggregator.service import running_service
from feeds import stories
from feeds.fingerprint import bands
from feeds.normalize import fold
from feeds.sanitize import html_to_text
from storage import Database, StoredText
from tests.conftest import FIXTURES, run_cli_async

TEXTS = FIXTURES / "stories"
DAY = "Fri, 14 Jan 2022"
IBIS = "汉中朱鹮数量突破七千只"
REPOSTED = f"转载：{IBIS}"  # as the official account titled its repost
OLD_TITLE_KEY = f"转载{IBIS}"  # the key an older release made of it: the mark kept
OLD_FINGERPRINT = 0x1234_5678_9ABC_DEF0  # made by other fingerprint rules

# (guid, title, body file or "" for none); each source's site is its id
OFFICIAL = [("a1", REPOSTED, "other_tea_harvest.txt"), ("a2", "", "")]
PORTAL = [("b1", IBIS, "other_notice.txt")]
APART = [("c1", "汉中城固机场新开三条航线", "other_flight_route.txt")]
GONE = [("d1", "汉中市2022年春运工作全面启动", "other_weather_week1.txt")]


def _rss(site: str, items: Sequence[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        + (f"<link>https://{site}.example/{guid}.html</link>" if body else "")
        + f"<pubDate>{DAY} 09:00:00 +0800</pubDate><description>"
        + escape("".join(f"<p>{line}</p>" for line in _lines(body)))
        + "</description></item>"
        for guid, title, body in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{site}'
        f"</title><link>https://{site}.example/</link>{entries}</channel></rss>"
    )


def _lines(body: str) -> list[str]:
    return [line for line in (TEXTS / body).read_text("utf-8").split("\n") if line] if body else []


BULK = [(f"z{n}", f"汉中市第{n}号便民通知", "") for n in range(2500)]


def _config(folder: Path, *, gone: bool, bulk: bool = False) -> Config:
    """hzfb publishes the story first; hz1w, not on the schedule, a copy fetched by hand;
    hzxw takes no part in stories; `gone` is configured (only) before the upgrade; `bulk`,
    2,500 notices, first in the config."""
    sources = [
        *([("bulk", "便民", BULK, "")] if bulk else []),
        ("hzfb", "汉中发布", OFFICIAL, ""),
        ("hz1w", "汉中第一网", PORTAL, "enabled = false"),
        ("hzxw", "汉中新闻网", APART, "dedupe = false"),
        *([("gone", "旧站", GONE, "")] if gone else []),
    ]
    text = '[service]\ndatabase = "db.sqlite3"\n'
    for ident, name, items, extra in sources:
        text += f'\n[[sources]]\nid = "{ident}"\nname = "{name}"\nurl = "{ident}.xml"\n{extra}\n'
        (folder / f"{ident}.xml").write_text(_rss(ident, items), "utf-8")
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    return load_config(path)


async def _stored_by_an_older_release(folder: Path, *, bulk: bool = False) -> Config:
    """hzfb, hzxw and gone fetched (after `bulk`'s notices, if asked); then the keys of hzfb's
    and gone's items as an older release made them: the repost's title with its mark, another
    fingerprint (and its bands), and keys for the item whose empty title and body give none
    now."""
    config = _config(folder, gone=True, bulk=bulk)
    async with running_service(config, schedule=False) as service:
        for source_id in (*(["bulk"] if bulk else []), "hzfb", "hzxw", "gone"):
            source = config.source(source_id)
            assert source is not None
            assert not (await service.pipeline.run(source)).failed
    with sqlite3.connect(folder / "db.sqlite3") as conn:
        for guid, title in (("a1", OLD_TITLE_KEY), ("a2", "旧规则的标题"), ("d1", "旧站的标题")):
            (item_id,) = conn.execute(
                "SELECT id FROM items WHERE upstream_id = ?", (guid,)
            ).fetchone()
            conn.execute(
                "UPDATE items SET norm_title = ?, fingerprint = ?, body_chars = 300 WHERE id = ?",
                (title, OLD_FINGERPRINT, item_id),
            )
            conn.execute("DELETE FROM item_bands WHERE item_id = ?", (item_id,))
            conn.executemany(
                "INSERT INTO item_bands (band, item_id, fingerprint) VALUES (?, ?, ?)",
                [(band, item_id, OLD_FINGERPRINT) for band in bands(OLD_FINGERPRINT)],
            )
    return _config(folder, gone=False, bulk=bulk)


def _keys(database: Path) -> dict[str, tuple[object, ...]]:
    """Each item's keys and band rows, by its guid."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT upstream_id, norm_link, norm_title, fingerprint, body_chars, id FROM items"
        ).fetchall()
        return {
            row[0]: (
                *row[1:5],
                sorted(
                    conn.execute(
                        "SELECT band, fingerprint FROM item_bands WHERE item_id = ?", (row[5],)
                    ).fetchall()
                ),
            )
            for row in rows
        }


def _keys_now(config: Config, database: Path, guid: str) -> tuple[object, ...]:
    """The keys and band rows an item's stored text is given by this release."""
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM items WHERE upstream_id = ?", (guid,)).fetchone()
    source = config.source(row["source_id"])
    dedupe = source.dedupe if source is not None else True  # out of the config: the default
    text = StoredText(*(row[c] for c in ("id", "source_id", "url", "title", "content", "summary")))
    keys = records._match_keys(dedupe, text, fold(html_to_text(text.content)), config.stories)
    fingerprint = keys.get("fingerprint")
    return (
        keys.get("norm_link"),
        keys.get("norm_title"),
        fingerprint,
        keys.get("body_chars"),
        sorted((band, fingerprint) for band in keys.get("bands", ())),
    )


async def _logged(caplog: pytest.LogCaptureFixture, message: str, seconds: float = 10.0) -> bool:
    """Whether `message` is logged within `seconds`."""
    for _ in range(int(seconds / 0.05)):
        if message in caplog.messages:
            return True
        await asyncio.sleep(0.05)
    return False


def _made_by(database: Path) -> object:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT made_by FROM story_keys").fetchone()[0]


async def test_keys_an_older_release_made_are_made_again_and_find_new_copies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aggregator.records")
    config = await _stored_by_an_older_release(tmp_path)
    database = tmp_path / "db.sqlite3"
    before = _keys(database)
    async with running_service(config, schedule=True) as service:
        rekeyed = await _logged(caplog, "stories rekeyed")
        portal = config.source("hz1w")
        assert portal is not None
        assert not (await service.pipeline.run(portal)).failed
    with sqlite3.connect(database) as conn:
        story_of = dict(conn.execute("SELECT upstream_id, story_id FROM items").fetchall())
        rule = conn.execute("SELECT match_rule FROM items WHERE upstream_id = 'b1'").fetchone()[0]
    assert story_of["b1"] == story_of["a1"], "the new copy joins the story stored before"
    assert rule == "title"
    assert rekeyed

    after = _keys(database)
    for guid in ("a1", "a2", "d1"):
        assert after[guid] == _keys_now(config, database, guid)
    assert after["a1"][1] == IBIS
    assert after["a2"] == (None, None, None, None, []), "no keys now: none at all"
    assert after["c1"] == before["c1"] == (None, None, None, None, []), "dedupe = false"
    assert after["d1"] != before["d1"], "a source out of the config may come back: made anew"
    assert _made_by(database) == stories.keys_made_by()
    progress = [r for r in caplog.records if r.getMessage() == "rekeying stories"]
    assert [(r.__dict__["done"], r.__dict__["total"]) for r in progress] == [(0, 3), (3, 3)]


async def test_keys_made_by_this_release_are_not_made_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aggregator.records")
    config = await _stored_by_an_older_release(tmp_path)
    database = tmp_path / "db.sqlite3"
    async with running_service(config, schedule=True) as service:
        assert service.rekeying is not None
        assert await service.rekeying == 3  # hzfb's and gone's items; hzxw's has none
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE items SET norm_title = 'x' WHERE upstream_id = 'a1'")
    kept = _keys(database)
    caplog.clear()
    async with running_service(config, schedule=True) as service:
        assert service.rekeying is not None
        assert await service.rekeying == 0
    assert _keys(database) == kept
    assert "rekeying stories" not in caplog.messages


async def test_a_fresh_store_records_its_keys_as_current(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aggregator.records")
    config = _config(tmp_path, gone=False)
    unscheduled = tuple(replace(source, enabled=False) for source in config.sources)
    async with running_service(replace(config, sources=unscheduled), schedule=True) as service:
        assert service.rekeying is not None
        assert await service.rekeying == 0
    assert _made_by(tmp_path / "db.sqlite3") == stories.keys_made_by()
    assert "rekeying stories" not in caplog.messages


async def test_the_upgrade_leaves_stored_items_and_keys_as_they_are(tmp_path: Path) -> None:
    """The store of the release before: every item and band row kept, its keys' maker unknown."""
    await _stored_by_an_older_release(tmp_path)
    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TABLE IF EXISTS story_keys")
        conn.execute("ALTER TABLE items DROP COLUMN body_days")
        conn.execute("DROP TABLE config_state")  # migration 20's
        conn.execute("PRAGMA user_version = 17")
        items = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
        item_bands = conn.execute("SELECT * FROM item_bands ORDER BY band, item_id").fetchall()
    db = await Database.open(database)
    await db.close()
    with sqlite3.connect(database) as conn:
        upgraded = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
        assert [row[:-1] for row in upgraded] == items
        assert {row[-1] for row in upgraded} == {None}, "made at the rekey, not here"
        assert conn.execute("SELECT * FROM item_bands ORDER BY band, item_id").fetchall() == (
            item_bands
        )
        assert "story_keys" in {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert conn.execute("SELECT made_by FROM story_keys").fetchall() == [(None,)]


async def test_keys_made_from_a_text_changed_since_are_not_written(tmp_path: Path) -> None:
    """A fetch that changed an item, or a reload that took its source out of stories, between
    the read of its text and the write of its keys: the write leaves it as that left it."""
    await _stored_by_an_older_release(tmp_path)
    config = _config(tmp_path, gone=True)
    database = tmp_path / "db.sqlite3"
    db = await Database.open(database)
    try:
        total, newest = await db.keyed_span()
        texts = await db.keyed_texts(0, newest, 10)
        assert (total, [text.title for text in texts]) == (3, [REPOSTED, "", GONE[0][1]])
        keyed = records.rekeyed(config.stories, texts)
        with sqlite3.connect(database) as conn:
            conn.execute("UPDATE items SET content_hash = 'edited' WHERE upstream_id = 'a1'")
            conn.execute(
                "UPDATE items SET norm_link = NULL, norm_title = NULL, fingerprint = NULL "
                "WHERE upstream_id = 'd1'"
            )
        before = _keys(database)
        assert await db.rekey_stories(keyed) == 1
    finally:
        await db.close()
    after = _keys(database)
    assert (after["a1"], after["d1"]) == (before["a1"], before["d1"])
    assert after["a2"] == (None, None, None, None, [])


async def test_a_fetch_makes_the_keys_again_before_it_stores_a_copy(tmp_path: Path) -> None:
    """`aggregator fetch` from cron, never `serve`: the copy it stores finds the story stored
    before, whose keys it made again first (stories formed are not matched again)."""
    await _stored_by_an_older_release(tmp_path)
    database = tmp_path / "db.sqlite3"
    code, _, err = await run_cli_async("fetch", tmp_path / "config.toml", "hz1w")
    assert code == 0, err
    assert "rekeying stories" in err
    with sqlite3.connect(database) as conn:
        story_of = dict(conn.execute("SELECT upstream_id, story_id FROM items").fetchall())
    assert story_of["b1"] == story_of["a1"], "the new copy joins the story stored before"
    assert _made_by(database) == stories.keys_made_by()
    code, _, err = await run_cli_async("fetch", tmp_path / "config.toml", "hzfb")
    assert code == 0, err
    assert "rekeying stories" not in err, "once"


async def test_a_copy_fetched_while_keys_are_made_again_waits_and_finds_its_story(
    tmp_path: Path,
) -> None:
    """Stored before the old story's keys were made again (after 2,500 others), the copy would
    miss it for good: a server fetching at once stores it once the rekey is done."""
    config = await _stored_by_an_older_release(tmp_path, bulk=True)
    async with running_service(config, schedule=True) as service:
        portal = config.source("hz1w")
        assert portal is not None
        report = await service.pipeline.run(portal)
        assert not report.failed, report
        assert service.rekeying is not None
        assert service.rekeying.done(), "the copy was stored once the rekey was done"
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        story_of = dict(conn.execute("SELECT upstream_id, story_id FROM items").fetchall())
    assert story_of["b1"] == story_of["a1"]


async def test_a_process_stops_making_keys_another_process_made_meanwhile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server and `aggregator fetch` opening an old store together each made every key
    again; the one still at it stops once the other has recorded them made."""
    config = await _stored_by_an_older_release(tmp_path, bulk=True)
    monkeypatch.setattr(records, "_REKEY_BATCH", 500)  # the store holds 1,003 items
    database = tmp_path / "db.sqlite3"
    batches = 0

    def meanwhile() -> Config:  # read at each batch: the other process is done after the first
        nonlocal batches
        batches += 1
        with sqlite3.connect(database) as conn:
            conn.execute("DELETE FROM story_keys")
            conn.execute("INSERT INTO story_keys (made_by) VALUES (?)", (stories.keys_made_by(),))
        return config

    db = await Database.open(database)
    try:
        total, _ = await db.keyed_span()
        with caplog.at_level(logging.INFO):
            written = await records.rekey_stories(db, meanwhile, CpuPool(0))
    finally:
        await db.close()
    assert total > records._REKEY_BATCH
    assert batches == 1
    assert 0 < written <= records._REKEY_BATCH
    assert "stories rekeyed by another process" in caplog.messages
