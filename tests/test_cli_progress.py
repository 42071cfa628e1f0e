"""`preview` and `fetch` show on a terminal how far they are in an html source's article pages,
and print nothing more when standard error is no terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import cli_command, run_cli_async
from tests.upstream import local_site

ARTICLES = 3
DELAY = 0.4  # seconds each article page takes to answer
LIST = "".join(
    f'<dl><dt><a href="/article-{n}.html">第{n}条新闻标题</a></dt><dd>摘要{n}</dd></dl>'
    for n in range(1, ARTICLES + 1)
)


def _article(number: int) -> str:
    text = f"<p>第{number}条新闻的正文，足够长的一段文字，说明这篇文章讲了什么。</p>" * 6
    return (
        f"<html><head><title>第{number}条新闻标题</title></head><body>"
        f"<h1>第{number}条新闻标题</h1><div class='content'>{text}</div></body></html>"
    )


@pytest.fixture
async def slow_portal() -> AsyncIterator[str]:
    """A list page answered at once, whose article pages each take `DELAY`."""

    async def listing(request: web.Request) -> web.Response:
        body = f'<html><body><div class="xld">{LIST}</div></body></html>'
        return web.Response(text=body, content_type="text/html")

    async def article(request: web.Request) -> web.Response:
        await asyncio.sleep(DELAY)
        number = int(request.match_info["number"])
        return web.Response(text=_article(number), content_type="text/html")

    app = web.Application()
    app.router.add_get("/list", listing)
    app.router.add_get("/article-{number}.html", article)
    async with local_site(app) as origin:
        yield origin


def _config(tmp_path: Path, origin: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[service]
database = "agg.sqlite3"

[fetch]
per_host = 1

[[sources]]
id = "slow"
url = "{origin}/list"
type = "html"
respect_robots = false

[sources.list]
item = "div.xld dl"
link = "dt a"
""",
        encoding="utf-8",
    )
    return path


async def _on_a_terminal(
    command: list[str], cwd: Path
) -> tuple[int, str, list[tuple[float, str]], float]:
    """`command` with its standard error on a pseudo-terminal: its exit status, stdout, what
    the terminal got as it came (time, text), and when the process ended."""
    master, slave = pty.openpty()
    chunks: list[tuple[float, str]] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                return
            if not data:
                return
            chunks.append((time.monotonic(), data.decode("utf-8", "replace")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=slave, cwd=cwd, env=dict(os.environ)
        )
    finally:
        os.close(slave)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    ended = time.monotonic()
    await asyncio.to_thread(reader.join, 10)
    os.close(master)
    return process.returncode or 0, out.decode(), chunks, ended


def _first(chunks: list[tuple[float, str]], text: str) -> float:
    seen = ""
    for at, chunk in chunks:
        seen += chunk
        if text in seen:
            return at
    raise AssertionError(f"{text!r} never shown: {seen!r}")


async def test_preview_counts_the_article_pages_on_a_terminal(
    tmp_path: Path, slow_portal: str
) -> None:
    config = _config(tmp_path, slow_portal)
    code, out, chunks, ended = await _on_a_terminal(
        cli_command("preview", config, "slow"), tmp_path
    )
    assert code == 0, chunks
    terminal = "".join(chunk for _, chunk in chunks)
    for number in range(1, ARTICLES + 1):
        assert f"\r\x1b[Karticle {number}/{ARTICLES}" in terminal, terminal
    # shown while the other pages were still read, not all at the end
    assert ended - _first(chunks, f"article 1/{ARTICLES}") > DELAY, chunks
    assert terminal.endswith("\r\x1b[K"), "the line is gone before the result is printed"
    # the same result as off a terminal, where nothing more is said
    plain_code, plain_out, plain_err = await run_cli_async("preview", config, "slow")
    assert (plain_code, plain_out) == (code, out)
    assert plain_err == ""
    assert out.startswith(f"slow: {ARTICLES} items from ")
    json_code, as_json, json_err = await run_cli_async("preview", config, "slow", "--json")
    assert (json_code, json_err) == (0, "")
    assert as_json.startswith("{")


async def test_fetch_counts_the_article_pages_of_the_source_on_a_terminal(
    tmp_path: Path, slow_portal: str
) -> None:
    config = _config(tmp_path, slow_portal)
    code, out, chunks, ended = await _on_a_terminal(cli_command("fetch", config), tmp_path)
    assert code == 0, chunks
    terminal = "".join(chunk for _, chunk in chunks)
    assert f"[0/1] 0 failed · slow article 1/{ARTICLES}" in terminal, terminal
    assert f"[0/1] 0 failed · slow article {ARTICLES}/{ARTICLES}" in terminal, terminal
    assert ended - _first(chunks, f"article 1/{ARTICLES}") > DELAY, chunks
    assert out.splitlines()[1].split()[:3] == ["slow", "ok", str(ARTICLES)]


async def test_fetch_off_a_terminal_draws_no_line(tmp_path: Path, slow_portal: str) -> None:
    config = _config(tmp_path, slow_portal)
    code, out, err = await run_cli_async("fetch", config)
    assert code == 0, err
    assert "article" not in err
    assert "\r" not in err
    assert "\x1b" not in err
    assert all(line.startswith("{") for line in err.splitlines()), "JSON log lines only"
    assert out.splitlines()[1].split()[:3] == ["slow", "ok", str(ARTICLES)]
