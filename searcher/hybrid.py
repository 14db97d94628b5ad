"""Hybrid ranking: the keyword and semantic lists fused, shaped by the query.

Fusion scores every story of both lists (searcher/fusion.py); then
``hybrid_hits`` keeps the keyword matches and only those other stories that
are close in meaning, and, for keywords (not a question), puts every
keyword match above every story found by meaning only: a user who typed
words sees first the stories that hold them. A question keeps the fused
order, where meaning counts as much as words.
"""
from __future__ import annotations

from collections.abc import Callable

from .fusion import RRF_K, reciprocal_rank_fusion, weighted_fusion
from .hits import Hit

FUSION_DEPTH = 100
FUSIONS = ("weighted", "rrf")
# Weighted min-max fusion is the default: on CMRC 2018 dev it reaches MRR@10
# 0.992 where reciprocal rank fusion reaches 0.985 at k=60 and 0.988 at best
# (scripts/bench_quality.py); ranks alone throw away how far apart scores are.
DEFAULT_FUSION = "weighted"
DEFAULT_WEIGHTS = {"keyword": 0.5, "semantic": 0.5}


def fuse_runs(runs, k: int | None, fusion: str = DEFAULT_FUSION, rrf_k: int = RRF_K,
              weights: dict[str, float] | None = None) -> list[Hit]:
    """The ``k`` best of the runs (all for None) merged by the named fusion."""
    if fusion == "weighted":
        return weighted_fusion(runs, weights or DEFAULT_WEIGHTS, depth=k)
    return reciprocal_rank_fusion(runs, k=rrf_k, depth=k)


def describe_fusion(fusion: str, rrf_k: int = RRF_K, weights: dict[str, float] | None = None) -> str:
    if fusion == "weighted":
        return "weighted min-max (" + ", ".join(f"{n} {w:g}" for n, w in (weights or DEFAULT_WEIGHTS).items()) + ")"
    return f"reciprocal rank fusion (k={rrf_k})"


def hybrid_hits(runs: dict[str, list[Hit]], literal: Callable[[str], bool], close: set[str],
                literal_first: bool, fusion: str = DEFAULT_FUSION) -> list[Hit]:
    """The keyword and the whole semantic list fused (a keyword match's
    similarity counts however low), less the stories that are neither keyword
    matches (``literal``) nor ``close`` in meaning (searcher/semantic.py);
    with ``literal_first``, every keyword match above every other story
    (each part in fused order); ranked again from 1."""
    kept = [hit for hit in fuse_runs(runs, None, fusion) if literal(hit.docid) or hit.docid in close]
    if literal_first:
        kept = sorted(kept, key=lambda hit: not literal(hit.docid))  # stable: fused order within each part
    return [Hit(hit.docid, hit.score, rank, hit.ranks, hit.scores, matched=literal(hit.docid))
            for rank, hit in enumerate(kept, 1)]
