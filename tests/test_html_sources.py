"""Feedless sites end to end: a GBK Discuz! X portal served locally, read by selectors or
automatically, previewed with the real CLI and published with its attribution."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator.config import load_config
from aggregator.cpu import CpuPool
from aggregator.retries import ARTICLE_TRIES
from aggregator.service import running_service
from aggregator.web.app import make_app
from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import local_site

HTML = FIXTURES / "html"
SELECTORS = """
[sources.list]
item = "div.xld dl"
link = "dt a"
title = "dt a"
summary = "dd.xs2"
published = "dd .xg1"

[sources.article]
title = "h1.ph"
content = "td#article_content"
summary = "div.s"
published = "p.xg1"
author = { css = "p.xg1", regex = "发布者[:：]\\\\s*(\\\\S+)" }
origin = { css = "p.xg1", regex = "来自[:：]\\\\s*(\\\\S+)" }
remove = [".a_af", "script", "style"]
"""


class Portal:
    """A Discuz! X portal on 127.0.0.1 that declares no charset in its headers."""

    def __init__(self) -> None:
        self.base = ""
        self.hits: dict[str, int] = {}
        self.requested: list[str] = []  # every path with its query, in order
        self.robots = "User-agent: *\nDisallow: /admin/\n"
        self.list_extra = b""
        self.extra: dict[str, bytes] = {}
        self.failing: set[str] = set()  # paths (with their query, if any) answered 503
        self.html: dict[str, bytes] = {}  # pages served instead of the fixtures
        self.redirects: dict[str, str] = {}  # path (with its query, if any) -> path, a 302
        self.moved: dict[str, str] = {}  # path -> path, a 301
        self.refresh: dict[str, str] = {}  # path -> its Refresh header, with an empty page
        self.by_query: dict[str, bytes] = {}  # pages served for a path with its query
        self.list_etag: str | None = None  # the list page's ETag, and a 304 when it is asked
        self.asked_with: list[str | None] = []  # each list request's If-None-Match
        self.required: dict[str, str] = {}  # headers without which a page answers 403
        self.modified: dict[str, datetime] = {}  # Last-Modified of paths, a 304 when not since
        self.content_types: dict[str, str] = {}  # path -> its Content-Type, `text/html` else

    def page(self, name: str) -> bytes:
        body = (HTML / name).read_bytes()
        return body.replace(b"http://www.example.net/", f"{self.base}/".encode())

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            path = request.path
            self.hits[path] = self.hits.get(path, 0) + 1
            self.requested.append(request.path_qs)
            if path == "/robots.txt" and path not in self.failing:
                return web.Response(text=self.robots)
            if any(request.headers.get(k) != v for k, v in self.required.items()):
                raise web.HTTPForbidden()
            if modified := self.modified.get(path):
                since = request.if_modified_since
                if since is not None and modified <= since:
                    return web.Response(status=304)
                html_headers = {"Last-Modified": format_datetime(modified, usegmt=True)}
            else:
                html_headers = {}
            pages = {
                "/portal.php": "discuz_list.gbk.html",
                "/article-123-1.html": "discuz_article.gbk.html",
                "/article-124-1.html": "discuz_article2.gbk.html",
                **{f"/article-200-{n}.html": f"discuz_paged_{n}.gbk.html" for n in (1, 2, 3)},
            }
            if path == "/portal.php" and self.list_etag:
                self.asked_with.append(request.headers.get("If-None-Match"))
                if request.headers.get("If-None-Match") == self.list_etag:
                    return web.Response(status=304, headers={"ETag": self.list_etag})
            if path in self.failing or request.path_qs in self.failing:
                raise web.HTTPServiceUnavailable()
            if to := self.redirects.get(request.path_qs, self.redirects.get(path)):
                raise web.HTTPFound(to)
            if path in self.moved:
                raise web.HTTPMovedPermanently(self.moved[path])
            if path in self.refresh:
                return web.Response(text="<html></html>", content_type="text/html",
                                    headers={"Refresh": self.refresh[path]})  # fmt: skip
            if request.path_qs in self.by_query:
                body = self.by_query[request.path_qs]
                return web.Response(body=body, headers={"Content-Type": "text/html"})
            html_headers["Content-Type"] = self.content_types.get(path, "text/html")
            if path == "/portal.php" and self.list_etag:
                html_headers["ETag"] = self.list_etag
            if path in self.html:
                return web.Response(body=self.html[path], headers=html_headers)
            if path in self.extra:
                return web.Response(body=self.extra[path], content_type="application/rss+xml")
            if path not in pages:
                raise web.HTTPNotFound()
            body = self.page(pages[path]) + (self.list_extra if path == "/portal.php" else b"")
            return web.Response(body=body, headers=html_headers)

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        return app


@pytest.fixture
async def portal() -> AsyncIterator[Portal]:
    site = Portal()
    async with local_site(site.app()) as origin:
        site.base = origin
        yield site


def write_config(tmp_path: Path, portal: Portal, rules: str, **extra: str) -> Path:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[service]
database = "{tmp_path / "db.sqlite3"}"
base_url = "http://feeds.example"

[fetch]
timeout = "5s"

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{FIXTURES / "upstream" / "hzfb.xml"}"

[[sources]]
id = "hz1w"
name = "汉中第一网"
url = "{portal.base}/portal.php?mod=list&catid=1"
type = "html"
{lines}
{rules}
""",
        encoding="utf-8",
    )
    return path


async def preview_json(config: Path, source: str) -> dict[str, Any]:
    code, out, err = await run_cli_async("preview", config, source, "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def seed(document: dict[str, Any]) -> dict[str, Any]:
    """The seed article's preview entry: its fields and their provenance."""
    found: dict[str, Any] = next(
        i for i in document["items"] if i["fields"]["title"] == "汉中又新增一项国字号荣誉!"
    )
    return found


def assert_seed_fields(fields: dict[str, object]) -> None:
    assert fields["published"] == "2022-01-14T17:50:00+08:00"
    assert fields["author"] == "admin"
    origin = fields["origin"]
    assert isinstance(origin, dict)
    assert origin["name"] == "汉中发布"
    content = str(fields["content_html"])
    assert "2021年12月31日,汉中市又新增一项国字号荣誉" in content
    assert content.rstrip().endswith("(来源:汉中发布)</p>")
    for junk in ("鲜花", "握手", "雷人", "<script", "a_af", "相关阅读"):
        assert junk not in content, junk


@pytest.mark.parametrize("rules", [SELECTORS, SELECTORS.split("[sources.article]")[0]])
async def test_preview_reads_the_seed_article(tmp_path: Path, portal: Portal, rules: str) -> None:
    """With ten lines of selectors, and with list selectors alone (automatic extraction)."""
    document = await preview_json(write_config(tmp_path, portal, rules), "hz1w")
    assert document["charset"] == "gb18030"
    entry = seed(document)
    assert_seed_fields(entry["fields"])
    how = "selector" if "[sources.article]" in rules else "automatic"
    assert entry["provenance"]["content"] == how


async def test_preview_names_how_each_article_was_decoded(tmp_path: Path, portal: Portal) -> None:
    """A portal may serve its articles under another charset than its list (a server's
    latin-1 default before a GBK page): `preview` named the list's only."""
    portal.content_types["/article-123-1.html"] = "text/html; charset=ISO-8859-1"
    config = write_config(tmp_path, portal, SELECTORS)
    document = await preview_json(config, "hz1w")
    assert document["charset"] == "gb18030"
    entry = seed(document)
    assert_seed_fields(entry["fields"])
    assert entry["article_charset"] == "gb18030 (meta)"
    code, out, err = await run_cli_async("preview", config, "hz1w")
    assert code == 0, err
    shown = out.split("汉中又新增一项国字号荣誉!", 1)[1].split("\n#", 1)[0]
    assert re.search(r"^  charset +gb18030 \(meta\)$", shown, re.MULTILINE), shown


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
async def test_published_feeds_carry_the_attribution(
    tmp_path: Path, portal: Portal, processes: int
) -> None:
    """Records built in a thread, and in a worker process as `aggregator serve` builds them:
    the source's config, compiled selectors included, goes there with its items (it failed
    to pickle, and every html source failed under `serve`)."""
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    cpu = CpuPool(processes) if processes else None
    async with running_service(config, schedule=False, cpu=cpu) as service:
        for source in config.sources:
            report = await service.pipeline.run(source)
            assert not report.failed, report
        statuses = {s.id: s for s in await service.db.statuses(0)}
        assert statuses["hz1w"].charset == "gb18030"
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            own = feedparser.parse(await (await client.get("/sources/hz1w.rss")).read())
            entry = next(e for e in own.entries if e.title == "汉中又新增一项国字号荣誉!")
            assert entry.author == "admin"
            assert entry.published == "Fri, 14 Jan 2022 17:50:00 +0800"
            assert "(来源:汉中发布)" in entry.content[0].value
            merged = json.loads(await (await client.get("/feeds/all.json")).read())
            story = next(i for i in merged["items"] if i["title"] == "汉中又新增一项国字号荣誉！")
            assert story["_origin"]["name"] == "汉中发布"
            assert story["_source"]["id"] == "hzfb", "the official original leads the story"
            assert [c["source"] for c in story["_copies"]] == ["hz1w"]


async def test_unchanged_articles_are_not_fetched_again(tmp_path: Path, portal: Portal) -> None:
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    hz1w = config.source("hz1w")
    assert hz1w is not None
    async with running_service(config, schedule=False) as service:
        first = await service.pipeline.run(hz1w)
        assert first.new == 4, first  # two articles read, two listed items whose pages are 404
        assert portal.hits["/article-123-1.html"] == 1
        portal.list_extra = b"<!-- the page changed around the items -->"
        again = await service.pipeline.run(hz1w)
        assert again.result in ("ok", "degraded")
        assert portal.hits["/article-123-1.html"] == 1, "stored and unchanged: not refetched"
        assert portal.hits["/article-125-1.html"] == 2, "a failed article is retried"


async def test_an_article_read_again_and_found_the_same_is_then_left_alone(
    tmp_path: Path, portal: Portal
) -> None:
    """The list's summary of an item changes and its article does not: the article is read
    once more, then not again while the list says the same (it was read at every fetch)."""
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        summary = "近年来,汉中市委、市政府高度重视".encode("gbk")
        listed = portal.page("discuz_list.gbk.html").replace(summary, summary[:-4], 1)
        portal.html["/portal.php"] = listed
        again = await service.pipeline.run(config.sources[1])
        assert portal.hits["/article-123-1.html"] == 2
        assert (again.new, again.updated) == (0, 0), again
        portal.html["/portal.php"] = listed + b"<!-- the page changed around the items -->"
        await service.pipeline.run(config.sources[1])
    assert portal.hits["/article-123-1.html"] == 2, "the same listing: not read a third time"


async def test_a_list_date_that_moves_with_time_does_not_read_the_article_again(
    tmp_path: Path, portal: Portal
) -> None:
    """`3 小时前` with no calendar date beside it reads differently at every fetch; the list
    says the same of the item all the same."""
    relative = "<span>3 小时前</span>".encode("gbk")
    listed = portal.page("discuz_list.gbk.html").replace(b" 2022-1-14 17:50", relative, 1)
    portal.html["/portal.php"] = listed
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        portal.html["/portal.php"] = listed + b"<!-- the page changed around the items -->"
        await service.pipeline.run(config.sources[1])
    assert portal.hits["/article-123-1.html"] == 1


async def test_an_article_that_keeps_failing_is_tried_at_longer_intervals(
    tmp_path: Path, portal: Portal
) -> None:
    """Tried at `ARTICLE_TRIES` fetches in a row; then the unchanged list page is skipped again
    (here answering 304) until an hour has passed, then two more; the site comes back, and the
    article is read whole and no more."""
    portal.list_etag = '"v1"'
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        start = service.pipeline.clock()
        reports = [await service.pipeline.run(config.sources[1]) for _ in range(ARTICLE_TRIES)]
        assert portal.hits["/article-125-1.html"] == ARTICLE_TRIES
        assert [r.result for r in reports] == ["degraded"] * ARTICLE_TRIES
        assert "in a row" not in (reports[-2].error or "")
        given_up = f"article-125-1.html: HTTP 404 Not Found; failed at {ARTICLE_TRIES} tries in a"
        assert given_up in (reports[-1].error or "")
        assert "tried again in an hour or when its listing changes" in (reports[-1].error or "")

        async def at(minutes: int) -> str:
            service.pipeline.clock = lambda: start + minutes * 60
            return (await service.pipeline.run(config.sources[1])).result

        assert [await at(1), await at(59)] == ["not modified"] * 2
        assert portal.hits["/article-125-1.html"] == ARTICLE_TRIES
        waiting = {s.id: s for s in await service.db.statuses(0)}["hz1w"]
        assert waiting.reread_at is not None
        assert waiting.reread_at - start == pytest.approx(3600, abs=5), "an hour after"
        service.pipeline.clock = lambda: start + 61 * 60
        retried = await service.pipeline.run(config.sources[1])
        assert retried.result == "degraded", retried
        assert "tried again in 2 hours" in (retried.error or "")
        assert portal.hits["/article-125-1.html"] == ARTICLE_TRIES + 1
        assert await at(61 + 119) == "not modified"
        portal.html["/article-125-1.html"] = portal.page("discuz_article2.gbk.html")
        portal.html["/article-120-1.html"] = portal.page("discuz_article2.gbk.html")
        assert [await at(61 + 121), await at(61 + 122), await at(10_000)] == [
            "ok",
            "not modified",
            "not modified",
        ]
        items = await service.db.latest_items(["hz1w"], limit=20)
        healed = {s.id: s for s in await service.db.statuses(0)}["hz1w"]
    assert healed.reread_at is None, "nothing waits once it is read"
    assert portal.hits["/article-125-1.html"] == ARTICLE_TRIES + 2
    assert portal.asked_with[ARTICLE_TRIES + 2] is None, "the list asked for whole when due"
    read = next(i for i in items if i.url and i.url.endswith("/article-125-1.html"))
    assert "龙头山景区" in read.content, "the article's own body"


async def test_an_article_given_up_is_tried_at_once_when_its_listing_changes(
    tmp_path: Path, portal: Portal
) -> None:
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        for _ in range(ARTICLE_TRIES):
            await service.pipeline.run(config.sources[1])
        after = await service.pipeline.run(config.sources[1])
        assert after.result == "unchanged", after
        title = "汉中市发布寒潮蓝色预警".encode("gbk")
        listed = portal.page("discuz_list.gbk.html").replace(title, title + b"(2)")
        portal.html["/portal.php"] = listed
        relisted = await service.pipeline.run(config.sources[1])
        items = await service.db.latest_items(["hz1w"], limit=20)
    assert portal.hits["/article-125-1.html"] == ARTICLE_TRIES + 1
    assert "in a row" not in (relisted.error or "")
    assert "汉中市发布寒潮蓝色预警(2)" in [i.title for i in items], "stored as listed"
    assert portal.hits["/article-123-1.html"] == 1


async def test_a_source_sends_its_own_user_agent_and_headers(
    tmp_path: Path, portal: Portal
) -> None:
    """A portal that answers 403 without its Referer and cookie, and whose robots.txt shuts
    out every agent but the one the source names: list, articles and their pages are read."""
    portal.required = {"User-Agent": "portalbot/1.0", "Referer": f"{portal.base}/"}
    portal.required["Cookie"] = "auth=1"
    portal.robots = "User-agent: portalbot\nDisallow: /admin/\n\nUser-agent: *\nDisallow: /\n"
    list_paged_article(portal)
    headers = f'{{ Referer = "{portal.base}/", Cookie = "auth=1" }}'
    path = write_config(tmp_path, portal, SELECTORS, user_agent='"portalbot/1.0"', headers=headers)
    config = load_config(path)
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
        async with TestClient(TestServer(make_app(service), host="127.0.0.1")) as client:
            shown = [await (await client.get(p)).text() for p in ("/api/sources", "/opml", "/")]
    assert not report.failed, report
    assert "压实工作责任" in stored.content
    assert stored.origin_name == "汉中发布"
    assert "robots.txt" not in (report.error or "")
    assert not any("auth=1" in text for text in shown), "a cookie stays in the config"
    (tmp_path / "bare").mkdir()
    bare = load_config(write_config(tmp_path / "bare", portal, SELECTORS))
    async with running_service(bare, schedule=False) as service:
        refused = await service.pipeline.run(bare.sources[1])
    assert refused.failed
    assert "robots.txt disallows" in (refused.error or ""), "read for the fetcher's own agent"
    (tmp_path / "blunt").mkdir()
    blunt = write_config(tmp_path / "blunt", portal, SELECTORS, respect_robots="false")
    async with running_service(load_config(blunt), schedule=False) as service:
        forbidden = await service.pipeline.run(service.config.sources[1])
    assert "HTTP 403 Forbidden" in (forbidden.error or ""), forbidden


async def test_a_list_page_that_yields_nothing_says_so_at_every_fetch(
    tmp_path: Path, portal: Portal
) -> None:
    """A redesign under the selectors, or a challenge page instead of the list: a warning
    naming the keys, repeated while it lasts rather than skipped as an unchanged body."""
    portal.html["/portal.php"] = "<html><body><ul class=news><li>新版首页</li></ul>".encode("gbk")
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        reports = [await service.pipeline.run(config.sources[1]) for _ in range(2)]
    for report in reports:
        assert report.result == "degraded", report
        assert "[sources.list] item and link matched nothing" in (report.error or "")
        assert "aggregator preview hz1w" in (report.error or "")


async def test_a_list_page_no_charset_decodes_whole_is_a_warning(
    tmp_path: Path, portal: Portal
) -> None:
    """A UTF-8 template with a summary pasted in GBK: read with replacement characters, it
    was stored as mojibake without a word."""
    page = (HTML / "discuz_list.gbk.html").read_bytes().decode("gbk")
    page = page.replace("charset=gbk", "charset=utf-8").replace("http://www.example.net/", "/")
    template, summary = page.split("近年来", 1)
    pasted = "汉中市被科技部命名为“国家创新型城市”。".encode("gbk")  # a GBK paste in UTF-8
    portal.html["/portal.php"] = template.encode() + pasted + ("近年来" + summary).encode()
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert report.result == "degraded", report
    assert "list page 1 " in (report.error or "")
    assert "no charset decodes it whole, 28 characters lost" in (report.error or "")
    assert "sources.encoding" in (report.error or "")


async def test_robots_txt_is_asked_of_a_redirects_target_before_it_is_fetched(
    tmp_path: Path, portal: Portal
) -> None:
    """The list page moves (302) to a path robots.txt disallows: the target is not asked for,
    and the source says why."""
    portal.robots = "User-agent: *\nDisallow: /secret/\n"
    portal.redirects["/portal.php"] = "/secret/portal.php"
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert report.failed
    assert "/secret/portal.php refused: robots.txt disallows this page" in (report.error or "")
    assert not any(path.startswith("/secret/") for path in portal.requested)


async def test_a_robots_txt_answering_5xx_keeps_every_page_unread(
    tmp_path: Path, portal: Portal
) -> None:
    """A site whose robots.txt fails with 503 has rules nobody knows (RFC 9309): none of its
    pages is read, where it used to be read as if it allowed everything, for a day."""
    portal.failing.add("/robots.txt")
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert report.failed
    assert "robots.txt answered HTTP 503: no page is read until it answers" in (report.error or "")
    assert portal.requested == ["/robots.txt"]


def refresh_to(target: str, delay: int = 0) -> bytes:
    meta = f'<meta http-equiv="refresh" content="{delay}; url={target}">'
    return f"<html><head><title>汉中日报</title>{meta}</head><body>正在跳转…</body></html>".encode(
        "gbk"
    )


def config_at(tmp_path: Path, portal: Portal, path: str) -> Any:
    """The portal source's config, its list page at `path`."""
    written = write_config(tmp_path, portal, SELECTORS)
    text = written.read_text("utf-8").replace("/portal.php?mod=list&catid=1", path)
    written.write_text(text, "utf-8")
    return load_config(written)


async def test_a_meta_refresh_leads_to_the_list_as_a_browser_follows_it(
    tmp_path: Path, portal: Portal
) -> None:
    """An e-paper's stable address sends its reader on to today's edition (here by a meta
    refresh, then a `Refresh` header): the list is read there, and a change there is seen
    though the refresh page stays the same."""
    portal.html["/index.htm"] = refresh_to("today.htm")
    portal.refresh["/today.htm"] = "0; url=/portal.php?mod=list&catid=1"  # as a header
    for missing in (125, 120):  # listed articles that would fail on their own
        portal.html[f"/article-{missing}-1.html"] = portal.page("discuz_article2.gbk.html")
    config = config_at(tmp_path, portal, "/index.htm")
    async with running_service(config, schedule=False) as service:
        reports = [await service.pipeline.run(config.sources[1])]
        reports.append(await service.pipeline.run(config.sources[1]))
        portal.list_extra = "<!-- 今日更新 -->".encode("gbk")
        reports.append(await service.pipeline.run(config.sources[1]))
        items = await service.db.latest_items(["hz1w"], limit=20)
    assert [r.result for r in reports] == ["ok", "unchanged", "ok"], reports
    assert reports[0].new == 4
    assert "汉中又新增一项国字号荣誉!" in [i.title for i in items]
    assert portal.hits["/index.htm"] == 3


async def test_a_static_refresh_page_does_not_answer_for_the_list_it_leads_to(
    tmp_path: Path, portal: Portal
) -> None:
    """A portal's index, unchanged since 2020, forwards to a list changed this morning: the
    list's `Last-Modified`, sent to the index, would have it answer 304 at every fetch. The
    list's own permanent move is not the source's: the index is asked again."""
    portal.html["/index.htm"] = refresh_to("today.htm")
    portal.moved["/today.htm"] = "/portal.php?mod=list&catid=1"
    portal.modified["/index.htm"] = datetime(2020, 1, 1, tzinfo=UTC)
    portal.modified["/portal.php"] = datetime(2022, 1, 15, 1, tzinfo=UTC)
    for missing in (125, 120):  # listed articles that would fail on their own
        portal.html[f"/article-{missing}-1.html"] = portal.page("discuz_article2.gbk.html")
    config = config_at(tmp_path, portal, "/index.htm")
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        portal.modified["/portal.php"] = datetime(2022, 1, 15, 9, tzinfo=UTC)
        portal.list_extra = "<!-- 今日更新 -->".encode("gbk")
        again = await service.pipeline.run(config.sources[1])
        statuses = {s.id: s for s in await service.db.statuses(0)}
    assert again.result != "not modified", again
    assert portal.hits["/portal.php"] == 2
    assert portal.hits["/index.htm"] == 2
    assert statuses["hz1w"].effective_url is None


@pytest.mark.parametrize(
    ("pages", "error"),
    [
        ({"/index.htm": "/a.htm", "/a.htm": "/index.htm"}, "refresh loop through"),
        ({"/index.htm": "http://elsewhere.example/list.htm"}, "refresh to http://elsewhere"),
        ({f"/r{n}.htm": f"/r{n + 1}.htm" for n in range(5)}, "more than 3 refreshes"),
    ],
)
async def test_meta_refreshes_are_bounded_as_redirects_are(
    tmp_path: Path, portal: Portal, pages: dict[str, str], error: str
) -> None:
    for page, target in pages.items():
        portal.html[page] = refresh_to(target)
    config = config_at(tmp_path, portal, next(iter(pages)))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert report.failed
    assert error in (report.error or ""), report
    assert "/portal.php" not in portal.hits


async def test_a_portal_index_that_forwards_by_script_leads_to_its_list(
    tmp_path: Path, portal: Portal
) -> None:
    stub = '<html><body><script>window.location.href="portal.php?mod=list&catid=1";</script>'
    portal.html["/index.html"] = stub.encode("gbk")
    config = config_at(tmp_path, portal, "/index.html")
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert report.new == 4, report


async def test_a_refresh_meant_to_be_read_first_is_not_followed(
    tmp_path: Path, portal: Portal
) -> None:
    """A page that goes elsewhere after minutes is read where it is; here it lists nothing."""
    portal.html["/index.htm"] = refresh_to("portal.php?mod=list&catid=1", delay=600)
    config = config_at(tmp_path, portal, "/index.htm")
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
    assert "no items on the list page" in (report.error or ""), report
    assert "/portal.php" not in portal.hits


async def test_an_article_link_that_refreshes_is_read_where_it_leads(
    tmp_path: Path, portal: Portal
) -> None:
    """A list that links a forwarding page (`转载` links, short links) for one article."""
    listed = portal.page("discuz_list.gbk.html")
    portal.html["/portal.php"] = listed.replace(b"article-124-1.html", b"go-124.htm")
    portal.html["/go-124.htm"] = refresh_to("article-124-1.html")
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        items = await service.db.latest_items(["hz1w"], limit=20)
    scenic = next(i for i in items if i.title == "12家A级景区冬季惠民 门票半价")
    assert scenic.author == "hz1w_bianji", "read from the article page"
    assert scenic.url == f"{portal.base}/go-124.htm", "the link the list gave"


async def test_robots_txt_is_honoured(tmp_path: Path, portal: Portal) -> None:
    portal.robots = "User-agent: *\nDisallow: /portal.php\n"
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        assert report.failed
        assert "robots.txt disallows" in (report.error or "")
    assert "/portal.php" not in portal.hits
    opted_out = load_config(write_config(tmp_path, portal, SELECTORS, respect_robots="false"))
    async with running_service(opted_out, schedule=False) as service:
        assert not (await service.pipeline.run(opted_out.sources[1])).failed


async def test_a_reloaded_user_agent_is_the_one_robots_txt_is_read_for(
    tmp_path: Path, portal: Portal
) -> None:
    portal.robots = "User-agent: newbot\nDisallow: /\n"
    path = write_config(tmp_path, portal, SELECTORS)
    config = load_config(path)
    async with running_service(config, schedule=False) as service:
        assert not (await service.pipeline.run(config.sources[1])).failed
        text = path.read_text("utf-8").replace(
            'timeout = "5s"', 'timeout = "5s"\nuser_agent = "newbot/2"'
        )
        path.write_text(text, "utf-8")
        await service.reload()
        report = await service.pipeline.run(service.config.sources[1])
        assert report.failed
        assert "robots.txt disallows" in (report.error or "")


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
async def test_full_content_feed_reads_article_pages(
    tmp_path: Path, portal: Portal, processes: int
) -> None:
    """A Discuz! RSS (GBK, no guid, 250-byte summaries) completed from its article pages,
    its records built in a thread and in a worker process (with the article selectors)."""
    rss = (FIXTURES / "upstream" / "portal-rss.gbk.xml").read_bytes()
    portal.extra["/rss.php"] = rss.replace(
        b"http://example.net/article-5316-1.html", f"{portal.base}/article-123-1.html".encode()
    )
    article_rules = "[sources.article]\n" + SELECTORS.split("[sources.article]")[1]
    path = write_config(tmp_path, portal, article_rules)
    text = path.read_text("utf-8").replace('type = "html"', 'type = "feed"\nfull_content = true')
    path.write_text(text.replace("/portal.php?mod=list&catid=1", "/rss.php"), "utf-8")
    config = load_config(path)
    cpu = CpuPool(processes) if processes else None
    async with running_service(config, schedule=False, cpu=cpu) as service:
        report = await service.pipeline.run(config.sources[1])
        assert report.new == 2
        assert report.result == "degraded", "the second item's article page is missing"
        items = await service.db.latest_items(["hz1w"], limit=10)
    seed_item = next(i for i in items if i.title == "汉中又新增一项国字号荣誉!")
    assert seed_item.origin_name == "汉中发布"
    assert seed_item.author == "admin"
    assert seed_item.content.rstrip().endswith("(来源:汉中发布)</p>")


def list_paged_article(portal: Portal) -> None:
    """The list page with one more item first: an article in three pages."""
    item = '<dl><dt><a href="article-200-1.html">汉中市召开营商环境建设推进会</a></dt></dl>'
    listed = portal.page("discuz_list.gbk.html")
    anchor = '<div class="bm_c xld">'.encode("gbk")
    portal.html["/portal.php"] = listed.replace(anchor, anchor + item.encode("gbk"), 1)


async def stored_paged_article(service: Any) -> Any:
    items = await service.db.latest_items(["hz1w"], limit=20)
    return next(i for i in items if i.title == "汉中市召开营商环境建设推进会")


@pytest.mark.parametrize("rules", [SELECTORS, SELECTORS.split("[sources.article]")[0]])
async def test_an_article_in_pages_is_stored_whole(
    tmp_path: Path, portal: Portal, rules: str
) -> None:
    """Each page read once; the comments' pager and the next article are not followed."""
    list_paged_article(portal)
    config = load_config(write_config(tmp_path, portal, rules))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
    for words in ("召开全市营商环境", "聚焦企业开办", "压实工作责任"):
        assert words in stored.content, words
    assert stored.origin_name == "汉中发布", "the credit ending the last page"
    assert [portal.hits.get(f"/article-200-{n}.html") for n in (1, 2, 3)] == [1, 1, 1]
    assert "/article-201-1.html" not in portal.hits


async def test_preview_names_the_pages_an_article_was_read_from(
    tmp_path: Path, portal: Portal
) -> None:
    list_paged_article(portal)
    config = write_config(tmp_path, portal, SELECTORS)
    document = await preview_json(config, "hz1w")
    entry = next(
        i for i in document["items"] if i["fields"]["title"] == "汉中市召开营商环境建设推进会"
    )
    paged = [f"{portal.base}/article-200-{n}.html" for n in (1, 2, 3)]
    assert entry["article_pages"] == paged
    assert seed(document)["article_pages"] == [f"{portal.base}/article-123-1.html"]
    code, out, err = await run_cli_async("preview", config, "hz1w")
    assert code == 0, err
    assert f"  pages                   3: {' '.join(paged)}\n" in out
    assert out.count("  pages ") == 1, "an article of one page says nothing of pages"


async def test_preview_reads_one_article_with_its_pages(tmp_path: Path, portal: Portal) -> None:
    """`--article` reads the page that needs selectors, not the whole list."""
    config = write_config(tmp_path, portal, SELECTORS)
    paged = [f"{portal.base}/article-200-{n}.html" for n in (1, 2, 3)]
    code, out, err = await run_cli_async("preview", config, "hz1w", "--article", paged[0], "--json")
    assert code == 0, err
    (entry,) = json.loads(out)["items"]
    assert entry["article_pages"] == paged
    assert entry["fields"]["origin"]["name"] == "汉中发布"
    assert "压实工作责任" in entry["fields"]["content_html"]
    assert "/portal.php" not in portal.hits
    portal.failing.add("/article-200-3.html")
    code, out, err = await run_cli_async("preview", config, "hz1w", "--article", paged[0])
    assert code == 0, err
    assert f"warning: article {paged[0]}: page 3 {paged[2]}: HTTP 503" in out
    assert f"  pages                   2: {paged[0]} {paged[1]}\n" in out
    missing = f"{portal.base}/article-404-1.html"
    code, out, err = await run_cli_async("preview", config, "hz1w", "--article", missing)
    assert code == 1
    assert err.strip() == f"hz1w: article {missing}: HTTP 404 Not Found"
    for relative in ("/article-200-1.html", "article-200-1.html"):  # as the list's links
        code, out, err = await run_cli_async("preview", config, "hz1w", "--article", relative)
        assert code == 0, err
        assert out.startswith(f"hz1w: the article {paged[0]}\n")
    code, out, err = await run_cli_async("preview", config, "hz1w", "--article", "//elsewhere/a")
    assert code == 1
    assert err.strip() == (
        "hz1w: article http://elsewhere/a: host 'elsewhere' is not the source's host nor in"
        " follow_hosts"
    )


async def test_a_page_that_fails_keeps_the_pages_read_and_is_tried_again(
    tmp_path: Path, portal: Portal
) -> None:
    """Stored as far as it was read, then read whole at the next fetch, though the list page
    is the same: an unchanged body is skipped only when nothing was missing from it."""
    list_paged_article(portal)
    portal.failing.add("/article-200-3.html")
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        first = await service.pipeline.run(config.sources[1])
        assert first.result == "degraded"
        page1, page3 = (f"{portal.base}/article-200-{n}.html" for n in (1, 3))
        assert f"article {page1}: page 3 {page3}: HTTP 503 Service Unavailable" in (
            first.error or ""
        ), first
        partial = await stored_paged_article(service)
        assert "聚焦企业开办" in partial.content
        assert "压实工作责任" not in partial.content
        portal.failing.clear()
        again = await service.pipeline.run(config.sources[1])  # the same list page
        whole = await stored_paged_article(service)
    assert again.result == "degraded", "two listed articles are still missing"
    assert "压实工作责任" in whole.content
    assert portal.hits["/article-200-1.html"] == 2, "read again: it was missing a page"
    assert portal.hits["/article-123-1.html"] == 1, "read whole before: not read again"


async def test_a_page_that_fails_is_tried_again_behind_a_list_that_sends_an_etag(
    tmp_path: Path, portal: Portal
) -> None:
    """The list page would answer 304: after a run that missed a page, it is asked for without
    its ETag, so the article is read whole at the next fetch; then the 304 is back."""
    list_paged_article(portal)
    portal.list_etag = '"v1"'
    for missing in (125, 120):  # listed articles that would fail on their own
        portal.html[f"/article-{missing}-1.html"] = portal.page("discuz_article2.gbk.html")
    portal.failing.add("/article-200-3.html")
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        first = await service.pipeline.run(config.sources[1])
        portal.failing.clear()
        second = await service.pipeline.run(config.sources[1])
        whole = await stored_paged_article(service)
        third = await service.pipeline.run(config.sources[1])
    assert [first.result, second.result, third.result] == ["degraded", "ok", "not modified"]
    assert portal.asked_with == [None, None, '"v1"']
    assert "压实工作责任" in whole.content


async def test_pages_are_bounded_by_max_pages_and_by_a_page_read_before(
    tmp_path: Path, portal: Portal
) -> None:
    """The last page's "下一页" leads back to the first, then its URL redirects there: each
    page is read once, and `max_pages` stops sooner."""
    list_paged_article(portal)
    last = portal.page("discuz_paged_3.gbk.html")
    back = '<strong>3</strong><a href="article-200-1.html">下一页</a>'.encode("gbk")
    portal.html["/article-200-3.html"] = last.replace(b"<strong>3</strong>", back)
    config = load_config(write_config(tmp_path, portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
    assert [portal.hits.get(f"/article-200-{n}.html") for n in (1, 2, 3)] == [1, 1, 1]
    portal.hits.clear()
    portal.redirects["/article-200-3.html"] = "/article-200-1.html"  # back, by a redirect
    (tmp_path / "r").mkdir()
    config = load_config(write_config(tmp_path / "r", portal, SELECTORS))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
    assert stored.content.count("召开全市营商环境") == 1, "the first page is not read twice"
    assert "聚焦企业开办" in stored.content
    del portal.redirects["/article-200-3.html"]
    bounded = SELECTORS + "max_pages = 2\n"
    portal.hits.clear()
    (tmp_path / "b").mkdir()
    config = load_config(write_config(tmp_path / "b", portal, bounded))
    async with running_service(config, schedule=False) as service:
        await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
    assert [portal.hits.get(f"/article-200-{n}.html") for n in (1, 2, 3)] == [1, 1, None]
    assert "聚焦企业开办" in stored.content


async def test_a_next_page_on_another_host_is_refused_and_the_first_page_kept(
    tmp_path: Path, portal: Portal
) -> None:
    """`next_page` says which link, not where it may lead: `follow_hosts` still decides."""
    list_paged_article(portal)
    first = portal.page("discuz_paged_1.gbk.html")
    away = '<a class="away" href="http://elsewhere.example/article-200-2.html">续</a></body>'
    portal.html["/article-200-1.html"] = first.replace(b"</body>", away.encode("gbk"))
    rules = SELECTORS + 'next_page = "a.away"\n'
    config = load_config(write_config(tmp_path, portal, rules))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
    assert report.result == "degraded"
    assert "page 2 http://elsewhere.example/article-200-2.html: " in (report.error or "")
    assert "召开全市营商环境" in stored.content
    assert "/article-200-2.html" not in portal.hits


LIST_PAGE = "/portal.php?mod=list&catid=1&page={}"


@pytest.mark.parametrize("respect_robots", ["true", "false"])
async def test_later_list_pages_are_read_as_robots_txt_allows(
    tmp_path: Path, portal: Portal, respect_robots: str
) -> None:
    """Page 2's items are stored; page 3 is fetched only when robots.txt does not disallow it."""
    portal.by_query[LIST_PAGE.format(2)] = portal.page("discuz_list_2.gbk.html")
    portal.robots = f"User-agent: *\nDisallow: {LIST_PAGE.format(3)}\n"
    rules = SELECTORS.replace("[sources.article]", "max_pages = 3\n\n[sources.article]")
    config = load_config(write_config(tmp_path, portal, rules, respect_robots=respect_robots))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        stored = await stored_paged_article(service)
    assert "压实工作责任" in stored.content, "listed on page 2, and read whole"
    asked = [path for path in portal.requested if path.startswith("/portal.php")]
    if respect_robots == "true":
        assert asked == ["/portal.php?mod=list&catid=1", LIST_PAGE.format(2)]
        page3 = portal.base + LIST_PAGE.format(3)
        assert f"list page 3 {page3}: robots.txt disallows this page" in (report.error or "")
    else:
        assert asked == ["/portal.php?mod=list&catid=1", *map(LIST_PAGE.format, (2, 3))]


async def test_a_list_page_leading_back_ends_the_list_quietly(
    tmp_path: Path, portal: Portal
) -> None:
    """Page 3 redirects to the first page: the first page's items are not listed twice, and
    nothing is reported. A later list page that fails is reported, and tried again after an
    hour, or when the first page changes."""
    portal.by_query[LIST_PAGE.format(2)] = portal.page("discuz_list_2.gbk.html")
    portal.redirects[LIST_PAGE.format(3)] = "/portal.php?mod=list&catid=1"
    for missing in (125, 120, 117):  # listed articles that would fail on their own
        portal.html[f"/article-{missing}-1.html"] = portal.page("discuz_article2.gbk.html")
    rules = SELECTORS.replace("[sources.article]", "max_pages = 5\n\n[sources.article]")
    config = load_config(write_config(tmp_path, portal, rules))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        assert report.result == "ok", report
        await stored_paged_article(service)
        assert portal.hits["/article-123-1.html"] == 1, "listed once: page 1 was not read again"
        portal.requested.clear()
        del portal.redirects[LIST_PAGE.format(3)]
        portal.failing.add(LIST_PAGE.format(3))
        portal.list_extra = b"<!-- the first page changed -->"
        failed = await service.pipeline.run(config.sources[1])
        asked = [path for path in portal.requested if path.startswith("/portal.php")]
        assert asked == ["/portal.php?mod=list&catid=1", *map(LIST_PAGE.format, (2, 3))]
        page3 = portal.base + LIST_PAGE.format(3)
        assert f"list page 3 {page3}: HTTP 503 Service Unavailable" in (failed.error or "")
        portal.requested.clear()
        again = await service.pipeline.run(config.sources[1])  # the same first page
        assert again.result == "unchanged", "a page that may fail for good is not retried at once"
        assert portal.requested == ["/portal.php?mod=list&catid=1"]
        portal.failing.clear()
        portal.by_query[LIST_PAGE.format(3)] = portal.page("discuz_list_2.gbk.html")
        start = service.pipeline.clock()
        service.pipeline.clock = lambda: start + 3601
        retried = await service.pipeline.run(config.sources[1])
        later = await service.pipeline.run(config.sources[1])
    assert retried.result == "ok", retried
    assert LIST_PAGE.format(3) in portal.requested
    assert later.result == "unchanged", later


async def test_a_list_page_is_read_to_fetch_max_entries(tmp_path: Path, portal: Portal) -> None:
    """Each item listed costs an article request: a list of thousands is bounded as a feed's
    entries are, to the newest when every item is dated."""
    path = write_config(tmp_path, portal, SELECTORS)
    path.write_text(
        path.read_text("utf-8").replace('timeout = "5s"', 'timeout = "5s"\nmax_entries = 1'),
        "utf-8",
    )
    config = load_config(path)
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[1])
        stored = await service.db.latest_items(("hz1w",), limit=10)
    articles = [path for path in portal.requested if path.startswith("/article-")]
    assert report.result == "degraded", report
    assert "entries listed: only the newest 1 read (fetch.max_entries)" in str(report.error)
    assert articles == ["/article-125-1.html"], "the newest item's article only"
    assert [item.title for item in stored] == ["汉中市发布寒潮蓝色预警"]
