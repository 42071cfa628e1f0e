"""OPML 2.0 export and import: folders as categories, untrusted input parsed safely."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from feeds.errors import ParseError
from feeds.opml import OpmlOutline, parse_opml, render_opml

OUTLINES = (
    OpmlOutline(
        "汉中发布", "https://example.org/hzfb/rss.xml", "https://example.org/", "rss", ("政务",)
    ),
    OpmlOutline("Planet", "https://planet.example/atom.xml", type="atom"),
    OpmlOutline("汉中第一网", "http://example.net/portal.php?mod=rss&catid=1", folders=("政务",)),
)


def test_render_groups_by_category_and_reads_back_in_category_order() -> None:
    body = render_opml("汉中新闻聚合", OUTLINES)

    root = etree.fromstring(body)
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "汉中新闻聚合"
    folder, planet = root.findall("body/outline")
    assert (folder.get("text"), planet.get("xmlUrl")) == ("政务", "https://planet.example/atom.xml")
    assert [dict(outline.attrib) for outline in folder] == [
        {
            "type": "rss",
            "text": "汉中发布",
            "title": "汉中发布",
            "xmlUrl": "https://example.org/hzfb/rss.xml",
            "htmlUrl": "https://example.org/",
        },
        {
            "type": "rss",
            "text": "汉中第一网",
            "title": "汉中第一网",
            "xmlUrl": "http://example.net/portal.php?mod=rss&catid=1",
        },
    ]
    assert parse_opml(body) == (OUTLINES[0], OUTLINES[2], OUTLINES[1])


def test_render_drops_control_characters() -> None:
    body = render_opml("a\x0bb", [OpmlOutline("c\x07d", "http://e.com/f\x01")])

    assert parse_opml(body) == (OpmlOutline("cd", "http://e.com/f"),)
    assert etree.fromstring(body).findtext("head/title") == "ab"


def test_parse_flattens_nested_folders_as_reader_exports_write_them() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline title="News">
      <outline text="Local">
        <outline text="Herald" type="rss" xmlurl="http://herald.example/rss" htmlurl="http://herald.example/"/>
      </outline>
      <outline title="Wire" xmlURL="http://wire.example/atom"/>
    </outline>
    <outline text="No feed here" htmlUrl="http://example.com/"/>
    <outline xmlUrl="  http://bare.example/feed  "/>
  </body>
</opml>"""

    assert parse_opml(body) == (
        OpmlOutline(
            "Herald",
            "http://herald.example/rss",
            "http://herald.example/",
            "rss",
            ("News", "Local"),
        ),
        OpmlOutline("Wire", "http://wire.example/atom", folders=("News",)),
        OpmlOutline("http://bare.example/feed", "http://bare.example/feed"),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<opml><body><outline text='x'></body>", "malformed OPML"),
        (b"", "malformed OPML"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML document"),
        (b"<opml version='2.0'><head/></opml>", "not an OPML document"),
    ],
)
def test_invalid_documents_raise(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_opml(body)


def test_an_entity_bomb_is_stopped_by_the_parser() -> None:
    levels = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )  # 10^9 expansions
    body = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">{levels}]>'
        '<opml version="2.0"><head/><body><outline text="&l9;" xmlUrl="http://x/"/></body></opml>'
    ).encode()

    started = time.perf_counter()
    with pytest.raises(ParseError, match="amplification"):
        parse_opml(body)
    assert time.perf_counter() - started < 1


def test_external_entities_are_never_read() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><head/><body>
  <outline text="leak">&xxe;<outline text="feed" xmlUrl="http://x.example/rss"/></outline>
</body></opml>"""

    outlines = parse_opml(body)

    assert outlines == (OpmlOutline("feed", "http://x.example/rss", folders=("leak",)),)
    assert "root:" not in repr(outlines)
