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
