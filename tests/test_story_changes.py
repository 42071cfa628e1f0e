"""Stories as their copies change: an item edited upstream is matched again, copies merge
whatever order they arrive in, a credit in a feed item's body counts, and a source set to
`dedupe = false` leaves the stories it joined. Feeds are files, fetched by the real pipeline
into a real SQLite store, and read back as the merged JSON Feed a reader gets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from aggregator.config import load_config
from aggregator.documents import Page, Query, render_page
from aggregator.service import running_service
from tests.conftest import FIXTURES

TEXTS = FIXTURES / "stories"


def _body(name: str, credit: str = "") -> str:
    lines = (TEXTS / name).read_text("utf-8").split("\n")
    return "".join(f"<p>{line}</p>" for line in (*lines, credit) if line.strip())


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    date: str  # RFC 822, +0800; empty: no <pubDate>
    body: str  # a file of tests/fixtures/stories
    credit: str = ""  # a last line of the body, as portals end an article
    source: str = ""  # an RSS <source>: whom the item credits


def _rss(site: str, items: Sequence[Item]) -> str:
    entries = "".join(
        f"<item><guid>{item.guid}</guid><title>{escape(item.title)}</title>"
        f"<link>https://{site}/{item.guid}.html</link>"
        + (f"<pubDate>{item.date}</pubDate>" if item.date else "")
        + f"<description>{escape(_body(item.body, item.credit))}</description>"
        + (f'<source url="https://hzfb.example/">{item.source}</source>' if item.source else "")
        + "</item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{site}'
        f"</title><link>https://{site}/</link>{entries}</channel></rss>"
    )


_SOURCE = """
[[sources]]
id = "{id}"
name = "{name}"
url = "{id}.xml"
{extra}
"""


def _config(folder: Path, sources: Sequence[tuple[str, str, str]]) -> Path:
    text = '[service]\ndatabase = "db.sqlite3"\nbase_url = "http://agg.example"\n' + "".join(
        _SOURCE.format(id=ident, name=name, extra=extra) for ident, name, extra in sources
    )
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    return path


OFFICIAL = ("hzfb", "汉中发布", 'aliases = ["汉中发布微信公众号"]')
PORTAL = ("hz1w", "汉中第一网", "")


async def _fetch(config_path: Path, *source_ids: str) -> list[dict[str, Any]]:
    """Fetch these sources (all, in config order, without any), and the merged feed's items."""
    config = load_config(config_path)
    async with running_service(config, schedule=False) as service:
        for source in config.sources:
            if not source_ids or source.id in source_ids:
                report = await service.pipeline.run(source)
                assert not report.failed, report
        url = "http://agg.example/feeds/all.json"
        page = Page("feeds", "all", "json", Query(), url, url)
        body, _ = await render_page(config, service.db, page)
    return list(json.loads(body)["items"])


def _when(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["date_modified"])


def _shown(items: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """Each entry of a merged feed: its title, its source, the sources of its other copies."""
    return sorted(
        (i["title"], i["_source"]["id"], sorted(c["source"] for c in i.get("_copies", [])))
        for i in items
    )


DAY = "Fri, 14 Jan 2022"
SPRING = "汉中市2022年春运工作全面启动"
IBIS = "汉中朱鹮数量突破七千只"
AIRPORT = "汉中城固机场新开三条航线"


async def test_an_item_edited_upstream_is_matched_again(tmp_path: Path) -> None:
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    official = [
        Item("a1", SPRING, f"{DAY} 09:00:00 +0800", "other_weather_week1.txt"),
        Item("a2", IBIS, f"{DAY} 10:00:00 +0800", "other_tea_harvest.txt"),
        Item("a3", AIRPORT, f"{DAY} 11:00:00 +0800", "other_flight_route.txt"),
    ]
    portal = [
        Item("b1", "春运启动啦（待编辑）", f"{DAY} 12:00:00 +0800", "other_university.txt"),
        Item("b2", IBIS, f"{DAY} 12:00:00 +0800", "other_notice.txt"),
        Item("b3", AIRPORT, f"{DAY} 08:00:00 +0800", "other_science_conference.txt"),
    ]
    (tmp_path / "hzfb.xml").write_text(_rss("hzfb.example", official), "utf-8")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", portal), "utf-8")
    before = _shown(await _fetch(config))
    assert before == sorted(
        [
            (IBIS, "hzfb", ["hz1w"]),
            (AIRPORT, "hz1w", ["hzfb"]),  # the earliest copy leads: nobody is credited
            ("春运启动啦（待编辑）", "hz1w", []),
            (SPRING, "hzfb", []),
        ]
    )

    edited = [
        Item("b1", SPRING, portal[0].date, portal[0].body),  # now the official title
        Item("b2", "洋县发现一处新的朱鹮营巢地", portal[1].date, portal[1].body),  # another story
        Item("b3", AIRPORT, portal[2].date, portal[2].body, source="汉中发布"),  # now credited
    ]
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", edited), "utf-8")
    after = await _fetch(config, "hz1w")
    assert _shown(after) == sorted(
        [
            (IBIS, "hzfb", []),
            (AIRPORT, "hzfb", ["hz1w"]),  # the credited source's own copy leads
            ("洋县发现一处新的朱鹮营巢地", "hz1w", []),
            (SPRING, "hzfb", ["hz1w"]),
        ]
    )
    airport = next(item for item in after if item["title"] == AIRPORT)
    assert airport["_origin"]["name"] == "汉中发布"


async def test_copies_merge_whatever_order_they_arrive_in(tmp_path: Path) -> None:
    """C has A's title and B's body: A, B and C are one story, fetched in any order."""
    title = "国字号荣誉再添一项：汉中获评国家创新型城市"
    items = {
        "hzfb": Item("x", title, f"{DAY} 09:00:00 +0800", "other_tea_harvest.txt"),
        "hz1w": Item("y", "汉中获命名国家创新型城市", f"{DAY} 10:00:00 +0800", "hzfb_official.txt"),
        "hzxw": Item("z", title, f"{DAY} 11:00:00 +0800", "hzfb_official.txt"),
    }
    for order in (("hzfb", "hz1w", "hzxw"), ("hzxw", "hzfb", "hz1w"), ("hz1w", "hzxw", "hzfb")):
        folder = tmp_path / "-".join(order)
        folder.mkdir()
        config = _config(folder, [OFFICIAL, PORTAL, ("hzxw", "汉中新闻网", "")])
        for source_id, item in items.items():
            (folder / f"{source_id}.xml").write_text(_rss(f"{source_id}.example", [item]), "utf-8")
        for source_id in order:
            shown = _shown(await _fetch(config, source_id))
        assert shown == [(title, "hzfb", ["hz1w", "hzxw"])], order


async def test_a_credit_ending_a_feed_items_body_names_the_origin(tmp_path: Path) -> None:
    """A portal's RSS copy, earlier than the official one, ends `(来源:汉中发布)` as its page
    does: 汉中发布 is the origin, and its copy leads."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    title = "汉中又新增一项国字号荣誉！"
    official = Item("o", title, f"{DAY} 15:30:00 +0800", "hzfb_official.txt")
    portal = Item("p", title, f"{DAY} 14:00:00 +0800", "hz1w_portal.txt", credit="(来源:汉中发布)")
    (tmp_path / "hzfb.xml").write_text(_rss("hzfb.example", [official]), "utf-8")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", [portal]), "utf-8")
    (entry,) = await _fetch(config)
    assert (entry["_source"]["id"], entry["_origin"]["name"]) == ("hzfb", "汉中发布")
    assert [copy["source"] for copy in entry["_copies"]] == ["hz1w"]


def _one_story_twice(folder: Path, *, official_at: str, portal_at: str) -> None:
    """The official feed and the portal's each hold one copy of IBIS, told apart by its body."""
    official = Item("a", IBIS, f"{DAY} {official_at}:00 +0800", "other_tea_harvest.txt")
    portal = Item("b", IBIS, f"{DAY} {portal_at}:00 +0800", "other_notice.txt")
    (folder / "hzfb.xml").write_text(_rss("hzfb.example", [official]), "utf-8")
    (folder / "hz1w.xml").write_text(_rss("hz1w.example", [portal]), "utf-8")


async def test_dedupe_false_takes_a_source_out_of_the_stories_it_joined(tmp_path: Path) -> None:
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    _one_story_twice(tmp_path, official_at="09:00", portal_at="08:00")
    assert _shown(await _fetch(config)) == [(IBIS, "hz1w", ["hzfb"])]
    _config(tmp_path, [OFFICIAL, (*PORTAL[:2], "dedupe = false")])
    apart = await _fetch(config, "none")  # the config applied at start; nothing fetched
    assert _shown(apart) == [(IBIS, "hz1w", []), (IBIS, "hzfb", [])]
    assert _shown(await _fetch(config)) == _shown(apart), "and it stays apart"


async def test_dedupe_true_again_brings_a_source_back_into_its_stories(tmp_path: Path) -> None:
    """Items stored while their source had `dedupe = false` have no keys to be found by; with
    the key set back, they are matched again at the next start, unchanged upstream or not,
    and the merged entry keeps the id it had."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    _one_story_twice(tmp_path, official_at="09:00", portal_at="08:00")
    (merged,) = await _fetch(config)
    _config(tmp_path, [OFFICIAL, (*PORTAL[:2], "dedupe = false")])
    assert len(await _fetch(config)) == 2
    _config(tmp_path, [OFFICIAL, PORTAL])
    (again,) = await _fetch(config, "none")  # the config applied at start; nothing fetched
    assert _shown([again]) == [(IBIS, "hz1w", ["hzfb"])]
    assert again["id"] == merged["id"]
    assert await _fetch(config) == [again], "and fetching the same changes nothing"


async def test_an_entry_shown_anew_moves_its_updated_time_forward(tmp_path: Path) -> None:
    """Another copy becoming the one shown, or an edit found upstream, is news to a reader
    who has the entry: `date_modified` moves to when we saw it, never back to the new
    copy's older date."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    (tmp_path / "hz1w.xml").write_text(
        _rss("hz1w.example", [Item("b", IBIS, f"{DAY} 16:00:00 +0800", "other_notice.txt")]),
        "utf-8",
    )
    (tmp_path / "hzfb.xml").write_text(
        _rss("hzfb.example", [Item("a", IBIS, f"{DAY} 15:30:00 +0800", "other_tea_harvest.txt")]),
        "utf-8",
    )
    (first,) = await _fetch(config, "hz1w")
    assert first["date_modified"] == "2022-01-14T16:00:00+08:00"
    (shown,) = await _fetch(config, "hzfb")  # earlier: now the copy shown
    assert (shown["id"], shown["_source"]["id"]) == (first["id"], "hzfb")
    assert _when(shown) > _when(first), "when the copy shown changed, not 15:30"

    alone = Item("c", AIRPORT, f"{DAY} 11:00:00 +0800", "other_flight_route.txt")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", [alone]), "utf-8")
    before = {item["title"]: item for item in await _fetch(config, "hz1w")}[AIRPORT]
    assert before["date_modified"] == "2022-01-14T11:00:00+08:00"
    edited = Item("c", AIRPORT, alone.date, "other_flight_route.txt", credit="（更正）")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", [edited]), "utf-8")
    after = {item["title"]: item for item in await _fetch(config, "hz1w")}[AIRPORT]
    assert after["id"] == before["id"]
    assert _when(after) > _when(before), "when we found the edit"


async def test_a_credit_without_a_link_leads_to_the_credited_sources_copy(tmp_path: Path) -> None:
    """`(来源:汉中发布微信公众号)` names an alias and links nothing: the merged entry still says
    where the story was first published, in every format, Atom's `via` included."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    title = "汉中又新增一项国字号荣誉！"
    official = Item("o", title, f"{DAY} 15:30:00 +0800", "hzfb_official.txt")
    credit = "(来源:汉中发布微信公众号)"
    portal = Item("p", title, f"{DAY} 14:00:00 +0800", "hz1w_portal.txt", credit=credit)
    (tmp_path / "hzfb.xml").write_text(_rss("hzfb.example", [official]), "utf-8")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", [portal]), "utf-8")
    (entry,) = await _fetch(config)
    assert entry["_origin"]["name"] in ("汉中发布", "汉中发布微信公众号")
    assert entry["_origin"]["url"] == "https://hzfb.example/o.html"
    config_ = load_config(config)
    async with running_service(config_, schedule=False) as service:
        documents = {}
        for kind, ident in (("feeds", "all"), ("sources", "hz1w")):
            url = f"http://agg.example/{kind}/{ident}.atom"
            page = Page(kind, ident, "atom", Query(), url, url)
            documents[kind], _ = await render_page(config_, service.db, page)
    assert b'rel="via" href="https://hzfb.example/o.html"' in documents["feeds"]
    # the portal's own feed links the credit as the merged one does (it said nothing in Atom)
    assert b'rel="via" href="https://hzfb.example/o.html"' in documents["sources"]


async def test_a_disabled_sources_copy_gives_way_to_one_still_published(tmp_path: Path) -> None:
    """The story's canonical copy is the official one; with its source disabled, the merged
    feed shows the portal's copy, and lists no copy of the disabled source."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    _one_story_twice(tmp_path, official_at="09:00", portal_at="10:00")
    assert _shown(await _fetch(config)) == [(IBIS, "hzfb", ["hz1w"])]
    _config(tmp_path, [(*OFFICIAL[:2], f"{OFFICIAL[2]}\nenabled = false"), PORTAL])
    assert _shown(await _fetch(config, "none")) == [(IBIS, "hz1w", [])]


async def test_an_undated_copy_matches_by_title_when_first_seen(tmp_path: Path) -> None:
    """A portal's feed without dates: its copy is compared at the time we first see it, so
    it joins the official story of the same title from today, and not one from years ago."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    today = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    official = [
        Item("a", IBIS, today, "other_tea_harvest.txt"),
        Item("old", AIRPORT, f"{DAY} 09:00:00 +0800", "other_flight_route.txt"),
    ]
    portal = [
        Item("b", IBIS, "", "other_notice.txt"),
        Item("c", AIRPORT, "", "other_university.txt"),
    ]
    (tmp_path / "hzfb.xml").write_text(_rss("hzfb.example", official), "utf-8")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", portal), "utf-8")
    assert _shown(await _fetch(config)) == sorted(
        [
            (IBIS, "hzfb", ["hz1w"]),
            (AIRPORT, "hzfb", []),
            (AIRPORT, "hz1w", []),
        ]
    )


async def test_a_bulletin_stored_yesterday_keeps_todays_apart(tmp_path: Path) -> None:
    """The days a body names are stored with its keys: the 29th's air-quality bulletin,
    fetched after the 27th's was stored, joined it under their one title."""
    config = _config(tmp_path, [OFFICIAL, PORTAL])
    title = "汉中市中心城区空气质量日报"
    first = [Item("aq27", title, "Fri, 27 Nov 2026 20:00:00 +0800", "aq_bulletin_27.txt")]
    (tmp_path / "hzfb.xml").write_text(_rss("hzfb.example", first), "utf-8")
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", []), "utf-8")
    await _fetch(config)
    later = [Item("aq29", title, "Sun, 29 Nov 2026 20:00:00 +0800", "aq_bulletin_29.txt")]
    (tmp_path / "hz1w.xml").write_text(_rss("hz1w.example", later), "utf-8")
    shown = _shown(await _fetch(config, "hz1w"))
    assert shown == [(title, "hz1w", []), (title, "hzfb", [])]
