"""Semantic search: story score = best passage score under the query vector."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import layout
from index.embedding import Embedder

from .base import Searcher
from .hits import Hit, ranked

PASSAGES_PER_STORY_GUESS = 4


class SemanticSearcher(Searcher):
    mode = "semantic"

    def __init__(self, folder: Path, embedder: Embedder):
        import faiss

        folder = Path(folder)
        if not (folder / layout.VECTORS).is_file():
            raise layout.IndexNotFound(folder, "no semantic index")
        self._index = faiss.read_index(str(folder / layout.VECTORS))
        with open(folder / layout.PASSAGES, encoding="utf-8") as handle:
            self._story_of = {row["id"]: row["story"] for row in map(json.loads, handle)}
        self.embedder = embedder
        if self._index.d != embedder.dimension:
            raise ValueError(f"the index holds {self._index.d}-dimensional vectors but the model "
                             f"{embedder.name!r} makes {embedder.dimension}; rebuild with `storysearch index`")

    def embed(self, query: str) -> np.ndarray:
        return self.embedder.encode_queries([query])[0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.search_vector(self.embed(query), k)

    def batch_search(self, queries: Sequence[str], qids: Sequence[str], k: int = 10) -> dict[str, list[Hit]]:
        vectors = self.embedder.encode_queries(list(queries))
        return {qid: self.search_vector(vector, k) for qid, vector in zip(qids, vectors)}

    def search_vector(self, vector: np.ndarray, k: int = 10) -> list[Hit]:
        """Stories ranked by their best passage; asks faiss for more passages
        until ``k`` distinct stories are found or the index is exhausted."""
        total = self._index.ntotal
        if k <= 0 or total == 0:
            return []
        depth = min(total, k * PASSAGES_PER_STORY_GUESS)
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        while True:
            scores, ids = self._index.search(query, depth)
            best: dict[str, float] = {}
            for score, pid in zip(scores[0], ids[0]):
                if pid >= 0:
                    best.setdefault(self._story_of[int(pid)], float(score))
            if len(best) >= k or depth >= total:
                break
            depth = min(total, depth * 4)
        top = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return ranked(top, self.mode)
