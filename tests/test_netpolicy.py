"""Which discovered URLs the fetcher follows (SPEC §8 trust rules)."""

from __future__ import annotations

import pytest

from aggregator.netpolicy import allowed_hosts, check_discovered, is_private_address

PUBLIC = "http://93.184.216.34/portal.php"


def test_allowed_hosts_pair_www_and_add_follow_hosts() -> None:
    hosts = allowed_hosts("http://www.example.net/list", ["m.example.net"])
    assert hosts == {"www.example.net", "example.net", "m.example.net", "www.m.example.net"}


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
                                  hosts={"127.0.0.1"}) is None  # fmt: skip


def test_private_addresses() -> None:
    for host in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "localhost", "fe80::1"):
        assert is_private_address(host), host
    for host in ("93.184.216.34", "example.org", "8.8.8.8"):
        assert not is_private_address(host), host
