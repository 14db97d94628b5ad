"""Results users can trust (issue 13): honest counts and "nothing found",
keyword matches above stories found only by meaning, names, spaces and
quotation marks."""
from pathlib import Path

import pytest

from storysearch.index.analysis import text_analysis
from storysearch.searcher.evaluation import read_queries
from storysearch.searcher.lexical import SHORT_QUERY_TERMS, is_question, match_terms
from storysearch.searcher.query import parse_query
from storysearch.web.records import search_response

FIXTURES = Path(__file__).parent / "fixtures"
OUT_OF_DOMAIN = [line.strip() for line in (FIXTURES / "out_of_domain" / "queries.txt").read_text(encoding="utf-8")
                 .splitlines() if line.strip() and not line.startswith("#")]
KEYWORD_QUERIES = [q for qid, q in read_queries(FIXTURES / "judged" / "queries.tsv").items() if qid.startswith("k")]


def holds(story, term: str) -> bool:
    """The rule, on the story's own text: every bigram of the term (folded) is in it."""
    analysis = text_analysis()
    have = {g for text in (story.text, *story.authors) for g, *_ in analysis.grams(text, unigrams=False)}
    have |= {g for text in (story.text, *story.authors) for g, *_ in analysis.grams(text)}
    return all(g in have for g, *_ in analysis.grams(term, unigrams=False))


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_out_of_domain_queries_find_nothing(engine, mode):
    found = {query: search_response(engine, query, mode, 10) for query in OUT_OF_DOMAIN}
    assert len(found) >= 30
    answered = {query: (r["total"], r["related"]) for query, r in found.items() if r["total"] or r["related"]}
    assert answered == {}
    assert all(not r["hits"] for r in found.values())


def test_nothing_found_is_said_plainly_with_suggestions(client):
    page = client.get("/", query_string={"q": "量子计算机"}).get_data(as_text=True)
    assert "没有找到与“量子计算机”相关的报道" in page and "建议" in page
    assert client.get("/api/search", query_string={"q": "量子计算机"}).get_json()["total"] == 0


def test_total_counts_the_stories_that_hold_every_term(engine):
    for query in ("乡贤", "社区 治理", "电动自行车 充电", "网格连心 组团服务", "邻里纠纷 调解"):
        response = search_response(engine, query, "keyword", 10)
        terms = match_terms(query.split())
        stories = list(engine.stories.values())

        def held(story, term):  # a compound no story holds: all its dictionary words
            if any(holds(s, term) for s in stories):
                return holds(story, term)
            parts = [w for w, _s, _e, pos in text_analysis().words(term) if pos == 0 and w != term]
            return bool(parts) and all(holds(story, part) for part in parts)

        expected = {s.id for s in stories if all(held(s, t) for t in terms)}
        assert response["total"] == len(expected) and {h["id"] for h in response["hits"]} <= expected


def test_hybrid_counts_matches_and_close_stories_apart(engine):
    response = search_response(engine, "乡贤", "hybrid", 50)
    keyword = search_response(engine, "乡贤", "keyword", 50)
    assert response["total"] == keyword["total"]
    only_meaning = [h for h in response["hits"] if not h["matched"]]
    assert response["related"] >= len(only_meaning)


@pytest.mark.parametrize("query", KEYWORD_QUERIES)
def test_stories_holding_the_words_come_before_those_found_by_meaning(engine, query):
    assert not is_question(parse_query(query))
    hits = search_response(engine, query, "hybrid", 50)["hits"]
    literal = [h["matched"] for h in hits]
    assert literal == sorted(literal, reverse=True)


def test_questions_weigh_their_terms_and_keep_meaning():
    assert is_question(parse_query("老旧小区停车难怎么解决？"))
    assert is_question(parse_query("社区 网格 治理 物业 停车 充电"))
    assert not is_question(parse_query("社区 治理"))
    assert len(match_terms("社区 网格 治理 物业".split())) == SHORT_QUERY_TERMS
    assert match_terms(["社区", "治理"]) == ["社区", "治理"] and match_terms(["网格连心"]) == ["网格", "连心"]


def test_a_byline_name_finds_its_author_first(engine):
    for name in ("俞琳", "沈璐璐", "富阳区富春街道党工委"):
        hits = search_response(engine, name, "hybrid", 10)["hits"]
        written = [s.id for s in engine.stories.values() if name in s.authors]
        assert written and [h["id"] for h in hits[:len(written)]] == sorted(
            written, key=lambda i: [h["id"] for h in hits].index(i))
        assert all(name in h["authors"] for h in hits[:len(written)])


def test_the_author_filter_matches_part_of_a_name(engine):
    hits = search_response(engine, "", "keyword", 50, {"author": "俞"})["hits"]
    assert hits and all(any("俞" in a for a in h["authors"]) for h in hits)
    assert {h["id"] for h in hits} >= {s.id for s in engine.stories.values() if "俞琳" in s.authors}


def test_spaces_between_chinese_characters_do_not_matter(engine):
    spaced = search_response(engine, "网格连心 组团服务", "keyword", 10)
    joined = search_response(engine, "网格连心组团服务", "keyword", 10)
    phrase = search_response(engine, '"网格连心组团服务"', "keyword", 10)
    assert spaced["total"] == joined["total"] == phrase["total"] >= 1
    assert [h["id"] for h in spaced["hits"]] == [h["id"] for h in phrase["hits"]]


def test_a_matched_phrase_is_marked_as_one_span(client):
    page = client.get("/", query_string={"q": "网格连心 组团服务", "mode": "keyword"}).get_data(as_text=True)
    assert "<mark>网格连心 组团服务</mark>" in page


def test_ascii_quotes_require_the_phrase_chinese_quotes_in_a_sentence_boost_it(engine):
    strict = search_response(engine, '"乡贤力量"', "keyword", 50)
    assert strict["total"] >= 1 and all("乡贤力量" in engine.stories[h["id"]].text for h in strict["hits"])
    assert search_response(engine, "“乡贤力量”", "keyword", 50)["total"] == strict["total"]  # only the phrase: strict
    pasted = search_response(engine, "“乡贤力量” 乡村", "keyword", 50)
    holding = {h["id"] for h in strict["hits"]}
    assert {h["id"] for h in pasted["hits"]} - holding  # the phrase is not required beside other words
    assert pasted["hits"][0]["id"] in holding  # but the stories holding it rank first
    assert parse_query("各地怎样发挥“乡贤力量”助力乡村治理").boosted == ("乡贤力量",)
