"""Full-text search: CJK bigram tokens, the migration that backfills them, triggers, plans."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from feeds.normalize import fold
from feeds.searchtext import (
    INDEXED_CHARS,
    Term,
    index_text,
    index_tokens,
    query_terms,
    search_text,
)
from storage import Database, ItemFilter, match_expression
from storage.schema import MIGRATIONS, SEARCH_TEXT_FUNCTION
from storage.search import listing
from storage.searchindex import index_made_by
from tests.test_storage import NOW, ok, record


def test_cjk_runs_become_bigrams_and_a_trailing_character() -> None:
    assert index_tokens("汉中发布：iPhone15 ＡＢＣ 5G网络, Café") == [
        "汉中", "中发", "发布", "布", "iphone15", "abc", "5g", "网络", "络", "café",
    ]  # fmt: skip
    assert index_tokens("漢中") == ["汉中", "中"], "Traditional folds to Simplified"


_CJK_RUN = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]+"
)
_WORD = re.compile(r"[^\W_]+")


def _plain_tokens(folded: str) -> list[str]:
    """The index's tokens as their definition reads, one regex match at a time."""
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(folded):
        tokens += _WORD.findall(folded[position : match.start()])
        run = match.group()
        tokens += [*map(str.__add__, run, run[1:]), run[-1]]
        position = match.end()
    return tokens + _WORD.findall(folded[position:])


def test_vectorised_tokens_equal_their_plain_definition() -> None:
    """Words and separators of every kind beside CJK runs: kana punctuation inside a run, a
    combining mark, `_`, Arabic digits, astral ideographs, emoji and mathematical letters."""
    alphabet = "汉中发布a Z_9·゠・、。\n\t-é\u0301가\u3400漢,!٣ＡＢ\U00020001\U0001f600\U0001d400"
    rng = random.Random(20261128)
    for _ in range(20_000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 14)))
        assert index_tokens(text) == _plain_tokens(fold(text)), text


def test_a_summary_cut_from_the_body_is_not_indexed_twice() -> None:
    body = "<p>汉中市春运  启动，火车站加密班次。</p>"
    assert search_text("标题", "汉中市春运 启动…", body) == search_text("标题", "", body)
    assert "摘要" in search_text("标题", "另写的摘要", body).split()


def test_an_item_is_indexed_to_its_first_indexed_chars() -> None:
    """What an item costs the index is bounded: a 9 MB body cost 8 s and 370 MB to index."""
    filler = "汉中" * INDEXED_CHARS
    tokens = search_text("标题", "", f"<p>开头{filler}结尾</p>").split()
    assert "开头" in tokens
    assert "结尾" not in tokens
    assert len(tokens) <= INDEXED_CHARS


def test_query_terms_mirror_the_index() -> None:
    assert query_terms("汉中") == (Term(("汉中",), prefix=False),)
    assert query_terms("汉中发布") == (Term(("汉中", "中发", "发布"), prefix=False),)
    assert query_terms("网") == (Term(("网",), prefix=True),)
    assert query_terms("汉中x") == (Term(("汉中", "中", "x"), prefix=True),)
    assert query_terms("  !! ") == ()
    assert match_expression('科技 "OR" 汉') == '"科技" AND "or" * AND "汉" *'
    assert match_expression("。，") is None


def _version_2_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version = 2;")
        conn.execute("INSERT INTO sources (id, url) VALUES ('s', 'https://example.org/feed')")
        conn.execute(
            "INSERT INTO items (source_id, key, entry_id, title, content, summary, tags, sort_ts, "
            "first_seen, last_changed, content_hash) VALUES ('s', 'id:1', 'urn:1', "
            "'汉中春运启动', '<p>火车站加密班次</p>', '', '[\"交通\"]', 1, 1, 1, 'h')"
        )


async def test_the_migration_backfills_items_stored_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _version_2_database(path)
    db = await Database.open(path)
    try:
        found = await db.latest_items(["s"], limit=10, where=ItemFilter(text="班次"))
        assert [item.title for item in found] == ["汉中春运启动"]
        tagged = await db.latest_items(["s"], limit=10, where=ItemFilter(tag="交通"))
        assert [item.key for item in tagged] == ["id:1"]
        assert _indexed_ids(path, "班次") == [1], "indexed again, without a copy of the text"
    finally:
        await db.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "search.sqlite3")
    await database.register_sources([("s", "https://example.org/feed")])
    yield database
    await database.close()


async def _titles(db: Database, **where: str) -> list[str]:
    return [i.title for i in await db.latest_items(["s"], limit=50, where=ItemFilter(**where))]


def _indexed_ids(path: Path, word: str) -> list[int]:
    """The rowids the index itself holds for `word`, not joined to the items that exist: an
    item's tokens left behind by a delete would show here."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT rowid FROM items_search WHERE items_search MATCH ? ORDER BY rowid",
            (match_expression(word),),
        )
        return [row[0] for row in rows]


async def test_triggers_follow_inserts_updates_and_deletes(db: Database) -> None:
    first = record(1, title="汉中朱鹮", content="<p>保护区</p>", tags=("生态",))
    await db.store_fetch("s", ok(), [first, record(2)])
    assert await _titles(db, text="朱鹮") == ["汉中朱鹮"]
    changed = record(
        1, title="汉中大熊猫", content="<p>保护区</p>", tags=("动物",), content_hash="x"
    )
    await db.store_fetch("s", ok(), [changed])
    assert await _titles(db, text="朱鹮") == []
    assert _indexed_ids(db.path, "朱鹮") == [], "the old tokens left the index"
    assert len(_indexed_ids(db.path, "保护区")) == 1
    assert await _titles(db, text="熊猫", tag="动物") == ["汉中大熊猫"]
    assert await _titles(db, tag="生态") == []
    with sqlite3.connect(db.path) as conn:  # what pruning does to items no story needs
        conn.create_function(SEARCH_TEXT_FUNCTION, 3, search_text, deterministic=True)
        conn.execute("DELETE FROM items")
        assert conn.execute("SELECT count(*) FROM items_search").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM item_tags").fetchone() == (0,)
    assert _indexed_ids(db.path, "熊猫") == _indexed_ids(db.path, "保护区") == []


async def test_the_index_keeps_no_copy_of_the_text(db: Database) -> None:
    """The text was stored twice (a copy in the index took 45 % of the database)."""
    await db.store_fetch("s", ok(), [record(1, title="汉中朱鹮")])
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT rowid, text FROM items_search").fetchall() == [(1, None)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        assert "items_search_content" not in tables


async def test_pruned_and_repeated_items_leave_no_tokens_behind(db: Database) -> None:
    """Deleting tokens means giving them again: a feed listing an item three times in one
    fetch, or items changed and then pruned, must leave the index empty once they are gone."""
    repeated = [
        record(1, title="汉中朱鹮"),
        record(1, title="汉中金丝猴", content_hash="w"),
        record(1, title="汉中大熊猫", content_hash="x"),
        record(2, title="春运"),
    ]
    summary = await db.store_fetch("s", ok(), repeated)
    assert (summary.new, summary.updated) == (2, 0), "the last version of the item, once"
    assert await _titles(db, text="汉中") == ["汉中大熊猫"]
    await db.store_fetch("s", ok(NOW + 1), [record(2, title="春运加密", content_hash="y")])
    assert await db.prune(NOW + 10**9, ["s"]) == 2
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM items_search").fetchone() == (0,)
    for word in ("汉中", "朱鹮", "金丝猴", "熊猫", "春运", "加密", "正文"):
        assert _indexed_ids(db.path, word) == [], word


async def test_tokens_made_by_other_rules_are_rebuilt_at_opening(tmp_path: Path) -> None:
    """Rules, Unicode tables or OpenCC dictionaries that changed would make other tokens than
    the index holds, and deletes would leave the old ones: the index is rebuilt instead."""
    path = tmp_path / "rules.sqlite3"
    database = await Database.open(path)
    await database.register_sources([("s", "https://example.org/feed")])
    await database.store_fetch("s", ok(), [record(1, title="汉中朱鹮")])
    await database.close()
    with sqlite3.connect(path) as conn:  # tokens as other rules made them
        conn.execute("UPDATE search_tokens SET made_by = 'older rules'")
        conn.execute("INSERT INTO items_search (rowid, text) VALUES (1, 'older tokens')")
    assert _indexed_ids(path, "older") == [1]
    database = await Database.open(path)
    try:
        assert _indexed_ids(path, "older") == []
        assert _indexed_ids(path, "朱鹮") == [1]
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT made_by FROM search_tokens").fetchall() == [
                (index_made_by(),)
            ]
    finally:
        await database.close()
    with sqlite3.connect(path) as conn:  # the README's rebuild by hand
        conn.execute("INSERT INTO items_search (rowid, text) VALUES (1, 'stray tokens')")
        conn.execute("DELETE FROM search_tokens")
    await (await Database.open(path)).close()
    assert _indexed_ids(path, "stray") == []
    assert _indexed_ids(path, "朱鹮") == [1]


async def test_an_index_rebuilt_meanwhile_is_not_rebuilt_again(tmp_path: Path) -> None:
    """Two processes opening a stale store together both found it stale, and rebuilt it in
    turn (two minutes each on a large store): the second now finds it current once it holds
    the lock. A damaged index is rebuilt whatever it says."""
    from storage.connection import _open_writer
    from storage.searchindex import reindex

    path = tmp_path / "twice.sqlite3"
    database = await Database.open(path)
    await database.register_sources([("s", "https://example.org/feed")])
    await database.store_fetch("s", ok(), [record(1, title="汉中朱鹮")])
    await database.close()
    conn = _open_writer(path)
    try:
        assert reindex(conn, stale_only=True) == 0, "current when the lock was taken"
        assert reindex(conn) == 1
    finally:
        conn.close()


async def test_a_damaged_index_is_rebuilt_and_the_write_goes_through(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """An item's tokens deleted outside the service: FTS5 then refuses the update's delete as
    "database disk image is malformed", and every write touching that item failed, the
    source's new items with it. The index is rebuilt from the items and the writes done."""
    await db.store_fetch("s", ok(), [record(1, title="汉中朱鹮"), record(2, title="春运")])
    with sqlite3.connect(db.path) as conn:
        item = conn.execute("SELECT id, title, summary, content FROM items WHERE id = 1").fetchone()
        conn.execute(
            "INSERT INTO items_search (items_search, rowid, text) VALUES ('delete', ?, ?)",
            (item[0], search_text(*item[1:])),
        )
    changed = record(1, title="汉中金丝猴", content_hash="w")
    summaries = await asyncio.gather(
        db.store_fetch("s", ok(NOW + 1), [changed]),
        db.store_fetch("s", ok(NOW + 1), [record(3, title="汉中机场")]),
    )
    assert [(s.new, s.updated) for s in summaries] == [(0, 1), (1, 0)]
    assert "search index damaged, rebuilding it" in caplog.messages
    assert await _titles(db, text="汉中") == ["汉中机场", "汉中金丝猴"]
    assert _indexed_ids(db.path, "朱鹮") == []
    assert _indexed_ids(db.path, "春运") == [2]


async def test_the_search_text_built_beside_parsing_is_what_gets_indexed(db: Database) -> None:
    """The pipeline builds the tokens off the writer's thread; the writer stores them as given
    (and builds them itself only for a record that comes without)."""
    given = record(1, title="标题", search_text="汉中 中 geyan")
    await db.store_fetch("s", ok(), [given, record(2, title="汉中新闻")])
    assert await _titles(db, text="geyan") == ["标题"]
    assert await _titles(db, text="汉中") == ["汉中新闻", "标题"]


def test_any_sqlite_client_can_write_items(tmp_path: Path) -> None:
    """No insert trigger calls back into Python: a bare `sqlite3` shell may insert items (they
    are found by search once their tokens are written to `items_search`). Deleting one makes
    its tokens again, which needs the function: without it the delete stops, whole."""
    path = tmp_path / "old.sqlite3"
    _version_2_database(path)
    with sqlite3.connect(path) as conn:  # migration 3's backfill calls into Python
        conn.create_function("aggregator_search_text", 3, lambda *_: "", deterministic=True)
        for script in MIGRATIONS[2:]:
            conn.executescript(script)
    with sqlite3.connect(path) as conn:  # a bare client: no function registered
        conn.execute(
            "INSERT INTO items (source_id, key, entry_id, title, content, summary, tags, sort_ts, "
            "first_seen, last_changed, content_hash) VALUES ('s', 'id:2', 'urn:2', 'x', '', '', "
            "'[]', 2, 2, 2, 'h2')"
        )
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2,)
        with pytest.raises(sqlite3.OperationalError, match="no such function"):
            conn.execute("DELETE FROM items WHERE key = 'id:2'")
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2,)


async def test_filters_page_with_the_cursor(db: Database) -> None:
    await db.store_fetch("s", ok(), [record(n) for n in range(1, 6)])
    where = ItemFilter(text="正文", tag="汉中")
    page = await db.latest_items(["s"], limit=2, where=where)
    assert [i.title for i in page] == ["标题 5", "标题 4"]
    rest = await db.latest_items(
        ["s"], limit=9, where=where, before=(page[-1].sort_ts, page[-1].id)
    )
    assert [i.title for i in rest] == ["标题 3", "标题 2", "标题 1"]


@pytest.mark.parametrize(
    ("where", "driver"),
    [
        (ItemFilter(text="汉中"), "VIRTUAL TABLE INDEX"),
        (ItemFilter(text="汉中", tag="政务"), "VIRTUAL TABLE INDEX"),
        (ItemFilter(tag="政务"), "SEARCH item_tags USING PRIMARY KEY (tag=?)"),
    ],
)
async def test_queries_are_driven_by_their_index(
    db: Database, tmp_path: Path, where: ItemFilter, driver: str
) -> None:
    sql, params = listing(["s", "t"], where, 20, (NOW, 10))
    with sqlite3.connect(tmp_path / "search.sqlite3") as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert driver in plan[0], plan
    assert "SEARCH items USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    assert not any(step.split()[:2] == ["SCAN", "items"] for step in plan), plan


@pytest.mark.parametrize(
    ("title", "summary", "body"),
    [
        # a combining mark starts the body
        ("漢中發佈", "頭髮", "\u0301e 理髮店 Ｆｕｌｌ－ｗｉｄｔｈ"),
        ("Σίσυφος", "", "ΣΊΣΥΦΟΣ\n乾隆\n干净"),  # final sigma; 乾 is folded by phrase
        ("", "摘要", ""),
    ],
)
def test_parts_folded_apart_index_as_folded_together(title: str, summary: str, body: str) -> None:
    """Records fold a body once for both its fingerprint and its search text: the tokens must
    be those of the whole text folded at once."""
    whole = " ".join(index_tokens(f"{title}\n{summary}\n{body}"))
    assert index_text(title, summary, body, fold(body)) == whole
    assert index_text(title, summary, body) == whole


@pytest.mark.parametrize("query", ["卫生署", "衛生署", "衞生署"])
async def test_hong_kong_forms_are_found_in_every_script(db: Database, query: str) -> None:
    hong_kong = record(1, title="衞生署提醒市民接種流感疫苗", content="<p>隨著寒流來襲</p>")
    await db.store_fetch("s", ok(), [hong_kong, record(2)])
    found = await db.latest_items(["s"], limit=5, where=ItemFilter(text=query))
    assert [item.title for item in found] == ["衞生署提醒市民接種流感疫苗"]
    taiwan = await db.latest_items(["s"], limit=5, where=ItemFilter(text="随着"))
    assert [item.title for item in taiwan] == ["衞生署提醒市民接種流感疫苗"]
