"""Hybrid search: keyword and semantic lists merged by reciprocal rank fusion."""
from __future__ import annotations

from .base import Filters, Searcher
from .fusion import RRF_K, reciprocal_rank_fusion
from .hits import Hit
from .lexical import KeywordSearcher
from .semantic import SemanticSearcher

FUSION_DEPTH = 100


class HybridSearcher(Searcher):
    mode = "hybrid"

    def __init__(self, keyword: KeywordSearcher, semantic: SemanticSearcher,
                 rrf_k: int = RRF_K, depth: int = FUSION_DEPTH):
        self.keyword, self.semantic = keyword, semantic
        self.rrf_k, self.depth = rrf_k, depth

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        depth = max(k, self.depth)
        runs = {
            "keyword": self.keyword.search(query, depth, filters),
            "semantic": self.semantic.search(query, depth, filters),
        }
        return reciprocal_rank_fusion(runs, k=self.rrf_k, depth=k)
