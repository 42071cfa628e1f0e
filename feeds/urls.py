"""Links made absolute for every parser: `urljoin`'s results, without its cost where it is a no-op.

Most links in feeds and pages are already absolute http(s) URLs. For those `urljoin` returns
the link itself, or the link split and joined again, which gives the same text unless the link
has a scheme in capitals, `;` parameters, an empty `?` or `#`, brackets (an IPv6 host, which
it validates), whitespace it removes, or characters beyond ASCII. Skipping it where it changes
nothing takes a link from about 7 µs (on a URL the split cache has not seen) to under 1. Links
from the site's root (`/news/1.html`, as most pages and feed bodies write them) are joined to
the base's scheme and host directly where urljoin would only put them together.
tests/test_urls.py compares both over generated links.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin

import idna

# A host, then printable ASCII without ";", "[" or "]".
_PLAIN_ABSOLUTE = re.compile(r"https?://(?![/?#])[!-:<-Z\\^-~]+")
# What a URI holds as it is (RFC 3986 §2: unreserved, reserved but brackets, and escapes).
_URI = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*")
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# As `_URI`, without ";", which `urljoin` reads as parameters and may change.
_PLAIN_URI = re.compile(r"https?://(?![/?#])[A-Za-z0-9\-._~:/?#@!$&'()*+,=%]+")
_PARTS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*:)?(?://(?P<authority>[^/?#]*))?(?P<rest>.*)", re.S
)
_URI_SAFE = "!#$&'()*+,/:;=?@%"  # and quote's own: letters, digits, "-._~"
# A base's scheme and host: the same characters, up to the "/", "?" or "#" that ends the host.
_ORIGIN = re.compile(r"https?://[!\"$-.0-:<->@-Z\\^-~]+(?=[/?#]|\Z)")


def plain_uri(url: str) -> bool:
    """Whether `url` is an absolute http(s) URI that `urljoin` and `as_uri` both leave as it
    is: most links are, and one regex then answers what `plain_absolute` and `as_uri` would,
    each with their own."""
    return (
        bool(_PLAIN_URI.fullmatch(url))
        and url[-1] not in "?#"
        and "?#" not in url
        and ("%" not in url or not _BARE_PERCENT.search(url))
    )


def as_uri(url: str) -> str:
    """`url` as a URI: what one cannot hold (a space, `<`, `"`, Chinese in a path or query, a
    `%` that starts no escape) percent-encoded as UTF-8, and a host beyond ASCII in IDNA
    (UTS 46, as browsers write it: `faß.de` stays itself, IDNA 2003 made it `fass.de`), as
    RFC 3987 §3.1 maps an IRI. Upstreams write such links as they are; published so, they
    made every feed showing them invalid. Raises ValueError for what has no such form."""
    if _URI.fullmatch(url) and ("%" not in url or not _BARE_PERCENT.search(url)):
        return url
    parts = _PARTS.fullmatch(url)
    assert parts is not None  # every part is optional
    authority = parts["authority"]
    written = parts["scheme"] or ""
    if authority is not None:
        written += "//" + _authority(authority)
    path_query, hash_mark, fragment = parts["rest"].partition("#")
    return written + _escape(path_query) + hash_mark + _escape(fragment, "", "#")


def _authority(authority: str) -> str:
    userinfo, at, host_port = authority.rpartition("@")
    if host_port.startswith("["):  # an IP literal: ASCII, its brackets kept
        return _escape(userinfo, "", "@") + at + _escape(host_port, "[]")
    host, colon, port = host_port.partition(":")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"no ASCII form of the host {host!r}") from exc
    return _escape(userinfo, "", "@") + at + _escape(host) + colon + _escape(port)


def _escape(part: str, brackets: str = "", unsafe: str = "") -> str:
    """`brackets`: "[]" for an IP literal host; `unsafe`: characters of `_URI_SAFE` that are
    not so here (`@` in user info, `#` in a fragment)."""
    safe = "".join(c for c in _URI_SAFE if c not in unsafe) + brackets
    return quote(_BARE_PERCENT.sub("%25", part), safe=safe)


def resolve(base: str, href: str) -> str:
    """`urljoin(base, href)`, for a `base` that is a valid URL; raises ValueError as it does."""
    if plain_absolute(href):
        return href
    if href[:1] == "/" and href[1:2] != "/" and (origin := _ORIGIN.match(base)):
        joined = origin[0] + href  # a link from the site's root: "/news/1.html"
        if plain_absolute(joined) and "/." not in href.partition("?")[0].partition("#")[0]:
            return joined  # what urljoin gives when there is no dot segment to remove
    return urljoin(base, href)


def plain_absolute(href: str) -> bool:
    """Whether `urljoin` would return `href` unchanged, whatever the base."""
    return bool(_PLAIN_ABSOLUTE.fullmatch(href)) and href[-1] not in "?#" and "?#" not in href
