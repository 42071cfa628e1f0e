"""An article that fails to read again keeps what was stored of it; one that is gone (a
redirect home or to its list, a CMS's "does not exist" page) is a failure, never its text."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from aggregator.config import load_config
from aggregator.cpu import CpuPool
from aggregator.retries import ARTICLE_TRIES, Failures
from aggregator.service import running_service
from tests.conftest import FIXTURES
from tests.test_html_sources import SELECTORS, Portal, write_config
from tests.upstream import local_site

HTML = FIXTURES / "html"
SEED = "/article-123-1.html"
SEED_TITLE = "汉中又新增一项国字号荣誉!"
OTHER = "/article-124-1.html"
OTHER_TITLE = "12家A级景区冬季惠民 门票半价"
LIST = "/portal.php?mod=list&catid=1"
HOME_TEXT = "欢迎访问汉中第一网"


class Site(Portal):
    """The portal, with pages answering a status of their own (404, 410)."""

    def __init__(self) -> None:
        super().__init__()
        self.status: dict[str, int] = {}

    def app(self) -> web.Application:
        app = super().app()

        @web.middleware
        async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
            if status := self.status.get(request.path):
                self.hits[request.path] = self.hits.get(request.path, 0) + 1
                return web.Response(status=status, text="gone")
            return await handler(request)

        app.middlewares.append(answer)
        return app

    def home(self) -> None:
        home = (HTML / "gone_home.html").read_bytes()
        for path in ("/", "/index.php", "/index.html"):
            self.html[path] = home


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    portal = Site()
    async with local_site(portal.app()) as origin:
        portal.base = origin
        portal.home()
        yield portal


Failure = Callable[[Site, str], None]


def answers(status: int) -> Failure:
    def fail(site: Site, path: str) -> None:
        site.status[path] = status

    return fail


def unavailable(site: Site, path: str) -> None:
    site.failing.add(path)


def redirects_to(target: str) -> Failure:
    def fail(site: Site, path: str) -> None:
        site.redirects[path] = target

    return fail


def refreshes_home(site: Site, path: str) -> None:
    site.refresh[path] = "0; url=/"


def serves(name: str) -> Failure:
    def fail(site: Site, path: str) -> None:
        site.html[path] = (HTML / name).read_bytes()

    return fail


def restore(site: Site, path: str) -> None:
    site.status.pop(path, None)
    site.failing.discard(path)
    site.redirects.pop(path, None)
    site.refresh.pop(path, None)
    site.html.pop(path, None)


# Each way an article fails, and what the warning says of it.
FAILURES: dict[str, tuple[Failure, str]] = {
    "503": (unavailable, "HTTP 503"),
    "404": (answers(404), "HTTP 404"),
    "410": (answers(410), "HTTP 410"),
    "302 home": (redirects_to("/"), "redirected to the site's home page {base}/: withdrawn?"),
    "302 index.php": (
        redirects_to("/index.php"),
        "redirected to the site's home page {base}/index.php: withdrawn?",
    ),
    "302 portal.php": (
        redirects_to("/portal.php"),
        "redirected to the site's home page {base}/portal.php: withdrawn?",
    ),
    "302 list": (redirects_to(LIST), f"redirected to the list page {{base}}{LIST}: withdrawn?"),
    "refresh home": (refreshes_home, "redirected to the site's home page {base}/: withdrawn?"),
    "meta refresh home": (
        serves("gone_refresh_home.html"),
        "redirected to the site's home page {base}/index.php: withdrawn?",
    ),
    "discuz message": (
        serves("gone_discuz_message.html"),
        "the page only says '抱歉，指定的文章不存在或已被删除或正在被审核",
    ),
    "cms notice": (
        serves("gone_cms_notice.html"),
        "the page only says '您访问的页面不存在或已被删除！ 5秒后自动返回首页': withdrawn?",
    ),
}


def retitled(site: Site, title: str) -> None:
    """The list says something new of the item titled `title`: its article is read again."""
    listed = site.page("discuz_list.gbk.html")
    site.html["/portal.php"] = listed.replace(title.encode("gbk"), f"{title}（更正）".encode("gbk"))


def corrected(site: Site) -> None:
    """The seed article, with a correction appended to its body."""
    body = site.page("discuz_article.gbk.html")
    end = "(来源:汉中发布)".encode("gbk")
    site.html[SEED] = body.replace(end, end + "更正：首段日期有误。".encode("gbk"), 1)


async def stored(service: Any, path: str) -> Any:
    items = await service.db.latest_items(["hz1w"], limit=20)
    return next(i for i in items if i.url and i.url.endswith(path))


def assert_whole(item: Any) -> None:
    assert "2021年12月31日,汉中市又新增一项国字号荣誉" in item.content
    assert item.title == SEED_TITLE
    assert item.author == "admin"
    assert item.origin_name == "汉中发布"
    assert item.published.isoformat() == "2022-01-14T17:50:00+08:00"
    assert HOME_TEXT not in item.content


@pytest.mark.parametrize("how", list(FAILURES))
async def test_an_article_read_before_keeps_what_was_stored_while_it_fails(
    tmp_path: Path, site: Site, how: str
) -> None:
    """The list retitles an item stored whole and its article fails: the item keeps its text,
    date and credits, not the list's bare title; the failure is reported and counted (the
    tries wait as for any article); once the article reads again, it is updated."""
    fail, said = FAILURES[how]
    config = load_config(write_config(tmp_path, site, SELECTORS))
    source = config.sources[1]
    async with running_service(config, schedule=False) as service:
        start = service.pipeline.clock()
        await service.pipeline.run(source)
        assert_whole(await stored(service, SEED))
        retitled(site, SEED_TITLE)
        fail(site, SEED)
        reports = [await service.pipeline.run(source) for _ in range(ARTICLE_TRIES)]
        assert [r.result for r in reports] == ["degraded"] * ARTICLE_TRIES
        assert [r.updated for r in reports] == [0] * ARTICLE_TRIES, "nothing published anew"
        assert f"article {site.base}{SEED}: " + said.format(base=site.base) in (
            reports[0].error or ""
        ), reports[0].error
        assert f"{SEED}: " in (reports[-1].error or "")
        assert "failed at 5 tries in a row" in (reports[-1].error or ""), "the count was kept"
        assert_whole(await stored(service, SEED))
        asked = site.hits.get(SEED, 0)
        assert (await service.pipeline.run(source)).updated == 0
        assert site.hits.get(SEED, 0) == asked, "waiting an hour, as any failed article"
        restore(site, SEED)
        corrected(site)
        service.pipeline.clock = lambda: start + 61 * 60
        healed = await service.pipeline.run(source)
        item = await stored(service, SEED)
    assert healed.updated == 1, healed
    assert "更正：首段日期有误。" in item.content
    assert item.origin_name == "汉中发布"


@pytest.mark.parametrize("processes", [0, 1], ids=["threads", "processes"])
async def test_a_full_content_feed_keeps_the_article_stored_while_it_fails(
    tmp_path: Path, site: Site, processes: int
) -> None:
    """The feed retitles an item whose article was stored: a 503 does not put the feed's
    summary in place of the article (the records built in a thread or a worker process)."""
    rss = (FIXTURES / "upstream" / "portal-rss.gbk.xml").read_bytes()
    rss = rss.replace(b"http://example.net/article-5316-1.html", f"{site.base}{SEED}".encode())
    site.extra["/rss.php"] = rss
    article_rules = "[sources.article]\n" + SELECTORS.split("[sources.article]")[1]
    path = write_config(tmp_path, site, article_rules)
    text = path.read_text("utf-8").replace('type = "html"', 'type = "feed"\nfull_content = true')
    path.write_text(text.replace(LIST, "/rss.php"), "utf-8")
    config = load_config(path)
    cpu = CpuPool(processes) if processes else None
    async with running_service(config, schedule=False, cpu=cpu) as service:
        await service.pipeline.run(config.sources[1])
        before = await stored(service, SEED)
        site.extra["/rss.php"] = rss.replace(
            SEED_TITLE.encode("gbk"), f"{SEED_TITLE}（更正）".encode("gbk")
        )
        site.failing.add(SEED)
        report = await service.pipeline.run(config.sources[1])
        after = await stored(service, SEED)
    assert report.result == "degraded"
    assert f"article {site.base}{SEED}: HTTP 503" in (report.error or "")
    assert "国家创新型城市" in before.content
    assert before.content.rstrip().endswith("(来源:汉中发布)</p>")
    assert (after.content, after.author, after.origin_name, after.published, after.title) == (
        before.content,
        before.author,
        before.origin_name,
        before.published,
        before.title,
    )
    assert after.last_changed == before.last_changed


@pytest.mark.parametrize("how", [h for h in FAILURES if h != "503"])
async def test_an_article_gone_at_its_first_read_is_published_from_its_list(
    tmp_path: Path, site: Site, how: str
) -> None:
    """A new item whose article is gone (404, 410, sent home or to its list, a notice in its
    place) is published with its list's title and date, never the page reached, and its
    article is tried again as any failed one; when it appears, the item is filled in."""
    fail, said = FAILURES[how]
    fail(site, OTHER)
    config = load_config(write_config(tmp_path, site, SELECTORS))
    async with running_service(config, schedule=False) as service:
        first = await service.pipeline.run(config.sources[1])
        item = await stored(service, OTHER)
        again = await service.pipeline.run(config.sources[1])
        restore(site, OTHER)
        site.list_extra = b"<!-- the page changed around the items -->"
        await service.pipeline.run(config.sources[1])
        filled = await stored(service, OTHER)
    assert first.result == "degraded"
    assert f"article {site.base}{OTHER}: " + said.format(base=site.base) in (first.error or "")
    assert item.title == OTHER_TITLE
    assert item.published.isoformat() == "2022-01-13T09:15:00+08:00"
    for page_text in (HOME_TEXT, "提示信息", "不存在", "新闻"):
        assert page_text not in item.content + item.title, page_text
    assert f"{OTHER}: " in (again.error or ""), "tried again at the next fetch"
    assert site.hits[OTHER] >= 2
    assert "龙头山景区" in filled.content


def test_a_redirect_home_or_to_a_section_index_is_no_article() -> None:
    from feeds.withdrawal import redirected_away

    lists = ["http://h.cn/portal.php?mod=list&catid=1"]
    gone = {
        ("http://h.cn/a/1.html", "http://h.cn"): "site's home page",
        ("http://h.cn/a/1.html", "http://www.h.cn/index.htm"): "site's home page",
        ("http://h.cn/portal.php?mod=view&aid=5", "http://h.cn/portal.php"): "site's home page",
        ("http://h.cn/s2/article-3-1.html", "http://h.cn/s2/index.html"): "section's index page",
        ("http://h.cn/x/2026/11/t1.shtml", "http://h.cn/x/"): "section's index page",
        ("http://h.cn/a/1.html", "http://h.cn/portal.php?mod=list&catid=1#top"): "list page",
    }
    for (asked, final), why in gone.items():
        assert why in (redirected_away(asked, final, lists) or ""), (asked, final)
    kept = [
        ("http://h.cn/a/1.html", "https://h.cn/a/1.html"),  # to TLS
        ("http://h.cn/a/1.html", "http://h.cn/a/1/index.html"),  # a page of its own
        ("http://h.cn/c/2026/", "http://h.cn/c/2026/index.shtml"),  # the same folder's page
        ("http://h.cn/go.php?id=5", "http://h.cn/a/5.html"),  # a link that forwards
        ("http://h.cn/a/1.html", "http://h.cn/index.php?m=content&id=1"),  # with a query
        ("http://h.cn/a/1.html", "http://h.cn/a/b/index.html"),  # below it
        ("http://h.cn/news/2026/abc/index.html", "http://h.cn/news/2026/abc/"),  # pretty URLs
        ("http://h.cn/news/2026/abc/index.shtml", "http://h.cn/news/2026/abc/"),
    ]
    for asked, final in kept:
        assert redirected_away(asked, final, lists) is None, (asked, final)


def test_a_notice_is_short_and_speaks_to_its_reader() -> None:
    from feeds.withdrawal import gone_notice, notice

    assert notice("抱歉，指定的文章不存在或已被删除或正在被审核 [ 点击这里返回上一页 ]")
    assert notice("對不起，您要查看的頁面已被刪除")
    assert notice("Sorry, the page you requested could not be found.")
    assert not notice("经核实，网传“某地停水三天”的信息不存在，请广大市民不信谣、不传谣。")
    assert not notice("经核实，网传“汉中封城”信息不存在，请您不信谣、不传谣。")
    assert not notice("【辟谣】网传文件内容不存在！提醒您以官方发布为准。")
    assert not notice("您访问的页面不存在。" + "本站提供汉中本地新闻、房产、招聘信息。" * 10)
    doc = lxml.html.fromstring((HTML / "gone_discuz_message.html").read_bytes())
    assert gone_notice(doc, "") == "抱歉，指定的文章不存在或已被删除或正在被审核"
    article = lxml.html.fromstring((HTML / "gone_home.html").read_bytes())
    assert gone_notice(article, "<p>欢迎访问汉中第一网。</p>") is None


def test_a_hostile_page_is_no_notice_and_costs_little() -> None:
    """1 MB of notices, and a message box holding them: too long to be one, read at once."""
    from feeds.withdrawal import gone_notice, notice, redirected_away

    text = "抱歉，您访问的页面不存在" * 90_000
    doc = lxml.html.fromstring(f'<div id="messagetext"><p>{text}</p></div>')
    started = time.perf_counter()
    assert not notice(text)
    assert gone_notice(doc, f"<p>{text}</p>") is None
    assert redirected_away("http://h.cn/" + "a/" * 50_000 + "1.html", "http://h.cn/a/") is not None
    assert time.perf_counter() - started < 1.0


def test_an_item_kept_through_failures_says_so_in_its_stored_digest() -> None:
    from aggregator.retries import read_before

    read = Failures(2, 0.0).stored("d1", read=True)
    assert Failures.of(read, "d1") == Failures(2)
    assert read_before(read)
    assert read_before("d1")
    assert not read_before(Failures(2, 0.0).stored("d1"))
    assert not read_before(None)
    waiting = Failures(ARTICLE_TRIES + 1, 1_700_000_000.0)
    assert Failures.of(waiting.stored("d1", read=True), "d1") == waiting
