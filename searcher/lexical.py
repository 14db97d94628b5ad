"""Keyword search: BM25 on the term matrix, conditions through Whoosh."""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from whoosh import query as Q

from storysearch.index import layout, sparse
from storysearch.index.analysis import CJK_RUN, text_analysis
from storysearch.index.keyword_store import id_column, open_keyword_index

from .base import Searcher
from .filters import FILTER_FIELDS, FilterArg
from .hits import Hit, ranked
from .query import ParsedQuery, parse_query
from .table import StoryTable

# Score multiplier (1 - COORD) + COORD * matched/total: a bonus for matching all terms.
COORD = 0.2
MAX_TERMS = 200
# Which stories match plain terms (the rule behind every count): a query of
# up to SHORT_QUERY_TERMS terms is keywords, and a story matches when it
# holds every one; a longer query, or one asked in words (QUESTION_WORDS), is
# a question, and a story matches when the terms it holds carry at least
# QUESTION_SHARE of the query's weight (each term weighs its IDF). On CMRC
# 2018 a share of 0.3 / 0.4 / 0.5 kept keyword MRR@10 0.977 / 0.963 / 0.934
# with 17 / 6 / 3 matches for 90 % of the questions (0.968 at 0.4 with the
# compound rule of holding_term); hybrid stays 0.993 (README, "Honest counts").
SHORT_QUERY_TERMS = 4
QUESTION_SHARE = 0.4
PHRASE_BOOST = 1.5  # a story that holds a phrase quoted with “…” in a longer query
# The words that ask: they make a query a question and are not terms a story must hold.
QUESTION_WORDS = frozenset("怎么 怎样 怎么样 如何 哪些 哪里 哪儿 哪个 哪一年 哪年 哪位 什么 为什么 为何 多少 是否 有没有 "
                           "能否 可否 吗 呢 谁".split())
QUESTION = re.compile(r"[?？]\s*$|" + "|".join(sorted(QUESTION_WORDS, key=len, reverse=True)))


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def query_terms(text: str) -> tuple[list[str], list[str]]:
    """(words, grams) of plain text as the index analyses it; grams are CJK
    bigrams, or the character itself where it stands alone."""
    analysis = text_analysis()
    words = _unique(w for w, *_ in analysis.words(text))[:MAX_TERMS]
    grams = _unique(g for g, *_ in analysis.grams(text, unigrams=False))[:MAX_TERMS]
    return words, grams


def is_question(parsed: ParsedQuery) -> bool:
    """A question (asked in words, or more than SHORT_QUERY_TERMS terms) rather than keywords."""
    return bool(QUESTION.search(" ".join(parsed.terms))) or len(match_terms(parsed.terms)) > SHORT_QUERY_TERMS


def match_terms(chunks: Sequence[str]) -> list[str]:
    """The terms a story must hold to match: the jieba words of each chunk
    the user typed apart (stopwords dropped, each once), a run of single
    characters (a name or a new word jieba does not know, 网格连心 → 网格 连 心)
    kept together as one. A story holds a term when it holds each of its
    character bigrams. One request asks this several times (the match rule,
    the question test, the similarity floor): the answer is kept per
    analyzer and chunks."""
    return list(_match_terms(text_analysis(), tuple(chunks)))


@lru_cache(maxsize=1024)
def _match_terms(analysis, chunks: tuple[str, ...]) -> tuple[str, ...]:
    terms: list[str] = []
    for chunk in chunks:
        position, single_until = -1, -1  # where the last single character ended, if the last term was one
        for word, start, end, pos in analysis.words(chunk):
            if pos == position or word in QUESTION_WORDS:  # a word inside the one before (search mode)
                continue
            is_single = len(word) == 1 and bool(CJK_RUN.fullmatch(word))
            if is_single and start == single_until:  # (right after it, no stopword between)
                terms[-1] += word
            else:
                terms.append(word)
            position, single_until = pos, end if is_single else -1
    return tuple(_unique(terms)[:MAX_TERMS])


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


@dataclass(frozen=True)
class KeywordMatch:
    """A query's keyword side: ``scores`` (BM25, every story), ``matches``
    (the stories that match it: what is counted and shown) and ``pool``
    (every story meeting its conditions that holds any of its tokens: the
    keyword signal hybrid fusion weighs, shown only if close in meaning)."""

    scores: np.ndarray
    matches: np.ndarray
    pool: np.ndarray


class SparseScorer:
    """BM25 over a term matrix (index/sparse.py): the stories', or the
    practices' (searcher/practice_answers.py), every row at once in a few
    vector operations, with a bonus for matching all query tokens. Rows are
    called stories below."""

    def __init__(self, matrix: "Path | sparse.TermMatrix", ids: Sequence[str]):
        """``matrix``: a term matrix folder, or a matrix already open (the
        Milvus backend's answers as one: searcher/milvus.py)."""
        self.matrix = sparse.open_term_matrix(matrix, ids) if isinstance(matrix, Path) else matrix
        self.ids = ids
        self.vocab = self.matrix.vocabulary

    def scores(self, text: str) -> np.ndarray | None:
        """A score for every story (0 where no token matches); None when the
        text has no token the archive knows."""
        words, grams = query_terms(text)
        tokens = [t for t in _unique(words + [sparse.gram_token(g) for g in grams]) if t in self.vocab]
        if not tokens or not self.ids:
            return None
        scores, matched = self.matrix.scores(tokens)  # matched: the coordination bonus
        return scores * ((1 - COORD) + COORD * matched / len(tokens))

    def holding(self, term: str) -> np.ndarray:
        """Which stories hold ``term``: all its bigrams (its character, its
        Latin or digit run), as the term matrix records them."""
        held = np.ones(len(self.ids), dtype=bool)
        for gram, *_ in text_analysis().grams(term, unigrams=False):
            if sparse.gram_token(gram) not in self.vocab:  # a pair no story holds: none holds the term
                return np.zeros(len(self.ids), dtype=bool)
            column = np.zeros(len(self.ids), dtype=bool)
            column[self.matrix.postings(sparse.gram_token(gram))[0]] = True
            held &= column
        return held

    def holding_term(self, term: str) -> np.ndarray:
        """Which stories hold a query term; a compound that no story holds
        (邻里纠纷) is held where all its dictionary words are (邻里, 纠纷): a
        story writes 邻里之间的纠纷 as often as 邻里纠纷."""
        held = self.holding(term)
        if held.any():
            return held
        parts = [word for word, _start, _end, pos in text_analysis().words(term) if pos == 0 and word != term]
        return np.logical_and.reduce([self.holding(word) for word in parts]) if parts else held

    def holding_terms(self, terms: list[str]) -> list[np.ndarray]:
        """``holding_term`` of each term."""
        return [self.holding_term(term) for term in terms]

    def matching(self, terms: list[str], question: bool) -> np.ndarray:
        """The stories that match plain ``terms`` by the rule above (SHORT_QUERY_TERMS)."""
        held = self.holding_terms(terms)
        if not question:
            return np.logical_and.reduce(held)
        total = len(self.ids)
        weights = np.array([np.log1p((total - h.sum() + 0.5) / (h.sum() + 0.5)) for h in held])
        share = np.stack(held).T.astype(np.float32) @ weights
        return share >= QUESTION_SHARE * weights.sum() - 1e-9

    def story_counts(self) -> np.ndarray:
        """How many stories hold each token (in the order of ``vocab``): its document frequency."""
        return self.matrix.row_counts()

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
        self._sparse = SparseScorer(Path(folder) / layout.SPARSE, table.ids)
        self.table = table
        self._story_rows = self._number_documents()

    def _searcher(self):
        # One Whoosh searcher per thread: cheap to keep, not safe to share.
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._index.searcher()
            self._local.searcher = searcher
        return searcher

    def _number_documents(self) -> np.ndarray:
        """The story table's row of each Whoosh document (-1: a story the
        table lacks, as a deleted document's may be), read once from the id
        column when the engine opens (0.15 s at 100,000 stories): every
        thread's searcher numbers the documents alike, as an engine's Whoosh
        index never changes. Before, each match's id was read and looked up
        per query (a phrase held by 14,000 stories: 87 ms, now 25)."""
        try:
            with self._index.searcher() as searcher:
                return self.table.ids.rows(id_column(searcher.reader()))
        except Exception as exc:  # noqa: BLE001 - EOFError, struct.error, OSError, …
            raise layout.IndexDamaged(self._path, f"{type(exc).__name__}: {exc}") from None

    def _rows(self, query: Q.Query) -> np.ndarray:
        """A mask over the story table's rows: the stories ``query`` matches.
        Whoosh files damaged under a running server are IndexDamaged, whatever
        Whoosh raised reading them."""
        mask = np.zeros(self.table.size, dtype=bool)
        try:
            searcher = self._searcher()
            rows = self._story_rows[np.fromiter(searcher.docs_for_query(query), dtype=np.int64)]
        except IndexError as exc:
            raise layout.IndexDamaged(self._path, f"it holds other documents than it did ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - EOFError, struct.error, EmptyIndexError, OSError, …
            raise layout.IndexDamaged(self._path, f"{type(exc).__name__}: {exc}") from None
        if (rows < 0).any():
            raise layout.IndexDamaged(self._path, f"it names a story that {layout.STORIES} lacks")
        mask[rows] = True
        return mask

    def meeting_conditions(self, parsed: ParsedQuery, met: np.ndarray) -> np.ndarray:
        """``met`` (a mask, changed) less the stories failing the query's
        phrases, headline conditions and text exclusions."""
        conditions = condition_queries(parsed)
        if "required" in conditions:  # phrases and headline conditions
            met &= self._rows(conditions["required"])
        if "excluded" in conditions:
            met &= ~self._rows(conditions["excluded"])
        return met

    def holding_phrase(self, phrase: str) -> np.ndarray:
        """The stories holding ``phrase`` as it is written (after folding)."""
        return self._rows(substring_query(phrase) or Q.NullQuery)

    def scores(self, parsed: ParsedQuery, filters: FilterArg = None) -> np.ndarray | None:
        """BM25 of every story for the query; None when it has no token the
        archive knows. A filter never changes a score: here every story is
        scored at once (a few vector operations), the Milvus backend scores
        only those ``filters`` let through and leaves the others at 0."""
        return self._sparse.scores(scoring_text(parsed))

    def byline(self, parsed: ParsedQuery) -> np.ndarray | None:
        """The stories of the byline name typed alone as the query, if it is one."""
        if len(parsed.terms) == 1 and parsed.terms[0] in self.table.authors.code:
            return self.table.authors.mask(parsed.terms[0], self.table.size)
        return None

    def match(self, parsed: ParsedQuery, allowed: np.ndarray | None = None,
              filters: FilterArg = None) -> KeywordMatch:
        """BM25 for every story, the stories that match the query (the rule
        above) and the pool ranked for fusion, within ``allowed`` (a mask;
        None for all). The stories ``filters`` (the request's) leave out may
        match, but are never ranked: their scores may be 0 (``scores``)."""
        scores = self.scores(parsed, filters)
        met = self.meeting_conditions(parsed, np.ones(self.table.size, dtype=bool) if allowed is None
                                      else allowed.copy())
        terms = match_terms(parsed.terms)
        matches = met & self._sparse.matching(terms, is_question(parsed)) if terms else met
        if scores is None:
            return KeywordMatch(np.zeros(self.table.size, dtype=np.float32), matches,
                                matches if not parsed.positive_texts else np.zeros(self.table.size, dtype=bool))
        for phrase in parsed.boosted:
            held = self.holding_phrase(phrase)
            scores = np.where(held, scores * PHRASE_BOOST, scores)
        named = self.byline(parsed)
        if named is not None:  # a byline name typed alone: that author's stories first (the exact name wins)
            scores = np.where(named, scores + scores.max(), scores)
        return KeywordMatch(scores, matches, met & (scores > 0))

    def top(self, scores: np.ndarray, matches: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self._sparse.top(scores, matches, k)

    def holding_any(self, parsed: ParsedQuery) -> np.ndarray:
        """The stories that hold at least one of the query's terms."""
        return self.holding_any_of(parsed.positive_texts)

    def holding_any_of(self, texts: Sequence[str]) -> np.ndarray:
        """The stories that hold at least one of the terms of ``texts`` (plain text)."""
        held = np.zeros(self.table.size, dtype=bool)
        for term in match_terms(texts):
            held |= self._sparse.holding(term)
        return held

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
        found = self.match(parsed, self.table.allowed(parsed, filters), filters)
        return ranked(self._sparse.top(found.scores, found.matches, k), self.mode)
