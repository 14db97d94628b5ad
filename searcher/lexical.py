"""Keyword search over the Whoosh index (BM25F)."""
from __future__ import annotations

import threading
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import scoring

from index import layout
from index.analysis import bigram_analyzer, word_analyzer

from .base import Searcher
from .hits import Hit, ranked

# Headline matches count more than body matches; the bigram fields back the
# word fields up where segmentation differs between query and text.
FIELD_BOOSTS = {"headline": 3.0, "body": 1.0, "headline_bigrams": 1.5, "body_bigrams": 0.5}
MAX_QUERY_CHARS = 1000


def _terms(analyzer, text: str) -> list[str]:
    seen: dict[str, None] = {}
    for token in analyzer(text):
        seen.setdefault(token.text, None)
    return list(seen)


def build_query(text: str) -> Q.Query | None:
    """Plain text to an OR of every analyzed term over every field."""
    text = text[:MAX_QUERY_CHARS]
    words, grams = _terms(word_analyzer(), text), _terms(bigram_analyzer(), text)
    clauses = []
    for fieldname, boost in FIELD_BOOSTS.items():
        terms = grams if fieldname.endswith("_bigrams") else words
        clauses.extend(Q.Term(fieldname, term, boost=boost) for term in terms)
    return Q.Or(clauses) if clauses else None


class KeywordSearcher(Searcher):
    mode = "keyword"

    def __init__(self, folder: Path):
        path = Path(folder) / layout.WHOOSH
        if not whoosh_index.exists_in(str(path)):
            raise layout.IndexNotFound(Path(folder), "no keyword index")
        self._index = whoosh_index.open_dir(str(path))
        self._local = threading.local()

    def _searcher(self):
        # One Whoosh searcher per thread: they are cheap to keep, not to share.
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._index.searcher(weighting=scoring.BM25F())
            self._local.searcher = searcher
        return searcher

    def search(self, query: str, k: int = 10) -> list[Hit]:
        parsed = build_query(query)
        if parsed is None or k <= 0:
            return []
        results = self._searcher().search(parsed, limit=k)
        return ranked([(hit["id"], hit.score) for hit in results], self.mode)
