"""Detection, once every declaration failed: a short GBK page is read as GB18030, where a
detector alone read it as Korean or Thai; other scripts keep their own codecs."""

from __future__ import annotations

import pytest

from feeds.charset import decode
from tests.conftest import FIXTURES

CHARSETS = FIXTURES / "charsets"


@pytest.mark.parametrize(
    "name", ["notice-short.gbk.txt", "headline.gbk.txt", "spring.gbk.txt", "meta-line.gbk.txt"]
)
def test_a_short_gbk_page_behind_a_utf8_header_reads_as_chinese(name: str) -> None:
    body = (CHARSETS / name).read_bytes()
    decoded = decode(body, header_charset="utf-8")  # the server's default, a lie
    assert (decoded.charset, decoded.how) == ("gb18030", "detected")
    assert decoded.text == body.decode("gbk")


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("news.sjis.txt", "shift_jis"),
        ("weather.sjis.txt", "shift_jis"),
        ("news.big5.txt", "big5"),
        ("news.cp949.txt", "cp949"),
        ("news.cp874.txt", "cp874"),
    ],
)
def test_other_scripts_keep_their_codecs(name: str, codec: str) -> None:
    body = (CHARSETS / name).read_bytes()
    decoded = decode(body, header_charset="utf-8")
    assert decoded.how == "detected"
    assert decoded.text == body.decode(codec)


def test_utf8_behind_a_latin1_header_is_read_as_utf8() -> None:
    """A server's default `charset=ISO-8859-1` before a UTF-8 feed: windows-1252 decoded it
    without an error, as mojibake, on the fast path and feedparser's alike."""
    from feeds.parse import parse_feed

    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>汉中</title>'
        "<item><title>汉中日报</title><link>http://e.cn/1</link></item></channel></rss>"
    ).encode()
    assert body.decode("cp1252")  # the lie decodes whole
    for label in ("ISO-8859-1", "latin1", "windows-1252"):
        decoded = decode(body, header_charset=label)
        assert (decoded.text, decoded.charset) == (body.decode(), "utf-8")
        feed = parse_feed(body, url="http://e.cn/rss.xml", header_charset=label)
        assert (feed.title, feed.items[0].title) == ("汉中", "汉中日报")


@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252"])
def test_western_text_keeps_its_western_charset(label: str) -> None:
    body = "Café crème — naïve résumé".encode("cp1252")
    decoded = decode(body, header_charset=label)
    assert (decoded.text, decoded.charset, decoded.how) == (
        body.decode("cp1252"),
        "cp1252",
        "header",
    )
