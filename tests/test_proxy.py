"""Upstreams reached through an HTTP proxy, set by `fetch.proxy` or by the environment.

The proxies run on loopback and answer for a host name nobody resolves, so a source under that
name is stored only if its request really went through the proxy: an aiohttp server for plain
http, and a CONNECT tunnel for https.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from base64 import b64encode
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from aggregator.proxies import Proxies
from tests.conftest import FIXTURES, free_port, run_cli, run_cli_async
from tests.upstream import local_site

FEED = (FIXTURES / "upstream" / "hzfb.xml").read_bytes()
ITEMS = FEED.count(b"<item>")
PROXIED = "http://hzfb.proxied.invalid/feed.xml"


@asynccontextmanager
async def _site(seen: list[str], tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Serves the feed at /feed.xml for whatever host is asked; records each request's URL,
    and its proxy credentials if it has any."""

    async def answer(request: web.Request) -> web.Response:
        credentials = request.headers.get("Proxy-Authorization")
        seen.append(f"{request.url} {credentials}" if credentials else str(request.url))
        if request.path != "/feed.xml":
            return web.Response(status=404)
        return web.Response(body=FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    async with local_site(app, tls=tls) as origin:
        yield origin


@asynccontextmanager
async def _tunnel(asked: list[str], refusal: bytes = b"") -> AsyncIterator[str]:
    """A CONNECT proxy that reaches every host on loopback and relays the bytes unread, or
    answers every request with `refusal`."""

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0].decode()
        asked.append(request_line)
        if refusal:
            writer.write(refusal)
            await writer.drain()
            writer.close()
            return
        port = int(request_line.split()[1].rpartition(":")[2])
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def _config(tmp: Path, fetch: str, sources: dict[str, str]) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "agg.sqlite3"\n\n[fetch]\ntimeout = "5s"\n{fetch}\n\n'
        + "".join(
            f'[[sources]]\nid = "{name}"\nurl = "{url}"\n\n' for name, url in sources.items()
        ),
        encoding="utf-8",
    )
    return path


async def _status(config: Path) -> dict[str, dict[str, Any]]:
    code, out, err = await run_cli_async("status", config, "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out)}


async def test_fetch_proxy_carries_every_upstream_request(tmp_path: Path) -> None:
    seen: list[str] = []
    async with _site(seen) as proxy:
        with_credentials = proxy.replace("http://", "http://editor:p%40ss@")
        config = _config(tmp_path, f'proxy = "{with_credentials}"', {"hzfb": PROXIED})
        code, _, err = await run_cli_async("fetch", config)
        assert code == 0, err
        rows = await _status(config)
    assert (rows["hzfb"]["last_result"], rows["hzfb"]["items"]) == ("ok", ITEMS), rows
    # the absolute URL, as a client asks a proxy, with the credentials in the proxy's URL
    assert seen == [f"{PROXIED} Basic {b64encode(b'editor:p@ss').decode()}"]


async def test_https_sources_are_tunnelled_and_verified_end_to_end(tmp_path: Path) -> None:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hzfb.proxied.invalid").configure_cert(tls)
    asked: list[str] = []
    served: list[str] = []
    async with _tunnel(asked) as proxy, _site(served, tls) as upstream:
        url = f"https://hzfb.proxied.invalid:{upstream.rpartition(':')[2]}/feed.xml"
        config = _config(tmp_path, f'proxy = "{proxy}"', {"hzfb": url})
        env = {"SSL_CERT_FILE": str(tmp_path / "ca.pem")}
        code, _, err = await run_cli_async("fetch", config, env=env)
        assert code == 0, err
        rows = await _status(config)
    assert (rows["hzfb"]["last_result"], rows["hzfb"]["items"]) == ("ok", ITEMS), rows
    assert asked == [f"CONNECT {url.split('/')[2]} HTTP/1.1"]
    assert served == [url]  # TLS inside the tunnel, to the source's own name and certificate


async def test_the_environments_proxy_is_used_except_for_no_proxy_hosts(tmp_path: Path) -> None:
    through_proxy: list[str] = []
    direct: list[str] = []
    async with _site(through_proxy) as proxy, _site(direct) as upstream:
        config = _config(tmp_path, "", {"hzfb": PROXIED, "local": f"{upstream}/feed.xml"})
        env = {"HTTP_PROXY": proxy, "NO_PROXY": "localhost, 127.0.0.1"}
        code, _, err = await run_cli_async("fetch", config, env=env)
        assert code == 0, err
        rows = await _status(config)
    assert [rows[name]["items"] for name in ("hzfb", "local")] == [ITEMS, ITEMS], rows
    assert through_proxy == [PROXIED]
    assert direct == [f"{upstream}/feed.xml"]


async def test_an_unreachable_proxy_fails_the_source_naming_the_proxy(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, f'proxy = "http://127.0.0.1:{port}"', {"hzfb": PROXIED})
    code, _, err = await run_cli_async("fetch", config)
    assert code == 1, err
    rows = await _status(config)
    assert rows["hzfb"]["last_error"] == (
        f"{PROXIED}: connection refused by the proxy 127.0.0.1:{port}"
    ), rows


def test_a_proxy_that_is_not_an_http_url_is_a_config_error(tmp_path: Path) -> None:
    for value in ("socks5://127.0.0.1:1080", "127.0.0.1:3128", "http://127.0.0.1:port"):
        config = _config(tmp_path, f'proxy = "{value}"', {"hzfb": PROXIED})
        result = run_cli("check", config)
        assert result.returncode == 2, value
        assert f"fetch.proxy: {value!r} must be an http://host:port URL" in result.stderr


async def test_a_proxy_refusing_the_tunnel_fails_the_source_saying_so(tmp_path: Path) -> None:
    asked: list[str] = []
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    async with _tunnel(asked, refusal) as proxy:
        url = "https://hzfb.proxied.invalid/feed.xml"
        config = _config(tmp_path, f'proxy = "{proxy}"', {"hzfb": url})
        code, _, err = await run_cli_async("fetch", config)
        assert code == 1, err
        rows = await _status(config)
    assert asked == ["CONNECT hzfb.proxied.invalid:443 HTTP/1.1"]
    assert rows["hzfb"]["last_error"] == (
        f"{url}: the proxy refused the request: HTTP 407 Proxy Authentication Required"
    ), rows


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "http://www.hanzhong.gov.cn/a.html", True),
        (".gov.cn", "http://www.hanzhong.gov.cn/a.html", False),  # a domain covers its hosts
        ("gov.cn", "http://gov.cn/a.html", False),
        ("gov.cn", "http://notgov.cn/a.html", True),  # but not a name that merely ends alike
        ("*.example.org:8080", "http://a.example.org:8080/", False),
        ("*.example.org:8080", "http://a.example.org/", True),  # another port
        ("example.org:80", "http://a.example.org/", False),  # the scheme's default port
        ("[::1]", "http://[::1]:8080/", False),
        ("::1", "http://[::1]/", False),
        ("localhost, 127.0.0.1", "http://127.0.0.1:9/", False),
        ("*", "http://anything.example/", False),
        ("10.0.0.0/8, 192.168.1.0/24", "http://10.20.30.40/", False),  # address ranges
        ("10.0.0.0/8", "http://11.0.0.1/", True),
        ("10.0.0.0/8", "http://ten.example/", True),  # a range covers addresses, not names
        ("fd00::/8", "http://[fd12::1]:8080/", False),
        ("example.org:²", "http://example.org/", False),  # "²" is no port: any port matches
        ("not/a/range", "http://not/", True),
        ("", "https://www.hanzhong.gov.cn/", False),  # HTTPS_PROXY unset: https goes direct
    ],
)
def test_no_proxy_names_the_hosts_fetched_directly(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, url: str, proxied: bool
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert Proxies(None).for_url(url) == ("http://proxy.example:3128" if proxied else None)


def test_fetch_proxy_wins_over_the_environment_for_both_schemes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://env.example:3128")
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    proxies = Proxies("http://configured.example:8080")
    assert proxies.for_url("http://a.example/") == "http://configured.example:8080"
    assert proxies.for_url("https://a.example/") == "http://configured.example:8080"
    assert proxies.for_url("http://intranet.example/") is None
    assert Proxies(None).for_url("file:///srv/feed.xml") is None
