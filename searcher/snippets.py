"""Short excerpts of a story around what the query matched."""
from __future__ import annotations

from index.analysis import word_analyzer

SNIPPET_CHARS = 120


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The ``width`` characters around the first query word found in ``text``;
    the start of the text when none is (a semantic match shares no word)."""
    text = " ".join(text.split())
    positions = [text.find(token.text) for token in word_analyzer()(query[:200])]
    positions = [p for p in positions if p >= 0]
    start = max(0, min(positions) - width // 4) if positions else 0
    excerpt = text[start:start + width]
    return ("…" if start else "") + excerpt + ("…" if start + width < len(text) else "")
