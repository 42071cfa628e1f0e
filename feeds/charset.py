"""Turn upstream bytes into text without mojibake, whatever the page claims.

Chinese portals often declare `gb2312` but use characters only GBK or GB18030 has, or declare
UTF-8 and send GBK. Every declaration is therefore only a candidate, tried strictly in order of
trust; the first that decodes cleanly wins (but a latin-1 label, which decodes anything, gives
way to a likelier reading), and detection is the last resort.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

from feeds.big5 import BIG5_WEB

# Labels decoded as a superset: gb18030 contains GBK, which contains GB2312. WHATWG does the same
# for latin-1 labels, which browsers read as windows-1252.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "big5": BIG5_WEB,  # WHATWG: every Big5 label reads as one Big5 (`feeds.big5`)
    "big5hkscs": BIG5_WEB,
    "cp950": BIG5_WEB,
}

_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "mbcs", "oem"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_SNIFF_BYTES = 4096
_WESTERN = "cp1252"  # what every latin-1 label decodes as
_TRADITIONAL = frozenset({BIG5_WEB})
# A GB2312, EUC-KR or EUC-JP text is nearly all byte pairs in A1-FE, where Western text has
# its accented letters next to ASCII. Detection second-guesses a latin-1 label only for at
# least `_MIN_PAIRS` such pairs and at most one non-ASCII byte outside them for ten pairs (a
# GBK-only character such as 鹮 has a second byte below A1).
_EUC_SHAPE = bytes(0x50 if 0xA1 <= i <= 0xFE else 0x20 for i in range(256))  # A1-FE as "P"
_ASCII = bytes(range(0x80))
_MIN_PAIRS = 8
_PAIRS_PER_LONE_BYTE = 10
# How much more chaos (charset_normalizer's measure of mess, 0 to 1) a GB18030 reading may
# show than the best guess and still be taken: a few odd characters in a short text. Japanese
# in GB18030 shows 0.1 more; Korean and Thai are not read by it at all.
_NEAR_TIE = 0.05


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded text, the codec that decoded it, and which clue chose it (for status)."""

    text: str
    charset: str
    how: str  # "config", "bom", "header", "xml", "meta", "detected", "fallback"


def canonical_codec(label: str) -> str | None:
    """The Python codec to use for a charset label, or None if the label is unknown.

    Python's codec registry also holds transforms a document's label must not select:
    `base64` or `zlib` (not text encodings at all), and `unicode_escape`, `idna` or `utf-7`,
    which turn ASCII into other characters."""
    label = label.strip().lower()
    try:
        name = codecs.lookup(label).name
        "".encode(name)  # LookupError for a bytes-to-bytes codec, UnicodeError for `undefined`
    except (LookupError, UnicodeError, ValueError):  # ValueError: a NUL in the label
        return None
    if name in _NOT_CHARSETS:
        return None
    return _SUPERSETS.get(label) or _SUPERSETS.get(name) or name


def declared_charsets(
    body: bytes, header_charset: str | None, *, markup: bool = True
) -> list[tuple[str, str]]:
    """Candidate (label, how) pairs in order of trust: BOM, HTTP header, and for `markup`
    (not JSON) the XML declaration and `<meta charset>`."""
    found: list[tuple[str, str]] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append((name, "bom"))
            break
    if header_charset:
        found.append((header_charset, "header"))
    head = body[:_SNIFF_BYTES] if markup else b""
    if match := _XML_DECL.match(head):
        found.append((match.group(1).decode("ascii"), "xml"))
    if match := _META.search(head):
        found.append((match.group(1).decode("ascii"), "meta"))
    return found


def decode(
    body: bytes,
    *,
    header_charset: str | None = None,
    override: str | None = None,
    markup: bool = True,
) -> Decoded:
    """Decode `body`; `override` (the config's `encoding`) wins over every clue in the document.
    `markup` false: a document that declares nothing inside (JSON), whatever its text quotes."""
    candidates = (
        [(override, "config")]
        if override
        else declared_charsets(body, header_charset, markup=markup)
    )
    for index, (label, how) in enumerate(candidates):
        codec = canonical_codec(label)
        if codec is None:
            continue
        western = codec == _WESTERN and how != "config" and not body.isascii()
        if western and (instead := _instead_of_western(body, candidates[index + 1 :])):
            return instead
        try:
            text = body.decode(codec)
        except UnicodeError:  # UnicodeDecodeError, or a codec's own failure
            continue
        return Decoded(text.removeprefix("\ufeff"), codec, how)
    if not body:
        return Decoded("", "utf-8", "fallback")
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "detected")
    except UnicodeDecodeError:
        pass
    return _detected(body) or Decoded(body.decode("utf-8", errors="replace"), "utf-8", "fallback")


def _instead_of_western(body: bytes, later: list[tuple[str, str]]) -> Decoded | None:
    """What to read non-ASCII `body` as rather than the latin-1 label in front of it, if anything.

    A latin-1 label is often only a server's default (Apache's `AddDefaultCharset`, Tomcat's,
    IIS's), and windows-1252 reads any UTF-8 or GBK without an error, as mojibake (`汉中` as
    `æ±‰ä¸\xad` or `ººÖÐ`). So: UTF-8 when the bytes are valid UTF-8 (Western text almost never
    is beyond ASCII); else the document's own declaration (`later`) of another charset that
    decodes; else detection, when the bytes are shaped like GB2312 or EUC-KR.
    """
    try:
        return Decoded(body.decode("utf-8").removeprefix("\ufeff"), "utf-8", "detected")
    except UnicodeDecodeError:
        pass
    for label, how in later:
        codec = canonical_codec(label)
        if codec is None or codec == _WESTERN:
            continue
        try:
            return Decoded(body.decode(codec).removeprefix("\ufeff"), codec, how)
        except UnicodeError:
            continue
    pairs = body.translate(_EUC_SHAPE).count(b"PP")  # as a decoder pairs them, left to right
    lone = len(body.translate(None, _ASCII)) - 2 * pairs
    if pairs < _MIN_PAIRS or lone * _PAIRS_PER_LONE_BYTE > pairs:
        return None
    return _detected(body)


def _detected(body: bytes) -> Decoded | None:
    """`body` in the detector's guess, if that decodes it whole."""
    best = _guess(body)
    # A guess goes through the same check as a label: never a transform such as utf-7.
    codec = canonical_codec(best) if best is not None else None
    if codec is None:
        return None
    try:
        return Decoded(body.decode(codec), codec, "detected")
    except UnicodeError:
        return None


def _guess(body: bytes) -> str | None:
    """charset_normalizer's best guess, but GB18030 when it reads the bytes about as well.

    A short GBK page (a headline, a notice) reads as well in cp949, Thai or UTF-16 as in
    GB18030 to a detector without context, and its first guess wins ties: `明日城固县部分区
    域停电。` came out Korean. This service reads Chinese portals, so a near tie goes to GB18030;
    not against Big5, whose bytes GB18030 reads too, as mojibake.
    """
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    if canonical_codec(best.encoding) in _TRADITIONAL:
        return str(best.encoding)
    chinese = next((m for m in matches if canonical_codec(m.encoding) == "gb18030"), None)
    if chinese is not None and chinese.chaos <= best.chaos + _NEAR_TIE:
        return "gb18030"
    return str(best.encoding)
