"""Body fingerprints for near-duplicate detection without word segmentation.

A 64-bit SimHash over overlapping character shingles of `normalize_text` output: Chinese needs
no tokenizer, and copies that differ by attribution lines, punctuation or a few edited phrases
land within a few bits of each other while unrelated texts sit about 32 bits apart.

Fingerprints are signed 64-bit ints, so SQLite stores them as INTEGER unchanged. `bands` gives
the lookup keys an index needs to find every stored fingerprint within `NEAR_DUPLICATE_BITS`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from feeds.normalize import fold, normalize_folded

SHINGLE_CHARS = 4  # long enough that common 2-3 character words do not dominate
MIN_TEXT_CHARS = 80  # shorter normalised bodies (boilerplate, "详见附件") never get a fingerprint
BITS = 64
# Two bodies are one story at this Hamming distance or less: "near-identical" (SPEC §7). On the
# fixtures, copies differing in punctuation, script, spacing or attribution land at 0 bits;
# a dropped paragraph or page chrome moves 5-15 bits (left to the title and link rules);
# different articles sharing a site template sit 19 bits or more apart.
NEAR_DUPLICATE_BITS = 3
# BANDS > NEAR_DUPLICATE_BITS: by pigeonhole, two fingerprints within the threshold agree on
# at least one whole band, so an exact-match index on band keys misses no candidate.
BANDS = 4
BAND_BITS = BITS // BANDS
_MASK = (1 << BITS) - 1
_BAND_MASK = (1 << BAND_BITS) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
# A body longer than this (a long report is some 50,000) is told apart by its start: 3 million
# characters of Chinese (9 MB, within `fetch.max_bytes`) took a second and 150 MB whole.
FINGERPRINTED_CHARS = 200_000
# Shingle hashes whose bits are counted in one matrix: each costs 576 bytes there, so a body
# of 3 million distinct shingles (9 MB of Chinese within `fetch.max_bytes`) took 1.8 GB at once.
_COUNTED_AT_ONCE = 32_768


def _signed(value: int) -> int:
    """The two's-complement reading of an unsigned 64-bit value, as SQLite INTEGER holds it."""
    return value - (1 << BITS) if value >> (BITS - 1) else value


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser on every element: a stable, well-spread 64-bit hash."""
    values = (values ^ (values >> _S30)) * _M1
    values = (values ^ (values >> _S27)) * _M2
    return values ^ (values >> _S31)


@cache
def _mixed_bmp() -> npt.NDArray[np.uint64]:
    """SplitMix64 of every Basic Multilingual Plane code point: a shingle hash's first round,
    `_mix(0 ^ code)`, is then one lookup."""
    return _mix(np.arange(0x10000, dtype=np.uint64))


def simhash(chars: str) -> int:
    """SimHash of the distinct `SHINGLE_CHARS`-grams of already normalised text, signed.

    Vectorised with NumPy: each shingle's code points are folded through SplitMix64 (stable
    across processes, unlike `hash()`), and each output bit is set when most distinct shingle
    hashes have it set. A Python loop over shingles cost ~0.5 ms per article; this, ~35 µs
    (sorting beats `np.unique`'s hashing at these sizes, and a matrix product counts the bits).
    """
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = max(1, len(codes) - SHINGLE_CHARS + 1)
    if len(codes) < SHINGLE_CHARS:  # one shingle of the whole text, zero-padded
        codes = np.concatenate((codes, np.zeros(SHINGLE_CHARS - len(codes), dtype=np.uint64)))
    first = codes[:width]
    if len(first) and int(first.max()) < len(_mixed_bmp()):
        hashes = _mixed_bmp()[first]  # the first round, looked up
    else:
        hashes = _mix(first)
    for offset in range(1, SHINGLE_CHARS):
        hashes = _mix(hashes ^ codes[offset : offset + width])
    hashes.sort()
    distinct = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]
    counts = np.zeros(BITS)
    for start in range(0, len(distinct), _COUNTED_AT_ONCE):
        chunk = distinct[start : start + _COUNTED_AT_ONCE]
        # one row of 64 bits per hash, most significant first; float64 counts exactly to 2**53
        bits = np.unpackbits(chunk.astype(">u8").view(np.uint8)).reshape(-1, BITS)
        counts += np.ones(len(chunk)) @ bits.astype(np.float64)
    value = int.from_bytes(np.packbits(counts * 2 > len(distinct)).tobytes(), "big")
    return _signed(value)


def body_fingerprint(text: str) -> int | None:
    """The fingerprint of a plain-text body, or None when it is too short to tell stories apart."""
    return folded_fingerprint(fold(text))


def folded_fingerprint(folded: str) -> int | None:
    """`body_fingerprint` of a body already through `normalize.fold`, of its first
    `FINGERPRINTED_CHARS`: two copies of one story are alike from their start."""
    return measured_fingerprint(folded)[0]


def measured_fingerprint(folded: str) -> tuple[int | None, int]:
    """`folded_fingerprint`, and how many normalised characters it was made of: bodies of
    about one length that are far apart are two texts (`feeds.stories`)."""
    chars = normalize_folded(folded[:FINGERPRINTED_CHARS])
    if len(chars) < MIN_TEXT_CHARS:
        return None, len(chars)
    return simhash(chars), len(chars)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two fingerprints, signed or unsigned."""
    return ((a ^ b) & _MASK).bit_count()


def bands(fingerprint: int) -> tuple[int, ...]:
    """Index keys: band index and band value packed into one non-negative int per band.

    Key `i` is `(i << BAND_BITS) | bits of band i`, so equal keys mean the same bits at the
    same place; a stored fingerprint sharing any key is a candidate for `hamming` to confirm.
    """
    unsigned = fingerprint & _MASK
    return tuple(
        (index << BAND_BITS) | ((unsigned >> (index * BAND_BITS)) & _BAND_MASK)
        for index in range(BANDS)
    )
