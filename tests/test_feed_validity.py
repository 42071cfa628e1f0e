"""Every feed route, with queries and hostile upstream content, is well-formed and complete.

Hostile: `<script>` and event handlers in titles and bodies, control characters, `]]>`, lone
`&`, `javascript:` links, HTML in source names. What the W3C validator would reject is checked
here directly: strict XML parsing, the self link, guids, source metadata, date formats.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest
from lxml import etree

from tests.publishing import BASE, HOSTILE_TITLE, Client, client_for, fetched_service

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
DC_SOURCE = f"{DC}source"
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$"
)
END_TAG = re.compile(r"</[A-Za-z]\w*\s*>")
ANGLED_EMAIL = re.compile(r"<[^<>@\s]+@[^<>\s]+>")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ROUTES = [
    "/feeds/all",
    "/feeds/all?limit=2",
    f"/feeds/all?q={quote('汉中')}",
    f"/feeds/all?tag={quote('汉中')}&source=hostile",
    "/feeds/keji",
    f"/feeds/keji?q={quote('科技')}&limit=1",
    "/feeds/local?source=portal",
    "/sources/hostile",
    f"/sources/hostile?q={quote('春运')}",
    "/sources/broken",
    "/sources/hzfb?tag=%E4%BA%A4%E9%80%9A",
    "/feeds/all?q=nothing-matches-this",  # an empty feed still has a plausible date
]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with fetched_service(tmp_path) as service, client_for(service) as test_client:
        yield test_client


def _url(route: str, fmt: str) -> str:
    path, _, query = route.partition("?")
    return f"{path}.{fmt}" + (f"?{query}" if query else "")


def _safe_html(fragment: str | None) -> None:
    """Published HTML carries no script, event handler or `javascript:` URL."""
    if not fragment or not fragment.strip():
        return
    for element in lxml.html.fragment_fromstring(fragment, create_parent="div").iter():
        assert element.tag not in ("script", "style", "svg"), fragment
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), fragment
            assert not value.strip().lower().startswith("javascript:"), fragment


def _plain(element: etree._Element | None) -> None:
    """The validator's "should not contain HTML" and "should not include email address"."""
    text = "" if element is None else element.text or ""
    assert not END_TAG.search(text), text
    assert not ANGLED_EMAIL.search(text), text


def _plausible(when: datetime) -> None:
    """The validator's bounds: not before 1990, not more than a day ahead."""
    assert datetime(1990, 1, 1, tzinfo=UTC) <= when <= datetime.now(UTC) + timedelta(days=1)


def _rfc822(value: str | None) -> None:
    assert value is not None
    assert RFC822.match(value), value
    _plausible(parsedate_to_datetime(value))


def _rfc3339(value: str | None) -> None:
    assert value is not None
    assert RFC3339.match(value), value
    _plausible(datetime.fromisoformat(value.replace("Z", "+00:00")))


def check_rss(body: bytes, url: str) -> list[str]:
    root = etree.fromstring(body)  # strict: raises on anything not well-formed
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("title")
    assert channel.findtext("description")
    selves = [e.get("href") for e in channel.iter(f"{ATOM}link") if e.get("rel") == "self"]
    assert selves == [BASE + url]
    _rfc822(channel.findtext("lastBuildDate"))
    for element in channel.iter("title", "description", "category", "source", f"{DC}*"):
        parent = element.getparent()
        if element.tag != "description" or parent is None or parent.tag != "item":
            _plain(element)  # an item's description is HTML, the rest plain text
    titles, guids = [], set()
    for item in channel.iter("item"):
        guid = item.find("guid")
        assert guid is not None
        assert guid.text
        assert guid.text not in guids
        guids.add(guid.text)
        assert guid.get("isPermaLink") == "false"
        _rfc822(item.findtext("pubDate"))
        source = item.find("source")
        assert source is not None
        assert source.get("url", "").startswith(BASE + "/sources/")
        # The validator warns on an item with both <source> and dc:source.
        assert item.find(DC_SOURCE) is None
        _safe_html(item.findtext("description"))
        _safe_html(item.findtext(CONTENT))
        titles.append(item.findtext("title") or "")
    return titles


def check_atom(body: bytes, url: str) -> list[str]:
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id")
    assert root.findtext(f"{ATOM}title") is not None
    selves = [e.get("href") for e in root.findall(f"{ATOM}link") if e.get("rel") == "self"]
    assert selves == [BASE + url]
    _rfc3339(root.findtext(f"{ATOM}updated"))
    for tag in ("title", "subtitle", "rights", "name"):
        for element in root.iter(f"{ATOM}{tag}"):
            _plain(element)
    titles, updates = [], set()
    for entry in root.iter(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}title")
        updated = entry.findtext(f"{ATOM}updated")
        _rfc3339(updated)
        assert updated not in updates  # the validator warns on two entries updated alike
        updates.add(updated)
        source = entry.find(f"{ATOM}source")
        assert source is not None
        assert source.findtext(f"{ATOM}id")
        assert source.findtext(f"{ATOM}title")
        _rfc3339(source.findtext(f"{ATOM}updated"))
        for tag in ("summary", "content"):
            _safe_html(entry.findtext(f"{ATOM}{tag}"))
        titles.append(entry.findtext(f"{ATOM}title") or "")
    return titles


def check_json(body: bytes, url: str) -> list[str]:
    document = json.loads(body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str)
    assert document["title"]
    assert document["feed_url"] == BASE + url
    assert isinstance(document["items"], list)
    titles = []
    for item in document["items"]:
        assert isinstance(item["id"], str)
        assert item["id"]
        assert item.get("content_html") or item.get("content_text")
        if "url" in item:
            assert item["url"].startswith(("http://", "https://"))
        _rfc3339(item["date_published"])
        _rfc3339(item.get("date_modified", item["date_published"]))
        assert {"id", "name", "url"} <= set(item["_source"])
        _safe_html(item.get("content_html"))
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", json.dumps(item, ensure_ascii=False))
        titles.append(item.get("title", ""))
    return titles


CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}


@pytest.mark.parametrize("fmt", sorted(CHECKS))
async def test_every_route_is_valid_with_hostile_content(client: Client, fmt: str) -> None:
    seen: list[str] = []
    for route in ROUTES:
        url = _url(route, fmt)
        response = await client.get(url)
        assert response.status == 200, url
        assert response.headers["Content-Type"].endswith("; charset=utf-8")
        seen += CHECKS[fmt](await response.read(), url)
    assert HOSTILE_TITLE in seen, "the hostile entry was published, as text"
    assert "Tom & Jerry ]]> 汉中" in seen


@pytest.mark.parametrize("fmt", sorted(CHECKS))
async def test_next_pages_are_valid_too(client: Client, fmt: str) -> None:
    url = _url(f"/feeds/all?q={quote('汉中')}&limit=2", fmt)
    pages = 0
    while url:
        body = await (await client.get(url)).read()
        CHECKS[fmt](body, url)
        pages += 1
        if fmt == "json":
            url = json.loads(body).get("next_url", "").removeprefix(BASE)
        else:
            root = etree.fromstring(body)
            hrefs = [e.get("href", "") for e in root.iter(f"{ATOM}link") if e.get("rel") == "next"]
            url = hrefs[0].removeprefix(BASE) if hrefs else ""
    assert pages == 3
