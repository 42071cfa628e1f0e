"""`q`, `tag` and `source` on feed routes, over a real socket, with paging and merged stories."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from aggregator.service import Service
from aggregator.web.keys import CACHE
from tests.publishing import BASE, Client, client_for, fetched_service


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with fetched_service(tmp_path) as running:
        yield running


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with client_for(service) as test_client:
        yield test_client


async def _json(client: Client, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == 200, await response.text()
    document: dict[str, Any] = json.loads(await response.read())
    return document


async def _titles(client: Client, url: str) -> list[str]:
    return [item.get("title", "") for item in (await _json(client, url))["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("春运", ["汉中市2022年春运工作全面启动", "]]> 春运 CDATA end <![CDATA[ x ]]>"]),
        ("朱鹮", ["汉中朱鹮数量突破七千只"]),
        ("勉县", ["勉县：冬日油菜田管护忙"]),
        ("油菜田管护", ["勉县：冬日油菜田管护忙"]),  # a phrase of bigrams
        ("鹮", ["汉中朱鹮数量突破七千只"]),  # one character: the end of a run
        ("勉縣", ["勉县：冬日油菜田管护忙"]),  # Traditional finds Simplified
        ("JERRY", ["Tom & Jerry ]]> 汉中"]),  # Latin words, case-folded
        ("jer", ["Tom & Jerry ]]> 汉中"]),  # ... and prefixes of them
        ("春运 启动", ["汉中市2022年春运工作全面启动"]),  # every word must match
        ("运春", []),
    ],
)
async def test_q_finds_chinese_words_of_two_characters(
    client: Client, query: str, expected: list[str]
) -> None:
    assert await _titles(client, f"/feeds/all.json?q={quote(query)}") == expected


async def test_q_shows_each_story_once_in_merged_feeds(client: Client) -> None:
    document = await _json(client, f"/feeds/all.json?q={quote('科技')}")
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids))
    story = [i for i in document["items"] if i["title"].startswith("汉中又新增一项国字号荣誉")]
    assert len(story) == 1, "the story, not both of its copies"
    assert story[0]["_source"]["id"] == "hzfb", "the canonical copy when it matches"
    assert [copy["source"] for copy in story[0]["_copies"]] == ["portal"]


async def test_a_story_matching_only_through_another_copy_shows_that_copy(client: Client) -> None:
    # Only the portal's copy carries the tag 汉中新闻: the story is shown once, as that copy.
    document = await _json(client, f"/feeds/all.json?tag={quote('汉中新闻')}")
    assert [(i["title"], i["_source"]["id"]) for i in document["items"]] == [
        ("汉中又新增一项国字号荣誉!", "portal"),
        ("勉县：冬日油菜田管护忙", "portal"),
    ]
    plain = await _json(client, "/feeds/all.json")
    same_story = [i["id"] for i in plain["items"] if i.get("title", "").startswith("汉中又新增")]
    assert document["items"][0]["id"] in same_story, "the story keeps its one entry id"


async def test_tag_and_source_narrow_merged_and_source_feeds(client: Client) -> None:
    assert await _titles(client, f"/feeds/all.json?tag={quote('交通')}") == [
        "汉中市2022年春运工作全面启动"
    ]
    # Source tags are item tags too; tags compare without ASCII case.
    assert len(await _titles(client, f"/feeds/all.json?tag={quote('政务')}")) == 3
    assert await _titles(client, "/feeds/all.json?tag=A%26B") == [
        "<img src=x onerror=\"document.title='pwned';document.body.setAttribute('data-pwned',"
        "'1')\"> 汉中 & co ]]> end"
    ]
    # a tag is found as every format publishes it: `<b>tag</b>` is the tag `tag`
    published = await _titles(client, "/feeds/all.json?tag=tag")
    assert published == await _titles(client, "/feeds/all.json?tag=A%26B")
    assert await _titles(client, f"/feeds/all.json?tag={quote('<b>tag</b>')}") == []
    only_portal = await _json(client, "/feeds/local.json?source=portal")
    assert {item["_source"]["id"] for item in only_portal["items"]} == {"portal"}
    assert len(only_portal["items"]) == 2, "the portal's copy of a story hzfb leads"
    combined = await _titles(client, f"/sources/hzfb.json?q={quote('汉中')}&tag={quote('科技')}")
    assert combined == ["汉中又新增一项国字号荣誉！"]


async def test_paging_keeps_the_query_and_never_repeats_a_story(client: Client) -> None:
    url = f"/feeds/all.json?q={quote('汉中')}&limit=2"
    seen: list[str] = []
    pages = 0
    while url:
        document = await _json(client, url)
        assert document["feed_url"] == BASE + url
        seen += [item["id"] for item in document["items"]]
        next_url = document.get("next_url", "")
        if next_url:
            assert "q=%E6%B1%89%E4%B8%AD" in next_url
            assert "limit=2" in next_url
        url = next_url.removeprefix(BASE)
        pages += 1
    assert len(seen) == len(set(seen)) == 5  # 3 of hzfb (one story with the portal), 2 hostile
    assert pages == 3


async def test_self_link_is_the_requested_url_with_its_query(client: Client) -> None:
    url = f"/feeds/keji.atom?q={quote('汉中')}&limit=1"
    body = await (await client.get(url)).text()
    assert f'<link href="{BASE}{url.replace("&", "&amp;")}" rel="self"' in body


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("q=", "q"),
        ("q=%20%21%21", "q"),
        ("q=" + "x" * 201, "q"),
        ("q=" + "+".join("汉中" for _ in range(17)), "q"),  # the 17th word was left out
        ("tag=", "tag"),
        ("tag=" + "t" * 101, "tag"),
        ("source=NOPE", "source"),
        ("source=nope", "source"),
        ("source=hostile", "source"),  # not a source of the feed "local"
        ("limit=2&limit=3", "limit"),
        ("q=a&q=b", "q"),
        ("before=nan_1", "before"),
        ("before=1_x", "before"),
        ("before=1_1_1", "before"),  # `1_1` is a row to Python's int(), not to a cursor
        ("before=%D9%A5_%D9%A5", "before"),  # Arabic-Indic digits
        ("before=1.5_", "before"),
        ("page=2", "page"),  # answered with the first page, it was page 1 again, silently
        ("page=abc", "page"),
    ],
)
async def test_bad_values_answer_400_naming_the_parameter(
    client: Client, query: str, parameter: str
) -> None:
    assert (await client.get("/feeds/local.atom")).status == 200  # cached first: still refused
    response = await client.get(f"/feeds/local.atom?{query}")
    assert response.status == 400
    assert (await response.text()).startswith(f"{parameter}: ")
    assert response.headers["Access-Control-Allow-Origin"] == "*", "a partner's script reads why"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_source_feed_accepts_only_its_own_source(client: Client) -> None:
    assert (await client.get("/sources/hzfb.rss?source=hzfb")).status == 200
    assert (await client.get("/sources/hzfb.rss?source=portal")).status == 400


async def _renders(client: Client) -> float:
    text = await (await client.get("/metrics")).text()
    (line,) = [x for x in text.splitlines() if x.startswith("aggregator_feed_cache_misses_total")]
    return float(line.split()[1])


async def test_parameters_no_route_reads_change_nothing_and_render_nothing(
    client: Client,
) -> None:
    """A cache-buster or a tracker's parameter on a feed URL is the same document, found in
    memory: under each new value it was rendered again, which anyone could keep doing."""
    first = await client.get("/feeds/all.json?limit=2")
    renders = await _renders(client)
    for extra in ("_=1", "_=2", "utm_source=wechat&from=timeline", "LIMIT=9", "Q=x"):
        again = await client.get(f"/feeds/all.json?limit=2&{extra}")
        assert again.headers["ETag"] == first.headers["ETag"], extra
    embed = await client.get("/embed/all?theme=dark")
    embed_renders = await _renders(client)
    assert (await client.get("/embed/all?theme=dark&_=7")).headers["ETag"] == embed.headers["ETag"]
    assert await _renders(client) == embed_renders == renders + 1
    document = await _json(client, "/feeds/all.json?_=3&limit=2&utm_source=x")
    assert document["feed_url"] == f"{BASE}/feeds/all.json?limit=2"
    assert document["next_url"].startswith(f"{BASE}/feeds/all.json?limit=2&before=")


@pytest.mark.parametrize(
    ("query", "self_query"),
    [
        ("?&&limit=2&", "?limit=2"),
        ("?limit=2&%ZZ=1&=x", "?limit=2"),
        ("?li%6Dit=2", "?limit=2"),  # a name spelled in escapes is still the parameter
        ("?limit=2;x=1", None),  # not a separator: `2;x=1` is no limit
    ],
)
async def test_odd_query_strings_are_read_as_the_route_reads_them(
    client: Client, query: str, self_query: str | None
) -> None:
    response = await client.get(f"/feeds/all.json{query}")
    if self_query is None:
        assert response.status == 400
        assert (await response.text()).startswith("limit: ")
        return
    assert response.status == 200
    document = await response.json()
    assert document["feed_url"] == f"{BASE}/feeds/all.json{self_query}"
    assert len(document["items"]) == 2


async def _raw_get(client: Client, target: str) -> tuple[bytes, bytes]:
    """The head and body answering a request line no HTTP client library writes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    "target",
    [
        "http://elsewhere.example/feeds/all.json?limit=2",  # absolute form (RFC 9112 3.2.2)
        "/feeds/all.json?limit=2#top",  # a fragment, which clients do not send
        '/feeds/all.json?limit=2#"><x',
    ],
)
async def test_the_request_target_is_read_as_its_path_and_query(
    client: Client, target: str
) -> None:
    first = await _json(client, "/feeds/all.json?limit=2")
    renders = await _renders(client)
    head, body = await _raw_get(client, target)
    assert head.startswith(b"HTTP/1.1 200"), head
    document = json.loads(body)
    assert document["feed_url"] == f"{BASE}/feeds/all.json?limit=2"
    assert document == first
    assert await _renders(client) == renders, "the document rendered for the path and query"


async def test_partner_scripts_read_every_answer_of_the_feed_routes(client: Client) -> None:
    """A script that sends a validator of its own asks first; a mistyped path is a 404 it
    may read, as a bad parameter's 400 is."""
    asked = {"Origin": "https://partner.example", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "if-none-match"}  # fmt: skip
    for path in ("/feeds/all.json", "/sources/hzfb.atom", "/embed/all.js"):
        response = await client.options(path, headers=asked)
        assert response.status == 204, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
        assert "GET" in response.headers["Access-Control-Allow-Methods"]
    for path in ("/feeds/all.xml", "/feeds/ALL.json", "/sources/", "/embed/ALL", "/embed/a/b"):
        response = await client.get(path)
        assert response.status == 404, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert (await response.text()).startswith("no such "), path
    said = {path: (await (await client.get(path)).text()).rstrip("\n")
            for path in ("/feeds/ALL.atom", "/feeds/all.atom/", "/sources/汉中.json")}  # fmt: skip
    assert said == {
        "/feeds/ALL.atom": "no such feed: 'ALL'; ids are written in lower-case letters, digits,"
        " - and _",
        "/feeds/all.atom/": "no such document: /feeds/all.atom/; without the slash at its end:"
        " /feeds/all.atom",
        "/sources/汉中.json": "no such source: '汉中'; ids are written in lower-case letters,"
        " digits, - and _",
    }


async def _metric(client: Client, name: str) -> float:
    text = await (await client.get("/metrics")).text()
    (line,) = [x for x in text.splitlines() if x.startswith(f"{name} ")]
    return float(line.split()[1])


async def test_a_client_asking_for_many_query_strings_is_held_to_the_bytes_allowed(
    tmp_path: Path,
) -> None:
    """Each query string is a document kept: a client walking `limit` from 300 to 400 over a
    store of long articles made the server hold 1 GB."""
    extra = 'cache_max_bytes = "128KB"'
    async with fetched_service(tmp_path, extra=extra) as running, client_for(running) as client:
        identity, cache = {"Accept-Encoding": "identity"}, client.app[CACHE]
        polled = await client.get("/feeds/all.atom", headers=identity)
        assert polled.status == 200
        for limit in range(1, 41):
            for fmt in ("atom", "rss", "json"):
                response = await client.get(f"/feeds/all.{fmt}?limit={limit}", headers=identity)
                assert response.status == 200
            hits = cache.hits
            again = await client.get("/feeds/all.atom", headers=identity)
            assert await again.read() == await polled.read()
            assert cache.hits == hits + 1, "the feed readers poll stays in memory"
        # read once: `/metrics` is itself kept for a few seconds
        assert await _metric(client, "aggregator_feed_cache_bytes") <= 128 * 1024
        assert await _metric(client, "aggregator_feed_cache_evictions_total") > 0
