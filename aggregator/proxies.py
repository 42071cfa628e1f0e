"""Which proxy an upstream request goes through: `fetch.proxy`, else the environment's.

Read once, not per request: aiohttp's `trust_env` looks the environment and `~/.netrc` up in a
thread for every request (two thread hops on the hot path), and would send netrc credentials
to upstream hosts. `NO_PROXY` names the hosts fetched directly, whichever proxy is set, as curl
reads it: `*`, or comma-separated hosts that also cover their subdomains, with an optional port,
and address ranges (`10.0.0.0/8`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Proxies:
    """The proxy for each URL; with none set, answering costs one truth test."""

    def __init__(self, configured: str | None) -> None:
        found = getproxies_environment()  # HTTP_PROXY, http_proxy, ...: lower case wins
        self._by_scheme: dict[str, str] = (
            {"http": configured, "https": configured}
            if configured
            else {k: v for k, v in found.items() if k in ("http", "https")}
        )
        self._direct = tuple(_rule(text) for text in found.get("no", "").split(",") if text.strip())

    def for_url(self, url: str) -> str | None:
        """The proxy URL for `url`, or None to connect directly."""
        if not self._by_scheme:
            return None
        parts = urlsplit(url)
        proxy = self._by_scheme.get(parts.scheme)
        if proxy is None:
            return None
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # not a port: the request fails on its own
            port = None
        return None if self._is_direct(parts.hostname or "", port) else proxy

    def _is_direct(self, host: str, port: int | None) -> bool:
        for name, only_port in self._direct:
            if only_port is not None and only_port != port:
                continue
            if isinstance(name, str):
                if name == "*" or host == name or host.endswith(f".{name}"):
                    return True
            elif _address_in(host, name):
                return True
        return False


def _address_in(host: str, network: _Network) -> bool:
    try:
        return ipaddress.ip_address(host) in network
    except ValueError:  # a name: ranges cover addresses only
        return False


def _rule(text: str) -> tuple[str | _Network, int | None]:
    """One `NO_PROXY` entry as (host or address range, port or None): `.example.org`,
    `*.example.org:8080`, `10.0.0.0/8`."""
    text = text.strip().lower()
    if "/" in text:
        try:
            return ipaddress.ip_network(text, strict=False), None
        except ValueError:  # not a range: no host matches it
            return text, None
    if text.startswith("["):  # [::1]:8080
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:  # no port, or a bare IPv6 address
        host, port = text, ""
    host = host.removeprefix("*.").lstrip(".")
    return host, int(port) if port.isascii() and port.isdigit() else None
