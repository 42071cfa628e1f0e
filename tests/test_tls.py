"""HTTPS upstreams, good and broken, fetched by `aggregator fetch` as an operator runs it.

A local certificate authority (trustme) signs the upstreams' certificates; the command trusts
it through `SSL_CERT_FILE`, as an operator trusts a private CA. Each broken upstream must fail
its own source with a message that says what is wrong with it, while the good one is stored.
The suite also runs on asyncio's own loop (`.ci/run`): the two loops implement TLS apart.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from tests.conftest import FIXTURES, run_cli_async
from tests.upstream import local_site

FEED = (FIXTURES / "upstream" / "hzfb.xml").read_bytes()
TIMEOUT = 2
ITEMS = FEED.count(b"<item>")


@dataclass
class Sites:
    urls: dict[str, str] = field(default_factory=dict)
    handshakes: list[str] = field(default_factory=list)


def _feed_app() -> web.Application:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    return app


def _context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


async def _https_site(stack: AsyncExitStack, context: ssl.SSLContext | None) -> int:
    origin = await stack.enter_async_context(local_site(_feed_app(), tls=context))
    return int(origin.rpartition(":")[2])


async def _silent_site(stack: AsyncExitStack, sites: Sites) -> int:
    """Accepts the connection, reads the ClientHello, never answers it."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sites.handshakes.append((await reader.read(5)).hex())
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    stack.push_async_callback(server.wait_closed)
    stack.callback(server.close)
    return int(server.sockets[0].getsockname()[1])


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(authority: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return path


@asynccontextmanager
async def https_upstreams(authority: trustme.CA) -> AsyncIterator[Sites]:
    now = datetime.now(UTC)
    certs = {
        "good": authority.issue_cert("127.0.0.1", "localhost"),
        "untrusted": trustme.CA().issue_cert("127.0.0.1"),
        "wrong-host": authority.issue_cert("feeds.example.org"),
        "expired": authority.issue_cert(
            "127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
        ),
    }
    sites = Sites()
    async with AsyncExitStack() as stack:
        for name, cert in certs.items():
            port = await _https_site(stack, _context(cert))
            sites.urls[name] = f"https://127.0.0.1:{port}/feed.xml"
        plain = await _https_site(stack, None)  # plain HTTP where TLS is expected
        sites.urls["plain-http"] = f"https://127.0.0.1:{plain}/feed.xml"
        silent = await _silent_site(stack, sites)
        sites.urls["no-handshake"] = f"https://127.0.0.1:{silent}/feed.xml"
        yield sites


def _config(tmp: Path, sites: Sites) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{tmp / "agg.sqlite3"}"\n\n[fetch]\ntimeout = "{TIMEOUT}s"\n\n'
        + "".join(
            f'[[sources]]\nid = "{name}"\nurl = "{url}"\n\n' for name, url in sites.urls.items()
        ),
        encoding="utf-8",
    )
    return path


async def _run(config: Path, ca_file: Path, *args: str) -> tuple[int, str, str]:
    return await run_cli_async(args[0], config, *args[1:], env={"SSL_CERT_FILE": str(ca_file)})


async def _status(config: Path, ca_file: Path) -> dict[str, dict[str, Any]]:
    code, out, err = await _run(config, ca_file, "status", "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out)}


async def test_each_broken_https_upstream_fails_alone_saying_why(
    authority: trustme.CA, trusted: Path, tmp_path: Path
) -> None:
    async with https_upstreams(authority) as sites:
        config = _config(tmp_path, sites)
        code, _, err = await _run(config, trusted, "fetch")
        assert code == 1, err
        rows = await _status(config, trusted)
    assert sites.handshakes, "the silent upstream saw the client's hello"
    assert sites.handshakes[0].startswith("16"), "a TLS handshake record"

    good = rows["good"]
    assert (good["last_result"], good["items"], good["last_status"]) == ("ok", ITEMS, 200), good

    def port(name: str) -> str:
        return sites.urls[name].split("/")[2]

    not_accepted = "TLS failed: the certificate of {} is not accepted: "
    expected = {
        "untrusted": not_accepted.format(port("untrusted")) + "unable to get local issuer",
        "wrong-host": not_accepted.format(port("wrong-host"))
        + "IP address mismatch, certificate is not valid for '127.0.0.1'.",
        "expired": not_accepted.format(port("expired")) + "certificate has expired",
        "plain-http": f"TLS failed: handshake with {port('plain-http')}: wrong version number",
        "no-handshake": f"timed out after {TIMEOUT}s",
    }
    for name, words in expected.items():
        row = rows[name]
        assert (row["last_result"], row["items"], row["error_streak"]) == ("error", 0, 1), row
        assert row["last_error"].startswith(f"{sites.urls[name]}: {words}"), row["last_error"]
        assert row["last_status"] is None, row

    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    fetched = {line["source"]: line for line in logged if line["event"] == "fetched"}
    for name, url in sites.urls.items():
        assert fetched[name]["url"] == url  # every message names the address at fault
    assert not [line for line in logged if line["level"] == "error"], err


async def test_without_the_private_authority_the_good_upstream_is_refused(
    authority: trustme.CA, tmp_path: Path
) -> None:
    """The system's own store does not know our authority: trust is never assumed."""
    system = Path(ssl.get_default_verify_paths().cafile or os.devnull)
    async with https_upstreams(authority) as sites:
        sites.urls = {"good": sites.urls["good"]}
        config = _config(tmp_path, sites)
        code, _, err = await _run(config, system, "fetch")
        assert code == 1, err
        rows = await _status(config, system)
    assert "is not accepted: unable to get local issuer" in rows["good"]["last_error"]
    assert rows["good"]["items"] == 0


async def test_tls_verify_false_accepts_a_broken_certificate_for_its_source_only(
    authority: trustme.CA, trusted: Path, tmp_path: Path
) -> None:
    """Portals with an expired or self-signed certificate are common: one source may accept
    it, encrypted all the same; another source of the same upstream still refuses it."""
    async with https_upstreams(authority) as sites:
        broken = ("untrusted", "expired", "wrong-host", "plain-http")
        sites.urls = {
            **{f"{name}-accepted": sites.urls[name] for name in broken},
            "untrusted": sites.urls["untrusted"],
        }
        config = _config(tmp_path, sites)
        # one request at a time to 127.0.0.1: the refusal comes after the accepted source's
        # connection went back to the pool, which must not serve it
        text = config.read_text(encoding="utf-8").replace("[fetch]\n", "[fetch]\nper_host = 1\n")
        for name in broken:
            text = text.replace(
                f'id = "{name}-accepted"\n', f'id = "{name}-accepted"\ntls_verify = false\n'
            )
        config.write_text(text, encoding="utf-8")
        code, _, err = await _run(config, trusted, "fetch")
        assert code == 1, err
        rows = await _status(config, trusted)
    for name in ("untrusted", "expired", "wrong-host"):
        row = rows[f"{name}-accepted"]
        assert (row["last_result"], row["items"], row["last_status"]) == ("ok", ITEMS, 200), row
    # still TLS: a server that does not speak it is not read in clear
    assert "wrong version number" in rows["plain-http-accepted"]["last_error"]
    assert rows["plain-http-accepted"]["items"] == 0
    assert "is not accepted: unable to get local issuer" in rows["untrusted"]["last_error"]
    assert rows["untrusted"]["items"] == 0
    # status shows which sources go unchecked
    assert {name for name, row in rows.items() if not row["tls_verify"]} == {
        f"{name}-accepted" for name in broken
    }
