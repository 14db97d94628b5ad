"""Keyword search on the bundled corpus: the query language, folding,
highlighting and filters."""
import json
import os
import shutil
from pathlib import Path

import pytest

from storysearch.index import layout
from storysearch.searcher import SearchEngine
from storysearch.searcher.engine import QueryError
from storysearch.searcher.query import MAX_CONDITIONS, parse_query
from storysearch.searcher.snippets import highlight_paragraphs, snippet
from storysearch.web.records import search_response


def headlines(engine, query, k=10, **filters):
    return [engine.stories[h.docid].headline for h in engine.search(query, "keyword", k, filters or None)]


def texts(engine, query, k=10):
    return [engine.stories[h.docid].text for h in engine.search(query, "keyword", k)]


def test_quoted_phrase_must_occur_as_written(engine):
    found = texts(engine, '"小马拉大车"')
    assert found and all("小马拉大车" in text for text in found)
    assert set(headlines(engine, '"小马拉大车"')) == {
        s.headline for s in engine.stories.values() if "小马拉大车" in s.text}
    # unquoted, the words may stand apart: more stories match
    assert len(texts(engine, "小马 大车")) >= len(found)


def test_curly_quotes_work_like_straight_ones(engine):
    assert headlines(engine, "“全域土地综合整治”") == headlines(engine, '"全域土地综合整治"')


def test_traditional_query_finds_simplified_text(engine):
    assert headlines(engine, "鄉賢", 3) == headlines(engine, "乡贤", 3)
    assert "乡贤润桑梓 共拓幸福路" in headlines(engine, "鄉賢", 3)


def test_single_character_matches(engine):
    found = texts(engine, "蜗")
    assert found and all("蜗" in text for text in found)


@pytest.mark.parametrize("query, headline", [
    ("1+X+N", "推行“六事工作法” 提升社区治理效能"),
    ("e锦红聚", "社工学院 培训接地气"),
    ("AP", "海盐经开3个项目 入选省重点建设计划"),
    ("ap氢能源", "海盐经开3个项目 入选省重点建设计划"),
    ("ＡＰ", "海盐经开3个项目 入选省重点建设计划"),
    ("2.6万", "推行“六事工作法” 提升社区治理效能"),
])
def test_latin_and_digit_queries(engine, query, headline):
    assert headlines(engine, query, 3)[0] == headline


def test_a_part_of_a_long_word_finds_it(engine):
    # 农业 is inside 全球重要农业文化遗产 only
    assert headlines(engine, "农业") == ["筑巢引凤 助企业发展"]


def test_field_conditions(engine):
    assert all("乡贤" in h for h in headlines(engine, "headline:乡贤"))
    assert len(headlines(engine, "headline:乡贤")) == 3
    by_author = {engine.stories[h.docid].id for h in engine.search("author:俞琳", "keyword", 20)}
    assert by_author == {s.id for s in engine.stories.values() if "俞琳" in s.authors}
    assert all(s.startswith("003_") for s in
               (engine.stories[h.docid].source for h in engine.search("source:003 乡贤", "keyword", 20)))
    assert headlines(engine, "作者:潘梦菲") == ["凝心聚力织就“民心网”"]


def test_exclusion(engine):
    with_excluded = headlines(engine, "乡贤", 20)
    without = headlines(engine, "乡贤 -疫情", 20)
    assert "乡贤都来帮帮 共治力量充沛" in with_excluded and "乡贤都来帮帮 共治力量充沛" not in without
    assert all("疫情" not in t for t in texts(engine, "乡贤 -疫情", 20))
    assert all("俞琳" not in engine.stories[h.docid].authors for h in engine.search("乡贤 -author:俞琳", "keyword", 20))


def test_all_terms_rank_above_some(engine):
    top = texts(engine, "乡贤 教育基金", 1)[0]
    assert "乡贤" in top and "教育基金" in top


def test_headline_matches_rank_first(engine):
    assert "社区治理" in headlines(engine, "社区治理", 1)[0]


@pytest.mark.parametrize("query", ['"乡贤', '乡贤"参与', "“乡贤", "乡贤\x00\x07参与", "-", "--乡贤", "headline:",
                                   "乡贤 " * 3000, "(乡贤) OR [治理] AND {x}", "乡贤\\", "a" * 10000])
def test_malformed_queries_give_results_or_a_clear_message(engine, query):
    try:
        hits = engine.search(query, "keyword", 10)
    except QueryError as exc:
        assert "nothing to search" in str(exc)
    else:
        assert all(hit.docid in engine.stories for hit in hits)


@pytest.mark.parametrize("query", ["，。！？", "  ", "\u3000\u3000", '""'])
def test_queries_with_nothing_to_search(engine, query):
    if query.strip():
        with pytest.raises(QueryError, match="nothing to search"):
            engine.search(query, "keyword", 10)
    else:
        assert engine.search(query, "keyword", 10) == []


def test_snippet_marks_exact_characters_and_escapes():
    text = "<b>推進</b>鄉賢參與基層治理，ＡＰ项目"
    html = snippet(text, parse_query("乡贤 治理 ap"))
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "<mark>鄉賢</mark>" in html and "<mark>ＡＰ</mark>" in html
    assert "<mark>治理</mark>" in html


def test_snippet_picks_the_passage_with_the_matches():
    text = "无关的开头。" * 40 + "这里讲乡贤参与基层治理的做法。" + "无关的结尾。" * 40
    html = snippet(text, parse_query("乡贤 基层治理"))
    assert html.startswith("…") and "<mark>乡贤</mark>" in html and len(html) < 400


def test_story_page_highlight_marks_phrases_whole():
    html = highlight_paragraphs(["破解“小马拉大车”难题"], parse_query('"小马拉大车"'))
    assert html == ["破解“<mark>小马拉大车</mark>”难题"]


def test_filters_by_source_and_author(engine, client):
    assert set(headlines(engine, "乡贤", 20, source="003_168c443595a6d6d6.txt")) == {"乡贤都来帮帮 共治力量充沛"}
    response = client.get("/api/search", query_string={"q": "乡贤", "mode": "hybrid", "author": "俞琳"})
    hits = response.get_json()["hits"]
    assert hits and all("俞琳" in hit["authors"] for hit in hits)
    response = client.get("/api/search", query_string={"q": "新兴领域强党建", "mode": "semantic",
                                                       "source": "004_6dd7ce5d22c7d686.txt"})
    assert {hit["source"] for hit in response.get_json()["hits"]} == {"004_6dd7ce5d22c7d686.txt"}


def test_conditions_hold_in_every_mode(engine):
    for mode in ("keyword", "semantic", "hybrid"):
        for hit in engine.search('乡贤 "疫情" -姚庄镇', mode, 10):
            text = engine.stories[hit.docid].text
            assert "疫情" in text and "姚庄镇" not in text, mode


def test_index_built_with_other_analyzer_settings_warns(corpus_index, embedder, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(corpus_index, copy)
    meta_path = layout.current_generation(copy) / layout.META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["analyzer"]["userdicts"] = ["/opt/elsewhere/index/data/userdict.txt"]  # an installation moved
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert SearchEngine(copy, embedder).warnings == []
    meta["analyzer"]["dictionary_checksum"] = "0" * 64
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    engine = SearchEngine(copy, embedder)
    assert engine.warnings and "storysearch index" in engine.warnings[0]
    assert "dictionary_checksum" in engine.warnings[0]
    assert search_response(engine, "乡贤", "keyword")["warnings"] == engine.warnings
    from storysearch.web.app import create_app

    page = create_app(engine).test_client().get("/?q=乡贤").get_data(as_text=True)
    assert "关键词检索可能漏掉一些报道" in page and "analyzer settings" not in page  # the page says it in Chinese


def test_duplicate_conditions_are_merged():
    assert parse_query('"乡" ' * 250).phrases == ("乡",)
    parsed = parse_query("headline:乡贤 标题:乡贤 -疫情 -疫情 author:俞琳 作者:俞琳")
    assert parsed.fields == (("headline", "乡贤"), ("author", "俞琳")) and parsed.excluded == (("", "疫情"),)


def test_a_many_phrase_query_costs_one_condition(engine, monkeypatch):
    from storysearch.index.analysis import text_analysis
    from storysearch.searcher.lexical import condition_queries

    assert len(list(condition_queries(parse_query('"乡" ' * 250))["required"].leaves())) <= 10
    analysis, folds = text_analysis(), [0]
    fold = analysis.fold
    monkeypatch.setattr(analysis, "fold", lambda text: (folds.__setitem__(0, folds[0] + 1), fold(text))[1])
    for mode in ("keyword", "semantic", "hybrid"):
        engine.forget_results()
        folds[0] = 0
        assert engine.search('"乡" ' * 250, mode, 10)
        assert folds[0] <= 3 * len(engine.stories) + 50, mode  # each story's text folded once, not 250 times


def test_too_many_conditions_are_refused_clearly(engine, client):
    query = " ".join(f'"乡{chr(0x4e00 + i)}"' for i in range(MAX_CONDITIONS + 1))
    with pytest.raises(QueryError, match=f"at most {MAX_CONDITIONS}"):
        engine.search(query, "keyword", 10)
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 400
    answer = response.get_json()
    assert answer == {"ok": False, "status": 400, "error": answer["error"], "message": answer["message"]}
    assert f"at most {MAX_CONDITIONS}" in response.get_json()["error"]
    for page in ("/", "/embed"):
        response = client.get(page, query_string={"q": query})
        assert response.status_code == 400 and f"最多 {MAX_CONDITIONS} 个" in response.get_data(as_text=True)
    allowed = "-疫情 " + '"乡贤" ' * 100 + "headline:乡贤"
    assert engine.search(allowed, "keyword", 10)


def judged_queries():
    from storysearch.searcher.evaluation import read_queries

    return list(read_queries(Path(__file__).parent / "fixtures" / "judged" / "queries.tsv").values())


def fifty_queries(engine):
    """The judged questions that match by keyword, then single words from the bundled headlines: 50 in all."""
    from storysearch.index.analysis import text_analysis

    words = [w for s in sorted(engine.stories.values(), key=lambda s: s.id)
             for w, *_ in text_analysis().words(s.headline) if len(w) >= 2]
    return [q for q in dict.fromkeys(judged_queries() + words) if keyword_ids(engine, q)][:50]


def keyword_ids(engine, query, filters=None):
    return [h.docid for h in engine.searcher("keyword").search(query, 100, filters)]


def test_a_filter_that_removes_nothing_leaves_the_ranking_identical(engine):
    queries = fifty_queries(engine)
    assert len(queries) == 50
    sources = sorted({s.source for s in engine.stories.values()})
    prefix = os.path.commonprefix(sources)
    for query in queries:
        plain = keyword_ids(engine, query)
        assert plain, query
        assert keyword_ids(engine, query + " -量子纠缠") == plain, query  # an exclusion that excludes nothing
        if prefix:
            assert keyword_ids(engine, f"{query} source:{prefix}") == plain, query
        kept = [i for i in plain if engine.stories[i].source == sources[0]]
        assert keyword_ids(engine, query, {"source": sources[0]}) == kept, query  # narrowed, order kept


def test_the_phrase_path_agrees_with_the_plain_path_on_which_stories_match(engine):
    from storysearch.index.analysis import text_analysis

    analysis = text_analysis()
    fold = analysis.fold
    for query in fifty_queries(engine):
        word = max((w for w, *_ in analysis.words(query)), key=len)  # its tokens are the query's already
        plain = keyword_ids(engine, query)
        with_phrase = keyword_ids(engine, f'{query} "{word}"')
        holding = {i for i, s in engine.stories.items() if fold(word) in fold(s.text)}
        # the matches that hold the phrase, and only those, in the same order
        assert with_phrase == [i for i in plain if i in holding], query
