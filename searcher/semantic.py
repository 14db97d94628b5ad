"""Semantic search: story score = best passage score under the query vector."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from storysearch.index.embedding import Embedder
from storysearch.index.stories import Story
from storysearch.index.vectors import PassageStore, open_vectors

from .base import Searcher
from .filters import FilterArg
from .floors import floors_for
from .conditions import has_text_conditions, story_matches
from .hits import Hit, ranked
from .query import ParsedQuery, parse_query
from .table import StoryTable

PASSAGES_PER_STORY_GUESS = 4
# A story is compared with others by its first passages (about 19,000
# characters): a huge story costs what a long one does.
MAX_STORY_PASSAGES = 64
def embedding_text(query: str) -> str:
    """What to embed of a query: its words and phrases, without the syntax."""
    parsed = parse_query(query)
    return " ".join(parsed.positive_texts)


class SemanticSearcher(Searcher):
    mode = "semantic"

    def __init__(self, folder: Path | None, embedder: Embedder, stories: Mapping[str, Story], table: StoryTable,
                 vectors=None, passages=None):
        """``vectors`` and ``passages``: the stores searched (the Milvus
        backend's, searcher/milvus.py); by default the generation ``folder``'s."""
        self.index = vectors if vectors is not None else open_vectors(Path(folder))
        self.passages = passages if passages is not None else PassageStore(Path(folder), table.ids, table.row)
        self.embedder = embedder
        self.stories = stories
        self.table = table
        self.floors = floors_for(embedder.precision)  # the engine loads the model at the index's precision
        if self.index.d != embedder.dimension:
            raise ValueError(f"the index holds {self.index.d}-dimensional vectors but the model "
                             f"{embedder.name!r} makes {embedder.dimension}; rebuild with `storysearch index`")

    def story_passage_ids(self, story_id: str) -> list[int]:
        """The ids of a story's first MAX_STORY_PASSAGES passages, in order."""
        return self.passages.passage_ids(story_id)[:MAX_STORY_PASSAGES]

    def story_vectors(self, story_id: str) -> np.ndarray:
        """The vectors of ``story_passage_ids`` (rows in that order)."""
        pids = self.story_passage_ids(story_id)
        if not pids:
            return np.zeros((0, self.index.d), dtype=np.float32)
        return np.stack([self.index.reconstruct(pid) for pid in pids])

    def embed(self, query: str) -> np.ndarray | None:
        return self.embed_text(embedding_text(query))

    def embed_text(self, text: str) -> np.ndarray | None:
        return self.embedder.query_vector(text) if text.strip() else None

    def narrowed(self, parsed: ParsedQuery, filters: FilterArg) -> tuple[Callable, np.ndarray | None]:
        """How to search the passages of the stories the request lets through:
        ``search(queries, depth)``, and the story table's mask of the stories
        to keep of those it finds (None: all). faiss searches every passage
        and the mask narrows what it found; the Milvus backend sends the
        filter with the search (searcher/milvus.py)."""
        return self.index.search, self.table.allowed(parsed, filters)

    def search(self, query: str, k: int = 10, filters: FilterArg = None, floored: bool = True) -> list[Hit]:
        return self.search_vector(self.embed(query), k, query, filters, floored)

    def batch_search(self, queries: Sequence[str], qids: Sequence[str], k: int = 10,
                     filters: FilterArg = None) -> dict[str, list[Hit]]:
        texts = [embedding_text(q) for q in queries]
        vectors = self.embedder.encode_queries([t or " " for t in texts])
        return {qid: self.search_vector(vector if text.strip() else None, k, query, filters)
                for qid, query, text, vector in zip(qids, queries, texts, vectors)}

    def search_vector(self, vector: np.ndarray | None, k: int = 10, query: str = "",
                      filters: FilterArg = None, floored: bool = True) -> list[Hit]:
        """Stories ranked by their best passage, keeping those that meet the
        query's conditions and (``floored``) reach the word floor; asks for more
        passages until ``k`` stories are found, the passages fall below the
        floor or those the request lets through are exhausted."""
        total = self.index.ntotal
        floor = self.floors.word if floored else None
        if vector is None or k <= 0 or total == 0:
            return []
        parsed = parse_query(query)
        search, allowed = self.narrowed(parsed, filters)
        check_text = has_text_conditions(parsed)
        depth = min(total, k * PASSAGES_PER_STORY_GUESS)
        matrix = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        meets: dict[str, bool] = {}  # each story checked once, however many of its passages come up
        while True:
            scores, ids = search(matrix, depth)
            best: dict[str, float] = {}
            found = ids[0] >= 0
            for score, story in zip(scores[0][found].tolist(), self.passages.stories(ids[0][found])):
                if story not in meets:
                    meets[story] = ((allowed is None or bool(allowed[self.table.row[story]]))
                                    and (not check_text or story_matches(self.stories[story], parsed)))
                if story not in best and meets[story] and (floor is None or score >= floor):
                    best[story] = score
            exhausted = ids[0][-1] < 0  # (a filtered search: fewer passages than asked for)
            below = floor is not None and scores[0][-1] < floor
            if len(best) >= k or depth >= total or exhausted or below:
                break
            depth = min(total, depth * 4)
        top = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return ranked(top, self.mode)
