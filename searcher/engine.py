"""One opened index folder: its stories and a searcher per mode."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from index import layout
from index.analysis import analyzer_settings
from index.embedding import Embedder, load_embedder
from index.stories import Story

from .base import Filters, Searcher
from .hits import Hit
from .hybrid import HybridSearcher
from .lexical import KeywordSearcher, query_terms
from .query import ParsedQuery, parse_query
from .semantic import SemanticSearcher

MODES = ("hybrid", "keyword", "semantic")
MAX_K = 100


class QueryError(ValueError):
    """A request that cannot be answered as asked; the message says why."""


def is_searchable(parsed: ParsedQuery) -> bool:
    words, grams = query_terms(" ".join(parsed.positive_texts))
    return bool(words or grams or parsed.fields or parsed.excluded)


class SearchEngine:
    """Opens an index folder; the embedding model is loaded on first semantic use
    (or up front with ``preload()``) and then kept for the life of the process."""

    def __init__(self, folder: Path, embedder: Embedder | None = None):
        self.folder = Path(folder)
        self.meta = layout.read_meta(self.folder)
        with open(self.folder / layout.STORIES, encoding="utf-8") as handle:
            stories = [Story.from_dict(json.loads(line)) for line in handle]
        self.stories = {story.id: story for story in stories}
        self.keyword = KeywordSearcher(self.folder)
        self.warnings = self._analyzer_warnings()
        self._embedder = embedder
        self._semantic: SemanticSearcher | None = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self.meta["model"]["name"]

    @property
    def semantic(self) -> SemanticSearcher:
        with self._lock:
            if self._semantic is None:
                embedder = self._embedder or load_embedder(self.model_name)
                if embedder.name != self.model_name:
                    raise QueryError(f"the index was built with the model {self.model_name!r}, "
                                     f"not {embedder.name!r}; rebuild it with `storysearch index`")
                self._semantic = SemanticSearcher(self.folder, embedder, self.stories)
            return self._semantic

    def _analyzer_warnings(self) -> list[str]:
        built, now = self.meta.get("analyzer", {}), analyzer_settings()
        changed = sorted(key for key in set(built) | set(now) if built.get(key) != now.get(key))
        if not changed:
            return []
        return [f"the index was built with other analyzer settings ({', '.join(changed)} differ), so keyword "
                f"search may miss matches; rebuild it with `storysearch index`"]

    def preload(self) -> "SearchEngine":
        self.semantic  # noqa: B018 - loads the model now rather than on the first query
        return self

    def searcher(self, mode: str) -> Searcher:
        if mode == "keyword":
            return self.keyword
        if mode == "semantic":
            return self.semantic
        if mode == "hybrid":
            return HybridSearcher(self.keyword, self.semantic)
        raise QueryError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")

    def search(self, query: str, mode: str = "hybrid", k: int = 10, filters: Filters | None = None) -> list[Hit]:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QueryError(f"k must be a whole number from 1 to {MAX_K}")
        searcher = self.searcher(mode)
        if not query.strip():
            return []
        if not is_searchable(parse_query(query)):
            raise QueryError("the query has nothing to search for: only punctuation, spaces or syntax")
        return searcher.search(query, k, filters)

    def hit_record(self, hit: Hit) -> dict:
        """The JSON form of a hit, shared by the CLI and the API."""
        story = self.stories[hit.docid]
        return {
            "id": hit.docid,
            "headline": story.headline,
            "subheadline": story.subheadline,
            "source": story.source,
            "authors": story.authors,
            "score": round(hit.score, 6),
            "rank": hit.rank,
            "ranks": {"keyword": hit.ranks.get("keyword"), "semantic": hit.ranks.get("semantic")},
        }

    def search_response(self, query: str, mode: str = "hybrid", k: int = 10, filters: Filters | None = None) -> dict:
        hits = self.search(query, mode, k, filters)
        return {"query": query, "mode": mode, "hits": [self.hit_record(hit) for hit in hits],
                "warnings": self.warnings}
