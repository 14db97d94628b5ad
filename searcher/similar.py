"""Find similar practices: the stories closest to a story or to a description.

Two stories are as close as their closest pair of passages. The story itself
and its duplicates (the same story printed twice, a near-identical copy) are
left out, and duplicates among the results are collapsed into the fullest
copy. Each result says why: the best-matching passage of each side. The
stories near a text are those close in meaning by the search's floors
(floors.py), so that a text the archive never reported finds none.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from storysearch.index.stories import Story
from storysearch.index.textsim import near_duplicate

from .semantic import SemanticSearcher

DEPTH_PER_PASSAGE = 50
# Reprints are compared by their first characters: a huge story costs what a long one does.
REPRINT_CHARS = 20_000
REASON_CHARS = 120


@dataclass(frozen=True)
class SimilarHit:
    docid: str
    score: float
    rank: int
    reason: dict  # {"passage": best passage of the story asked about (None for text), "match": best of this one}


def _excerpt(passage: str, headline: str) -> str:
    body = passage[len(headline) + 1:] if headline and passage.startswith(headline + "\n") else passage
    body = " ".join(body.split())
    return body if len(body) <= REASON_CHARS else body[:REASON_CHARS] + "…"


class SimilarSearcher:
    def __init__(self, semantic: SemanticSearcher, stories: Mapping[str, Story]):
        self.semantic = semantic
        self.stories = stories

    def _closest(self, vectors: np.ndarray, source_pids: list[int] | None, exclude: set[str]):
        """Best (score, source passage, target passage) per story over all the
        query vectors, stories in ``exclude`` left out."""
        index = self.semantic.index
        depth = min(index.ntotal, DEPTH_PER_PASSAGE)
        scores, ids = index.search(np.asarray(vectors, dtype=np.float32), depth)
        best: dict[str, tuple[float, int | None, int]] = {}
        for row, (row_scores, row_ids) in enumerate(zip(scores, ids)):
            source = source_pids[row] if source_pids else None
            found = row_ids >= 0
            for score, pid, story in zip(row_scores[found].tolist(), row_ids[found].tolist(),
                                         self.semantic.passages.stories(row_ids[found])):
                if story not in exclude and (story not in best or score > best[story][0]):
                    best[story] = (score, source, pid)
        return sorted(best.items(), key=lambda item: (-item[1][0], item[0]))

    def _collapse(self, ranked, k: int, also_duplicates_of: Story | None) -> list[tuple[str, tuple]]:
        """Drop duplicates of the asked-about story; of duplicates among the
        results keep the fullest copy, at the better rank."""
        kept: list[tuple[str, tuple]] = []
        for docid, best in ranked:
            story = self.stories[docid]
            body = story.body[:REPRINT_CHARS]
            if also_duplicates_of is not None and near_duplicate(body, also_duplicates_of.body[:REPRINT_CHARS]):
                continue
            twin = next((i for i, (other, _) in enumerate(kept)
                         if near_duplicate(self.stories[other].body[:REPRINT_CHARS], body)), None)
            if twin is None:
                kept.append((docid, best))
                if len(kept) == k:
                    break
            elif len(story.text) > len(self.stories[kept[twin][0]].text):
                kept[twin] = (docid, (kept[twin][1][0], *best[1:]))  # the better copy's score
        return kept

    def _hits(self, kept, asked_about: Story | None) -> list[SimilarHit]:
        passages = self.semantic.passages
        hits = []
        for rank, (docid, (score, source, target)) in enumerate(kept, 1):
            reason = {
                "passage": _excerpt(passages.text(source), asked_about.title) if source is not None else None,
                "match": _excerpt(passages.text(target), self.stories[docid].title),
            }
            hits.append(SimilarHit(docid, score, rank, reason))
        return hits

    def similar_to_story(self, story_id: str, k: int = 10) -> list[SimilarHit]:
        story = self.stories[story_id]
        pids = self.semantic.story_passage_ids(story_id)
        if not pids:
            return []
        ranked = self._closest(self.semantic.story_vectors(story_id), pids, exclude={story_id})
        return self._hits(self._collapse(ranked, k, story), story)

    def similar_to_text(self, text: str, k: int = 10,
                        holds_a_term: Callable[[str], bool] = lambda story_id: False) -> list[SimilarHit]:
        """The stories closest to ``text`` that are close in meaning by the
        search's floors (floors.py; ``holds_a_term``: whether a story holds
        one of the text's terms), so that a question the archive never
        reported finds nothing rather than its least distant stories."""
        vector = self.semantic.embed_text(" ".join(text.split()))
        if vector is None:
            return []
        ranked = [(docid, best) for docid, best in self._closest(vector.reshape(1, -1), None, exclude=set())
                  if self.semantic.floors.close(best[0], holds_a_term(docid))]
        return self._hits(self._collapse(ranked, k, None), None)
