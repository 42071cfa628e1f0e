"""Which URLs the fetcher may follow: the trust rules of SPEC §8, decided on plain values."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Collection
from urllib.parse import urlsplit
from urllib.request import url2pathname


def port_problem(url: str) -> str | None:
    """The standard library's objection to `url`'s port ("port out of range 0-65535"), if any:
    aiohttp refuses such a URL without saying why."""
    try:
        if urlsplit(url).port is not None:
            return None
    except ValueError as exc:
        return str(exc)[:1].lower() + str(exc)[1:]
    return None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_private_address(host: str) -> bool:
    """True for loopback, private, link-local and other non-public addresses and names."""
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


async def resolves_private(host: str) -> bool:
    """Whether a name resolves to any non-public address (DNS rebinding to an intranet)."""
    if is_private_address(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the request itself will fail with a clear DNS error
    return any(is_private_address(str(info[4][0])) for info in infos)


def allowed_hosts(source_url: str, follow_hosts: Collection[str]) -> frozenset[str]:
    """Where discovered URLs may lead: the source's host and the hosts the operator listed,
    `www.` pairs together. A bare host stands for its default ports (80 and 443); `host:port`
    for that port. The source's host is bare when the source uses a default port, else it
    comes with the source's port only: a loopback source at `:8000` must not lead the
    fetcher to the other services of its machine (`:6379`, `:80`)."""
    source_host = host_of(source_url)
    source_port = _port(source_url)
    own = source_host if source_port is None else _with_port(source_host, source_port)
    hosts = {own, *follow_hosts} if source_host else {*follow_hosts}
    paired = {h[4:] if h.startswith("www.") else f"www.{h}" for h in hosts if h}
    return frozenset(h for h in hosts | paired if h)


async def check_discovered(
    url: str, *, source_url: str, hosts: Collection[str], hosts_key: str = "follow_hosts"
) -> str | None:
    """Why a discovered URL (article link, redirect, alternate) may not be fetched, or None;
    `hosts_key` is the setting that lists `hosts` besides the source's own. An entry
    `.example.com` (or `.example.com:port`) stands for every host under `example.com`."""
    scheme = urlsplit(url).scheme.lower()
    source_scheme = urlsplit(source_url).scheme.lower()
    if scheme == "file" and source_scheme == "file":
        folder = os.path.dirname(_local_path(source_url))
        path = _local_path(url)
        if os.path.commonpath((folder, path)) != folder:
            return f"{path} is outside the source's folder {folder}"
        return None
    if scheme not in ("http", "https"):
        return f"scheme {scheme!r} is not followed"
    host = host_of(url)
    port = _port(url)
    hosts = {*hosts, *_under(hosts, host)}
    if host not in hosts and not any(_named(entry, host) for entry in hosts):
        return f"host {host!r} is not the source's host nor in {hosts_key}"
    if (host if port is None else _with_port(host, port)) not in hosts:
        if port is None:
            return f"the default port of {host!r} is not the source's ({hosts_key}: {host!r})"
        listed = _with_port(host, port)
        return f"port {port} of {host!r} is not the source's ({hosts_key}: {listed!r})"
    source_host = host_of(source_url)
    if not is_private_address(source_host) and await resolves_private(host):
        return f"host {host!r} is a private address, reached from a public source"
    return None


_DEFAULT_PORTS = (80, 443)


def _port(url: str) -> int | None:
    """`url`'s port, or None for a default one (80 or 443 with either scheme, so a site's move
    to https, or back, stays on the site)."""
    try:
        port = urlsplit(url).port
    except ValueError:  # out of range: the request refuses it (`port_problem`)
        return None
    return None if port is None or port in _DEFAULT_PORTS else port


def _with_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _under(hosts: Collection[str], host: str) -> set[str]:
    """The `.domain` entries that cover `host`, as entries naming `host` with their port."""
    found = set()
    for entry in hosts:
        if entry.startswith("."):
            domain, colon, port = entry.partition(":")  # a name has no colon
            if host.endswith(domain):
                found.add(f"{host}{colon}{port}")
    return found


def _named(entry: str, host: str) -> bool:
    """Whether an `allowed_hosts` entry with a port names `host`."""
    return entry.rpartition(":")[0] in (host, f"[{host}]")


def _local_path(url: str) -> str:
    """A `file:` URL's path with its `..` resolved: a local page's links stay in its folder,
    as a site's stay on its host (a saved page linking `file:///etc/passwd` would publish it)."""
    return os.path.normpath(url2pathname(urlsplit(url).path))
