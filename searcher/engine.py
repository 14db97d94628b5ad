"""One opened index folder: its stories and a searcher per mode."""
from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path

from storysearch.index import layout, settings
from storysearch.index.analysis import analyzer_differences, analyzer_settings
from storysearch.index.embedding import Embedder, load_embedder
from storysearch.index.stories import Story, StoryStore

from dataclasses import dataclass, field

import numpy as np

from .base import Searcher
from .filters import FilterArg, Filters, as_filters
from .hits import Hit, ranked
from .hybrid import DEFAULT_FUSION, FUSION_DEPTH, FUSIONS, hybrid_hits
from .lexical import KeywordSearcher, is_question, query_terms
from .query import ParsedQuery, QueryError, check_conditions, parse_query
from .semantic import SemanticSearcher
from .practice_answers import PracticeAnswer, PracticeFinder
from .practices import CatalogPractice, PracticeCatalog
from .similar import SimilarHit, SimilarSearcher
from .suggest import Completion, Suggestion, Vocabulary
from .table import StoryTable

MODES = ("hybrid", "keyword", "semantic")
SORTS = ("relevance", "newest", "oldest")
MAX_K = 100
MAX_RESULTS = 100  # how deep one search ranks; pages are cut from that ranking
RANKING_CACHE_SIZE = 256


class Notice(str):
    """A warning: the text for the API and the log, ``chinese`` for a page."""

    def __new__(cls, text: str, chinese: str):
        notice = super().__new__(cls, text)
        notice.chinese = chinese
        return notice


def is_searchable(parsed: ParsedQuery) -> bool:
    words, grams = query_terms(" ".join(parsed.positive_texts))
    return bool(words or grams or parsed.fields or parsed.excluded)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}",
                         f"不认识的检索方式“{mode}”：可用 hybrid（综合）、keyword（关键词）、semantic（语义）。")
    return mode


def check_fusion(fusion: str) -> str:
    if fusion not in FUSIONS:
        raise QueryError(f"unknown fusion {fusion!r}; use one of: {', '.join(FUSIONS)}",
                         f"不认识的合并方式“{fusion}”：可用 weighted 或 rrf。")
    return fusion


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}",
                         f"不认识的排序方式“{sort}”：可用 relevance（相关度）、newest（最新）、oldest（最早）。")
    return sort


@dataclass(frozen=True)
class Ranking:
    """One request's answer before paging: the first ``MAX_RESULTS`` stories
    in the order asked for, how many stories match in all (and how many more
    are close in meaning), and facet counts over all of them."""

    hits: list[Hit]
    total: int  # stories that match (hold the query's words; in semantic mode, close in meaning)
    facets: dict[str, list[dict]] = field(default_factory=dict)
    related: int = 0  # in hybrid mode, stories close in meaning that do not match
    sort: str = "relevance"  # the order of the hits (browsing without a query: newest unless asked otherwise)


@dataclass(frozen=True)
class Results:
    """One page of a ranking: its hits with their stories (``stories[i]`` is
    ``hits[i]``'s), the whole ranking, and the request's filters and fusion."""

    hits: list[Hit]
    stories: list[Story]
    ranking: Ranking
    offset: int
    filters: Filters
    fusion: str


def check_k(k) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}", f"每页篇数必须是 1 到 {MAX_K} 之间的整数。")
    return k


class ModeSearcher(Searcher):
    """One mode of an engine behind the searcher interface (evaluation, benchmarks)."""

    def __init__(self, engine: "SearchEngine", mode: str, fusion: str):
        self.engine, self.mode, self.fusion = engine, mode, fusion

    def search(self, query: str, k: int = 10, filters: FilterArg = None) -> list[Hit]:
        return self.engine.search(query, self.mode, k, filters, fusion=self.fusion)


class SearchEngine:
    """Opens an index folder; the embedding model is loaded on first semantic use
    (or up front with ``preload()``) and then kept for the life of the process."""

    def __init__(self, folder: Path, embedder: Embedder | None = None, fusion: str = DEFAULT_FUSION,
                 generation: Path | None = None):
        """``generation``: serve this generation of the folder rather than the live one."""
        self.folder = Path(folder)
        self.generation = Path(generation) if generation else layout.current_generation(self.folder)
        meta = layout.verify_generation(self.generation, deep=True,
                                        always=None if settings.current().check_on_open == "all" else ())
        stories = StoryStore(self.generation / layout.STORIES)  # read from disk when asked for
        self._assemble(meta, stories, lambda table: KeywordSearcher(self.generation, table), embedder, fusion)

    def _assemble(self, meta: dict, stories, keyword, embedder: Embedder | None, fusion: str) -> None:
        """The parts every backend shares, around its ``stories`` (a Mapping
        with ``take_outline()``) and ``keyword(table)`` (its KeywordSearcher)."""
        self.fusion = check_fusion(fusion)
        self.meta = meta
        self.stories = stories
        # the ids continued stories had on their later pages, before they were joined
        self.joined_into: dict[str, str] = {}
        self._byline_names: Counter = Counter()

        def outline() -> Iterator[Story]:  # read once, a story at a time
            for story in self.stories.take_outline():
                self.joined_into.update((part["id"], story.id) for part in story.parts[1:])
                self._byline_names.update(set(story.authors))  # each name once a story
                yield story

        self.table = StoryTable(outline(), lambda: self.stories.ids)
        self.keyword = keyword(self.table)
        self._embedder = embedder
        self.warnings = self._analyzer_warnings() + self._precision_warnings()
        self._semantic: SemanticSearcher | None = None
        self._vocabulary: Vocabulary | None = None
        self._practices: PracticeCatalog | None = None
        self._practice_finder: PracticeFinder | None = None
        self._lock = threading.Lock()
        self._lazy_lock = threading.Lock()  # the vocabulary and the practices, each made once
        self._rankings: OrderedDict = OrderedDict()

    @property
    def current(self) -> "SearchEngine":
        """This engine: a fixed index (LiveEngine follows a changing one)."""
        return self

    @property
    def model_name(self) -> str:
        return self.meta["model"]["name"]

    @property
    def precision(self) -> str:
        """The precision the index's vectors were computed in; queries are embedded in it too."""
        return layout.recorded_model(self.meta)[1]

    @property
    def semantic(self) -> SemanticSearcher:
        with self._lock:
            if self._semantic is None:
                embedder = self._embedder or load_embedder(self.model_name, self.precision)
                if embedder.name != self.model_name:
                    raise QueryError(f"the index was built with the model {self.model_name!r}, "
                                     f"not {embedder.name!r}; rebuild it with `storysearch index --model …`")
                self._semantic = self._open_semantic(embedder)
            return self._semantic

    def _open_semantic(self, embedder: Embedder) -> SemanticSearcher:
        return SemanticSearcher(self.generation, embedder, self.stories, self.table)

    @property
    def similar(self) -> SimilarSearcher:
        return SimilarSearcher(self.semantic, self.stories)

    def _analyzer_warnings(self) -> list[Notice]:
        changed = analyzer_differences(self.meta.get("analyzer"), analyzer_settings())
        if not changed:
            return []
        return [Notice(f"the index was built with other analyzer settings ({', '.join(changed)} differ), so keyword "
                       f"search may miss matches; rebuild it with `storysearch index`",
                       f"索引建立时的分词设置与现在不同（{'、'.join(changed)}），关键词检索可能漏掉一些报道。"
                       f"请管理员运行 storysearch index 重建索引。")]

    def _precision_warnings(self) -> list[Notice]:
        """A model handed in at another precision than the index's still finds
        what is close in meaning, but its similarities drift from those the
        floors were set for (without one, the engine loads the index's)."""
        if self._embedder is None or self._embedder.precision == self.precision:
            return []
        return [Notice(f"the index's vectors were computed in {self.precision}, queries are embedded in "
                       f"{self._embedder.precision}, so semantic search may rank a little differently; rebuild "
                       f"the index with STORYSEARCH_MODEL_PRECISION={self._embedder.precision} or serve it "
                       f"with its own precision",
                       f"索引的向量以 {self.precision} 精度计算，检索词却以 {self._embedder.precision} 精度计算，"
                       f"语义检索的排序可能略有不同。请管理员以相同精度重建索引。")]

    def preload(self) -> "SearchEngine":
        self.semantic  # noqa: B018 - loads the model now rather than on the first query
        self.vocabulary.warm()  # and the archive's characters by pinyin, its words sorted for completions
        self.practice_finder  # noqa: B018 - and the practices' rows, vectors and term matrix
        return self

    @property
    def vocabulary(self) -> Vocabulary:
        """The archive's words and byline names (searcher/suggest.py), made on first use."""
        with self._lazy_lock:
            if self._vocabulary is None:
                from storysearch.index.sparse import GRAM_MARK

                names = self._byline_names
                sparse = self.keyword.sparse
                self._vocabulary = Vocabulary.from_matrix(sparse.vocab, sparse.story_counts(), GRAM_MARK, names,
                                                          self.keyword.in_headlines, len(self.stories))
            return self._vocabulary

    @property
    def practice_finder(self) -> PracticeFinder:
        """The practices as answers (searcher/practice_answers.py), opened on first use."""
        with self._lazy_lock:
            if self._practice_finder is None:
                self._practice_finder = self._open_practice_finder()
            return self._practice_finder

    def _open_practice_finder(self) -> PracticeFinder:
        return PracticeFinder.open(self.generation, self.stories, self.semantic.story_vectors, self.semantic.floors)

    @property
    def practices(self) -> PracticeCatalog:
        """The archive's named practices, one per practice however printed (searcher/practices.py), made on first use."""
        with self._lazy_lock:
            if self._practices is None:
                self._practices = PracticeCatalog(self.stories.values())
            return self._practices

    def did_you_mean(self, query: str) -> Suggestion | None:
        """The query with its likely typos replaced by words of the archive,
        when it finds little (searcher/suggest.py); None otherwise."""
        if not query.strip():
            return None
        return self.vocabulary.did_you_mean(query)

    def completions(self, prefix: str, limit: int = 10) -> list[Completion]:
        """Headline words and byline names beginning with ``prefix``, most frequent first."""
        return self.vocabulary.complete(prefix, limit)

    def searcher(self, mode: str, fusion: str | None = None) -> Searcher:
        """A searcher (``search(q, k)``, ``batch_search``) answering as this engine does in ``mode``."""
        return ModeSearcher(self, check_mode(mode), check_fusion(fusion or self.fusion))

    def ranking(self, query: str, mode: str = "hybrid", filters: FilterArg = None,
                fusion: str | None = None, sort: str = "relevance") -> Ranking:
        """The request's Ranking, computed once per distinct request and kept
        (LRU), so paging through results searches nothing again."""
        check_mode(mode)
        check_sort(sort)
        fusion = check_fusion(fusion or self.fusion)
        filters = as_filters(filters)
        if not query.strip():
            if not filters:
                return Ranking([], 0, sort=sort)
            # Browsing: every story the filters let through, newest first unless asked otherwise.
            mode, sort = "keyword", "newest" if sort == "relevance" else sort
        parsed = check_conditions(parse_query(query))
        if query.strip() and not is_searchable(parsed):
            raise QueryError("the query has nothing to search for: only punctuation, spaces or syntax",
                             "检索词里没有可以查找的内容：只有标点、空格或语法符号。")
        key = (query, mode, fusion, tuple(sorted(filters.active.items())), sort)
        with self._lock:
            if key in self._rankings:
                self._rankings.move_to_end(key)
                return self._rankings[key]
        result = self._rank(parsed, query, mode, filters, fusion, sort)
        with self._lock:
            self._rankings[key] = result
            while len(self._rankings) > RANKING_CACHE_SIZE:
                self._rankings.popitem(last=False)
        return result

    def _rank(self, parsed: ParsedQuery, query: str, mode: str, filters: Filters, fusion: str,
              sort: str) -> Ranking:
        """The matching set: the keyword matches (keyword and hybrid mode, by
        the rule of searcher/lexical.py) and the stories found by meaning
        above the similarity floor (semantic and hybrid mode); ``total``
        counts the first, ``related`` the second less the first, the facets
        both; the hits are its best (or newest, or oldest)."""
        allowed = self.table.allowed(parsed, filters)
        unfiltered = self.table.allowed(parsed, Filters())  # the query's own filter fields and exclusions
        matches = np.zeros(self.table.size, dtype=bool)  # keyword matches, before the request's filters
        related = np.zeros(self.table.size, dtype=bool)  # found by meaning only, above the floor
        runs: dict[str, list[Hit]] = {}
        if mode in ("keyword", "hybrid"):
            found = self.keyword.match(parsed, unfiltered, filters)
            matches = found.matches
            # keyword mode lists the matches; hybrid weighs the whole pool (shown if a match or close in meaning)
            listed = found.matches if mode == "keyword" else found.pool
            within = listed if allowed is None else listed & allowed
            runs["keyword"] = ranked(self.keyword.top(found.scores, within, FUSION_DEPTH), "keyword")
        if mode in ("semantic", "hybrid"):
            # hybrid fuses the whole semantic list (a keyword match's similarity counts however low)
            runs["semantic"] = self.semantic.search(query, FUSION_DEPTH, filters, floored=mode != "hybrid")
            holds = self.keyword.holding_any(parsed)
            close = self.semantic.floors.close_in_meaning(runs["semantic"],
                                                          lambda story_id: holds[self.table.row[story_id]])
            for story_id in close:
                related[self.table.row[story_id]] = not matches[self.table.row[story_id]]
        if mode == "hybrid":
            hits = hybrid_hits(runs, lambda story_id: bool(matches[self.table.row[story_id]]), close,
                               literal_first=not is_question(parsed), fusion=fusion)[:MAX_RESULTS]
        elif mode == "semantic":
            hits = ranked([(hit.docid, hit.score) for hit in runs["semantic"] if hit.docid in close], "semantic")
        else:
            hits = runs["keyword"]
        found = matches | related
        within = found if allowed is None else found & allowed
        if sort != "relevance":
            hits = self._by_date(hits, within, matches, sort == "newest")
        counted = matches if allowed is None else matches & allowed
        if mode == "semantic":
            counted, related = related, np.zeros(self.table.size, dtype=bool)
        return Ranking(hits, int(counted.sum()), self.table.facets(found, filters), int(related.sum()), sort)

    def _by_date(self, hits: list[Hit], within: np.ndarray, matches: np.ndarray, newest: bool) -> list[Hit]:
        """Every story of the set by date, the relevance ranking breaking ties."""
        relevance = np.zeros(self.table.size, dtype=np.float32)
        found = {hit.docid: hit for hit in hits}
        for hit in hits:
            relevance[self.table.row[hit.docid]] = hit.score
        rows = self.table.by_date(np.flatnonzero(within), relevance[within], newest)[:MAX_RESULTS]
        ordered = []
        for rank, row in enumerate(rows.tolist(), 1):
            story_id = self.table.ids[row]
            known = found.get(story_id)
            ordered.append(Hit(story_id, known.score if known else 0.0, rank, known.ranks if known else {},
                               known.scores if known else {}, matched=bool(matches[row])))
        return ordered

    def forget_results(self) -> None:
        """Empty the ranking cache (benchmarks time searches, not lookups)."""
        with self._lock:
            self._rankings.clear()

    def _page(self, query: str, mode: str, k: int, filters: FilterArg, offset: int,
              fusion: str | None, sort: str = "relevance") -> tuple[list[Hit], Ranking]:
        """One page of the ranking, and the ranking."""
        check_k(k)
        if not isinstance(offset, int) or offset < 0:
            raise QueryError("the page must be a whole number from 1", "页码必须是从 1 开始的整数。")
        ranking = self.ranking(query, mode, filters, fusion, sort)
        return ranking.hits[offset:offset + k], ranking

    def search(self, query: str, mode: str = "hybrid", k: int = 10, filters: FilterArg = None,
               offset: int = 0, fusion: str | None = None, sort: str = "relevance") -> list[Hit]:
        return self._page(query, mode, k, filters, offset, fusion, sort)[0]

    def results(self, query: str, mode: str = "hybrid", k: int = 10, filters: FilterArg = None,
                offset: int = 0, fusion: str | None = None, sort: str = "relevance") -> "Results":
        """One page of the request's ranking with the hits' stories."""
        hits, ranking = self._page(query, mode, k, filters, offset, fusion, sort)
        return Results(hits, [self.stories[hit.docid] for hit in hits], ranking, offset,
                       as_filters(filters), fusion or self.fusion)

    def similar_hits(self, story_id: str | None = None, text: str | None = None,
                     k: int = 10) -> list[tuple[SimilarHit, Story]]:
        """The stories nearest a story (KeyError for an unknown id) or a text
        (those close in meaning by the search's floors), with their stories."""
        check_k(k)
        if self._similar_to(story_id, text) == "story":
            hits = self.similar.similar_to_story(story_id, k)
        else:
            holds = self.keyword.holding_any_of([text])
            hits = self.similar.similar_to_text(text, k, lambda story_id: bool(holds[self.table.row[story_id]]))
        return [(hit, self.stories[hit.docid]) for hit in hits]

    def similar_practices(self, story_id: str | None = None, text: str | None = None,
                          k: int = 10) -> list[PracticeAnswer]:
        """The practices that answer a story (KeyError for an unknown id) or a
        question, one per practice and place (searcher/practice_answers.py)."""
        check_k(k)
        if self._similar_to(story_id, text) == "story":
            return self.practice_finder.for_story(story_id, k)
        return self.practice_finder.for_text(text, self.semantic.embed_text(" ".join(text.split())), k)

    def practices_elsewhere(self, practice: CatalogPractice, k: int = 10) -> list[PracticeAnswer]:
        """The practices of other places closest to ``practice``."""
        return self.practice_finder.elsewhere(practice.key, {place["name"] for place in practice.places}, k)

    def _similar_to(self, story_id: str | None, text: str | None) -> str:
        """What a similar request is about: "story" or "text"; KeyError, QueryError when neither."""
        if story_id is not None:
            if story_id not in self.stories:
                raise KeyError(story_id)
            return "story"
        if not (text and text.strip()):
            raise QueryError("give a story id or a text: a question or a description of the problem",
                             "请输入要查找的问题，或一段描述做法的文字。")
        if not any(query_terms(text)):
            raise QueryError("the text has nothing to search for: only punctuation, spaces or symbols",
                             "输入的内容里没有可以查找的文字：只有标点、空格或符号。")
        return "text"
