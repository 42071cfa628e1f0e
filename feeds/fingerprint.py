"""Body fingerprints for near-duplicate detection without word segmentation.

A 64-bit SimHash over overlapping character shingles of `normalize_text` output: Chinese needs
no tokenizer, and copies that differ by attribution lines, punctuation or a few edited phrases
land within a few bits of each other while unrelated texts sit about 32 bits apart.

Fingerprints are signed 64-bit ints, so SQLite stores them as INTEGER unchanged. `bands` gives
the lookup keys an index needs to find every stored fingerprint within `NEAR_DUPLICATE_BITS`.
"""

from __future__ import annotations

from hashlib import blake2b

from feeds.normalize import normalize_text

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


def _signed(value: int) -> int:
    """The two's-complement reading of an unsigned 64-bit value, as SQLite INTEGER holds it."""
    return value - (1 << BITS) if value >> (BITS - 1) else value


def simhash(chars: str) -> int:
    """SimHash of the distinct `SHINGLE_CHARS`-grams of already normalised text, signed.

    Each shingle is hashed with BLAKE2b (stable across processes, unlike `hash()`); each output
    bit is set when most shingle hashes have it set.
    """
    width = max(1, len(chars) - SHINGLE_CHARS + 1)
    shingles = {chars[i : i + SHINGLE_CHARS] for i in range(width)}
    # All hashes as one string of '0'/'1', BITS per shingle: counting every BITS-th character
    # tallies one bit position in C rather than in a Python loop over bits.
    digits = "".join(
        format(int.from_bytes(blake2b(s.encode(), digest_size=BITS // 8).digest()), "064b")
        for s in shingles
    )
    half = len(shingles) / 2
    value = 0
    for position in range(BITS):
        if digits[position::BITS].count("1") > half:
            value |= 1 << (BITS - 1 - position)
    return _signed(value)


def body_fingerprint(text: str) -> int | None:
    """The fingerprint of a plain-text body, or None when it is too short to tell stories apart."""
    chars = normalize_text(text)
    if len(chars) < MIN_TEXT_CHARS:
        return None
    return simhash(chars)


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
