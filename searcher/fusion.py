"""Fusion of ranked lists, as pure functions.

Both functions take ``{list name: hits in rank order}`` and return fused hits
that keep, for each list, the rank and score the story had there, or None
where it was absent: a story found by one list only is scored from that list
alone, and says so. Ties break on the best single rank, then on the story id,
so the order never depends on dict or input order.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .hits import Hit

RRF_K = 60


def _fuse(runs: Mapping[str, Sequence[Hit]], contribution: Callable[[str, Hit], float],
          depth: int | None) -> list[Hit]:
    fused: dict[str, float] = {}
    ranks: dict[str, dict[str, int | None]] = {}
    scores: dict[str, dict[str, float | None]] = {}
    for name, hits in runs.items():
        for hit in hits:
            fused[hit.docid] = fused.get(hit.docid, 0.0) + contribution(name, hit)
            ranks.setdefault(hit.docid, dict.fromkeys(runs))[name] = hit.rank
            scores.setdefault(hit.docid, dict.fromkeys(runs))[name] = hit.score

    def best_rank(docid: str) -> int:
        return min(r for r in ranks[docid].values() if r is not None)

    order = sorted(fused, key=lambda d: (-fused[d], best_rank(d), d))[:depth]
    return [Hit(d, fused[d], rank, ranks[d], scores[d]) for rank, d in enumerate(order, 1)]


def reciprocal_rank_fusion(runs: Mapping[str, Sequence[Hit]], k: int = RRF_K,
                           depth: int | None = None) -> list[Hit]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = sum of 1/(k + rank)."""
    return _fuse(runs, lambda name, hit: 1.0 / (k + hit.rank), depth)


def weighted_fusion(runs: Mapping[str, Sequence[Hit]], weights: Mapping[str, float],
                    depth: int | None = None) -> list[Hit]:
    """Scores min-max normalised within each list, weighted and summed."""
    bounds = {}
    for name, hits in runs.items():
        values = [hit.score for hit in hits]
        bounds[name] = (min(values), max(values)) if values else (0.0, 0.0)

    def contribution(name: str, hit: Hit) -> float:
        low, high = bounds[name]
        normalised = (hit.score - low) / (high - low) if high > low else 1.0
        return weights.get(name, 0.0) * normalised

    return _fuse(runs, contribution, depth)
