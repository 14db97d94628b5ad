""""How did other places solve this?" answered with practices.

Every named practice of the archive has a vector (its name and definition
with the passage that names it) and a row in a term matrix of its name and
definition (index/practice_index.py). A question is answered as the engine
answers a search in hybrid mode: the practices nearest in meaning and the
practices that hold its words, fused (the engine's default fusion), less
those neither close in meaning nor holding a word of the question (the
floors of searcher/floors.py). A story is answered by meaning alone: the
practices nearest any of its passages, less its own, above the floor
``story_practice``. Answers are grouped by
place: each place comes once, with its best practice first and its other
answering practices after it, so ten answers are ten places; a practice
reported by three stories of one town is named once; the same name in two
towns is two answers.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from storysearch.index.practice_index import matrix_folder, matrix_id, open_practice_vectors, read_rows
from storysearch.index.stories import Story

from .hits import Hit, ranked
from .hybrid import FUSION_DEPTH, fuse_runs
from .lexical import SparseScorer, match_terms
from .floors import Floors
from .similar import DEPTH_PER_PASSAGE

@dataclass(frozen=True)
class PracticeAnswer:
    """One place's best practice, as an answer: where it is reported (the
    story of its best row), how close it is, which list found it, and the
    place's other practices that answer too (``also``, best first)."""

    key: str
    name: str
    kind: str
    place: str
    definition: str
    story: str
    score: float
    rank: int
    found_by: tuple[str, ...]  # "keyword": it holds a word of the question; "semantic": close in meaning
    similarity: float  # cosine of its vector and the question's (or the story's closest passage's)
    also: tuple["PracticeAnswer", ...] = ()


class PracticeFinder:
    def __init__(self, rows: list[dict], vectors, matrix: SparseScorer, stories: Mapping[str, Story], story_vectors,
                 floors: Floors):
        """``rows``: the practice rows in id order (index/practice_index.py),
        ``vectors`` their vectors by id (``search``, ``reconstruct``, ``ntotal``),
        ``matrix`` BM25 over their names and definitions (rows named by
        ``matrix_id``); ``story_vectors(story_id)``: the vectors of a story's
        passages; ``floors``: those of the precision the vectors were computed in."""
        self.stories, self.floors = stories, floors
        self.story_vectors = story_vectors
        self.rows, self.vectors, self.matrix = rows, vectors, matrix
        self.row_of = {matrix_id(row): row["id"] for row in self.rows}

    @classmethod
    def open(cls, generation: Path, stories: Mapping[str, Story], story_vectors, floors: Floors) -> "PracticeFinder":
        """The practices of a generation folder (the Milvus backend's are in Milvus: searcher/milvus.py)."""
        rows = read_rows(generation)
        return cls(rows, open_practice_vectors(generation),
                   SparseScorer(matrix_folder(generation), [matrix_id(row) for row in rows]), stories, story_vectors,
                   floors)

    def _record(self, row: dict) -> dict:
        """The practice of a row as its story records it."""
        return next(p for p in self.stories[row["story"]].practices if p["key"] == row["key"])

    def _nearest(self, vectors: np.ndarray, depth: int) -> dict[int, float]:
        """Best similarity per row over all the query vectors, for the ``depth`` nearest of each."""
        if not self.rows or not len(vectors):
            return {}
        scores, ids = self.vectors.search(np.asarray(vectors, dtype=np.float32), min(depth, self.vectors.ntotal))
        best: dict[int, float] = {}
        for row_scores, row_ids in zip(scores, ids):
            for score, row in zip(row_scores.tolist(), row_ids.tolist()):
                if row >= 0 and score > best.get(row, -2.0):
                    best[row] = score
        return best

    def _answers(self, hits: list[Hit], k: int, leave_out=lambda row: False,
                 found_by=lambda row: ("semantic",)) -> list[PracticeAnswer]:
        """``k`` places in the order of their best hit, each with its
        practices in the order of ``hits`` (each practice once); the
        practices of a story that names no place are grouped by that story."""
        groups: dict[str, list[tuple[dict, Hit]]] = {}
        for hit in hits:
            row = self.rows[int(hit.docid)]
            where = row["place"] or "\tstory " + row["story"]
            group = groups.get(where)
            if leave_out(row) or (group is None and len(groups) == k):
                continue
            if group is None:
                groups[where] = [(row, hit)]
            elif all(row["key"] != seen["key"] for seen, _ in group):
                group.append((row, hit))
        answers = []
        for rank, group in enumerate(groups.values(), 1):
            best, *others = [self._answer(row, hit, rank, found_by(row["id"])) for row, hit in group]
            answers.append(replace(best, also=tuple(others)))
        return answers

    def _answer(self, row: dict, hit: Hit, rank: int, found_by: tuple[str, ...]) -> PracticeAnswer:
        record = self._record(row)
        return PracticeAnswer(row["key"], row["name"], record["kind"], row["place"], record.get("definition", ""),
                              row["story"], hit.score, rank, found_by, hit.scores.get("semantic") or 0.0)

    def for_text(self, text: str, vector: np.ndarray | None, k: int = 10, words: bool = True) -> list[PracticeAnswer]:
        """The practices that answer a question or description (``vector``:
        its query embedding); ``words=False`` ranks by meaning alone (what
        scripts/bench_similar_practices.py compares with)."""
        if not self.rows:
            return []
        text = " ".join(text.split())
        nearest = self._nearest(vector.reshape(1, -1), FUSION_DEPTH) if vector is not None else {}
        semantic = _ranked(nearest.items())
        scores = self.matrix.scores(text) if words else None
        keyword = [] if scores is None else ranked(
            [(str(self.row_of[row]), score) for row, score in self.matrix.top(scores, scores > 0, FUSION_DEPTH)],
            "keyword")
        holds = np.zeros(len(self.rows), dtype=bool)
        for term in match_terms([text]):
            if len(term) > 1:  # one character (站 of 科考站) says little about a practice's topic
                holds |= self.matrix.holding_term(term)
        close = {row for row, score in nearest.items() if self.floors.close(score, holds[row])}
        fused = fuse_runs({"keyword": keyword, "semantic": semantic}, None)
        return self._answers([hit for hit in fused if int(hit.docid) in close], k, found_by=lambda row: (
            ("keyword",) * bool(holds[row]) + ("semantic",) * (nearest[row] >= self.floors.similarity)))

    def nearest_to_story(self, story_id: str, depth: int = DEPTH_PER_PASSAGE) -> dict[int, float]:
        """Rows by their best similarity to any of the story's passages (the ``depth`` nearest of each)."""
        return self._nearest(self.story_vectors(story_id), depth)

    def for_story(self, story_id: str, k: int = 10) -> list[PracticeAnswer]:
        """The practices closest to a story, its own left out, at least the floor ``story_practice`` similar."""
        own = {p["key"] for p in self.stories[story_id].practices}
        nearest = {row: score for row, score in self.nearest_to_story(story_id).items()
                   if score >= self.floors.story_practice}
        return self._answers(_ranked(nearest.items()), k,
                             lambda row: row["story"] == story_id or row["key"] in own)

    def nearest_to_practice(self, key: str, depth: int = DEPTH_PER_PASSAGE) -> dict[int, float]:
        """Rows by their best similarity to any row of the practice ``key`` (the ``depth`` nearest of each)."""
        rows = [row["id"] for row in self.rows if row["key"] == key]
        vectors = np.stack([self.vectors.reconstruct(row) for row in rows]) if rows else np.zeros((0, 1))
        return self._nearest(vectors, depth)

    def elsewhere(self, key: str, places: set[str], k: int = 10) -> list[PracticeAnswer]:
        """The practices closest to the practice ``key``, of other places than
        ``places``, at least the floor ``elsewhere`` similar."""
        nearest = {row: score for row, score in self.nearest_to_practice(key).items()
                   if score >= self.floors.elsewhere}
        return self._answers(_ranked(nearest.items()), k,
                             lambda row: row["key"] == key or not row["place"] or row["place"] in places)


def _ranked(scored) -> list[Hit]:
    """Rows by similarity, best first (equal scores by row), as semantic hits."""
    return ranked([(str(row), score) for row, score in sorted(scored, key=lambda item: (-item[1], item[0]))],
                  "semantic")
