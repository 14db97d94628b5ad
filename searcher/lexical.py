"""Keyword search: BM25 on the term matrix, conditions through Whoosh."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from whoosh import query as Q

from storysearch.index import layout, sparse
from storysearch.index.analysis import text_analysis
from storysearch.index.keyword_store import open_keyword_index

from .base import Searcher
from .filters import FILTER_FIELDS, FilterArg
from .hits import Hit, ranked
from .query import ParsedQuery, parse_query
from .table import StoryTable

# Score multiplier (1 - COORD) + COORD * matched/total: a bonus for matching all terms.
COORD = 0.2
MAX_TERMS = 200


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def query_terms(text: str) -> tuple[list[str], list[str]]:
    """(words, grams) of plain text as the index analyses it; grams are CJK
    bigrams, or the character itself where it stands alone."""
    analysis = text_analysis()
    words = _unique(w for w, *_ in analysis.words(text))[:MAX_TERMS]
    grams = _unique(g for g, *_ in analysis.grams(text, unigrams=False))[:MAX_TERMS]
    return words, grams


def substring_query(text: str, fields=("headline_bigrams", "body_bigrams")) -> Q.Query | None:
    """Stories containing ``text`` as it is written (after folding): a phrase of
    its bigrams, so it does not depend on how jieba segments the context."""
    grams = [g for g, *_ in text_analysis().grams(text, unigrams=False)]
    if not grams:
        return None
    if len(grams) == 1:
        return Q.Or([Q.Term(f, grams[0]) for f in fields])
    return Q.Or([Q.Phrase(f, grams) for f in fields])


def _field_query(name: str, value: str) -> Q.Query | None:
    if name == "headline":
        return substring_query(value, fields=("headline_bigrams",))
    return substring_query(value)


def _condition(queries: list[Q.Query | None], combine) -> Q.Query | None:
    """``combine`` of the queries; Q.NullQuery when one has nothing searchable
    in it (such a condition cannot be met)."""
    if not queries:
        return None
    if any(q is None for q in queries):
        return Q.NullQuery
    return combine(queries) if len(queries) > 1 else queries[0]


def condition_queries(parsed: ParsedQuery) -> dict[str, Q.Query]:
    """The Whoosh queries that decide which stories match, never how they rank:
    ``required`` (phrases and headline conditions: a story meeting them
    matches even without the other terms) and ``excluded`` (text and
    headline exclusions). Filter fields are masks over the story table."""
    required = [substring_query(p) for p in parsed.phrases]
    required += [_field_query(name, value) for name, value in parsed.fields if name == "headline"]
    excluded = [q for q in (_field_query(name, value) for name, value in parsed.excluded
                            if name not in FILTER_FIELDS) if q is not None]
    found = {"required": _condition(required, Q.And), "excluded": Q.Or(excluded) if excluded else None}
    return {name: query for name, query in found.items() if query is not None}


def scoring_text(parsed: ParsedQuery) -> str:
    """What ranks a keyword match: its terms, phrases and headline conditions."""
    return " ".join(parsed.positive_texts)


class SparseScorer:
    """BM25 over the term matrix (index/sparse.py), every story at once in a
    few vector operations, with a bonus for matching all query tokens."""

    def __init__(self, generation: Path, ids: list[str]):
        self.retriever = sparse.open_term_matrix(generation, ids)
        self.ids = ids
        self.row = {story_id: row for row, story_id in enumerate(self.ids)}
        self.vocab = self.retriever.vocab_dict
        self.indices = np.asarray(self.retriever.scores["indices"])
        self.indptr = np.asarray(self.retriever.scores["indptr"])

    def scores(self, text: str) -> np.ndarray | None:
        """A score for every story (0 where no token matches); None when the
        text has no token the archive knows."""
        words, grams = query_terms(text)
        tokens = [t for t in _unique(words + [sparse.gram_token(g) for g in grams]) if t in self.vocab]
        if not tokens or not self.ids:
            return None
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        matched = np.zeros(len(scores), dtype=np.float32)
        for token in tokens:  # how many query tokens each story has: the coordination bonus
            tid = self.vocab[token]
            np.add.at(matched, self.indices[self.indptr[tid]:self.indptr[tid + 1]], 1)
        return scores * ((1 - COORD) + COORD * matched / len(tokens))

    def story_counts(self) -> np.ndarray:
        """How many stories hold each token (by column): its document frequency."""
        return np.diff(self.indptr)

    def top(self, scores: np.ndarray, matches: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` best matching stories, best first; equal scores in index order."""
        found = np.flatnonzero(matches)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        best = sorted(found.tolist(), key=lambda row: (-float(scores[row]), row))
        return [(self.ids[row], float(scores[row])) for row in best]


class KeywordSearcher(Searcher):
    """One ranking: BM25 on the term matrix. Phrases, headline conditions,
    exclusions and filters decide which stories match (through Whoosh's
    postings and the story table's masks) and never change the order: a
    filter that removes nothing leaves the ranking as it was."""

    mode = "keyword"

    def __init__(self, folder: Path, table: StoryTable):
        self._path = Path(folder) / layout.WHOOSH
        self._index = open_keyword_index(folder)
        self._local = threading.local()
        self._sparse = SparseScorer(folder, table.ids)
        self.table = table

    def _searcher(self):
        # One Whoosh searcher per thread: cheap to keep, not safe to share.
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._index.searcher()
            self._local.searcher = searcher
        return searcher

    def _rows(self, query: Q.Query) -> np.ndarray:
        """A mask over the story table's rows: the stories ``query`` matches.
        Whoosh files damaged under a running server are IndexDamaged, whatever
        Whoosh raised reading them."""
        mask = np.zeros(self.table.size, dtype=bool)
        try:
            searcher = self._searcher()
            ids = searcher.reader().column_reader("id")
            mask[[self.table.row[ids[docnum]] for docnum in searcher.docs_for_query(query)]] = True
        except (KeyError, IndexError) as exc:
            raise layout.IndexDamaged(self._path, f"it names a story that {layout.STORIES} lacks ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - EOFError, struct.error, EmptyIndexError, OSError, …
            raise layout.IndexDamaged(self._path, f"{type(exc).__name__}: {exc}") from None
        return mask

    def match(self, parsed: ParsedQuery, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(score, matches) for every story: BM25 on the query's terms, and
        which stories match it, within ``allowed`` (a mask; None for all)."""
        conditions = condition_queries(parsed)
        scores = self._sparse.scores(scoring_text(parsed))
        if "required" in conditions:
            matches = self._rows(conditions["required"])
        elif parsed.positive_texts:  # terms: the stories holding any of them
            matches = scores > 0 if scores is not None else np.zeros(self.table.size, dtype=bool)
        else:  # only filters and exclusions (or none, when browsing): every story they let through
            matches = np.ones(self.table.size, dtype=bool)
        if allowed is not None:
            matches &= allowed
        if "excluded" in conditions:
            matches &= ~self._rows(conditions["excluded"])
        return (np.zeros(self.table.size, dtype=np.float32) if scores is None else scores), matches

    def top(self, scores: np.ndarray, matches: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self._sparse.top(scores, matches, k)

    @property
    def sparse(self) -> SparseScorer:
        return self._sparse

    def in_headlines(self, word: str) -> bool:
        """Whether some headline may hold ``word`` (folded): every character
        pair of it is in the headline field (exact for two characters)."""
        grams = [g for g, *_ in text_analysis().grams(word, unigrams=False)]
        if not grams:
            return False
        try:
            reader = self._searcher().reader()
            return all(reader.doc_frequency("headline_bigrams", gram) > 0 for gram in grams)
        except Exception as exc:  # noqa: BLE001 - as _rows: whatever Whoosh raised reading damaged files
            raise layout.IndexDamaged(self._path, f"{type(exc).__name__}: {exc}") from None

    def search(self, query: str, k: int = 10, filters: FilterArg = None) -> list[Hit]:
        parsed = parse_query(query)
        if k <= 0 or not self.table.size:
            return []
        scores, matches = self.match(parsed, self.table.allowed(parsed, filters))
        return ranked(self._sparse.top(scores, matches, k), self.mode)
