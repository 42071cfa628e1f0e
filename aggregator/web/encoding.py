"""Content-coding negotiation (RFC 9110 §12.5.3) and the compressors behind it.

Brotli is 10-15 % smaller than gzip on our feeds and compressing happens once per change, so
it is preferred whenever a client accepts both at the same weight.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import lru_cache

import brotli
from aiohttp import hdrs, web


def _brotli(body: bytes) -> bytes:
    compressed: bytes = brotli.compress(body, quality=6)
    return compressed


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)


# In order of preference among codings of equal weight.
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"br": _brotli, "gzip": _gzip}
_ALIASES = {"x-gzip": "gzip"}


def _weights(header: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in header.split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        coding = _ALIASES.get(coding.lower(), coding.lower())
        if not coding:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    weight = 0.0  # a malformed weight is no consent
        weights[coding] = weight
    return weights


def accepted(request: web.BaseRequest) -> str | None:
    """`Accept-Encoding` as one list, however many lines it came on (RFC 9110 5.3)."""
    lines = request.headers.getall(hdrs.ACCEPT_ENCODING, ())
    return lines[0] if len(lines) == 1 else ", ".join(lines) or None


@lru_cache(maxsize=256)  # clients send a handful of distinct values, on every request
def negotiate(header: str | None) -> str | None:
    """The coding to send for an `Accept-Encoding` value; None means the body as is."""
    if not header:
        return None
    weights = _weights(header)
    wildcard = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in COMPRESSORS:
        weight = weights.get(coding, wildcard)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best
