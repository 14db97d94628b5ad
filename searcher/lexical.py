"""Keyword search over the Whoosh index (BM25F)."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import scoring

from index import layout, sparse
from index.analysis import text_analysis

from .base import Filters, Searcher
from .conditions import has_conditions
from .hits import Hit, ranked
from .query import ParsedQuery, parse_query

# Headline matches count more than body matches; the bigram fields back the
# word fields up where segmentation differs between query and text.
WORD_BOOSTS = {"headline": 3.0, "body": 1.0}
GRAM_BOOSTS = {"headline_bigrams": 1.5, "body_bigrams": 0.5}
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
    if name == "author":
        return Q.Term("authors", value)
    if name == "source":
        return Q.Prefix("source", value)
    return substring_query(value)


def build_query(parsed: ParsedQuery) -> Q.Query | None:
    """The Whoosh query for a parsed query; None when nothing can match."""
    words, grams = query_terms(" ".join(parsed.terms + parsed.phrases))
    optional = [Q.Term(f, w, boost=b) for f, b in WORD_BOOSTS.items() for w in words]
    optional += [Q.Term(f, g, boost=b) for f, b in GRAM_BOOSTS.items() for g in grams]
    required = [substring_query(p) for p in parsed.phrases]
    required += [_field_query(name, value) for name, value in parsed.fields]
    required = [q for q in required if q is not None]
    if len(required) < len(parsed.phrases) + len(parsed.fields):
        return None  # a condition with nothing searchable in it cannot be met
    scored = Q.Or(optional, scale=COORD) if optional else None
    if required and scored is not None:
        query = Q.AndMaybe(Q.And(required), scored)
    elif required:
        query = Q.And(required)
    elif scored is not None:
        query = scored
    elif parsed.excluded:
        query = Q.Every()
    else:
        return None
    excluded = [q for q in (_field_query(name, value) for name, value in parsed.excluded) if q is not None]
    return Q.AndNot(query, Q.Or(excluded)) if excluded else query


def filter_query(filters: Filters | None) -> Q.Query | None:
    """Exact filters: ``source`` (a file name) and ``author`` (a name)."""
    clauses = []
    for name, value in (filters or {}).items():
        if value:
            clauses.append(Q.Term("source", value) if name == "source" else Q.Term("authors", value))
    return Q.And(clauses) if clauses else None


class SparseScorer:
    """Plain OR queries scored on the BM25 term matrix (index/sparse.py):
    the same ranking idea as the Whoosh query, in vector operations."""

    def __init__(self, folder: Path):
        import bm25s

        # Memory-mapped: a query reads only its tokens' columns, so a large
        # archive's matrix need not be resident.
        self.retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
        self.ids = json.loads((folder / sparse.IDS).read_text(encoding="utf-8"))
        self.vocab = self.retriever.vocab_dict
        self.indices = np.asarray(self.retriever.scores["indices"])
        self.indptr = np.asarray(self.retriever.scores["indptr"])

    def search(self, parsed: ParsedQuery, k: int) -> list[tuple[str, float]]:
        words, grams = query_terms(" ".join(parsed.terms))
        tokens = [t for t in _unique(words + [sparse.gram_token(g) for g in grams]) if t in self.vocab]
        if not tokens or not self.ids:
            return []
        scores = self.retriever.get_scores(tokens)
        matched = np.zeros(len(scores), dtype=np.float32)
        for token in tokens:  # how many query tokens each story has: the coordination bonus
            tid = self.vocab[token]
            np.add.at(matched, self.indices[self.indptr[tid]:self.indptr[tid + 1]], 1)
        scores = scores * ((1 - COORD) + COORD * matched / len(tokens))
        found = np.flatnonzero(scores > 0)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        best = sorted(((-float(scores[i]), self.ids[i]) for i in found))
        return [(docid, -negative) for negative, docid in best]


class KeywordSearcher(Searcher):
    mode = "keyword"

    def __init__(self, folder: Path):
        path = Path(folder) / layout.WHOOSH
        if not whoosh_index.exists_in(str(path)):
            raise layout.IndexNotFound(Path(folder), "no keyword index")
        self._index = whoosh_index.open_dir(str(path))
        self._local = threading.local()
        matrix = Path(folder) / layout.SPARSE
        self._sparse = SparseScorer(matrix) if (matrix / sparse.IDS).is_file() else None

    def _searcher(self):
        # One Whoosh searcher per thread: cheap to keep, not safe to share.
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._index.searcher(weighting=scoring.BM25F())
            self._local.searcher = searcher
        return searcher

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        parsed = parse_query(query)
        if k <= 0:
            return []
        if self._sparse is not None and not has_conditions(parsed, filters):
            return ranked(self._sparse.search(parsed, k), self.mode)
        whoosh_query = build_query(parsed)
        if whoosh_query is None:
            return []
        results = self._searcher().search(whoosh_query, limit=k, filter=filter_query(filters))
        return ranked([(hit["id"], hit.score) for hit in results], self.mode)
