"""Enclosures (podcast audio, attachments): read from RSS, Atom and JSON Feed on every parse
path, stored, and published in RSS 2.0, Atom 1.0 and JSON Feed 1.1."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from aggregator.config import load_config
from aggregator.service import running_service
from feeds.enclosures import length, media_type
from feeds.fastxml import parse_fast
from feeds.feedxml import parse_xml_feed
from feeds.identity import content_hash
from feeds.jsonfeed import parse_json_feed
from feeds.model import Enclosure, ParsedFeed, ParsedItem
from tests.conftest import FIXTURES, run_cli_async
from tests.publishing import client_for
from tests.upstream import upstream_site

FEEDS = FIXTURES / "feeds"
URL = "http://odd.example.cn/podcast.xml"
P1 = Enclosure("http://odd.example.cn/p1.mp3", "audio/mpeg", 123)
ATOM = "{http://www.w3.org/2005/Atom}"


def both_paths(name: str) -> ParsedFeed:
    body = (FEEDS / name).read_bytes()
    fast = parse_fast(body, url=URL)
    assert fast is not None, "a well-formed podcast takes the fast path"
    assert fast == parse_xml_feed(body, url=URL)
    return fast


def test_a_podcasts_rss_keeps_its_enclosures() -> None:
    feed = both_paths("podcast_enclosures.xml")

    assert [item.enclosures for item in feed.items] == [
        (P1,),  # the javascript: one is dropped
        (
            # relative to the feed; a length that is no number is unknown; the second listing
            # of an address is left out
            Enclosure("http://odd.example.cn/media/p2.m4a", "audio/x-m4a", None),
            Enclosure("http://odd.example.cn/media/p2.pdf", "application/pdf", None),  # -1
            Enclosure("http://odd.example.cn/media/p2.ogg", "", None),  # 20 digits
        ),
        (),
    ]
    assert dict(feed.items[0].provenance)["enclosures"] == "feed"
    assert "enclosures" not in dict(feed.items[2].provenance)


def test_an_atom_feeds_enclosure_links() -> None:
    feed = both_paths("podcast_enclosures_atom.xml")

    assert [item.enclosures for item in feed.items] == [
        (P1, Enclosure("http://odd.example.cn/text/p1-transcript.txt")),  # its own xml:base
        (Enclosure("http://odd.example.cn/media/p2.m4a", "audio/x-m4a", None),),  # length 0
    ], "a source's enclosure is not the entry's"


def test_a_json_feeds_attachments() -> None:
    body = (FEEDS / "podcast_attachments.json").read_bytes()

    feed = parse_json_feed(body, url="http://odd.example.cn/feed.json")

    assert [item.enclosures for item in feed.items] == [
        (P1, Enclosure("http://odd.example.cn/media/p1.pdf", "application/pdf", 456)),
        (
            Enclosure("http://odd.example.cn/media/p2.m4a", "", None),
            Enclosure("http://odd.example.cn/media/p2.ogg", "", None),  # `true` is no size
        ),
        (),
    ]
    assert dict(feed.items[0].provenance)["enclosures"] == "feed"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("123", 123), (" 42 ", 42), (7, 7), (7.0, 7), ("0", None), (0, None), ("-1", None),
     (-5, None), ("12,345", None), ("1e6", None), ("٣", None), ("", None), (None, None),
     (True, None), (7.5, None), (float("nan"), None), ("9" * 20, None), (10**13, None)],
)  # fmt: skip
def test_a_length_is_a_size_in_bytes_or_unknown(given: object, expected: int | None) -> None:
    assert length(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [("audio/mpeg", "audio/mpeg"), ("Audio/MPEG", "audio/mpeg"), (" audio/mp4 ", "audio/mp4"),
     ("video/mp4; codecs=avc1", "video/mp4"), ("application/vnd.apple.mpegurl",
     "application/vnd.apple.mpegurl"), ("mp3", ""), ("audio/*", ""), ("audio/", ""),
     ("a/b/c", ""), ("audio mpeg", ""), ("<b>audio/mpeg</b>", ""), (None, ""), (3, "")],
)  # fmt: skip
def test_a_type_is_a_media_type_or_empty(given: object, expected: str) -> None:
    assert media_type(given) == expected


def test_an_enclosure_counts_in_the_content_hash() -> None:
    """A changed enclosure is an update; an item without any keeps the digest it was stored
    with before items had enclosures, so no stored item reads as changed."""
    item = ParsedItem(title="第1期", url="http://odd.example.cn/p1.html")

    with_audio = replace(item, enclosures=(P1,))

    assert content_hash(item) == "00cb7fbfed2211908781191dba95792f070e518db270b4efa7e0cf8d270eec58"
    assert content_hash(with_audio) != content_hash(item)
    resized = replace(item, enclosures=(replace(P1, length=124),))
    assert content_hash(with_audio) != content_hash(resized)


CONFIG = """
[service]
title = "汉中之声"
base_url = "http://feeds.example"
database = "{db}"

[[sources]]
id = "pod"
name = "汉中之声"
url = "{rss}"

[[sources]]
id = "podjson"
name = "汉中之声 JSON Feed"
url = "{json}"
"""


def attributes(element: etree._Element) -> dict[str, str]:
    return {str(name): str(value) for name, value in element.items()}


def enclosures_of(body: bytes, fmt: str) -> dict[str, list[dict[str, str]]]:
    """Each published entry's enclosures by title, as the document writes them."""
    if fmt == "json":
        return {item["title"]: item.get("attachments", []) for item in json.loads(body)["items"]}
    root = etree.fromstring(body)
    if fmt == "rss":
        return {
            item.findtext("title", ""): [attributes(e) for e in item.findall("enclosure")]
            for item in root.iter("item")
        }
    return {
        entry.findtext(f"{ATOM}title", ""): [
            attributes(link)
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel") == "enclosure"
        ]
        for entry in root.iter(f"{ATOM}entry")
    }


async def test_enclosures_are_stored_published_and_updated(tmp_path: Path) -> None:
    rss = (FEEDS / "podcast_enclosures.xml").read_bytes()
    async with upstream_site() as upstream:
        upstream.publish("/podcast.xml", rss, "application/rss+xml")
        upstream.publish(
            "/feed.json", (FEEDS / "podcast_attachments.json").read_bytes(), "application/feed+json"
        )
        config_path = tmp_path / "config.toml"
        config_path.write_text(
            CONFIG.format(
                db=tmp_path / "db.sqlite3",
                rss=upstream.url("/podcast.xml"),
                json=upstream.url("/feed.json"),
            ),
            "utf-8",
        )
        m4a = {"url": upstream.url("/media/p2.m4a"), "type": "audio/x-m4a"}
        pdf = {"url": upstream.url("/media/p2.pdf"), "type": "application/pdf"}
        ogg = {"url": "http://odd.example.cn/media/p2.ogg"}
        audio = {"url": P1.url, "type": "audio/mpeg", "length": "123"}

        code, out, err = await run_cli_async("preview", config_path, "pod", "--json")
        assert code == 0, err
        previewed = json.loads(out)["items"][1]
        assert previewed["fields"]["enclosures"] == [
            {"url": m4a["url"], "media_type": "audio/x-m4a", "length": None},
            {"url": pdf["url"], "media_type": "application/pdf", "length": None},
            {"url": ogg["url"], "media_type": "", "length": None},
        ]
        assert previewed["provenance"]["enclosures"] == "feed"

        config = load_config(config_path)
        async with running_service(config, schedule=False) as service:
            for source in config.sources:
                report = await service.pipeline.run(source)
                assert (report.result, report.new) == ("ok", 3), report
            async with client_for(service) as client:

                async def published(path: str, fmt: str) -> dict[str, list[dict[str, str]]]:
                    response = await client.get(f"{path}.{fmt}")
                    assert response.status == 200, path
                    return enclosures_of(await response.read(), fmt)

                # RSS: one enclosure an item, the first; its length "0" when unknown
                assert await published("/sources/pod", "rss") == {
                    "第1期：朱鹮的故事": [audio],
                    "第2期：汉中面皮": [{**m4a, "length": "0"}],
                    "节目预告": [],
                }
                # Atom: every one, with the type and length known
                assert await published("/sources/pod", "atom") == {
                    "第1期：朱鹮的故事": [
                        {"rel": "enclosure", "href": P1.url, "type": "audio/mpeg", "length": "123"}
                    ],
                    "第2期：汉中面皮": [
                        {"rel": "enclosure", "href": m4a["url"], "type": "audio/x-m4a"},
                        {"rel": "enclosure", "href": pdf["url"], "type": "application/pdf"},
                        {"rel": "enclosure", "href": ogg["url"]},
                    ],
                    "节目预告": [],
                }
                # JSON Feed: every one; `mime_type` is required
                assert (await published("/sources/pod", "json"))["第2期：汉中面皮"] == [
                    {"url": m4a["url"], "mime_type": "audio/x-m4a"},
                    {"url": pdf["url"], "mime_type": "application/pdf"},
                    {"url": ogg["url"], "mime_type": "application/octet-stream"},
                ]
                from_json = await published("/sources/podjson", "json")
                assert from_json["第1期：朱鹮的故事"] == [
                    {"url": P1.url, "mime_type": "audio/mpeg", "size_in_bytes": 123},
                    {
                        "url": upstream.url("/media/p1.pdf"),  # relative to the feed
                        "mime_type": "application/pdf",
                        "size_in_bytes": 456,
                    },
                ]

                # Upstream replaces the first episode's audio: the item is updated in place.
                hq = {"url": "http://odd.example.cn/p1-hq.mp3", "type": "audio/mpeg"}
                upstream.publish(
                    "/podcast.xml",
                    rss.replace(b'p1.mp3" length="123"', b'p1-hq.mp3" length="4567"'),
                    "application/rss+xml",
                )
                pod = config.source("pod")
                assert pod is not None
                report = await service.pipeline.run(pod)
                assert (report.new, report.updated, report.unchanged) == (0, 1, 2), report
                rss_items = await published("/sources/pod", "rss")
                assert rss_items["第1期：朱鹮的故事"] == [{**hq, "length": "4567"}]
                atom_entries = await published("/sources/pod", "atom")
                assert {"rel": "enclosure", "href": hq["url"], "type": "audio/mpeg",
                        "length": "4567"} in atom_entries["第1期：朱鹮的故事"]  # fmt: skip
