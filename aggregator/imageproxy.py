"""Published addresses of our own for pictures whose hosts refuse other sites' pages.

WeChat's `mmbiz.qpic.cn` and Weibo's `sinaimg.cn` answer a request naming another site's page
as its referrer with a "not allowed" picture. Readers that drop `referrerpolicy` (or render
content inside their own pages) show that picture instead of the article's. For the hosts in
`service.image_proxy_hosts`, published content points at `/images/{signature}/{address}` on
this service instead, which fetches the picture without a referrer (`aggregator/web/images.py`).

Each address is signed with the store's own key (HMAC-SHA256), so the route serves only the
pictures this service published, not any picture of those hosts anyone asks for.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Collection
from urllib.parse import urlsplit

from aggregator.config import Config
from feeds.imagelinks import rewrite_images
from storage import Reads

KEY_NAME = "image_proxy"
ROUTE = "/images/{signature}/{address}"
_SIGNATURE_BYTES = 16
_KEPT_ADDRESSES = 8192  # per proxy: a feed's renders after each change sign the same pictures
# Longest address of ours: servers refuse a longer request line (aiohttp's and nginx's limit
# is 8 KB, the method and protocol included), and a picture at a longer one is better shown
# from its own address than not at all.
LONGEST_ADDRESS = 8000


_DEFAULT_PORTS = (80, 443)


class ImageProxy:
    def __init__(self, key: bytes, hosts: Collection[str], base_url: str) -> None:
        self._key = key
        self.hosts = tuple(hosts)
        self._prefix = f"{base_url}/images/"
        self._addresses: dict[str, str | None] = {}

    def covers(self, url: str) -> bool:
        """Whether `url` is an http(s) address on one of the hosts (or a subdomain of one): on
        ports 80 and 443 of a bare host, on the port of a `host:port`. An upstream's picture
        must not choose another service of a listed host (nor learn from our answer whether
        a port is open)."""
        return self.listed_entry(url) is not None

    def listed_entry(self, url: str) -> str | None:
        """The entry of the hosts that covers `url` (`covers`), or None."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme.lower() not in ("http", "https"):
            return None
        host = (parts.hostname or "").lower()
        default = port in (None, *_DEFAULT_PORTS)  # as `netpolicy` reads a bare host
        for listed in self.hosts:
            name, _, listed_port = listed.partition(":")
            if (port == int(listed_port) if listed_port else default) and (
                host == name or host.endswith(f".{name}")
            ):
                return listed
        return None

    def signature(self, url: str) -> str:
        digest = hmac.new(self._key, url.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return _encode(digest.digest()[:_SIGNATURE_BYTES])

    def address(self, url: str) -> str | None:
        """Our address for the picture at `url`, or None when its host is not proxied or ours
        would be longer than `LONGEST_ADDRESS`."""
        if url in self._addresses:
            return self._addresses[url]
        if len(self._addresses) >= _KEPT_ADDRESSES:
            self._addresses.clear()
        found: str | None = None
        if self.covers(url):
            encoded = _encode(url.encode("utf-8", "surrogatepass"))
            found = f"{self._prefix}{self.signature(url)}/{encoded}"
            if len(found) > LONGEST_ADDRESS:
                found = None
        self._addresses[url] = found
        return found

    def rewrite(self, fragment: str) -> str:
        """`fragment` with the pictures of the proxied hosts at our addresses."""
        if not any(host in fragment for host in self.hosts):
            return fragment
        return rewrite_images(fragment, self.address)

    def target(self, signature: str, encoded: str) -> str | None:
        """The picture's address an `/images/` request names, if we signed it and its host
        is still proxied; None for anything else."""
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            url = base64.urlsafe_b64decode(padded).decode("utf-8", "surrogatepass")
        except (binascii.Error, ValueError):
            return None
        given = signature.encode("utf-8", "surrogatepass")  # any text a request may carry
        if not hmac.compare_digest(given, self.signature(url).encode()) or not self.covers(url):
            return None
        return url


async def image_proxy(config: Config, db: Reads) -> ImageProxy | None:
    """The proxy the config asks for, or None when it lists no host."""
    hosts = config.service.image_proxy_hosts
    if not hosts:
        return None
    return _proxy(await db.secret(KEY_NAME), hosts, config.service.base_url)


@functools.lru_cache(maxsize=4)
def _proxy(key: bytes, hosts: tuple[str, ...], base_url: str) -> ImageProxy:
    """One proxy for each config and store, so its signed addresses are kept between renders."""
    return ImageProxy(key, hosts, base_url)


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
