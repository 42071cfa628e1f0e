"""Detection, once every declaration failed: a short GBK page is read as GB18030, where a
detector alone read it as Korean or Thai; other scripts keep their own codecs."""

from __future__ import annotations

import charset_normalizer
import pytest

from feeds.charset import decode
from tests.conftest import FIXTURES

CHARSETS = FIXTURES / "charsets"
HTML = FIXTURES / "html"
LATIN1_LABELS = ["ISO-8859-1", "latin1", "windows-1252", "us-ascii"]


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


@pytest.mark.parametrize("label", LATIN1_LABELS)
@pytest.mark.parametrize(
    "meta",
    [
        b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />',
        b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
        b"<meta charset=gbk>",
    ],
)
def test_a_gbk_page_behind_a_latin1_header_reads_as_its_meta_says(label: str, meta: bytes) -> None:
    """A server's default `charset=ISO-8859-1` before a GBK page: windows-1252 decodes GBK
    without an error, as mojibake (`ººÖÐ`); the page's own declaration is right."""
    page = (HTML / "cms_latin1_header.gbk.html").read_bytes()
    body = page.replace(
        b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', meta
    )
    assert meta in body
    assert body.decode("cp1252")  # the lie decodes whole
    decoded = decode(body, header_charset=label)
    assert (decoded.charset, decoded.how) == ("gb18030", "meta")
    assert decoded.text == body.decode("gbk")
    assert "洋县朱鹮有机黑米" in decoded.text  # 鹮 is GBK-only, past GB2312


@pytest.mark.parametrize("label", LATIN1_LABELS)
def test_a_gbk_page_without_a_declaration_behind_a_latin1_header_is_detected(label: str) -> None:
    page = (HTML / "cms_latin1_header.gbk.html").read_bytes()
    body = page.replace(b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />', b"")
    assert b"charset" not in body
    decoded = decode(body, header_charset=label)
    assert (decoded.charset, decoded.how) == ("gb18030", "detected")
    assert decoded.text == body.decode("gbk")


def test_korean_behind_a_latin1_header_keeps_its_codec() -> None:
    body = (CHARSETS / "news.cp949.txt").read_bytes()
    decoded = decode(body, header_charset="ISO-8859-1")
    assert (decoded.text, decoded.how) == (body.decode("cp949"), "detected")


@pytest.mark.parametrize("label", LATIN1_LABELS)
def test_a_gbk_feed_behind_a_latin1_header_reads_as_its_xml_declaration_says(label: str) -> None:
    from feeds.feedxml import parse_xml_feed
    from feeds.parse import parse_feed

    body = (CHARSETS / "cms_rss.gbk.xml").read_bytes()
    decoded = decode(body, header_charset=label)
    assert (decoded.text, decoded.charset, decoded.how) == (body.decode("gbk"), "gb18030", "xml")
    url = "http://www.example.net/rss.xml"
    for parse in (parse_feed, parse_xml_feed):  # the lxml path, and feedparser's
        feed = parse(body, url=url, header_charset=label)
        assert (feed.title, feed.charset) == ("汉中之窗", "gb18030")
        assert [item.title for item in feed.items] == ["汉中市第三届农民丰收节开幕"]


def _no_detection(body: bytes) -> None:
    raise AssertionError("the detector ran")


@pytest.mark.parametrize("label", LATIN1_LABELS)
@pytest.mark.parametrize(
    "meta",
    [
        b"",
        b'<meta charset="iso-8859-1">',
        b'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',  # a wrong one
    ],
)
def test_a_western_page_behind_a_latin1_header_stays_western(
    label: str, meta: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """French and German, where GBK would pair some accented letters (`Grüße`, `Füße`); the
    detector is not even asked (it takes milliseconds on a page)."""
    page = (HTML / "cms_western.latin1.html").read_bytes()
    body = page.replace(b"<head>\n", b"<head>\n" + meta + b"\n")
    monkeypatch.setattr(charset_normalizer, "from_bytes", _no_detection)
    decoded = decode(body, header_charset=label)
    assert (decoded.text, decoded.charset, decoded.how) == (
        body.decode("cp1252"),
        "cp1252",
        "header",
    )


@pytest.mark.parametrize("text", ["Süße Füße", "Die Fête in Köln", "Noël"])
def test_a_short_western_text_behind_a_latin1_header_stays_western(text: str) -> None:
    """Alone, the detector reads these as Big5 or GB18030 (`S晧e F晧e`)."""
    body = text.encode("cp1252")
    assert decode(body, header_charset="ISO-8859-1").text == text


# Big5 as browsers read it (feeds/big5.py)

TAIWAN_NOTICE = "行政院會通過「數位發展」草案 預算新臺幣€5億元"


@pytest.mark.parametrize("override", [None, "big5", "big5-hkscs", "cp950"])
def test_a_taiwanese_big5_page_with_microsofts_characters_reads_whole(
    override: str | None,
) -> None:
    """Taiwanese servers send Microsoft's Big5 (cp950): one `€` made the page undecodable as
    Big5-HKSCS, and it was stored as U+FFFD garbage, with `encoding = "big5"` too. Its
    punctuation reads as the publisher typed it, as browsers read it."""
    body = (CHARSETS / "notice-euro.cp950.html").read_bytes()
    decoded = decode(body, override=override)
    assert decoded.charset == "big5-web"
    assert decoded.how == ("config" if override else "meta")
    assert f"<title>{TAIWAN_NOTICE}</title>" in decoded.text
    assert (
        "展期11月29日～12月31日，約翰‧史坦貝克特展同步開幕，全票200元﹑學生票￥100。"
        in decoded.text
    )
    assert "\ufffd" not in decoded.text


def test_hong_kong_characters_and_microsofts_read_in_one_page() -> None:
    """`㗎`, `嘅`, `喺` are HKSCS's, `€` Microsoft's: neither of Python's codecs reads both."""
    body = (CHARSETS / "shop-hk.big5hkscs.html").read_bytes()
    for header in (None, "big5", "utf-8"):
        decoded = decode(body, header_charset=header)
        assert decoded.charset == "big5-web"
        assert "市民話：呢個€優惠真係好抵㗎" in decoded.text
        assert "佢哋嘅門市喺旺角，啲貨品咗€10減價～" in decoded.text


def test_big5_that_is_broken_stays_refused_or_replaced_where_asked() -> None:
    """A pair neither table has fails the label, so the next clue or detection is tried."""
    body = "預算€".encode("cp950") + b"\xff\xfe"
    with pytest.raises(UnicodeDecodeError):
        body.decode("big5-web")
    assert body.decode("big5-web", "replace") == "預算€\ufffd\ufffd"
    assert "臺灣".encode("big5-web") == "臺灣".encode("big5hkscs")
