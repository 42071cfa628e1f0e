"""A running `aggregator serve` given configs that used to crash the loader: each reload is
refused with its problems (SIGHUP's log line, the API's 422), and serving goes on. And its
index page once a source is disabled."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import FIXTURES, free_port
from tests.test_running import (  # noqa: F401 - no_server_left: autouse
    TOKEN,
    Server,
    no_server_left,
    start,
    stop,
    write_config,
)

DEEP_REGEX = "(" * 2000 + "a" + ")" * 2000
HTML_SOURCE = '[[sources]]\nid = "list"\nurl = "{url}"\ntype = "html"\n[sources.list]\n'

# (what is added to a good config, the problem it is refused with)
BROKEN = [
    ('[fetch]\ninterval = "0.01ms"', "fetch.interval: '0.01ms' must be at least 1ms"),
    (
        HTML_SOURCE + 'item = "a[title=\'\\u0001\']"\nlink = "a"\n',
        "sources[1].list.item: not a valid CSS selector: All strings must be XML compatible",
    ),
    (
        HTML_SOURCE + f'item = "a"\nlink = {{ css = "a", regex = "{DEEP_REGEX}" }}\n',
        "sources[1].list.link.regex: not a valid regular expression: groups nested too deeply",
    ),
    (
        HTML_SOURCE + 'item = "a"\nlink = { css = "a", regex = "(a{99999999999})" }\n',
        "sources[1].list.link.regex: not a valid regular expression: the repetition number",
    ),
    ("nested = " + "[" * 5000 + "]" * 5000, "not valid TOML: arrays or inline tables nested"),
]


async def _event(server: Server, name: str, seen: list[str], within: float = 15.0) -> Any:
    """The next log line of event `name`, read as the server writes it; lines read are kept."""
    assert server.process.stderr is not None
    async with asyncio.timeout(within):
        while line := (await server.process.stderr.readline()).decode():
            seen.append(line)
            if line.startswith("{") and json.loads(line)["event"] == name:
                return json.loads(line)
    raise AssertionError(f"no {name!r} event in {seen}")


async def test_a_config_that_crashed_the_loader_is_a_refused_reload(tmp_path: Path) -> None:
    port = free_port()
    feed = (FIXTURES / "upstream" / "hzfb.xml").as_uri()
    config = write_config(tmp_path / "config.toml", port, {"hzfb": feed}, interval="1h")
    good = config.read_text("utf-8")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    server = await start(config, port)
    seen: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            for added, problem in BROKEN:
                if added.startswith("[fetch]"):
                    config.write_text(good.replace("[fetch]", added), "utf-8")
                else:
                    config.write_text(good + added.replace("{url}", feed) + "\n", "utf-8")
                async with http.post(f"{server.base}/api/reload", headers=bearer) as response:
                    assert response.status == 422, await response.text()
                    errors = (await response.json())["errors"]
                assert any(e.startswith(problem) for e in errors), (problem, errors)
                server.signal(signal.SIGHUP)
                refused = await _event(
                    server, "config reload refused, the running config stays", seen
                )
                assert refused["errors"] == errors
                async with http.get(f"{server.base}/sources/hzfb.atom") as response:
                    assert response.status == 200
    finally:
        code, rest = await stop(server)
    log = "".join(seen) + rest
    assert code == 0, log
    assert "Task exception was never retrieved" not in log
    assert "Traceback" not in log


async def test_the_index_shows_a_disabled_source_without_its_feed(tmp_path: Path) -> None:
    """The source's feed answers 404 once disabled, and it is fetched no more."""
    port = free_port()
    feed = (FIXTURES / "upstream" / "hzfb.xml").as_uri()
    config = write_config(tmp_path / "config.toml", port, {"hzfb": feed}, interval="1h")
    link = f'href="http://127.0.0.1:{port}/sources/hzfb.atom"'
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    server = await start(config, port)
    try:
        async with aiohttp.ClientSession() as http:
            fetch = f"{server.base}/api/sources/hzfb/fetch"
            async with http.post(fetch, headers=bearer) as response:
                assert response.status == 202
            async with asyncio.timeout(60):  # the fetch, which stores the next one's time
                while True:
                    async with http.get(f"{server.base}/api/sources") as response:
                        if (await response.json())["sources"][0]["last_result"] == "ok":
                            break
                    await asyncio.sleep(0.1)
            async with http.get(f"{server.base}/") as response:
                assert link in await response.text()
            config.write_text(
                config.read_text("utf-8").replace('interval = "1h"', "enabled = false"), "utf-8"
            )
            async with http.post(f"{server.base}/api/reload", headers=bearer) as response:
                assert response.status == 200, await response.text()
            async with http.get(f"{server.base}/sources/hzfb.atom") as response:
                assert response.status == 404
            async with http.get(f"{server.base}/") as response:
                page = await response.text()
    finally:
        await stop(server)
    assert link not in page
    row = re.search(r"<tr><td>hzfb</td>.*?</tr>", page)
    assert row is not None, page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))
    assert cells[0] == "hzfb"
    assert cells[1] == "disabled (ok)"
    assert cells[4] == "—", "no next fetch for a source that is fetched no more"
