"""How close in meaning is close enough, per precision of the model.

A story or practice found only by meaning is shown (and counted) when it is
close in meaning: at least ``similarity`` similar to the query (cosine,
multilingual-e5-small), or at least ``word`` when it also holds one of the
query's terms; so a query about something the archive never reported can be
answered with "nothing found". A story's practice answers are kept from
``story_practice`` (its closest passage to the practice), a practice's
answers elsewhere from ``elsewhere``.

int8 vectors are not float32's (cosine about 0.99 between them), and a
floor is a cosine: each precision has floors calibrated on its own vectors,
``similarity`` and ``word`` by scripts/bench_floor.py (the pair that keeps
95 % of the relevant stories meaning finds, with the fewest false hits),
``story_practice`` and ``elsewhere`` by scripts/bench_similar_practices.py
(the highest that keep 95 % of the judged relevant pairs). Another model
needs its own.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .hits import Hit


@dataclass(frozen=True)
class Floors:
    similarity: float
    word: float
    story_practice: float
    elsewhere: float

    def close(self, score: float, holds_a_term: bool) -> bool:
        return score >= self.similarity or (score >= self.word and holds_a_term)

    def close_in_meaning(self, hits: list[Hit], holds_a_term: Callable[[str], bool]) -> set[str]:
        """The stories among semantic ``hits`` that are close in meaning."""
        return {hit.docid for hit in hits if self.close(hit.score, holds_a_term(hit.docid))}


FLOORS = {
    "float32": Floors(similarity=0.87, word=0.85, story_practice=0.90, elsewhere=0.92),
    "int8": Floors(similarity=0.87, word=0.85, story_practice=0.90, elsewhere=0.92),
}


def floors_for(precision: str) -> Floors:
    return FLOORS[precision]
