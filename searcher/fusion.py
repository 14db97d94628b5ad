"""Fusion of ranked lists, as pure functions."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from .hits import Hit

RRF_K = 60


def reciprocal_rank_fusion(runs: Mapping[str, Sequence[Hit]], k: int = RRF_K,
                           depth: int | None = None) -> list[Hit]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = sum of 1/(k + rank).

    A story present in only some lists gets nothing from the others and keeps
    ``None`` as its rank there. Ties break on the best single rank, then on
    the story id, so the order never depends on dict or input order.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int | None]] = {}
    for name, hits in runs.items():
        for hit in hits:
            scores[hit.docid] = scores.get(hit.docid, 0.0) + 1.0 / (k + hit.rank)
            ranks.setdefault(hit.docid, {n: None for n in runs})[name] = hit.rank

    def best_rank(docid: str) -> int:
        return min(r for r in ranks[docid].values() if r is not None)

    order = sorted(scores, key=lambda d: (-scores[d], best_rank(d), d))
    if depth is not None:
        order = order[:depth]
    return [Hit(docid, scores[docid], rank, ranks[docid]) for rank, docid in enumerate(order, 1)]
