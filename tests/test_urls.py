"""Links made absolute: the same text as `urljoin`, over generated links and hostile ones."""

from __future__ import annotations

import random
from urllib.parse import urljoin, urlsplit

import pytest

from feeds.normalize import normalize_link
from feeds.sanitize import web_url, xml_safe
from feeds.urls import as_uri, plain_absolute, resolve

BASES = (
    "http://www.hanzhong.gov.cn/news/list.html",
    "https://hzdyw.example/portal.php?mod=rss",
    "http://editor:pw@Hz.Example:8080",  # userinfo, a port, capitals, no path
    "https://hz.example?q#f",
    "http://a;b.example/x",  # a host urlsplit reads whole and the shortcut does not
    "http://[::1]/x",
    "HTTP://hz.example/x/../y",
)
# Characters urljoin treats specially, and ordinary ones.
ALPHABET = "hHtTpPsS:/?#;[]@%.=&+-_~ \t\n\r\x01\\'\"<>`{}|^é中aZ09"


def _urljoin_outcome(base: str, href: str) -> str | type[ValueError]:
    try:
        return urljoin(base, href)
    except ValueError:
        return ValueError


def _resolve_outcome(base: str, href: str) -> str | type[ValueError]:
    try:
        return resolve(base, href)
    except ValueError:
        return ValueError


def _generated_links(count: int) -> list[str]:
    rng = random.Random(20261127)
    links = []
    for n in range(count):
        tail = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
        prefix = ("http://", "https://", "HTTP://", "ftp://", "//", "/", "")[n % 7]
        links.append(prefix + tail)
    return links


@pytest.mark.parametrize("base", BASES)
def test_resolve_gives_urljoins_text_or_error_for_every_generated_link(base: str) -> None:
    links = _generated_links(20_000)
    assert sum(map(plain_absolute, links)) > 1_000  # the shortcut is exercised
    from_root = [h for h in links if h[:1] == "/" != h[1:2] and plain_absolute("http://h" + h)]
    assert len(from_root) > 500  # and the one for links from the site's root
    differing = [h for h in links if _resolve_outcome(base, h) != _urljoin_outcome(base, h)]
    assert differing == []


@pytest.mark.parametrize(
    "href",
    [
        "http://a.example/b?",  # urljoin drops an empty query
        "http://a.example/b#",
        "http://a.example/b?#f",
        "http://a.example/b;",  # and empty parameters
        "http://a.example/b;p?q",
        "HTTP://a.example/b",  # and lowers the scheme
        "http:///b",  # no host: resolved against the base
        "http://[::1/b",  # an invalid IPv6 host raises
        "http://a.example/b\tc",  # whitespace inside is removed
        "http://例子.example/b",
        "https://a.example/b",  # another scheme than the base's: unchanged
        "http://a.example/b?mod=view&aid=1#comment",
    ],
)
def test_resolve_matches_urljoin_where_it_rewrites(href: str) -> None:
    base = BASES[0]
    assert _resolve_outcome(base, href) == _urljoin_outcome(base, href)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("../a/1.html", "http://www.hanzhong.gov.cn/a/1.html"),
        ("  http://a.example/x \n", "http://a.example/x"),
        ("http://a.example/\x00x", "http://a.example/x"),  # XML-invalid characters dropped
        ("javascript:alert(1)", None),
        ("mailto:editor@hanzhong.gov.cn", None),
        ("http://[x/", None),
        ("", None),
        (" \t", None),
        (None, None),
    ],
)
def test_web_url_is_absolute_http_or_none(href: str | None, expected: str | None) -> None:
    assert web_url(href, BASES[0]) == expected


def test_web_url_agrees_with_urljoin_on_generated_links() -> None:
    for href in _generated_links(5_000):
        found = web_url(href, BASES[1])
        if found is None:
            continue
        assert found == as_uri(urljoin(BASES[1], xml_safe(href).strip()))
        assert urlsplit(found).scheme in ("http", "https")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://hz.example/新闻/一 二.html",
            "http://hz.example/%E6%96%B0%E9%97%BB/%E4%B8%80%20%E4%BA%8C.html",
        ),
        ("http://hz.example/h/1?a=1&b=<x>", "http://hz.example/h/1?a=1&b=%3Cx%3E"),
        ("http://hz.example/a?q=汉中#段", "http://hz.example/a?q=%E6%B1%89%E4%B8%AD#%E6%AE%B5"),
        ("http://汉中.cn/a", "http://xn--fiqw74e.cn/a"),
        ("http://u:p@汉中.cn:81/x", "http://u:p@xn--fiqw74e.cn:81/x"),
        ("http://hz.example/100%/a%20b", "http://hz.example/100%25/a%20b"),
        ("http://[::1]:8080/a b", "http://[::1]:8080/a%20b"),
        ('http://hz.example/a"b{c}|d^e`f\\g', "http://hz.example/a%22b%7Bc%7D%7Cd%5Ee%60f%5Cg"),
        ("http://hz.example/a/b?c=d&e=f;g#h", "http://hz.example/a/b?c=d&e=f;g#h"),  # as it was
        ("http://faß.de/x", "http://xn--fa-hia.de/x"),  # as browsers write it, not fass.de
        ("http://a@b@例子.cn/x", "http://a%40b@xn--fsqu00a.cn/x"),
    ],
)
def test_links_are_published_as_valid_uris(url: str, expected: str) -> None:
    """As upstreams write them, a space, `<x>` or Chinese in a link made every feed showing it
    fail the W3C validator (`Invalid character in a URI`, `IRI found where URL expected`)."""
    assert as_uri(url) == expected
    assert web_url(url, BASES[0]) == expected
    assert normalize_link(expected) == normalize_link(url), "an item keeps its identity"


def test_a_mirror_host_matches_in_either_spelling() -> None:
    """Links are published with IDNA hosts; an operator may write a mirror either way."""
    for link, mirror in (
        ("http://xn--fiqw74e.cn/a", "汉中.cn"),
        ("http://汉中.cn/a", "xn--fiqw74e.cn"),
    ):
        assert normalize_link(link, {mirror: "hz.example"}) == "hz.example/a"
