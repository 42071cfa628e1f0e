"""Which discovered URLs the fetcher follows (SPEC §8 trust rules)."""

from __future__ import annotations

import pytest

from aggregator.netpolicy import allowed_hosts, check_discovered, is_private_address

PUBLIC = "http://93.184.216.34/portal.php"


def test_allowed_hosts_pair_www_and_add_follow_hosts() -> None:
    hosts = allowed_hosts("http://www.example.net/list", ["m.example.net"])
    assert hosts == {"www.example.net", "example.net", "m.example.net", "www.m.example.net"}
    assert allowed_hosts("https://example.net:443/", ()) == {"example.net", "www.example.net"}
    assert allowed_hosts("http://127.0.0.1:8000/", ["a.example:8080"]) == {
        "127.0.0.1:8000", "www.127.0.0.1:8000", "a.example:8080", "www.a.example:8080"
    }  # fmt: skip
    assert allowed_hosts("http://[::1]:8000/", ()) >= {"[::1]:8000"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34/article-1.html", None),
        ("https://93.184.216.34/article-1.html", None),
        ("http://93.184.216.35/article-1.html", "is not the source's host nor in follow_hosts"),
        ("javascript:alert(1)", "scheme 'javascript' is not followed"),
        ("file:///etc/passwd", "scheme 'file' is not followed"),
        ("http://127.0.0.1/admin", "private address, reached from a public source"),
        ("http://localhost/admin", "private address, reached from a public source"),
        ("http://[::1]/admin", "private address, reached from a public source"),
        ("http://169.254.169.254/latest/meta-data/", "private address"),
    ],
)
async def test_discovered_urls(url: str, reason: str | None) -> None:
    hosts = {"93.184.216.34", "127.0.0.1", "localhost", "::1", "169.254.169.254"}
    found = await check_discovered(url, source_url=PUBLIC, hosts=hosts)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert reason in found


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///srv/pages/article-1.html", None),
        ("file:///srv/pages/2022/article-2.html", None),
        ("file:///etc/passwd", "/etc/passwd is outside the source's folder /srv/pages"),
        ("file:///srv/pages/../../etc/hostname", "/etc/hostname is outside the source's folder"),
        ("file:///srv/pages-other/a.html", "is outside the source's folder"),
    ],
)
async def test_a_local_page_leads_only_within_its_folder(url: str, reason: str | None) -> None:
    found = await check_discovered(url, source_url="file:///srv/pages/list.html", hosts=set())
    assert found is None if reason is None else reason in str(found)


async def test_a_loopback_source_may_use_loopback() -> None:
    """The operator's own URL may point anywhere, loopback included."""
    source = "http://127.0.0.1:8000/feed.xml"
    assert await check_discovered("http://127.0.0.1:8000/a.html", source_url=source,
                                  hosts=allowed_hosts(source, ())) is None  # fmt: skip


@pytest.mark.parametrize(
    ("url", "follow_hosts", "reason"),
    [
        ("http://127.0.0.1:8000/a.html", (), None),
        (
            "http://127.0.0.1:6379/",
            (),
            "port 6379 of '127.0.0.1' is not the source's (follow_hosts: '127.0.0.1:6379')",
        ),
        (
            "http://127.0.0.1/admin",
            (),
            "the default port of '127.0.0.1' is not the source's (follow_hosts: '127.0.0.1')",
        ),
        ("https://127.0.0.1/admin", (), "the default port"),
        ("http://127.0.0.1:6379/", ("127.0.0.1:6379",), None),
        ("http://127.0.0.1/admin", ("127.0.0.1",), None),
        ("http://127.0.0.2:8000/", (), "host '127.0.0.2' is not the source's host"),
        ("http://[::1]:8000/a.html", (), "host '::1' is not the source's host"),
    ],
)
async def test_a_source_on_a_port_leads_only_to_that_port(
    url: str, follow_hosts: tuple[str, ...], reason: str | None
) -> None:
    """A loopback source's links lead to none of the other services of its machine."""
    source = "http://127.0.0.1:8000/list.html"
    hosts = allowed_hosts(source, follow_hosts)
    found = await check_discovered(url, source_url=source, hosts=hosts)
    assert found is None if reason is None else reason in str(found), found


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.net/a", None),
        ("http://example.net:443/a", None),
        ("http://m.example.net/a", None),
        ("https://m.example.net:8443/a", "port 8443 of 'm.example.net' is not the source's"),
        ("http://example.net:8080/a", "(follow_hosts: 'example.net:8080')"),
    ],
)
async def test_a_site_moves_between_http_and_https(url: str, reason: str | None) -> None:
    hosts = allowed_hosts("http://example.net/list", ["m.example.net"])
    found = await check_discovered(url, source_url="http://203.0.113.9/", hosts=hosts)
    assert found is None if reason is None else reason in str(found), found


def test_private_addresses() -> None:
    for host in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "localhost", "fe80::1"):
        assert is_private_address(host), host
    for host in ("93.184.216.34", "example.org", "8.8.8.8"):
        assert not is_private_address(host), host
