"""List items that link a file instead of a page (a government notice's PDF, an office
document): published with the file as their enclosure, never with its bytes as their text."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from aggregator.config import load_config
from aggregator.service import running_service
from feeds.files import document_type, file_type, names_a_file
from tests.conftest import FIXTURES, run_cli, run_cli_async
from tests.upstream import Upstream, upstream_site

HTML = FIXTURES / "html"
PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type /Catalog>>\nendobj\n" + bytes(range(256)) * 4096
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RULES = """
[sources.list]
item = "ul.list-ul li"
link = "a"
title = { css = "a", attr = "title" }
published = "span"
"""


@pytest.fixture
async def site() -> AsyncIterator[Upstream]:
    async with upstream_site() as upstream:
        upstream.publish(
            "/tzgg/index.html", (HTML / "gov_file_links.html").read_bytes(), "text/html"
        )
        article = (HTML / "gov_file_links_article.html").read_bytes()
        upstream.publish("/tzgg/202611/t20261124_1.html", article, "text/html; charset=utf-8")
        upstream.publish("/tzgg/202611/P020261127301.pdf", PDF, "application/pdf")
        upstream.publish("/download/1.jsp", PDF, "application/pdf")
        upstream.publish("/view/2.jsp", PDF, "application/octet-stream")  # a type naming none
        upstream.publish("/download/3.jsp", b"PK\x03\x04" + bytes(300_000), "text/plain")
        named = "attachment; filename*=UTF-8''%E9%80%9A%E7%9F%A5.docx"
        upstream.headers["/download/3.jsp"] = {"Content-Disposition": named}
        yield upstream


def write_config(tmp_path: Path, site: Upstream) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[service]
database = "{tmp_path / "db.sqlite3"}"
base_url = "http://feeds.example"

[fetch]
timeout = "5s"
max_bytes = "256KB"
respect_robots = false

[[sources]]
id = "czj"
name = "汉中市财政局"
url = "{site.url("/tzgg/index.html")}"
type = "html"
{RULES}
""",
        encoding="utf-8",
    )
    return path


def _by_title(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["fields"]["title"]: item for item in items}


async def test_preview_shows_a_linked_file_as_its_items_enclosure(
    tmp_path: Path, site: Upstream
) -> None:
    config = write_config(tmp_path, site)
    code, out, err = await run_cli_async("preview", config, "czj", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["warnings"] == []
    items = _by_title(document["items"])
    named = items["汉中市2026年市级部门预算公开目录"]["fields"]
    assert named["enclosures"] == [
        {"url": site.url("/tzgg/202611/P020261127301.pdf"), "media_type": "application/pdf",
         "length": None}
    ]  # fmt: skip
    assert named["content_html"] == ""
    assert named["published"] == "2026-11-27T00:00:00+08:00"
    assert site.seen("/tzgg/202611/P020261127301.pdf") == [], "known by its name: not asked for"
    declared = items["关于2026年度政府采购意向公开的通知"]["fields"]
    assert declared["enclosures"] == [
        {"url": site.url("/download/1.jsp"), "media_type": "application/pdf", "length": len(PDF)}
    ], "its body, over fetch.max_bytes, is left unread"
    assert declared["content_html"] == ""
    sniffed = items["汉中市财政局2026年政府信息公开工作年度报告"]["fields"]
    assert sniffed["enclosures"] == [
        {"url": site.url("/view/2.jsp"), "media_type": "application/pdf", "length": len(PDF)}
    ], "known by its first bytes, the rest left unread"
    assert sniffed["content_html"] == ""
    attached = items["关于报送2027年部门预算编制材料的通知"]["fields"]
    assert attached["enclosures"][0]["media_type"] == DOCX, "named by its disposition"
    assert attached["content_html"] == ""
    page = items["汉中市召开全市财政工作会议"]["fields"]
    assert page["enclosures"] == []
    assert "兜牢基层" in page["content_html"]
    assert "%PDF" not in out


async def test_a_linked_file_is_published_as_an_enclosure_without_its_bytes(
    tmp_path: Path, site: Upstream
) -> None:
    config = load_config(write_config(tmp_path, site))
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[0])
        assert (report.result, report.new) == ("ok", 5), report
    rendered = run_cli("render", tmp_path / "config.toml", "all", "--format", "rss")
    assert rendered.returncode == 0, rendered.stderr
    assert "%PDF" not in rendered.stdout
    entries = {entry.title: entry for entry in feedparser.parse(rendered.stdout).entries}
    declared = entries["关于2026年度政府采购意向公开的通知"]
    assert declared.link == site.url("/download/1.jsp")
    assert [(e.href, e.type, e.length) for e in declared.enclosures] == [
        (site.url("/download/1.jsp"), "application/pdf", str(len(PDF)))
    ]


async def test_a_full_content_feed_keeps_its_items_enclosures(
    tmp_path: Path, site: Upstream
) -> None:
    """Its items completed by their article pages: the feed's enclosures stay."""
    article = site.url("/tzgg/202611/t20261124_1.html")
    rss = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>汉中市财政局</title><link>{site.url("/")}</link>
<description>通知公告</description>
<item><title>汉中市召开全市财政工作会议</title><link>{article}</link><guid>{article}</guid>
<enclosure url="{site.url("/files/budget.pdf")}" type="application/pdf" length="52301"/>
</item></channel></rss>"""
    site.publish("/rss.xml", rss.encode(), "application/rss+xml")
    path = write_config(tmp_path, site)
    text = path.read_text("utf-8").split("[sources.list]")[0]
    text = text.replace('type = "html"', 'type = "feed"\nfull_content = true')
    path.write_text(text.replace("/tzgg/index.html", "/rss.xml"), "utf-8")
    config = load_config(path)
    async with running_service(config, schedule=False) as service:
        report = await service.pipeline.run(config.sources[0])
        assert (report.result, report.new) == ("ok", 1), report
        (item,) = await service.db.latest_items(["czj"], limit=5)
    assert "兜牢基层" in item.content, "read from its article page"
    assert [(e.url, e.media_type, e.length) for e in item.enclosures] == [
        (site.url("/files/budget.pdf"), "application/pdf", 52301)
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://gov.example/202611/P020261127301.PDF", "application/pdf"),
        ("http://gov.example/a/notice.docx?v=2#page", DOCX),
        ("http://gov.example/a/t20261124_1.html", None),
        ("http://gov.example/download.jsp?file=notice.pdf", None),  # a query names no path
        ("http://gov.example/pdf", None),
        ("http://[::1/a.pdf", None),  # no valid URL at all
    ],
)
def test_a_document_is_known_by_its_paths_extension(url: str, expected: str | None) -> None:
    assert document_type(url) == expected


@pytest.mark.parametrize(
    ("media_type", "body", "expected"),
    [
        ("application/pdf", b"", "application/pdf"),
        ("image/jpeg", b"", "image/jpeg"),
        ("text/html", b"<!DOCTYPE html><html>", None),
        ("application/xhtml+xml", b"<html/>", None),
        ("application/rss+xml", b"<rss/>", None),
        ("application/json", b"{}", None),
        ("application/octet-stream", b"<html><body>", None),  # names nothing: read as a page
        ("application/octet-stream", b"PK\x03\x04\x14\x00", "application/zip"),
        (None, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "application/x-ole-storage"),
        ("text/html", b"%PDF-1.4\n", "application/pdf"),  # a server naming every answer so
        ("text/html", b"", None),
    ],
)
def test_a_file_is_known_by_its_type_or_its_first_bytes(
    media_type: str | None, body: bytes, expected: str | None
) -> None:
    assert file_type(media_type, body) == expected
    assert names_a_file(media_type) == (expected is not None and not body)


async def test_a_page_that_refreshes_to_a_file_is_that_file(tmp_path: Path, site: Upstream) -> None:
    """A notice's page that sends the reader on to its PDF (`<meta http-equiv="refresh">`):
    the PDF, over `fetch.max_bytes`, is its enclosure, and is read no further."""
    refresh = '<html><head><meta http-equiv="refresh" content="0; url=/files/9.bin"></head></html>'
    site.publish("/notice/9.html", refresh.encode(), "text/html")
    site.publish("/files/9.bin", PDF, "application/octet-stream")
    config = write_config(tmp_path, site)
    code, out, err = await run_cli_async(
        "preview", config, "czj", "--json", "--article", site.url("/notice/9.html")
    )
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    assert item["fields"]["enclosures"] == [
        {"url": site.url("/files/9.bin"), "media_type": "application/pdf", "length": len(PDF)}
    ]


async def test_a_compressed_file_is_known_once_decoded(tmp_path: Path, site: Upstream) -> None:
    """A server compressing everything it sends, PDFs included: read whole (within
    `fetch.max_bytes`), then known by its first bytes, never parsed as a page."""
    site.publish("/view/5.jsp", gzip.compress(PDF[:100_000]), "application/octet-stream")
    site.headers["/view/5.jsp"] = {"Content-Encoding": "gzip"}
    config = write_config(tmp_path, site)
    code, out, err = await run_cli_async(
        "preview", config, "czj", "--json", "--article", site.url("/view/5.jsp")
    )
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    assert item["fields"]["enclosures"][0]["media_type"] == "application/pdf"
    assert item["fields"]["content_html"] == ""
