"""Generate `tests/fixtures/stories/pairs.jsonl`: labelled item pairs for the story matcher.

Each line is `{"kind", "same", "a", "b"}` with `a`/`b` = `{title, text, link, published, source}`.
Positives are copies of one article as other sites republish it (punctuation, script, tags,
attribution, trimming, templates, shared links); negatives are different articles that share
templates, boilerplate, recurring titles or near-identical titles. Deterministic: rerun with
`python -m bench.make_pairs` after changing the fixtures, and commit the output.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import opencc

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stories"
ORIGIN = "汉中发布"
COPY_SOURCES = ("hz1w", "hzxw", "sxrb", "hzrb", "hzwb", "cgxw", "xxxw", "nzxw", "ylxw", "mxxw")
TAGS = ("【喜讯】", "[转载]", "【关注】", "〔视频〕", "【重磅】")
SUFFIXES = ("（图）", "(组图)", "【视频】")
ATTRIBUTIONS = (
    "(来源:{o})",
    "（来源：{o}）",
    "来源：{o}\n责任编辑：王敏",
    "Source: {o}",
    "本文来源：{o}  编辑：李娜  审核：张伟",
    "【来源：{o}】",
)
TO_HALF = str.maketrans({"，": ", ", "。": ". ", "：": ":", "；": ";", "（": "(", "）": ")"})
TO_FULL = str.maketrans({",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！"})
TO_FULL_TITLE = str.maketrans({"!": "！", ",": "，", " ": "　", "“": '"', "”": '"'})

Item = dict[str, str]
Recipe = Callable[[random.Random, Item, str], Item]
_S2T: Callable[[str], str] = opencc.OpenCC("s2t").convert


def _read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _later(item: Item, hours: int) -> str:
    return (datetime.fromisoformat(item["published"]) + timedelta(hours=hours)).isoformat()


def _repunctuate(text: str) -> str:
    """Swap punctuation widths and paragraph spacing, as re-typeset copies do."""
    swapped = text.translate(TO_HALF) if "，" in text else text.translate(TO_FULL)
    return "\n\n".join(line.strip() for line in swapped.splitlines() if line.strip())


def _attribute(rng: random.Random, text: str) -> str:
    lead = f"转载自：{ORIGIN}\n" if rng.random() < 0.3 else ""
    return lead + text.rstrip() + "\n" + rng.choice(ATTRIBUTIONS).format(o=ORIGIN)


def _trim(text: str) -> str:
    """Drop the last paragraph: the usual editing of a reposted article."""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:-1])


def _copy(base: Item, source: str, rng: random.Random, **changes: str) -> Item:
    fields = {
        "title": base["title"],
        "text": base["text"],
        "link": f"https://{source}.example.com/{rng.randrange(10**6)}.html",
        "published": _later(base, rng.randint(1, 60)),
        "source": source,
    }
    return fields | changes


def _templated(text: str) -> str:
    return _read("portal_template.txt").format(body=text.strip())


# Copies of `base` as another site publishes them; the name says which change is made.
RECIPES: dict[str, Recipe] = {
    "attributed": lambda r, b, s: _copy(b, s, r, text=_attribute(r, _repunctuate(b["text"]))),
    "tagged_title": lambda r, b, s: _copy(b, s, r, title=r.choice(TAGS) + b["title"]),
    "suffixed_title": lambda r, b, s: _copy(b, s, r, title=b["title"] + r.choice(SUFFIXES)),
    "fullwidth_title": lambda r, b, s: _copy(b, s, r, title=b["title"].translate(TO_FULL_TITLE)),
    "traditional": lambda r, b, s: _copy(b, s, r, title=_S2T(b["title"]), text=_S2T(b["text"])),
    "retitled_attributed": lambda r, b, s: _copy(
        b, s, r, title=b["retitle"], text=_attribute(r, _repunctuate(b["text"]))
    ),
    "retitled_traditional": lambda r, b, s: _copy(
        b, s, r, title=_S2T(b["retitle"]), text=_S2T(b["text"])
    ),
    "trimmed_same_title": lambda r, b, s: _copy(b, s, r, text=_trim(b["text"])),
    "portal_template": lambda r, b, s: _copy(b, s, r, text=_templated(b["text"])),
    "summary_only": lambda r, b, s: _copy(b, s, r, text=b["text"].strip()[:100] + "…"),
    "same_link": lambda r, b, s: _copy(
        b,
        s,
        r,
        title=b["retitle"],
        text=b["text"].strip()[:60] + "…",
        link=b["link"].replace("https://www.", "http://") + "?utm_source=wechat&from=timeline",
    ),
    # Out of the body rule's reach by design (not near-identical): counted, reported apart.
    "retitled_trimmed": lambda r, b, s: _copy(b, s, r, title=b["retitle"], text=_trim(b["text"])),
}
COPY_PAIRS = (
    ("attributed", "tagged_title"),
    ("attributed", "traditional"),
    ("attributed", "retitled_attributed"),
    ("traditional", "retitled_traditional"),
    ("retitled_attributed", "retitled_traditional"),
    ("tagged_title", "trimmed_same_title"),
    ("traditional", "portal_template"),
    ("suffixed_title", "summary_only"),
)


def _bases() -> list[Item]:
    meta = json.loads(_read("items.json"))
    official = meta["seed"][0]
    seed = {
        "key": "seed",
        "title": official["title"],
        "retitle": "汉中市被科技部命名为国家创新型城市",
        "text": _read(official["text"]),
        "link": official["link"],
        "published": official["published"],
        "source": official["source"],
    }
    others = [
        {
            "key": a["key"],
            "title": a["title"],
            "retitle": a["retitle"],
            "text": _read(a["text"]),
            "link": f"https://www.example.org/hzfb/{a['key']}.html",
            "published": a["published"],
            "source": "hzfb",
        }
        for a in meta["articles"]
    ]
    return [seed, *others]


def _public(item: Item) -> Item:
    return {k: item[k] for k in ("title", "text", "link", "published", "source")}


def _pair(kind: str, same: bool, a: Item, b: Item) -> dict[str, Any]:
    return {"kind": kind, "same": same, "a": _public(a), "b": _public(b)}


def positives(rng: random.Random, bases: list[Item]) -> list[dict[str, Any]]:
    pairs = []
    for base in bases:
        copies = {
            name: recipe(rng, base, COPY_SOURCES[i % len(COPY_SOURCES)])
            for i, (name, recipe) in enumerate(RECIPES.items())
        }
        pairs += [_pair(name, True, base, copy) for name, copy in copies.items()]
        pairs += [_pair(f"{x}+{y}", True, copies[x], copies[y]) for x, y in COPY_PAIRS]
    return pairs


def negatives(rng: random.Random, bases: list[Item]) -> list[dict[str, Any]]:
    pairs = []
    for a, b in itertools.combinations(bases, 2):
        # Same site template, each on its own date (the two weekly forecasts share a title
        # 30 days apart).
        pairs.append(
            _pair(
                "different_template",
                False,
                _copy(a, "hz1w", rng, text=_templated(a["text"]), published=a["published"]),
                _copy(b, "hzxw", rng, text=_templated(b["text"]), published=b["published"]),
            )
        )
        # Same attribution line and lead, same day.
        lead = "本网讯 2022年1月14日\n"
        pairs.append(
            _pair(
                "different_attributed",
                False,
                _copy(
                    a, "hz1w", rng, text=lead + _attribute(rng, a["text"]), published=a["published"]
                ),
                _copy(
                    b, "sxrb", rng, text=lead + _attribute(rng, b["text"]), published=_later(a, 2)
                ),
            )
        )
    for a, b in zip(bases, bases[1:] + bases[:1], strict=True):
        # A recurring title a month later over another article's text.
        pairs.append(
            _pair(
                "same_title_30_days",
                False,
                a,
                _copy(b, "hz1w", rng, title=a["title"], published=_later(a, 30 * 24)),
            )
        )
        # A one-word-different title, another article.
        near = a["title"][:3] + "下周" + a["title"][5:]
        pairs.append(
            _pair(
                "similar_title", False, a, _copy(b, "hzxw", rng, title=near, published=_later(a, 5))
            )
        )
    shorts = [line for line in _read("short_boilerplate.txt").splitlines() if line.strip()]
    for (i, x), (j, y) in itertools.combinations(enumerate(shorts), 2):
        a = {
            "title": f"汉中市简讯第{i}期",
            "text": x,
            "link": f"https://hz1w.example.com/s{i}.html",
            "published": "2022-01-14T09:00:00+08:00",
            "source": "hz1w",
        }
        pairs.append(
            _pair("short_body", False, a, _copy(a, "hzxw", rng, title=f"汉中市简讯第{j}期", text=y))
        )
    for i, x in enumerate(shorts):
        a = {
            "title": "图片新闻",
            "text": x,
            "link": f"https://hz1w.example.com/p{i}.html",
            "published": "2022-01-14T09:00:00+08:00",
            "source": "hz1w",
        }
        pairs.append(_pair("short_title_and_body", False, a, _copy(a, "hzxw", rng)))
    # A recurring column within the title window: a known false merge of the title rule.
    week1, week5 = (b for b in bases if b["key"].startswith("weather"))
    for source in ("hzxw", "sxrb"):
        pairs.append(
            _pair(
                "recurring_title_in_window",
                False,
                week1,
                _copy(week5, source, rng, title=week1["title"], published=_later(week1, 72)),
            )
        )
    return pairs


def main() -> None:
    rng = random.Random(20220114)
    bases = _bases()
    pairs = positives(rng, bases) + negatives(rng, bases)
    with (FIXTURES / "pairs.jsonl").open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(pair, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(pairs)} pairs ({sum(p['same'] for p in pairs)} same) -> {out.name}")


if __name__ == "__main__":
    main()
