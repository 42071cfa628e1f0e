"""The code points read as Chinese characters: CJK Unified Ideographs and Extension A, where
every character of a name, a title and a date's words is, and Taiwan's and Hong Kong's variant
forms too. Named once, so that every pattern and table agrees on what one is."""

from __future__ import annotations

__all__ = ["HAN", "HAN_RANGES"]

HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
# The same, for a regular expression's character class: `f"[{HAN}]"`.
HAN = "".join(f"{chr(start)}-{chr(end)}" for start, end in HAN_RANGES)
