"""Body fingerprints: stable, signed, blind to attribution, and findable through band keys."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from feeds import fingerprint
from feeds.fingerprint import (
    BAND_BITS,
    BANDS,
    FINGERPRINTED_CHARS,
    MIN_TEXT_CHARS,
    NEAR_DUPLICATE_BITS,
    bands,
    body_fingerprint,
    hamming,
    simhash,
)

STORIES = Path(__file__).parent / "fixtures" / "stories"


def _read(name: str) -> str:
    return (STORIES / name).read_text(encoding="utf-8")


def test_fingerprint_is_stable_across_processes_and_versions() -> None:
    # Stored fingerprints outlive the process: a change here orphans every stored one.
    assert body_fingerprint(_read("hzfb_official.txt")) == 2378091769770199209


def test_fingerprints_are_signed_64_bit() -> None:
    rng = random.Random(1)
    for _ in range(200):
        text = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(MIN_TEXT_CHARS))
        value = body_fingerprint(text)
        assert value is not None
        assert -(2**63) <= value < 2**63


def test_seed_copies_share_one_fingerprint() -> None:
    names = ("hzfb_official.txt", "hz1w_portal.txt", "repost_repunctuated.txt")
    assert len({body_fingerprint(_read(name)) for name in names}) == 1


def test_short_bodies_get_no_fingerprint() -> None:
    for line in _read("short_boilerplate.txt").splitlines():
        assert body_fingerprint(line) is None
    assert body_fingerprint("汉" * (MIN_TEXT_CHARS - 1)) is None
    assert body_fingerprint("汉中" * MIN_TEXT_CHARS) is not None


def test_different_articles_sharing_a_template_are_far_apart() -> None:
    template = _read("portal_template.txt")
    articles = json.loads(_read("items.json"))["articles"]
    prints = [body_fingerprint(template.format(body=_read(a["text"]))) for a in articles]
    for a, b in itertools.combinations(prints, 2):
        assert a is not None
        assert b is not None
        assert hamming(a, b) > 4 * NEAR_DUPLICATE_BITS


def test_hamming_reads_signed_values_as_64_bits() -> None:
    assert hamming(-1, 0) == 64
    assert hamming(-1, 2**64 - 1) == 0
    assert hamming(5, 6) == hamming(6, 5) == 2


def test_band_keys_tag_each_band_with_its_index() -> None:
    keys = bands(0)
    assert len(keys) == BANDS
    assert len(set(keys)) == BANDS
    assert all(0 <= key < BANDS << BAND_BITS for key in bands(-1))


def test_band_keys_find_every_fingerprint_within_the_threshold() -> None:
    rng = random.Random(2)
    for _ in range(2000):
        value = rng.getrandbits(64) - 2**63
        flipped = value
        for bit in rng.sample(range(64), rng.randint(0, NEAR_DUPLICATE_BITS)):
            flipped ^= 1 << bit
        assert set(bands(value)) & set(bands(flipped))


def test_one_flip_per_band_shares_no_key() -> None:
    value = 0x0123_4567_89AB_CDEF
    flipped = value ^ sum(1 << (band * BAND_BITS) for band in range(BANDS))
    assert not set(bands(value)) & set(bands(flipped))


def test_bits_counted_in_parts_make_the_same_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body of many shingles has its bits counted a part at a time, in bounded memory."""
    codes = np.random.default_rng(3).integers(0x4E00, 0x9FA5, 100_000, dtype=np.uint32)
    text = codes.tobytes().decode("utf-32-le")
    parted = simhash(text)
    monkeypatch.setattr(fingerprint, "_COUNTED_AT_ONCE", len(text))
    assert simhash(text) == parted


def test_a_long_body_is_told_apart_by_its_start() -> None:
    start = _read("hzfb_official.txt") * (FINGERPRINTED_CHARS // 1000)
    assert body_fingerprint(start + "另一篇文章的结尾" * 1000) == body_fingerprint(start)
