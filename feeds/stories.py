"""Cross-source stories: whether a new item is a copy of a stored one, and whose copy leads.

Pure decisions over plain values (SPEC §7). Storage finds candidates through its indexes (equal
normalised link, equal normalised title, a shared `fingerprint.bands` key); `match` decides
which of them, if any, the new item joins; `choose_canonical` decides a story's origin and the
copy merged feeds show.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Literal

import opencc

from feeds.fingerprint import BITS, NEAR_DUPLICATE_BITS, bands, hamming, measured_fingerprint
from feeds.model import Party
from feeds.normalize import fold, normalize_link, normalize_title
from feeds.sanitize import html_to_text

MIN_TITLE_CHARS = 6  # shorter normalised titles ("通知公告", "图片新闻") are too generic to match
TITLE_WINDOW = timedelta(days=7)  # equal titles further apart are recurring columns, not copies
# Equal titles over two texts: bodies within a fifth of each other's length, yet this many bits
# apart. On the labelled pairs, a copy's edits (an editor's line, a share footer, a dropped
# paragraph) move it 9 bits at most at such lengths; a day's weather bulletin and the next
# day's, or two meetings under one generic title (`汉中市召开常务会议`), sit 16 and more apart.
# A summary, or a page with its site's chrome, is of another length: the title decides.
OTHER_TEXT_BITS = 13
ALIKE_LENGTHS = 0.8
# The days a body names in its opening (`11月27日`, `2026-11-27`): equal titles over bodies
# that are not near duplicates, naming none of the same days, are two stories. A template
# bulletin and the next day's (`汉中天气预报`) differ in figures only, 7 to 12 bits apart,
# under `OTHER_TEXT_BITS`; a repost's dateline (`11月28日讯`) adds a day, and keeps the others.
# Read from its first digits, which lets the engine skip to them: a pattern opening with a
# look-behind tried every position, 15 µs a body.
_BODY_DAY = re.compile(
    r"(\d{1,4})(?:\s*月\s*(\d{1,2})\s*[日号]|[-/.](\d{1,2})[-/.](\d{1,2})(?!\d))"
)
_DAY_REACH, _MOST_DAYS = 300, 4

Rule = Literal["link", "title", "body"]
_RULE_RANK: dict[Rule, int] = {"link": 0, "title": 1, "body": 2}
# rule, body distance, age, config order, story id, item key: unique per candidate
_Rank = tuple[int, int, tuple[int, float], int, str, str]
Reason = Literal["credited", "earliest", "config_order"]
_NO_MIRRORS: Mapping[str, str] = MappingProxyType({})
# Renumber with any change to the keys an item is stored with (see `keys_made_by`): what
# `normalize_link`, `normalize_title` or `fold` (feeds/normalize.py), `html_to_text`
# (feeds/sanitize.py) or the fingerprint and its bands (feeds/fingerprint.py) return. Stored
# items are then given keys made the new way, once (aggregator/records.py `rekey_stories`):
# keys made the old way miss every new copy of their stories.
KEY_RULES = 4
_DAY_END = 86_399.0  # seconds from a day's midnight to its last second
# A title, a link and a body through every step keys are made by: Traditional characters,
# full-width forms, a repost's mark, a site's name, tracking parameters, markup and a credit.
_KEY_SAMPLE = (
    "轉載：漢中市召開全市春運工作會議（圖）_漢中新聞網",
    "HTTP://WWW.Example.ORG:80/news/%E6%98%A5%E8%BF%90/?utm_source=x&b=2&a=1#top",
    "<p>１月１４日，漢中市召開春運工作會議，安排部署２０２２年春運工作。</p>"
    "<p>會議要求各縣區、各部門強化責任擔當，統籌做好疫情防控和春運服務保障，確保旅客"
    "安全便捷出行。鐵路、民航、公路運輸企業要加密班次，做好應急運力儲備。</p>"
    "<p>（來源：漢中發佈）</p>",
)


@dataclass(frozen=True, slots=True)
class StoryKey:
    """What matching needs to know about one item; link and title already normalised."""

    item_key: str  # opaque to this module: the caller's identity for the item
    source_id: str
    link: str | None
    title: str
    published: datetime | None  # timezone-aware
    fingerprint: int | None
    body_chars: int | None = None  # the normalised characters of the fingerprinted body
    days: str | None = None  # the days its body's opening names (`body_days`)
    origin_name: str | None = None  # whom the item credits, e.g. "汉中发布"
    story_id: str | None = None  # for stored candidates: the story the item belongs to
    source_order: int = 0  # the source's position in the config
    seen: datetime | None = None  # when first seen: an undated item's title is compared then


@dataclass(frozen=True, slots=True)
class Match:
    """The story a new item joins, the rule that matched, and the stored item it matched."""

    story_id: str
    rule: Rule
    candidate_key: str


def story_key(
    *,
    item_key: str,
    source_id: str,
    title: str,
    text: str,
    link: str | None,
    published: datetime | None,
    origin_name: str | None = None,
    story_id: str | None = None,
    source_order: int = 0,
    mirror_hosts: Mapping[str, str] = _NO_MIRRORS,
) -> StoryKey:
    """Build a `StoryKey` from an item's raw title, plain-text body and link."""
    folded = fold(text)
    fingerprint, chars = measured_fingerprint(folded)
    return StoryKey(
        item_key=item_key,
        source_id=source_id,
        link=normalize_link(link, mirror_hosts) if link else None,
        title=normalize_title(title),
        published=published,
        fingerprint=fingerprint,
        body_chars=chars if fingerprint is not None else None,
        days=body_days(folded) if fingerprint is not None else None,  # as items are stored
        origin_name=origin_name,
        story_id=story_id,
        source_order=source_order,
    )


@cache
def keys_made_by() -> str:
    """How this program makes the keys that find an item's copies, as a store records it
    beside them: a stored title keeping the `转载：` mark a copy's key drops never equals it.
    The rules' number, the OpenCC release and Unicode version behind folding, and a digest of
    a sample's keys, which moves with any step that changes them."""
    title, link, body = _KEY_SAMPLE
    folded = fold(html_to_text(body))
    fingerprint, chars = measured_fingerprint(folded)
    keys: list[object] = [normalize_title(title), normalize_link(link), fingerprint, chars]
    keys.append(body_days(folded))
    keys.append(list(bands(fingerprint)) if fingerprint is not None else [])
    digest = hashlib.sha256(json.dumps(keys, ensure_ascii=False).encode()).hexdigest()[:16]
    return (
        f"rules {KEY_RULES}; OpenCC {opencc.__version__}; Unicode {unicodedata.unidata_version};"
        f" sample {digest}"
    )


def _rule(new: StoryKey, old: StoryKey) -> tuple[Rule, int] | None:
    """The strongest rule under which two items of different sources are one story, with the
    body distance used to rank equally strong candidates (0 for a link; for a title, `BITS`
    when a body is unknown, so that of two title matches the closer body wins)."""
    if new.link and new.link == old.link:
        return "link", 0
    distance = None
    if new.fingerprint is not None and old.fingerprint is not None:
        distance = hamming(new.fingerprint, old.fingerprint)
    new_at, old_at = new.published or new.seen, old.published or old.seen
    if (
        len(new.title) >= MIN_TITLE_CHARS
        and new.title == old.title
        and new_at is not None
        and old_at is not None
        and abs(new_at - old_at) <= TITLE_WINDOW
        and not _other_texts(new, old, distance)
        and not _other_days(new, old, distance)
    ):
        return "title", BITS if distance is None else distance
    if distance is not None and distance <= NEAR_DUPLICATE_BITS:
        return "body", distance
    return None


def _other_texts(new: StoryKey, old: StoryKey, distance: int | None) -> bool:
    """Whether two bodies are two texts whatever their titles say (`OTHER_TEXT_BITS`)."""
    return distance is not None and distance >= OTHER_TEXT_BITS and _alike_lengths(new, old)


def body_days(folded: str) -> str | None:
    """The days a folded body's opening names, as `MM-DD` joined by `,` in the order written;
    None when it names none."""
    head = folded[:_DAY_REACH]
    found: list[str] = []
    for match in _BODY_DAY.finditer(head):
        start, first = match.start(), match[1]
        if start and head[start - 1].isdigit():
            continue  # `123月4日` is no date
        if match[2] is not None:  # `11月27日`
            if len(first) > 2:
                continue
            month, day = first, match[2]
        elif len(first) == 4 and first[:2] in ("19", "20"):  # `2026-11-27`
            month, day = match[3], match[4]
        else:
            continue
        written = f"{int(month):02d}-{int(day):02d}"
        if written not in found:
            found.append(written)
        if len(found) == _MOST_DAYS:
            break
    return ",".join(found) or None


def _other_days(new: StoryKey, old: StoryKey, distance: int | None) -> bool:
    """Whether two bodies of about one length under equal titles, not near duplicates, name
    none of the same days (`_BODY_DAY`): a daily bulletin and another day's."""
    if distance is None or distance <= NEAR_DUPLICATE_BITS or not new.days or not old.days:
        return False
    if not _alike_lengths(new, old):
        return False  # a summary, or a page with its site's chrome: the title decides
    return not set(new.days.split(",")) & set(old.days.split(","))


def _alike_lengths(new: StoryKey, old: StoryKey) -> bool:
    if not new.body_chars or not old.body_chars:
        return False
    shorter, longer = sorted((new.body_chars, old.body_chars))
    return shorter >= ALIKE_LENGTHS * longer


def _time_order(published: datetime | None) -> tuple[int, float]:
    """Sort key: dated before undated, then oldest first. A date known to the day only (a list
    page's `2026-11-29`, stored as midnight) counts as that day's end: a copy dated 09:00 the
    same day is no later than it, and a portal's day-only copy must not come before the
    origin's own item timed that morning."""
    if published is None:
        return (1, 0.0)
    day_only = (published.hour, published.minute, published.second, published.microsecond) == (
        0, 0, 0, 0,
    )  # fmt: skip
    return (0, published.timestamp() + (_DAY_END if day_only else 0.0))


def matches(new: StoryKey, candidates: Sequence[StoryKey]) -> list[Match]:
    """Every story `new` matches among stored `candidates`, the one it joins first.

    Never pairs two items of one source, and never joins a story that already holds an item of
    `new`'s source: a portal's daily "天气预报" must not join yesterday's story through another
    site's copy. (For the second guard, pass every member of each candidate story.) Link beats
    title beats body; then the closest body, the oldest item, config order, and keys decide.
    Two stories both matched are copies of one story (SPEC §7 matches pairs of copies), so the
    caller merges the others into the first where their sources allow.
    """
    taken = {c.story_id for c in candidates if c.source_id == new.source_id}
    best: dict[str, tuple[_Rank, Match]] = {}
    for old in candidates:
        if old.story_id is None or old.story_id in taken:
            continue
        found = _rule(new, old)
        if found is not None:
            rule, distance = found
            rank = (_RULE_RANK[rule], distance, _time_order(old.published), old.source_order)
            ranked = ((*rank, old.story_id, old.item_key), Match(old.story_id, rule, old.item_key))
            if old.story_id not in best or ranked[0] < best[old.story_id][0]:
                best[old.story_id] = ranked
    return [found for _, found in sorted(best.values(), key=lambda pair: pair[0])]


def match(new: StoryKey, candidates: Sequence[StoryKey]) -> Match | None:
    """The story `new` joins among stored `candidates` (see `matches`), or None for a story
    of its own."""
    found = matches(new, candidates)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One item of a story, as the origin decision needs it."""

    item_key: str
    source_id: str
    published: datetime | None
    source_order: int
    origin_name: str | None = None  # whom the item credits (来自, 来源, 转载自, Source: …)
    origin_url: str | None = None  # the credited origin's URL, when the item gives one


@dataclass(frozen=True, slots=True)
class Decision:
    """A story's canonical copy and origin.

    `origin` is the party the copies credit (our source by its `name`), even when it is not one of
    our sources; None when no copy credits anyone. `origin_source_id` is our source the story
    comes from: the credited one when it is ours, None when the credited party is not ours, and
    the canonical copy's source when nobody is credited.
    """

    canonical_key: str
    origin: Party | None
    origin_source_id: str | None
    reason: Reason


def _name_key(name: str) -> str:
    """How credited names compare: folded as titles are (width, case, and Traditional as
    Simplified: a Taiwanese or Hong Kong repost's `來源：漢中發布` credits 汉中发布), without
    whitespace."""
    return "".join(fold(name).split())


def _member_order(member: StoryMember) -> tuple[tuple[int, float], int, str]:
    """Earliest published first, then config order, then key: total and deterministic."""
    return _time_order(member.published), member.source_order, member.item_key


@dataclass(frozen=True, slots=True)
class SourceNames:
    """Our sources' names and aliases, keyed as credits compare, and the name each source is
    shown by (the first given for it: its `name`); build once per config."""

    by_key: Mapping[str, str]
    shown: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, names: Mapping[str, str]) -> SourceNames:
        """From `name or alias -> source id`, each source's `name` first; the first source
        listed for a name keeps it."""
        by_key: dict[str, str] = {}
        shown: dict[str, str] = {}
        for name, source_id in names.items():
            by_key.setdefault(_name_key(name), source_id)
            shown.setdefault(source_id, name.strip())
        return cls(MappingProxyType(by_key), MappingProxyType(shown))


def choose_canonical(
    members: Sequence[StoryMember], source_names: SourceNames | Mapping[str, str]
) -> Decision:
    """Decide a story's origin and canonical copy (SPEC §7).

    The origin is the party most copies credit, a source's name and aliases counting as one
    party (ties: the party credited earliest), named by its `name` when it is our source, else
    as its earliest crediting copy writes it;
    our sources first: a party that is none of them is the origin only when no copy credits
    one that is.
    When that party is our source and has a copy here, its copy is canonical; otherwise the
    earliest published copy is, else the first in config order.
    """
    if not members:
        raise ValueError("a story has at least one member")
    if not isinstance(source_names, SourceNames):
        source_names = SourceNames.of(source_names)
    ids = source_names.by_key

    def party(name: str) -> tuple[str, str]:
        key = _name_key(name)
        return ("source", ids[key]) if key in ids else ("name", key)

    credits = sorted(
        (_member_order(m), party(m.origin_name), m.origin_name.strip(), m.origin_url)
        for m in members
        if m.origin_name and _name_key(m.origin_name)
    )
    if not credits:
        first = min(members, key=_member_order)
        reason: Reason = "earliest" if first.published is not None else "config_order"
        return Decision(first.item_key, None, first.source_id, reason)
    # A credit naming one of our sources is matched, one naming anybody else (`网络`, a
    # name nobody configured) only read: it decides only when no copy credits a source of ours.
    ours = [credit for credit in credits if credit[1][0] == "source"]
    votes = Counter(p for _, p, _, _ in ours or credits)
    credited = max(votes, key=votes.__getitem__)  # max keeps the first of equals: the earliest
    voters = [(name, url) for _, p, name, url in credits if p == credited]
    closest: StoryMember | None = None  # the copy of the last source of ours on the chain
    # The credited source's own copy may credit another in turn (a portal's repost of a
    # newspaper): the story is the one its copies lead to, not a station on the way.
    seen = {credited}
    while credited[0] == "source" and (theirs := _own_copy(members, credited[1])) is not None:
        closest = theirs
        if not theirs.origin_name or (onward := party(theirs.origin_name)) in seen:
            break
        seen.add(onward)
        credited, voters = onward, [(theirs.origin_name.strip(), theirs.origin_url)]
    url = next((url for _, url in voters if url), None)
    origin_id = credited[1] if credited[0] == "source" else None
    own = [m for m in members if m.source_id == origin_id]
    canonical = min(own or ([closest] if closest else members), key=_member_order)
    # A source of ours goes by its own name: a Taiwanese copy's `漢中發布`, or an alias, is
    # how that copy wrote it, not what readers of the source's own items know it as.
    name = source_names.shown.get(origin_id, "") if origin_id else ""
    return Decision(canonical.item_key, Party(name or voters[0][0], url), origin_id, "credited")


def _own_copy(members: Sequence[StoryMember], source_id: str) -> StoryMember | None:
    """A source's earliest copy in the story, if it has one."""
    return min((m for m in members if m.source_id == source_id), key=_member_order, default=None)
