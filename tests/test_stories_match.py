"""Cross-source stories: which items merge, which stay apart, and whose copy leads."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from feeds.model import Party
from feeds.normalize import fold
from feeds.stories import (
    Match,
    StoryKey,
    StoryMember,
    body_days,
    choose_canonical,
    match,
    story_key,
)

STORIES = Path(__file__).parent / "fixtures" / "stories"
META: dict[str, Any] = json.loads((STORIES / "items.json").read_text(encoding="utf-8"))
ORDER = {source["id"]: i for i, source in enumerate(META["sources"])}
NAMES = {
    name: source["id"]
    for source in META["sources"]
    for name in (source["name"], *source["aliases"])
}
DAY = datetime.fromisoformat("2022-01-14T09:00:00+08:00")


def _seed_key(item: dict[str, Any]) -> StoryKey:
    return story_key(
        item_key=item["key"],
        source_id=item["source"],
        source_order=ORDER[item["source"]],
        title=item["title"],
        text=(STORIES / item["text"]).read_text(encoding="utf-8"),
        link=item["link"],
        published=datetime.fromisoformat(item["published"]),
        origin_name=item["origin"],
    )


SEED = [_seed_key(item) for item in META["seed"]]


def _key(key: str, source: str, **fields: Any) -> StoryKey:
    values: dict[str, Any] = {"link": None, "title": "", "published": DAY, "fingerprint": None}
    return StoryKey(item_key=key, source_id=source, story_id=key, **(values | fields))


def _ingest(keys: Iterable[StoryKey]) -> list[StoryKey]:
    """What the pipeline does: each new item joins the story it matches, or starts its own."""
    stored: list[StoryKey] = []
    for key in keys:
        found = match(key, stored)
        stored.append(replace(key, story_id=found.story_id if found else key.item_key))
    return stored


def _members(keys: Sequence[StoryKey]) -> list[StoryMember]:
    return [
        StoryMember(k.item_key, k.source_id, k.published, k.source_order, k.origin_name)
        for k in keys
    ]


def test_seed_copies_merge_in_every_order_and_credit_the_official_account() -> None:
    for order in itertools.permutations(SEED):
        stored = _ingest(order)
        assert len({k.story_id for k in stored}) == 1, [k.item_key for k in order]
        decision = choose_canonical(_members(stored), NAMES)
        assert decision.canonical_key == "hzfb-0114"
        assert decision.origin == Party("汉中发布")
        assert decision.origin_source_id == "hzfb"
        assert decision.reason == "credited"


def test_seed_copies_match_each_other_pairwise() -> None:
    for new, old in itertools.permutations(SEED, 2):
        assert match(new, [replace(old, story_id="s")]) is not None


def test_a_retitled_copy_merges_by_body() -> None:
    retitled = replace(SEED[1], item_key="x", source_id="sxrb", title="汉中获命名国家创新型城市")
    found = match(retitled, [replace(SEED[0], story_id="s", link=None)])
    assert found is not None
    assert found.rule == "body"


def test_credit_beats_earliest() -> None:
    late_official = replace(SEED[0], published=DAY + timedelta(days=3))
    decision = choose_canonical(_members([late_official, *SEED[1:]]), NAMES)
    assert decision.canonical_key == "hzfb-0114"


def test_origin_not_aggregated_is_named_and_the_earliest_copy_leads() -> None:
    copies = SEED[1:]
    names = {k: v for k, v in NAMES.items() if v != "hzfb"}
    decision = choose_canonical(_members(copies), names)
    assert decision.origin == Party("汉中发布")
    assert decision.origin_source_id is None
    assert decision.canonical_key == "hz1w-1234"


def test_aliases_vote_with_their_source_and_urls_are_kept() -> None:
    members = [
        StoryMember("a", "hz1w", DAY, 1, "汉中第一网"),
        StoryMember("b", "hzxw", DAY + timedelta(hours=1), 2, " 汉中发布 微信公众号 "),
        StoryMember("c", "sxrb", DAY + timedelta(hours=2), 3, "汉中发布", "https://example.org/"),
        StoryMember("d", "hzfb", DAY + timedelta(hours=3), 0),
    ]
    decision = choose_canonical(members, NAMES)
    assert decision.origin == Party("汉中发布", "https://example.org/"), "by the source's name"
    assert decision.canonical_key == "d"


def test_a_credit_to_our_source_outweighs_credits_to_nobody_we_know() -> None:
    """`网络` (the web) credited twice, and earlier, names nobody: the one copy crediting
    汉中发布 decides, and 汉中发布's copy leads."""
    members = [
        StoryMember("a", "hz1w", DAY, 1, "网络"),
        StoryMember("b", "hzxw", DAY + timedelta(hours=1), 2, "网络", "https://hznews.example/"),
        StoryMember("c", "hzfb", DAY + timedelta(hours=2), 0, "汉中发布"),
    ]
    decision = choose_canonical(members, NAMES)
    assert (decision.origin, decision.origin_source_id) == (Party("汉中发布"), "hzfb")
    assert (decision.canonical_key, decision.reason) == ("c", "credited")
    strangers = choose_canonical(members[:2], NAMES)
    assert (strangers.origin, strangers.origin_source_id) == (
        Party("网络", "https://hznews.example/"),
        None,
    )


def test_a_credit_leads_on_through_the_credited_sources_own_credit() -> None:
    """A repost credits 汉中新闻网, whose own copy credits 汉中日报, no source of ours: the
    merged entry named 汉中新闻网 as the origin above its own `来源：汉中日报`, and said
    otherwise than the source's own feed."""
    news = StoryMember("news", "hzxw", DAY, 2, "汉中日报", "https://hzrb.example/1")
    repost = StoryMember("repost", "hz1w", DAY + timedelta(hours=3), 1, "汉中新闻网")
    decision = choose_canonical([repost, news], NAMES)
    assert decision.origin == Party("汉中日报", "https://hzrb.example/1")
    assert (decision.origin_source_id, decision.canonical_key) == (None, "news")
    # The chain reaches one of ours, whose copy is here: it leads.
    official = StoryMember("official", "hzfb", DAY + timedelta(hours=5), 0, "汉中发布")
    onward = replace(news, origin_name="汉中发布", origin_url=None)
    decision = choose_canonical([repost, onward, official], NAMES)
    assert (decision.origin, decision.origin_source_id) == (Party("汉中发布"), "hzfb")
    assert decision.canonical_key == "official"
    # Two sources crediting each other: the chain stops before it goes round.
    loop = replace(news, origin_name="汉中第一网", origin_url=None)
    decision = choose_canonical([repost, loop], NAMES)
    assert (decision.origin, decision.canonical_key) == (Party("汉中新闻网"), "news")


def test_a_credit_in_traditional_characters_names_our_source() -> None:
    """A Taiwanese or Hong Kong repost writes `來源：漢中發布`: it named nobody we know, and
    the official copy did not lead its story."""
    official = StoryMember("official", "hzfb", DAY + timedelta(hours=2), 0)
    repost = StoryMember("repost", "tw", DAY, 5, "漢中發布")
    decision = choose_canonical([repost, official], NAMES)
    assert (decision.origin_source_id, decision.canonical_key) == ("hzfb", "official")
    # by the source's own name: 汉中发布's own entry was published crediting `漢中發布`
    assert decision.origin == Party("汉中发布")


def test_a_party_that_is_none_of_ours_is_named_as_its_copies_write_it() -> None:
    repost = StoryMember("repost", "hz1w", DAY, 1, "华商报")
    other = StoryMember("other", "hzxw", DAY + timedelta(hours=1), 2, "華商報")
    decision = choose_canonical([repost, other], NAMES)
    assert (decision.origin, decision.origin_source_id) == (Party("华商报"), None)


def test_without_credit_earliest_then_config_order_leads() -> None:
    dated = [StoryMember("a", "hzxw", DAY, 2), StoryMember("b", "hzfb", None, 0)]
    assert choose_canonical(dated, NAMES).canonical_key == "a"
    undated = [StoryMember("a", "hzxw", None, 2), StoryMember("b", "hz1w", None, 1)]
    decision = choose_canonical(undated, NAMES)
    assert (decision.canonical_key, decision.reason, decision.origin) == ("b", "config_order", None)
    assert decision.origin_source_id == "hz1w"


def test_an_empty_story_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        choose_canonical([], NAMES)


def test_different_articles_sharing_a_template_stay_apart() -> None:
    template = (STORIES / "portal_template.txt").read_text(encoding="utf-8")
    keys = [
        story_key(
            item_key=a["key"],
            source_id=a["key"],
            title=f"第{i}篇{a['title']}",  # distinct titles: only the body rule is on trial
            text=template.format(body=(STORIES / a["text"]).read_text(encoding="utf-8")),
            link=None,
            published=DAY,
            story_id=a["key"],
        )
        for i, a in enumerate(META["articles"])
    ]
    for new, old in itertools.permutations(keys, 2):
        assert match(new, [old]) is None


def test_short_bodies_never_merge() -> None:
    for i, line in enumerate((STORIES / "short_boilerplate.txt").read_text("utf-8").splitlines()):
        a = story_key(
            item_key="a", source_id="hz1w", title=f"简讯甲{i}", text=line, link=None, published=DAY
        )
        b = story_key(
            item_key="b", source_id="hzxw", title=f"简讯乙{i}", text=line, link=None, published=DAY
        )
        assert a.fingerprint is None
        assert match(b, [replace(a, story_id="s")]) is None


def test_identical_titles_merge_within_seven_days_only() -> None:
    old = _key("old", "hz1w", title="汉中市本周天气预报")
    assert match(_key("new", "hzxw", title=old.title, published=DAY + timedelta(days=7)), [old])
    assert not match(
        _key("new", "hzxw", title=old.title, published=DAY + timedelta(days=30)), [old]
    )
    assert not match(_key("new", "hzxw", title=old.title, published=None), [old])


def _text_key(name: str, source: str, title: str, text: str, published: datetime = DAY) -> StoryKey:
    return story_key(
        item_key=name,
        source_id=source,
        title=title,
        text=text,
        link=None,
        published=published,
        story_id=name,
    )


def test_equal_titles_over_two_texts_of_one_length_stay_apart() -> None:
    """A generic title (`汉中市召开常务会议`, a daily bulletin's) over another text of about the
    same length is another story: the 46th meeting was merged into the 45th by title, and
    hidden from every merged feed, the 45th credited to the 46th's copy's origin."""
    for title, first, second in [
        ("汉中市召开常务会议", "meeting_45.txt", "meeting_46.txt"),
        ("汉中市今日天气预报", "bulletin_day1.txt", "bulletin_day2.txt"),
    ]:
        one = (STORIES / first).read_text(encoding="utf-8")
        other = (STORIES / second).read_text(encoding="utf-8")
        later = DAY + timedelta(days=1)
        assert (
            match(_text_key("b", "hz1w", title, other, later), [_text_key("a", "hzfb", title, one)])
            is None
        )
        copy = _text_key("c", "hz1w", title, other + "\n责任编辑：李四", later)
        assert match(copy, [_text_key("a", "hzfb", title, other)]) == Match("a", "title", "a")
        # A summary is of another length: the title decides, as a portal's 250-byte RSS needs.
        summary = _text_key("s", "hz1w", f"【转载】{title}", other[:110], later)
        assert match(summary, [_text_key("a", "hzfb", title, other)]) == Match("a", "title", "a")


def test_of_two_title_matches_the_closer_body_wins_in_any_order() -> None:
    """A portal's copy of the 22nd's bulletin joined the 21st's story (the older of two title
    matches), in three of the four orders of fetches and feeds."""
    day1 = (STORIES / "bulletin_day1.txt").read_text(encoding="utf-8")
    day2 = (STORIES / "bulletin_day2.txt").read_text(encoding="utf-8")
    title = "汉中市今日天气预报"
    stored = [
        _text_key("first", "hzfb", title, day1),
        _text_key("second", "hzfb", title, day2, DAY + timedelta(days=1)),
    ]
    for text in (day2, day2[:110]):  # the whole bulletin, and a summary of it
        copy = _text_key("copy", "hz1w", title, text, DAY + timedelta(days=1))
        for candidates in itertools.permutations(stored):
            assert match(copy, candidates) == Match("second", "title", "second")


def test_a_wechat_repost_matches_by_its_title_and_by_its_body() -> None:
    """A 公众号 repost marks its title `转载：` and ends with the account's share footer and a
    statement crediting the original: neither keeps it from the original's story."""
    repost = (STORIES / "repost_wechat_footer.txt").read_text(encoding="utf-8")
    title = "汉中市召开2026年秋冬季森林防火工作会议"
    original = story_key(
        item_key="hzfb-1120",
        story_id="hzfb-1120",
        source_id="hzfb",
        title=title,
        text="\n".join(repost.splitlines()[:-2]),  # the official text: the repost less its footer
        link="https://www.hzfb.example.cn/2026/1120/c128.html",
        published=DAY,
    )

    def copy(headline: str) -> StoryKey:
        return story_key(
            item_key="wx-1120",
            source_id="wx",
            title=headline,
            text=repost,
            link="https://mp.weixin.example.qq.com/s/AbCdEf123",
            published=DAY + timedelta(hours=8),
        )

    assert match(copy(f"转载：{title}"), [original]) == Match("hzfb-1120", "title", "hzfb-1120")
    assert match(copy("今冬明春森林防火这样做"), [original]) == Match(
        "hzfb-1120", "body", "hzfb-1120"
    )


def test_short_titles_never_merge() -> None:
    assert not match(_key("new", "hzxw", title="图片新闻"), [_key("old", "hz1w", title="图片新闻")])


def test_same_source_never_merges() -> None:
    old = _key("old", "hz1w", link="example.net/a", title="汉中市本周天气预报")
    assert match(replace(old, item_key="new"), [old]) is None


def test_a_story_holding_the_new_items_source_is_not_joined() -> None:
    mine = _key("mine", "hz1w", title="汉中市本周天气预报")
    theirs = replace(_key("theirs", "hzxw", title="汉中市本周天气预报"), story_id="mine")
    tomorrow = _key("new", "hz1w", title=mine.title, published=DAY + timedelta(days=1))
    assert match(tomorrow, [mine, theirs]) is None


def test_link_beats_title_beats_body_in_any_candidate_order() -> None:
    new = _key("new", "hzfb", link="example.net/a", title="汉中又新增一项国字号荣誉", fingerprint=0)
    by_body = _key("body", "hz1w", fingerprint=0b111)
    by_title = _key("title", "hzxw", title=new.title)
    by_link = _key("link", "sxrb", link=new.link)
    for candidates in itertools.permutations([by_body, by_title, by_link]):
        found = match(new, candidates)
        assert found is not None
        assert (found.story_id, found.rule, found.candidate_key) == ("link", "link", "link")
    found = match(new, [by_body, by_title])
    assert found is not None
    assert found.rule == "title"
    assert match(new, [_key("far", "hz1w", fingerprint=0b1111)]) is None


def test_ties_break_on_distance_then_age() -> None:
    new = _key("new", "hzfb", fingerprint=0)
    near = _key("near", "hz1w", fingerprint=0b1, published=DAY + timedelta(days=1))
    old = _key("old", "hzxw", fingerprint=0b11, published=DAY - timedelta(days=1))
    older = _key("older", "sxrb", fingerprint=0b11, published=DAY - timedelta(days=2))
    for candidates in itertools.permutations([near, old, older]):
        assert match(new, candidates) == match(new, [near])
    assert match(new, [old, older]) == match(new, [older])


def test_precision_and_recall_on_labelled_pairs() -> None:
    def key(item: dict[str, str], name: str) -> StoryKey:
        return story_key(
            item_key=name,
            source_id=item["source"],
            title=item["title"],
            text=item["text"],
            link=item["link"],
            published=datetime.fromisoformat(item["published"]),
            story_id=name,
        )

    lines = (STORIES / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    outcomes = []
    for line in lines:
        pair = json.loads(line)
        predicted = match(key(pair["b"], "b"), [key(pair["a"], "a")]) is not None
        outcomes.append((predicted, pair["same"]))
    true_positives = outcomes.count((True, True))
    assert len(outcomes) >= 200
    assert true_positives / (true_positives + outcomes.count((True, False))) >= 0.95
    assert true_positives / (true_positives + outcomes.count((False, True))) >= 0.95


def test_a_copy_dated_to_the_day_only_is_not_earlier_than_one_timed_that_day() -> None:
    """A portal's list gives `2026-11-29` alone (midnight): with no credit, the origin's own
    item timed 09:00 that day was taken for the later copy, and the story's entry became the
    portal's."""
    shanghai = timezone(timedelta(hours=8))
    day = datetime(2026, 11, 29, tzinfo=shanghai)
    portal = StoryMember("portal", "hz1w", day, 0)
    official = StoryMember("official", "hzfb", day + timedelta(hours=9), 1)
    decision = choose_canonical([portal, official], NAMES)
    assert decision.canonical_key == "official"
    day_before = StoryMember("portal", "hz1w", day - timedelta(days=1), 0)
    assert choose_canonical([day_before, official], NAMES).canonical_key == "portal"
    next_morning = StoryMember("official", "hzfb", day + timedelta(days=1, hours=1), 1)
    assert choose_canonical([portal, next_morning], NAMES).canonical_key == "portal"


def _bulletin(name: str, **values: object) -> str:
    return (STORIES / name).read_text(encoding="utf-8").format(**values)


@pytest.mark.parametrize(
    ("title", "name", "days"),
    [
        (
            "汉中市中心城区空气质量日报",
            "aq_bulletin.txt",
            [{"day": 27, "aqi": 68, "level": "良", "pm": 45},
             {"day": 28, "aqi": 105, "level": "轻度污染", "pm": 78},
             {"day": 29, "aqi": 86, "level": "良", "pm": 61}],
        ),
        (
            "汉中天气预报",
            "weather_bulletin.txt",
            [{"day": 27, "sky": "全市阴天间多云", "low": 3, "high": 12, "wind": "偏东风2～3级"},
             {"day": 28, "sky": "全市多云转小雨", "low": 1, "high": 9, "wind": "偏北风3～4级"},
             {"day": 29, "sky": "全市小雨转阴", "low": 0, "high": 8, "wind": "偏北风2～3级"}],
        ),
    ],
)  # fmt: skip
def test_a_template_bulletin_and_another_days_are_two_stories(
    title: str, name: str, days: list[dict[str, object]]
) -> None:
    """Bulletins that differ in figures only are 7 to 12 bits apart, under the rule for two
    texts: 人民网's 29 November bulletin joined the 27th's story, and was hidden."""
    sources = ("hzfb", "hzgov", "people")
    keys = [
        _text_key(f"d{index}", source, title, _bulletin(name, **values), DAY + timedelta(index))
        for index, (values, source) in enumerate(zip(days, sources, strict=True))
    ]
    for new, old in itertools.permutations(keys, 2):
        assert match(new, [old]) is None, (new.item_key, old.item_key)
    repost = _text_key(
        "repost", "hz1w", title, "汉中第一网11月28日讯 " + _bulletin(name, **days[0]), DAY
    )
    assert match(repost, [keys[0]]) is not None, "a dateline adds a day, and keeps the story's"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("汉中第一网11月28日讯 11月27日，全市安全生产工作会议召开", "11-28,11-27"),
        ("2026-11-27 会议；x 2026/1/5 y 1999.12.31", "11-27,01-05,12-31"),
        ("２０２６年１１月２９日 晚上", "11-29"),
        ("第123月4日，电话0916-2626262，5-6月", None),
        ("Lorem ipsum 汉中" * 40 + "11月27日", None),  # past the opening
    ],
)
def test_the_days_a_body_opens_with(text: str, days: str | None) -> None:
    assert body_days(fold(text)) == days
