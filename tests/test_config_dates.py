"""A document is dated no earlier than the last change of what the config says, whatever the
file's own time: kept in the store, so a restart dates as the server before it did."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from aggregator.config import load_config
from aggregator.configdate import dated
from aggregator.service import running_service
from aggregator.web.cache import SETTLE_SECONDS
from aggregator.web.feedroutes import settle
from storage import Database
from tests.conftest import free_port, run_cli_async
from tests.test_running import (
    Farm,
    Server,
    farm,
    no_server_left,  # noqa: F401 - autouse: a failed test leaves no server running
    start,
    stop,
    write_config,
)

PATH = "/feeds/all.atom"


async def _served(server: Server, since: str | None = None) -> tuple[int, str, bytes]:
    headers = {"If-Modified-Since": since} if since else {}
    async with aiohttp.ClientSession() as http, http.get(server.base + PATH, headers=headers) as r:
        return r.status, r.headers.get("Last-Modified", ""), await r.read()


async def _first_serving(config: Path, port: int, site: Farm) -> str:
    """A server's first run on a store fetched by hand, its upstream changing no more: the
    merged feed's date."""
    fetched = await run_cli_async("fetch", config)
    assert fetched[0] == 0, fetched[2]
    site.per_fetch = 0
    server = await start(config, port)
    await asyncio.sleep(1.1)  # HTTP dates are to the second
    _, date, body = await _served(server)
    code, stderr = await stop(server)
    assert code == 0, stderr
    assert body.count(b"<entry>") == 5
    return date


async def test_a_config_changed_under_its_old_file_time_dates_the_documents_anew(
    tmp_path: Path,
) -> None:
    """A withdrawal deployed with the file's time kept (`cp -p`, `rsync -a`) and a restart:
    the changed feed kept its date, and a reader asking by date got 304 and the item."""
    port = free_port()
    async with farm() as site:
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, "", "1h")
        date = await _first_serving(config, port, site)
        old = config.stat().st_mtime - 86_400
        withdraw = '\n[[stories.withdraw]]\nurls = ["http://example.org/one/4"]\n'
        config.write_text(config.read_text("utf-8") + withdraw, "utf-8")
        os.utime(config, (old, old))
        server = await start(config, port)
        status, new_date, new_body = await _served(server, since=date)
        code, stderr = await stop(server)
    assert code == 0, stderr
    assert (status, new_body.count(b"<entry>")) == (200, 4)
    assert new_date != date


async def test_a_config_saved_unchanged_dates_nothing_anew_across_a_restart(
    tmp_path: Path,
) -> None:
    """A config saved with a comment more, then a restart: readers asking by date downloaded
    every unchanged feed again."""
    port = free_port()
    async with farm() as site:
        config = write_config(tmp_path / "config.toml", port, {"one": site.url("one")}, "", "1h")
        date = await _first_serving(config, port, site)
        config.write_text(config.read_text("utf-8") + "# saved again\n", "utf-8")
        server = await start(config, port)
        status, new_date, _ = await _served(server, since=date)
        code, stderr = await stop(server)
    assert code == 0, stderr
    assert (status, new_date) == (304, date)


async def test_a_process_that_read_the_file_before_the_server_recorded_it_dates_as_the_server(
    tmp_path: Path,
) -> None:
    """A worker started between an edit and the server's reload read the new file first, and
    kept the file's time as its date for good: its reload found the settings unchanged."""
    path = write_config(tmp_path / "config.toml", free_port(), {"one": "one.xml"}, "", "1h")
    db = await Database.open(tmp_path / "agg.sqlite3")
    try:
        await dated(db, load_config(path), record=True)  # the server, at its start
        path.write_text(path.read_text("utf-8").replace("1h", "2h"), "utf-8")
        old = time.time() - 86_400  # copied with its old time
        os.utime(path, (old, old))
        async with running_service(load_config(path), schedule=False, writes=False) as worker:
            assert worker.config.modified > old  # not recorded yet: from now, not the file's
            recorded = await dated(db, load_config(path), record=True)  # the server's reload
            assert recorded.modified > old
            await worker.reload()  # as the server tells it
            assert worker.config.modified == recorded.modified
    finally:
        await db.close()


async def test_processes_keep_dating_as_started_after_a_reload_of_workers(tmp_path: Path) -> None:
    """`service.workers` applies at the next start: reloaded from 2 to 1, the processes still
    sharing the port went on, and dated documents at once again."""
    path = write_config(tmp_path / "config.toml", free_port(), {"one": "one.xml"}, "workers = 2\n")
    async with running_service(load_config(path), schedule=False) as service:
        path.write_text(path.read_text("utf-8").replace("workers = 2", "workers = 1"), "utf-8")
        await service.reload()
        assert service.config.service.workers == 1
        assert settle(service) == SETTLE_SECONDS


def test_settings_that_no_document_shows_change_no_digest(tmp_path: Path) -> None:
    """A new log level or fetch timeout dated every document anew, and readers asking by date
    downloaded each again."""
    path = write_config(tmp_path / "config.toml", free_port(), {"one": "one.xml"}, "", "1h")
    before = load_config(path).digest
    text = path.read_text("utf-8").replace("[service]\n", '[service]\nlog_level = "debug"\n')
    path.write_text(text.replace('timeout = "30s"', 'timeout = "20s"'), "utf-8")
    assert load_config(path).digest == before
    path.write_text(text + 'name = "汉中发布"\n', "utf-8")  # the source's name, in every feed
    assert load_config(path).digest != before
