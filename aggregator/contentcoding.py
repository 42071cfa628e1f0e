"""Undoing a response's `Content-Encoding` as its body streams in: within a size limit, and
only when every coding's stream reaches its end.

aiohttp's own decoding took a gzip stream cut short (a proxy or server dying mid-body) for the
whole body, whose lost end then read as the publisher's malformed XML and stored a partial
item; and it undid one coding only, so `gzip, br` (RFC 9110 allows several) reached the parser
still compressed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli

ACCEPTED = "gzip, deflate, br"
_ALIASES = {"x-gzip": "gzip"}
_GZIP_MAGIC = b"\x1f\x8b"


class CodingError(ValueError):
    """The body cannot be decoded: an unknown coding, a corrupt or unfinished stream."""


class TooLarge(CodingError):
    """Decoding would give more than the limit."""


class Unfinished(CodingError):
    """A coding's stream stops before its end: the body was cut short."""


class _Zlib:
    """gzip (members one after another, as `gzip` concatenates them) or deflate (zlib's
    wrapper, or the raw stream some servers send under that name)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stream: zlib._Decompress | None = None
        self.finished = False

    def feed(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        while data:
            if self._stream is None:
                if self.finished and not data.startswith(_GZIP_MAGIC[: len(data)]):
                    return b"".join(out)  # bytes after the end: ignored, as browsers do
                self._stream = zlib.decompressobj(self._window(data))
                self.finished = False
            try:
                piece = self._stream.decompress(data, room + 1)
            except zlib.error as exc:
                why = str(exc).rpartition(": ")[2]  # "Error -3 while decompressing data: …"
                raise CodingError(f"the {self.name} stream is corrupt ({why})") from None
            out.append(piece)
            room -= len(piece)
            if room < 0:
                raise TooLarge(self.name)
            data = self._stream.unconsumed_tail
            if self._stream.eof:
                data = self._stream.unused_data
                self._stream = None
                self.finished = True
                if self.name != "gzip":
                    return b"".join(out)
        return b"".join(out)

    def _window(self, first: bytes) -> int:
        if self.name == "gzip":
            return 16 + zlib.MAX_WBITS
        # RFC 1950: the low four bits of a zlib stream's first byte are 8 (deflate)
        return zlib.MAX_WBITS if first[0] & 0x0F == 8 else -zlib.MAX_WBITS

    def ended(self) -> bool:
        return self.finished and self._stream is None


class _Brotli:
    def __init__(self) -> None:
        self.name = "br"
        self._stream = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        try:
            piece = self._stream.process(data, output_buffer_limit=room + 1)
            while True:
                out.append(piece)
                room -= len(piece)
                if room < 0:
                    raise TooLarge(self.name)
                if self._stream.can_accept_more_data():
                    return b"".join(out)
                piece = self._stream.process(b"", output_buffer_limit=room + 1)
        except brotli.error as exc:
            raise CodingError(f"the br stream is corrupt ({exc})") from None

    def ended(self) -> bool:
        return bool(self._stream.is_finished())


_CODINGS: dict[str, Callable[[], _Zlib | _Brotli]] = {
    "gzip": lambda: _Zlib("gzip"),
    "deflate": lambda: _Zlib("deflate"),
    "br": _Brotli,
}


class Decoder:
    """A body's codings undone, last applied first, each piece as it arrives."""

    def __init__(self, header: str | None, limit: int) -> None:
        names = [_ALIASES.get(name, name) for name in _codings(header)]
        unknown = [name for name in names if name not in _CODINGS]
        if unknown:
            raise CodingError(
                f"Content-Encoding {unknown[0]!r} is not one this service decodes ({ACCEPTED})"
            )
        self._stages = [_CODINGS[name]() for name in reversed(names)]
        self._room = limit
        self._empty = True

    def feed(self, data: bytes) -> bytes:
        """The body decoded from these bytes on; TooLarge past the limit."""
        self._empty = self._empty and not data
        for stage in self._stages:
            data = stage.feed(data, self._room)
        self._room -= len(data)
        return data

    def finish(self) -> None:
        """Unfinished unless every stream reached its end (an empty body is no stream)."""
        for stage in self._stages if not self._empty else ():
            if not stage.ended():
                raise Unfinished(f"the {stage.name} stream ends early")


def _codings(header: str | None) -> list[str]:
    return [
        name
        for token in (header or "").split(",")
        if (name := token.strip().lower()) and name != "identity"
    ]
