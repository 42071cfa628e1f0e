"""A fetched service for publishing tests: two real sources, two hostile ones, two channels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aggregator.config import load_config
from aggregator.cpu import CpuPool
from aggregator.service import Service, running_service
from aggregator.web.app import make_app
from tests.conftest import FIXTURES

Client = TestClient[web.Request, web.Application]
BASE = "http://feeds.example"
HOSTILE_TITLE = (
    "<img src=x onerror=\"document.title='pwned';document.body.setAttribute('data-pwned','1')\">"
    " 汉中 & co ]]> end"
)

CONFIG = """
[service]
title = "测试 <聚合> & co"
base_url = "{base}"
database = "{db}"
{extra}

[[sources]]
id = "hzfb"
name = "汉中发布"
url = "{fixtures}/upstream/hzfb.xml"
tags = ["政务"]
publisher = {{ name = "汉中市人民政府新闻办公室", url = "https://example.org/" }}

[[sources]]
id = "portal"
name = "汉中第一网 <b>"
url = "{fixtures}/upstream/portal-rss.gbk.xml"

[[sources]]
id = "hostile"
name = "Hostile <script>alert(1)</script> & ]]>"
url = "{fixtures}/upstream/hostile.json"
tags = ["汉中"]

[[sources]]
id = "broken"
name = "Broken & co"
url = "{fixtures}/upstream/hostile.xml"

[[feeds]]
id = "keji"
title = "科技 & <b>"
include = ["创新", "科技"]

[[feeds]]
id = "local"
title = "本地"
sources = ["hzfb", "portal"]
"""


def write_config(folder: Path, *, base: str = BASE, extra: str = "") -> Path:
    path = folder / "config.toml"
    text = CONFIG.format(base=base, db=folder / "db.sqlite3", fixtures=FIXTURES, extra=extra)
    path.write_text(text, "utf-8")
    return path


@asynccontextmanager
async def fetched_service(
    folder: Path, *, base: str = BASE, extra: str = "", cpu: CpuPool | None = None
) -> AsyncIterator[Service]:
    """The service with every source fetched once, as `aggregator fetch` would; parsing (and
    rendering) in `cpu`'s processes when given."""
    config = load_config(write_config(folder, base=base, extra=extra))
    async with running_service(config, schedule=False, cpu=cpu) as service:
        for source in config.sources:
            report = await service.pipeline.run(source)
            assert not report.failed, report
        yield service


@asynccontextmanager
async def client_for(service: Service, port: int | None = None) -> AsyncIterator[Client]:
    server = TestServer(make_app(service), host="127.0.0.1", port=port)
    async with TestClient(server) as client:
        yield client
