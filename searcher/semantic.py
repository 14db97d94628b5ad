"""Semantic search: story score = best passage score under the query vector."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from storysearch.index import layout
from storysearch.index.embedding import Embedder
from storysearch.index.stories import Story

from .base import Searcher
from .filters import FilterArg
from .conditions import has_text_conditions, story_matches
from .hits import Hit, ranked
from .query import parse_query
from .table import StoryTable

PASSAGES_PER_STORY_GUESS = 4
HNSW_EF_SEARCH = 128


class PassageStore:
    """Which story each passage belongs to, and its text read from disk when
    asked for (an archive's passage texts need not sit in memory). The file
    stays open, so a generation removed while a request reads it still reads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.story_of: dict[int, str] = {}
        self.of_story: dict[str, list[int]] = {}
        self._spans: dict[int, tuple[int, int]] = {}  # passage id -> (byte offset, length) of its line
        self._file = open(path, "rb")
        offset = 0
        for number, line in enumerate(self._file, 1):
            row = self._parse(line, f"line {number}")
            self.story_of[row["id"]] = row["story"]
            self.of_story.setdefault(row["story"], []).append(row["id"])
            self._spans[row["id"]] = (offset, len(line))
            offset += len(line)

    def _parse(self, line: bytes, where: str) -> dict:
        try:
            row = json.loads(line.decode("utf-8"))
            return {"id": int(row["id"]), "story": str(row["story"]), "text": str(row["text"])}
        except (ValueError, TypeError, KeyError) as exc:
            raise layout.IndexDamaged(self.path, f"{where} is not a passage record: {exc}") from None

    def text(self, pid: int) -> str:
        """A passage's text, read now; IndexDamaged if the file changed under us."""
        offset, length = self._spans[pid]
        return self._parse(os.pread(self._file.fileno(), length, offset), f"passage {pid}")["text"]


def embedding_text(query: str) -> str:
    """What to embed of a query: its words and phrases, without the syntax."""
    parsed = parse_query(query)
    return " ".join(parsed.positive_texts)


class SemanticSearcher(Searcher):
    mode = "semantic"

    def __init__(self, folder: Path, embedder: Embedder, stories: Mapping[str, Story], table: StoryTable):
        import faiss

        folder = Path(folder)
        if not (folder / layout.VECTORS).is_file():
            raise layout.IndexNotFound(folder, "no semantic index")
        try:
            self.index = faiss.read_index(str(folder / layout.VECTORS))
        except RuntimeError as exc:  # faiss says what it could not read, in C++ terms
            raise layout.IndexDamaged(folder / layout.VECTORS, str(exc).strip().splitlines()[-1]) from None
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        self.passages = PassageStore(folder / layout.PASSAGES)
        self.embedder = embedder
        self.stories = stories
        self.table = table
        if self.index.d != embedder.dimension:
            raise ValueError(f"the index holds {self.index.d}-dimensional vectors but the model "
                             f"{embedder.name!r} makes {embedder.dimension}; rebuild with `storysearch index`")

    def embed(self, query: str) -> np.ndarray | None:
        return self.embed_text(embedding_text(query))

    def embed_text(self, text: str) -> np.ndarray | None:
        return self.embedder.query_vector(text) if text.strip() else None

    def search(self, query: str, k: int = 10, filters: FilterArg = None) -> list[Hit]:
        return self.search_vector(self.embed(query), k, query, filters)

    def batch_search(self, queries: Sequence[str], qids: Sequence[str], k: int = 10,
                     filters: FilterArg = None) -> dict[str, list[Hit]]:
        texts = [embedding_text(q) for q in queries]
        vectors = self.embedder.encode_queries([t or " " for t in texts])
        return {qid: self.search_vector(vector if text.strip() else None, k, query, filters)
                for qid, query, text, vector in zip(qids, queries, texts, vectors)}

    def search_vector(self, vector: np.ndarray | None, k: int = 10, query: str = "",
                      filters: FilterArg = None) -> list[Hit]:
        """Stories ranked by their best passage, keeping those that meet the
        query's conditions; asks faiss for more passages until ``k`` stories
        are found or the index is exhausted."""
        total = self.index.ntotal
        if vector is None or k <= 0 or total == 0:
            return []
        parsed = parse_query(query)
        allowed = self.table.allowed(parsed, filters)
        check_text = has_text_conditions(parsed)
        depth = min(total, k * PASSAGES_PER_STORY_GUESS)
        matrix = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        meets: dict[str, bool] = {}  # each story checked once, however many of its passages come up
        while True:
            scores, ids = self.index.search(matrix, depth)
            best: dict[str, float] = {}
            for score, pid in zip(scores[0], ids[0]):
                if pid < 0:
                    continue
                story = self.passages.story_of[int(pid)]
                if story not in meets:
                    meets[story] = ((allowed is None or bool(allowed[self.table.row[story]]))
                                    and (not check_text or story_matches(self.stories[story], parsed)))
                if story not in best and meets[story]:
                    best[story] = float(score)
            if len(best) >= k or depth >= total:
                break
            depth = min(total, depth * 4)
        top = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return ranked(top, self.mode)
