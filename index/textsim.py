"""Near-duplicate text: how much of the shorter text the longer one contains."""
from __future__ import annotations

import re
from functools import lru_cache

ALNUM = re.compile(r"[^\W_]+")  # what str.isalnum() accepts


@lru_cache(maxsize=1 << 12)  # paragraphs are compared more than once, and formulaic ones repeat
def char_grams(text: str, n: int = 4) -> frozenset[str]:
    chars = "".join(ALNUM.findall(text))
    return frozenset({chars[i:i + n] for i in range(max(len(chars) - n + 1, 1))})


def containment(a: str, b: str) -> float:
    """Share of the shorter text's character 4-grams found in the other."""
    ga, gb = char_grams(a), char_grams(b)
    return len(ga & gb) / max(min(len(ga), len(gb)), 1)


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    return a == b or a.startswith(b) or b.startswith(a) or containment(a, b) >= threshold
