"""Partner widgets: the iframe page escapes everything; the script renders in a real browser."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import lxml.html
import pytest
from aiohttp import web

from aggregator.service import Service
from aggregator.web.embed import CSP
from tests.publishing import HOSTILE_TITLE, Client, client_for, fetched_service
from tests.upstream import local_site

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()


def _elements(node: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement]:
    found = node.xpath(path)
    assert isinstance(found, list)
    return [element for element in found if isinstance(element, lxml.html.HtmlElement)]


def _text(node: lxml.html.HtmlElement, path: str) -> str:
    return str(node.xpath(f"string({path})"))


def _links(node: lxml.html.HtmlElement) -> dict[str, str]:
    """Link text -> href of every link under `node`."""
    return {a.text_content(): a.get("href", "") for a in _elements(node, ".//a")}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with fetched_service(tmp_path) as running:
        yield running


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with client_for(service) as test_client:
        yield test_client


async def test_iframe_page_escapes_a_hostile_entry(client: Client) -> None:
    response = await client.get("/embed/all?limit=50")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP
    assert "script" not in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = await response.text()
    assert "<script" not in page
    assert "javascript:" not in page
    assert "http://" not in page.split("<body")[0], "no external asset"
    tree = lxml.html.fromstring(page)
    assert not tree.xpath("//img | //script | //iframe | //@*[starts-with(name(), 'on')]")
    links = _links(tree)
    assert links[HOSTILE_TITLE] == "https://hostile.example/1?a=1&b=%3C2%3E"
    items = _elements(tree, "//li")
    assert "]]> 春运 CDATA end <![CDATA[ x ]]>" in [li.text for li in items], "no link: not http(s)"
    sources = " ".join(_text(li, "div") for li in items)
    assert "Hostile alert(1) & ]]>" in sources, "the name as the feeds publish it"
    assert all(href.startswith(("http://", "https://")) for href in links.values())


async def test_iframe_page_shows_the_words_the_feeds_publish(client: Client) -> None:
    """A title or name with leaked markup or a direction override reads on the page as in
    the feeds (and so in the script, which renders the JSON Feed)."""
    feed = await (await client.get("/feeds/all.json?limit=50")).json()
    page = lxml.html.fromstring(await (await client.get("/embed/all?limit=50")).text())
    shown = [(_text(li, "a") or li.text or "", _text(li, "div")) for li in _elements(page, "//li")]
    published = [(item.get("title"), item["_source"]["name"]) for item in feed["items"]]
    assert len(shown) == len(published) > 2
    for (title, meta), (feed_title, source_name) in zip(shown, published, strict=True):
        assert title == (feed_title or title), "an untitled entry shows its summary"
        assert meta.endswith(f"来源: {source_name}")
    titles = [title for title, _ in shown]
    assert "重磅：新增gpj.exe" in titles
    assert not any("<b>" in title or "\u202e" in title for title in titles)


async def test_iframe_page_options(client: Client) -> None:
    dark = await (await client.get("/embed/local?theme=dark&lang=en&limit=2")).text()
    tree = lxml.html.fromstring(dark)
    assert tree.get("lang") == "en"
    assert _text(tree, "//body/@class") == "dark"
    assert len(_elements(tree, "//li")) == 2
    assert "Source: 汉中发布" in _text(tree, "//li[1]")
    assert "2022" in _text(tree, "//li[1]//time")
    light = lxml.html.fromstring(await (await client.get("/embed/local")).text())
    assert light.get("lang") == "zh-CN"
    assert _text(light, "//body/@class") == "light"
    assert "来源: 汉中发布" in _text(light, "//li[1]")
    bad_values = [("theme=blue", "theme"), ("lang=fr", "lang"), ("limit=51", "limit"),
                  ("limit=%C2%B2", "limit"), ("theme=dark&theme=%3Cx%3E", "theme"),
                  ("limit=2&limit=3", "limit")]  # fmt: skip
    for bad, parameter in bad_values:
        response = await client.get(f"/embed/local?{bad}")
        assert response.status == 400
        assert (await response.text()).startswith(f"{parameter}: ")
    for path in ("/embed/nope", "/embed/nope.js"):
        response = await client.get(path)
        assert (response.status, await response.text()) == (404, "no feed 'nope'\n")
        assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_iframe_pages_asked_for_together_are_one_page(client: Client) -> None:
    """Partner pages load together; their requests share one render and still differ by query."""
    urls = ["/embed/local?theme=dark", "/embed/local?theme=dark", "/embed/local?lang=en"] * 5
    responses = await asyncio.gather(*(client.get(url) for url in urls))
    assert {response.status for response in responses} == {200}
    pages: dict[str, set[bytes]] = {}
    for url, response in zip(urls, responses, strict=True):
        pages.setdefault(url, set()).add(await response.read())
    assert [len(bodies) for bodies in pages.values()] == [1, 1]
    dark, english = (next(iter(bodies)) for bodies in pages.values())
    assert b'class="dark"' in dark
    assert b'lang="en"' in english


async def test_script_is_served_for_cross_origin_use(client: Client) -> None:
    response = await client.get("/embed/all.js")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    script = await response.text()
    assert "innerHTML" not in script.split("*/", 1)[1], "entry data never becomes markup"
    assert '"feed": "all"' in script
    again = await client.get("/embed/all.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


def _partner_page(origin: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Partner</title>
<script>/* a payload calling alert() would block headless Chromium: make it leave a mark */
window.alert = window.confirm = window.prompt = function () {{
  document.documentElement.setAttribute("data-alerted", "1");
}};</script></head><body>
<h1>Partner news</h1>
<div data-aggregator-feed="all" data-limit="20"></div>
<div data-aggregator-feed="local" data-limit="1" data-lang="en"></div>
<div data-aggregator-feed="keji"></div>
<script src="{origin}/embed/all.js"></script>
<script src="{origin}/embed/local.js"></script>
</body></html>"""


def _partner_site(page: str) -> AbstractAsyncContextManager[str]:
    """A second origin: another server, another port, that only serves the partner's page."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", serve)
    return local_site(app)


async def _dump_dom(url: str) -> str:
    """What headless Chromium has in the DOM once the page's scripts have run."""
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
            "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError("Chromium did not finish rendering the page") from None
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8")


async def test_script_renders_entries_as_text_in_a_real_browser(
    client: Client, service: Service
) -> None:
    assert HAVE_CHROMIUM, "headless Chromium is required: apt-get install -y chromium"
    origin = str(client.make_url("")).rstrip("/")
    async with _partner_site(_partner_page(origin)) as partner:
        assert partner.split(":")[2] != origin.split(":")[2], "two origins"
        dom = lxml.html.fromstring(await _dump_dom(f"{partner}/"))
    assert dom.findtext("head/title") == "Partner", "the payload never ran"
    assert not dom.xpath("//img | //*[@data-pwned] | //*[@data-alerted]")
    assert not dom.xpath("//@*[starts-with(name(), 'on')]")
    expected = json.loads(await (await client.get("/feeds/all.json?limit=20")).read())["items"]
    (box,) = _elements(dom, "//div[@data-aggregator-feed='all']")
    assert box.get("data-aggregator-state") == "ok"
    entries = _elements(box, ".//li")
    assert len(entries) == len(expected) == 12
    titles = [_text(li, "*[1]") for li in entries]
    assert HOSTILE_TITLE in titles
    links = _links(box)
    assert links[HOSTILE_TITLE] == "https://hostile.example/1?a=1&b=%3C2%3E"
    assert all(href.startswith(("http://", "https://")) for href in links.values())
    assert "]]> 春运 CDATA end <![CDATA[ x ]]>" in titles, "kept as text, without a link"
    # The source name's markup is dropped (plain_line), the rest shown as text.
    assert "Hostile alert(1) & ]]>" in _text(box, ".")
    (local,) = _elements(dom, "//div[@data-aggregator-feed='local']")
    assert len(_elements(local, ".//li")) == 1
    assert _text(local, ".//span[@class='aggregator-source']") == "汉中发布"
    assert "2022" in _text(local, ".//time")
    (untouched,) = _elements(dom, "//div[@data-aggregator-feed='keji']")
    assert len(untouched) == 0, "no script for keji on the page: left alone"
