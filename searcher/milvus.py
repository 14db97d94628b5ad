"""Serving from Milvus: the engine of the live generation in Milvus
(index/milvus_store.py), and its follower for the server.

MilvusEngine is a SearchEngine whose stores answer from Milvus: the term
matrix's scores and postings (sparse vector searches), the passage and
practice vectors (FLAT inner-product searches) and the story records.
Fusion, floors, explain, facets and sorting are the embedded backend's code,
so the two backends rank alike by construction; tests/test_milvus_backend.py
checks that they do.

A filtered search sends its filter to Milvus (``filter_expression``): the
semantic search asks for the nearest passages among the stories it lets
through, the BM25 search scores only those. Which stories match the query's
words is still asked of every story, and the story table (the filter
fields as numpy columns, searcher/table.py, read once from the stories
collection when the engine opens) stays in memory: facets count the whole
match set with each filter left out in turn, and sorting by date reads it,
neither of which Milvus can answer.
"""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from storysearch.index.analysis import text_analysis
from storysearch.index.embedding import Embedder
from storysearch.index.milvus_store import (MAX_LIMIT, MilvusIndex, MilvusUnavailable, connect,
                                            live_generation, open_index)
from storysearch.index.practice_index import matrix_id
from storysearch.index.stories import RecordStore, Story

from .conditions import story_matches
from .engine import SearchEngine
from .filters import FILTER_FIELDS, FilterArg, Filters, request_filters
from .hybrid import DEFAULT_FUSION
from .lexical import KeywordSearcher, SparseScorer, scoring_text
from .live import POLL_SECONDS, FollowingEngine
from .practice_answers import PracticeFinder
from .query import ParsedQuery
from .semantic import SemanticSearcher
from .table import PLACE_SUFFIXES, StoryTable, date_number

log = logging.getLogger(__name__)
PRACTICE_FIELDS = ["id", "story", "key", "name", "place"]  # a practice row (index/practice_index.py)


def _literal(text: str) -> str:
    """``text`` as a Milvus string literal: backslashes, quotes and line ends
    escaped (Milvus reads no ``\\u`` escapes; other characters go as they are)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _literals(texts) -> str:
    return "[" + ", ".join(_literal(text) for text in dict.fromkeys(texts)) + "]"


def _after_prefix(prefix: str) -> str | None:
    """The least string above every string that begins with ``prefix`` (in code
    point order, which is UTF-8's byte order, Milvus's); None when none is."""
    while prefix:
        following = ord(prefix[-1]) + 1
        following = 0xE000 if following == 0xD800 else following  # (no surrogates in UTF-8)
        if following <= 0x10FFFF:
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


def _conditions(filters: Filters, authors: list[str]) -> str:
    """What ``filters`` let through (StoryTable.mask's rule), as a Milvus expression."""
    found = []
    if filters.source and filters.source_prefix:  # a range, not LIKE: Milvus Lite's LIKE "a\\b%" finds nothing
        after = _after_prefix(filters.source)
        found.append(f"source >= {_literal(filters.source)}" + (f" and source < {_literal(after)}" if after else ""))
    elif filters.source:
        found.append(f"source == {_literal(filters.source)}")
    if filters.author:  # part of a name: the archive's names that hold it
        found.append(f"ARRAY_CONTAINS_ANY(authors, {_literals(name for name in authors if filters.author in name)})")
    if filters.paper:
        found.append(f"paper == {_literal(filters.paper)}")
    if filters.place:
        found.append(f"ARRAY_CONTAINS_ANY(places, {_literals(filters.place + suffix for suffix in PLACE_SUFFIXES)})")
    if filters.date_from:
        found.append(f"date >= {date_number(filters.date_from)}")
    if filters.date_to:
        found.append(f"date != 0 and date <= {date_number(filters.date_to)}")
    return " and ".join(f"({condition})" for condition in found)


def filter_expression(parsed: ParsedQuery, filters: FilterArg, authors: list[str]) -> str:
    """The Milvus filter expression of what a request lets through
    (filters.request_filters), on the stories' and the passages' filter
    fields; "" for every story. ``authors``: every byline name of the
    archive (an author filter finds part of a name, which Milvus cannot
    ask of an array, so it is sent as the names that hold it)."""
    wanted, excluded = request_filters(parsed, filters)
    found = [_conditions(wanted, authors)] if wanted else []
    found += [f"not ({_conditions(unwanted, authors)})" for unwanted in excluded]
    return " and ".join(found)


def _hits(hits) -> tuple[np.ndarray, np.ndarray]:
    """(primary keys, distances) of one query's search results, read from
    pymilvus's lists: a hit made into a dict costs microseconds, and a
    query of common bigrams has every story as a hit."""
    return np.asarray(hits.ids, dtype=np.int64), np.asarray(hits.distances, dtype=np.float32)


class MilvusTermMatrix:
    """The term matrix's answers (index/sparse.py TermMatrix: ``vocabulary``,
    ``scores``, ``row_counts``) from the sparse vectors of a collection
    (``part``: the stories, whose primary keys, ``key``, are the story
    table's rows, or the practices) and its vocabulary (``terms``);
    ``within(where)`` answers for the rows a filter expression lets through only."""

    def __init__(self, index: MilvusIndex, part: str = "stories", terms: str = "terms", key: str = "row"):
        self.index = index
        self._key = key
        self.size = int(index.values[part])
        rows = sorted(index.read(terms, ["id", "token", "df"]), key=lambda row: row["id"])
        self.vocabulary = {row["token"]: row["id"] for row in rows}
        self._df = np.array([row["df"] for row in rows], dtype=np.int64)
        self._collection = index.collections[part]
        self._where = ""

    def within(self, where: str) -> "MilvusTermMatrix":
        narrowed = copy.copy(self)
        narrowed._where = where
        return narrowed

    def _search(self, field: str, weights: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        return self._search_each(field, [weights])[0]

    def _search_each(self, field: str, queries: list[dict[int, float]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each query's (rows, inner products), the rows that share no token left out; one request."""
        found = self.index.call("search", self._collection, data=queries, anns_field=field, filter=self._where,
                                limit=max(1, min(self.size, MAX_LIMIT)), search_params={"metric_type": "IP"},
                                output_fields=[self._key])  # (none named: Milvus Lite returns every field)
        return [_hits(hits) for hits in found]

    def scores(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every row for ``tokens`` (lucene idf over the stored
        document frequencies), and how many of the tokens each row holds."""
        numbers = [self.vocabulary[token] for token in tokens]
        df = self._df[numbers]
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        scores = np.zeros(self.size, dtype=np.float32)
        held = np.zeros(self.size, dtype=np.float32)
        rows, found = self._search("bm25", dict(zip(numbers, idf.tolist())))
        scores[rows] = found
        rows, found = self._search("held", dict.fromkeys(numbers, 1.0))
        held[rows] = np.round(found)
        return scores, held

    def rows_holding(self, token_lists: list[list[str]]) -> list[np.ndarray]:
        """For each list of tokens (all known), the rows that hold every one of them: one request."""
        found = self._search_each("held", [dict.fromkeys((self.vocabulary[t] for t in tokens), 1.0)
                                           for tokens in token_lists])
        return [rows[held > len(tokens) - 0.5] for tokens, (rows, held) in zip(token_lists, found)]

    def row_counts(self) -> np.ndarray:
        return self._df


class MilvusScorer(SparseScorer):
    """SparseScorer over MilvusTermMatrix: which stories hold each of a
    query's terms (all their bigrams) is one request, not one per bigram."""

    def within(self, where: str) -> "MilvusScorer":
        """This scorer for the rows the filter expression ``where`` lets through (the others score 0)."""
        narrowed = copy.copy(self)
        narrowed.matrix = self.matrix.within(where)
        return narrowed

    def holding(self, term: str) -> np.ndarray:
        return self._holding_each([term])[0]

    def holding_terms(self, terms: list[str]) -> list[np.ndarray]:
        held = self._holding_each(terms)
        return [found if found.any() else self.holding_term(term) for term, found in zip(terms, held)]

    def _holding_each(self, terms: list[str]) -> list[np.ndarray]:
        from storysearch.index.sparse import gram_token

        held = [np.zeros(len(self.ids), dtype=bool) for _ in terms]
        asked = {}  # term number -> its tokens, when every one is known
        for number, term in enumerate(terms):
            tokens = list(dict.fromkeys(gram_token(gram) for gram, *_ in text_analysis().grams(term, unigrams=False)))
            if not tokens:
                held[number][:] = True
            elif all(token in self.vocab for token in tokens):
                asked[number] = tokens
        if asked:
            for number, rows in zip(asked, self.matrix.rows_holding(list(asked.values()))):
                held[number][rows] = True
        return held


class MilvusStoryStore(RecordStore):
    """The stories collection's records by id (index/stories.RecordStore:
    read when asked for, the last STORIES_CACHED kept); the outline is read
    when the store opens, in the stories' order."""

    def __init__(self, index: MilvusIndex):
        self.index = index
        self._collection = index.collections["stories"]
        rows = sorted(index.read("stories", ["row", "story_id", "outline"]), key=lambda row: row["row"])
        outline = [Story.from_dict(json.loads(row["outline"])) for row in rows]
        analysis = text_analysis()
        # the grams of the headlines, as Whoosh's headline_bigrams field holds them (index/keyword_store.py)
        self.headline_grams = {gram for story in outline
                               for gram in analysis.gram_lists(analysis.fold(story.title))[0]}
        super().__init__({row["story_id"]: row["row"] for row in rows}, iter(outline))

    def _read_now(self, story_id: str) -> Story:
        rows = self.index.call("query", self._collection, filter=f"row == {self._where[story_id]}",
                               output_fields=["record"])
        if not rows:
            raise MilvusUnavailable(f"Milvus at {self.index.uri} lost the record of {story_id}")
        return Story.from_dict(json.loads(rows[0]["record"]))

    def values(self) -> Iterator[Story]:
        """Every story (a pass over the collection, not the cache)."""
        for row in self.index.read("stories", ["record"]):
            yield Story.from_dict(json.loads(row["record"]))


class MilvusKeywordSearcher(KeywordSearcher):
    """KeywordSearcher whose BM25 and postings come from Milvus; text
    conditions (phrases, headline conditions, exclusions) are met where a
    story holds all the condition's bigrams (a sparse search) and its record
    holds the text (searcher/conditions.py, as semantic search checks them)."""

    def __init__(self, index: MilvusIndex, table: StoryTable, stories: MilvusStoryStore):
        self.table = table
        self.stories = stories
        self._sparse = MilvusScorer(MilvusTermMatrix(index), table.ids)

    def scores(self, parsed: ParsedQuery, filters: FilterArg = None) -> np.ndarray | None:
        """BM25 of the stories the request lets through (the filter sent with the search), 0 for the others."""
        where = filter_expression(parsed, filters, self.table.authors.values)
        if not where or self.byline(parsed) is not None:  # (a byline name's boost is the archive's best score)
            return super().scores(parsed, filters)
        return self._sparse.within(where).scores(scoring_text(parsed))

    def _verified(self, candidates: np.ndarray, check) -> np.ndarray:
        """``candidates`` less the stories whose records fail ``check(story)``."""
        for row in np.flatnonzero(candidates).tolist():
            candidates[row] = check(self.stories[self.table.ids[row]])
        return candidates

    def meeting_conditions(self, parsed: ParsedQuery, met: np.ndarray) -> np.ndarray:
        required = list(parsed.phrases) + [value for name, value in parsed.fields if name == "headline"]
        excluded = [value for name, value in parsed.excluded if name not in FILTER_FIELDS]
        if not required and not excluded:
            return met
        for text in required:
            met &= self._sparse.holding(text)
        checked = met.copy()
        if not required:  # only the stories that may hold an excluded text need reading
            checked &= np.logical_or.reduce([self._sparse.holding(text) for text in excluded])
        unread = met & ~checked
        return unread | self._verified(checked, lambda story: story_matches(story, parsed))

    def holding_phrase(self, phrase: str) -> np.ndarray:
        analysis = text_analysis()
        folded = analysis.fold(phrase.strip())
        return self._verified(self._sparse.holding(phrase), lambda story: folded in analysis.fold(
            f"{story.title}\n{story.condition_body}"))

    def in_headlines(self, word: str) -> bool:
        grams = [gram for gram, *_ in text_analysis().grams(word, unigrams=False)]
        return bool(grams) and all(gram in self.stories.headline_grams for gram in grams)


class MilvusVectors:
    """The vectors (index/vectors.py VectorStore: ``d``, ``ntotal``, ``search``,
    ``reconstruct``) of the passages collection, or of the practices'."""

    def __init__(self, index: MilvusIndex, part: str = "passages"):
        self.index = index
        self.d = int(index.values["dimension"])
        self.ntotal = int(index.values[part])
        self._collection = index.collections[part]

    def search(self, queries: np.ndarray, k: int, where: str = "") -> tuple[np.ndarray, np.ndarray]:
        """Best first, among the rows the filter expression ``where`` lets
        through; ids -1 (scores -inf) where fewer than ``k`` were found."""
        queries = np.asarray(queries, dtype=np.float32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if k <= 0 or not len(queries):
            return scores, ids
        found = self.index.call("search", self._collection, data=queries.tolist(), anns_field="vector", filter=where,
                                limit=min(k, MAX_LIMIT), search_params={"metric_type": "IP"}, output_fields=["id"])
        for number, hits in enumerate(found):
            pids, distances = _hits(hits)
            ids[number, :len(pids)], scores[number, :len(pids)] = pids, distances
        return scores, ids

    def reconstruct(self, pid: int) -> np.ndarray:
        rows = self.index.call("get", self._collection, ids=[int(pid)], output_fields=["vector"])
        if not rows:
            raise KeyError(pid)
        return np.asarray(rows[0]["vector"], dtype=np.float32)


class MilvusPassages:
    """Which story each passage belongs to (read when the engine opens) and its text (read when asked for)."""

    def __init__(self, index: MilvusIndex, story_ids: Sequence[str]):
        """``story_ids``: the stories' ids by row (the story table's)."""
        self.index = index
        self._collection = index.collections["passage_texts"]
        self._story_of: dict[int, str] = {}
        self._of_story: dict[str, list[int]] = {}
        for row in sorted(index.read("passages", ["id", "row"]), key=lambda row: row["id"]):
            story_id = story_ids[row["row"]]
            self._story_of[row["id"]] = story_id
            self._of_story.setdefault(story_id, []).append(row["id"])

    def stories(self, pids) -> list[str]:
        return [self._story_of[int(pid)] for pid in pids]

    def passage_ids(self, story_id: str) -> list[int]:
        return self._of_story.get(story_id, [])

    def text(self, pid: int) -> str:
        rows = self.index.call("get", self._collection, ids=[int(pid)], output_fields=["text"])
        if not rows:
            raise KeyError(pid)
        return rows[0]["text"]


class MilvusSemanticSearcher(SemanticSearcher):
    """SemanticSearcher over MilvusVectors: a filtered search asks Milvus for
    the nearest passages among the stories the request lets through."""

    def narrowed(self, parsed: ParsedQuery, filters: FilterArg):
        where = filter_expression(parsed, filters, self.table.authors.values)
        return (lambda queries, depth: self.index.search(queries, depth, where)), None


class MilvusEngine(SearchEngine):
    """The live generation in the Milvus at ``uri`` (or the one ``index`` opened)."""

    def __init__(self, uri: str, embedder: Embedder | None = None, fusion: str = DEFAULT_FUSION,
                 index: MilvusIndex | None = None):
        self.index = index or open_index(uri)
        self.uri = uri
        self.folder = None
        self.generation = Path(self.index.generation)  # its name, as a folder's generation has one
        stories = MilvusStoryStore(self.index)
        self._assemble(self.index.values["meta"], stories,
                       lambda table: MilvusKeywordSearcher(self.index, table, stories), embedder, fusion)

    def _open_semantic(self, embedder: Embedder) -> SemanticSearcher:
        return MilvusSemanticSearcher(None, embedder, self.stories, self.table, vectors=MilvusVectors(self.index),
                                      passages=MilvusPassages(self.index, self.table.ids))

    def _open_practice_finder(self) -> PracticeFinder:
        """The practices collection's rows (read now: a few per story), vectors and term matrix."""
        rows = sorted(({field: row[field] for field in PRACTICE_FIELDS}
                       for row in self.index.read("practices", PRACTICE_FIELDS)), key=lambda row: row["id"])
        matrix = MilvusScorer(MilvusTermMatrix(self.index, "practices", "practice_terms", "id"),
                              [matrix_id(row) for row in rows])
        return PracticeFinder(rows, MilvusVectors(self.index, "practices"), matrix, self.stories,
                              self.semantic.story_vectors, self.semantic.floors)


class MilvusLiveEngine(FollowingEngine):
    """The engine of the live generation in Milvus, followed as exports move
    the alias (what LiveEngine does for CURRENT). When Milvus stops
    answering, the served engine stays and its requests get 503 until
    Milvus is back."""

    thread_name = "storysearch-milvus-watcher"

    def __init__(self, uri: str, poll_seconds: float = POLL_SECONDS, **engine_options):
        super().__init__(poll_seconds, engine_options)
        self.uri = uri
        self.folder = uri
        self._client = connect(uri)
        self._engine = self._open()

    def _open(self) -> MilvusEngine:
        engine = MilvusEngine(self.uri, index=open_index(self.uri, self._client), **self._options)
        engine.preload()
        return engine

    def refresh(self) -> bool:
        """Serve the live generation if the alias moved; True if the engine was swapped."""
        serving = self._engine.generation.name
        try:
            live = live_generation(self._client)
            if live in (None, serving):
                return False
            engine = self._open()
        except Exception as exc:  # noqa: BLE001 - Milvus away or a bad export must not stop the server
            log.error("could not follow the index in Milvus at %s (%s); still serving %s", self.uri, exc, serving)
            return False
        self._engine = engine
        log.warning("now serving %s from Milvus (was %s)", engine.generation.name, serving)
        return True
