"""Search results as plain records."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hit:
    """One ranked story: its id, score and 1-based rank in this list, and the
    rank and score it had in each list that contributed to it (None where absent)."""

    docid: str
    score: float
    rank: int
    ranks: dict[str, int | None] = field(default_factory=dict)
    scores: dict[str, float | None] = field(default_factory=dict)
    matched: bool = False  # a keyword match: the story holds the query's words (and is counted in the total)


def ranked(scored: list[tuple[str, float]], mode: str) -> list[Hit]:
    """Hits from (docid, score) pairs already in rank order; a keyword list's are matches."""
    return [Hit(docid, float(score), rank, {mode: rank}, {mode: float(score)}, matched=mode == "keyword")
            for rank, (docid, score) in enumerate(scored, 1)]
