"""What every searcher offers, keyword, semantic or hybrid alike."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from .filters import FilterArg
from .hits import Hit


class Searcher(ABC):
    mode: str

    @abstractmethod
    def search(self, query: str, k: int = 10, filters: FilterArg = None) -> list[Hit]:
        """The ``k`` best stories for ``query``, best first."""

    def batch_search(self, queries: Sequence[str], qids: Sequence[str], k: int = 10,
                     filters: FilterArg = None) -> dict[str, list[Hit]]:
        if len(queries) != len(qids):
            raise ValueError("queries and qids must have the same length")
        return {qid: self.search(query, k, filters) for query, qid in zip(queries, qids)}
