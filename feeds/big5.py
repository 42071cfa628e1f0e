"""Big5 read as browsers read it (the WHATWG Encoding Standard's one Big5 decoder), registered
as the Python codec `big5-web`.

Python has two Big5 codecs and neither is what Taiwanese and Hong Kong sites are written in:
`big5hkscs` lacks Microsoft's additions (`€`, a few kana) that most Taiwanese servers (IIS,
ASP.NET) send, so one `€` made a whole page undecodable; `cp950` reads Hong Kong's characters
as private-use code points. Browsers read HKSCS with Microsoft's mappings of the common
punctuation. So: `big5hkscs`, a byte pair it lacks read by `cp950`, and the punctuation
mapped as browsers map it (`～`, `‧`, `﹑`, `￥`, not `∼`, `•`, `､`, `¥`).
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["BIG5_WEB"]

BIG5_WEB: Final = "big5-web"
# `big5hkscs`'s reading → WHATWG's (= `cp950`'s), for the byte pairs where they differ and
# `big5hkscs` gives that character for no other pair: A1FE and A241 both read `／` in it, as
# A240 and A242 both read `＼`, so those two stay as they are.
_PUNCTUATION = str.maketrans(
    {
        "\u2022": "\u2027",  # A145 ‧
        "\uff64": "\ufe51",  # A14E ﹑
        "\u203e": "\u00af",  # A1C2 ¯
        "\u223c": "\uff5e",  # A1E3 ～
        "\u2641": "\u2295",  # A1F2 ⊕
        "\u2609": "\u2299",  # A1F3 ⊙
        "\u00a5": "\uffe5",  # A244 ￥
        "\u00a2": "\uffe0",  # A246 ￠
        "\u00a3": "\uffe1",  # A247 ￡
        "\uffed": "\u2593",  # F9FE ▓
    }
)
_STRICT, _REPLACE = "big5-web-strict", "big5-web-replace"


def _microsoft_pair(error: UnicodeError) -> tuple[str, int]:
    """A pair `big5hkscs` lacks, read by `cp950` (`€` is A3E1); else the decoding fails."""
    if isinstance(error, UnicodeDecodeError):
        pair = error.object[error.start : error.start + 2]
        try:
            return bytes(pair).decode("cp950"), error.start + 2
        except UnicodeDecodeError:
            pass
    raise error


def _microsoft_pair_or_replaced(error: UnicodeError) -> tuple[str, int]:
    try:
        return _microsoft_pair(error)
    except UnicodeDecodeError as unread:
        return "\ufffd", unread.start + 1


def _decode(data: ReadableBuffer, errors: str = "strict", /) -> tuple[str, int]:
    raw = bytes(data)
    handler = _STRICT if errors == "strict" else _REPLACE
    text = codecs.decode(raw, "big5hkscs", handler)
    return text.translate(_PUNCTUATION), len(raw)


def _encode(text: str, errors: str = "strict", /) -> tuple[bytes, int]:
    return codecs.encode(text, "big5hkscs", errors), len(text)


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != BIG5_WEB:
        return None
    return codecs.CodecInfo(_encode, _decode, name=BIG5_WEB)


codecs.register_error(_STRICT, _microsoft_pair)
codecs.register_error(_REPLACE, _microsoft_pair_or_replaced)
codecs.register(_search)
