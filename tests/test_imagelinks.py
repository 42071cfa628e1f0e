"""Image addresses in sanitised HTML rewritten, and the proxy's own addresses checked."""

from __future__ import annotations

import pytest

from aggregator.imageproxy import ImageProxy
from feeds.imagelinks import rewrite_images
from feeds.sanitize import clean_html

HOST = "mmbiz.qpic.cn"


def ours(url: str) -> str | None:
    return f"/p/{url}" if HOST in url else None


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<img src="https://mmbiz.qpic.cn/a.jpg">', '<img src="/p/https://mmbiz.qpic.cn/a.jpg">'),
        (  # the value is escaped, and the rewrite's result too
            '<img src="https://mmbiz.qpic.cn/a?x=1&amp;y=&quot;2&quot;">',
            '<img src="/p/https://mmbiz.qpic.cn/a?x=1&amp;y=&quot;2&quot;">',
        ),
        ('<img src="https://other.example/a.jpg">', '<img src="https://other.example/a.jpg">'),
        ('<a href="https://mmbiz.qpic.cn/a.jpg">看图</a>', '<a href="https://mmbiz.qpic.cn/a.jpg">看图</a>'),
        ("<p>&lt;img src=\"https://mmbiz.qpic.cn/a.jpg\"&gt;</p>",
         "<p>&lt;img src=\"https://mmbiz.qpic.cn/a.jpg\"&gt;</p>"),  # text, not a tag
        ('<img data-src="https://mmbiz.qpic.cn/a.jpg" alt="x">',
         '<img data-src="https://mmbiz.qpic.cn/a.jpg" alt="x">'),
        ('<img alt="src=&quot;https://mmbiz.qpic.cn/a.jpg&quot;">',
         '<img alt="src=&quot;https://mmbiz.qpic.cn/a.jpg&quot;">'),  # an attribute's words
        (
            '<picture><source srcset="https://mmbiz.qpic.cn/1.jpg 1x,'
            'https://mmbiz.qpic.cn/2.jpg 2x">',
            '<picture><source srcset="/p/https://mmbiz.qpic.cn/1.jpg 1x, '
            '/p/https://mmbiz.qpic.cn/2.jpg 2x">',
        ),
        # a video's or a sound's source is no picture; the video's poster picture is left too
        ('<video controls><source src="https://mmbiz.qpic.cn/v.mp4" type="video/mp4"></video>',
         '<video controls><source src="https://mmbiz.qpic.cn/v.mp4" type="video/mp4"></video>'),
        ('<audio><source src="https://mmbiz.qpic.cn/a.mp3"></audio><source src="https://mmbiz.qpic.cn/b">',
         '<audio><source src="https://mmbiz.qpic.cn/a.mp3"></audio><source src="https://mmbiz.qpic.cn/b">'),
        ('<video><picture><source srcset="https://mmbiz.qpic.cn/1.jpg"></picture>'
         '<source src="https://mmbiz.qpic.cn/v.mp4"><img src="https://mmbiz.qpic.cn/2.jpg"></video>',
         '<video><picture><source srcset="/p/https://mmbiz.qpic.cn/1.jpg"></picture>'
         '<source src="https://mmbiz.qpic.cn/v.mp4"><img src="/p/https://mmbiz.qpic.cn/2.jpg"></video>'),
        ('<picture></picture><source src="https://mmbiz.qpic.cn/1.jpg">',
         '<picture></picture><source src="https://mmbiz.qpic.cn/1.jpg">'),
        (
            '<img srcset="https://mmbiz.qpic.cn/1.jpg,, https://other.example/2.jpg 640w">',
            '<img srcset="/p/https://mmbiz.qpic.cn/1.jpg, https://other.example/2.jpg 640w">',
        ),
        ('<img srcset=",,, ,">', '<img srcset="">'),  # no candidate: as the sanitiser writes it
        ('<img src="">', '<img src="">'),
    ],
)  # fmt: skip
def test_image_addresses_and_nothing_else_are_rewritten(fragment: str, expected: str) -> None:
    assert rewrite_images(fragment, ours) == expected


def test_the_sanitisers_output_is_what_is_rewritten() -> None:
    cleaned = clean_html(
        '<IMG SRC=https://mmbiz.qpic.cn/a.jpg?a=1&b=2 onerror="x()"><img src="javascript:x">'
    )
    rewritten = rewrite_images(cleaned, ours)
    assert 'src="/p/https://mmbiz.qpic.cn/a.jpg?a=1&amp;b=2"' in rewritten
    assert "onerror" not in rewritten
    assert "javascript" not in rewritten


def test_a_huge_hostile_srcset_is_read_in_one_pass() -> None:
    fragment = '<img srcset="' + "," * 200_000 + " x" + ",a" * 100_000 + '">'
    assert rewrite_images(fragment, ours) == '<img srcset="x' + ",a" * 100_000 + '">'


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("https://mmbiz.qpic.cn/mmbiz_jpg/a/640", True),
        ("http://MMBIZ.qpic.cn/a", True),
        ("https://sub.mmbiz.qpic.cn/a", True),
        ("https://mmbiz.qpic.cn.evil.example/a", False),
        ("https://xmmbiz.qpic.cn/a", False),
        ("ftp://mmbiz.qpic.cn/a", False),
        ("//mmbiz.qpic.cn/a", False),
        ("http://[::1/a", False),
        ("", False),
    ],
)
def test_the_proxy_covers_its_hosts_and_their_subdomains(url: str, covered: bool) -> None:
    proxy = ImageProxy(b"k" * 32, (HOST,), "http://feeds.example")
    assert proxy.covers(url) is covered
    assert (proxy.address(url) is not None) is covered


def test_an_address_names_its_picture_only_under_its_own_key_and_hosts() -> None:
    proxy = ImageProxy(b"k" * 32, (HOST,), "http://feeds.example")
    url = "https://mmbiz.qpic.cn/a.jpg?wx_fmt=jpeg&中=文"
    address = proxy.address(url)
    assert address is not None
    assert address.startswith("http://feeds.example/images/")
    signature, encoded = address.split("/")[-2:]
    assert proxy.target(signature, encoded) == url
    assert ImageProxy(b"j" * 32, (HOST,), "").target(signature, encoded) is None
    assert ImageProxy(b"k" * 32, ("sinaimg.cn",), "").target(signature, encoded) is None
    assert proxy.target(signature[:-1], encoded) is None
    assert proxy.target(signature, "%%%") is None
    assert proxy.target(signature, "_-_-") is None
    assert proxy.target("é" * len(signature), encoded) is None, "not a signature we give"
    assert proxy.target("\udcff", encoded) is None


def test_a_sound_or_video_source_stays_among_a_megabyte_of_unclosed_elements() -> None:
    """One pass, whatever the nesting: an element that does not close ends nothing else."""
    video = '<video><source src="https://mmbiz.qpic.cn/v.mp4">'
    picture = '<picture><source srcset="https://mmbiz.qpic.cn/1.jpg"></picture>'
    fragment = "<video>" * 100_000 + "</picture>" * 50_000 + picture + video + "</audio>" * 50_000
    rewritten = rewrite_images(fragment, ours)
    assert rewritten.count("/p/") == 1
    assert 'srcset="/p/https://mmbiz.qpic.cn/1.jpg"' in rewritten
    assert clean_html(video) == rewrite_images(clean_html(video), ours)


def test_an_address_too_long_for_a_request_line_is_left_as_published() -> None:
    """Servers refuse a request line over 8 KB: the picture loads from its own host instead."""
    proxy = ImageProxy(b"k" * 32, (HOST,), "http://feeds.example")
    short = f"https://mmbiz.qpic.cn/a.png?{'q' * 2000}"
    address = proxy.address(short)
    assert address is not None
    assert proxy.target(*address.split("/")[-2:]) == short
    assert proxy.address(f"https://mmbiz.qpic.cn/a.png?{'q' * 6300}") is None
    longest = max(
        (a for n in range(5800, 6000) if (a := proxy.address(f"https://mmbiz.qpic.cn/?{'q' * n}"))),
        key=len,
    )
    assert 7950 < len(longest) <= 8000, "within servers' 8 KB request line"
