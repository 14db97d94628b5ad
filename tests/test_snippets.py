"""Snippets and story-page highlighting cost bounded work, however large the
story and however many matches it holds (issue 10: a 5 MB page held a server
thread for over a minute)."""
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysearch.index.analysis import text_analysis
from storysearch.searcher import SearchEngine
from storysearch.searcher.query import parse_query
from storysearch.searcher.snippets import (MAX_SPANS, PAGE_SCAN_CHARS, SNIPPET_SCAN_CHARS, best_window,
                               highlight_paragraphs, match_spans, snippet)
from storysearch.web.app import create_app
from storysearch.web.settings import WebSettings

SENTENCE = "社区网格员上门走访独居老人，了解生活需求，协调解决实际困难。"
FULL_OF_MATCHES = ("乡贤参与基层治理" * 700_000)[:5_000_000]
ORDINARY = (SENTENCE * 170_000)[:5_000_000 - 20] + "乡贤参与基层治理的做法"


@pytest.fixture()
def folded(monkeypatch):
    """How many characters are folded (the analysis step that costs most per character)."""
    analysis, counted = text_analysis(), [0]
    fold = analysis.fold

    def counting_fold(text):
        counted[0] += len(text)
        return fold(text)

    monkeypatch.setattr(analysis, "fold", counting_fold)
    return counted


def quadratic_best_window(text, spans, width):
    """The definition: of the windows starting a fifth of a width before each
    match, the first holding the most distinct matched texts."""
    best_start, best_score = 0, -1
    for s, _ in spans:
        start = max(0, min(s - width // 5, len(text) - width))
        inside = {text[a:b] for a, b in spans if a >= start and b <= start + width}
        if len(inside) > best_score:
            best_start, best_score = start, len(inside)
    return best_start


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="乡贤治理ab ", max_size=120), st.integers(min_value=3, max_value=30))
def test_the_sliding_window_picks_what_the_definition_picks(text, width):
    spans = match_spans(text, ["乡贤", "治理", "ab", "乡"])
    assert best_window(text, spans, width) == quadratic_best_window(text, spans, width)


@pytest.mark.parametrize("text", [FULL_OF_MATCHES, ORDINARY], ids=["full of matches", "ordinary"])
def test_a_5mb_story_snippet_scans_a_bounded_part(folded, text):
    parsed = parse_query("乡贤 基层治理")
    html = snippet(text, parsed)
    assert folded[0] <= SNIPPET_SCAN_CHARS + 1000
    assert len(html) < 1000 and html.endswith("…")
    if text is FULL_OF_MATCHES:
        assert "<mark>乡贤</mark>" in html
        assert len(match_spans(text, ["乡贤", "治理"])) == MAX_SPANS


def test_the_story_page_of_a_5mb_story_marks_a_bounded_part(folded):
    paragraphs = ["乡贤回村讲发展", FULL_OF_MATCHES, "最后一段：乡贤"]
    html = highlight_paragraphs(paragraphs, parse_query("乡贤"))
    assert folded[0] <= PAGE_SCAN_CHARS + 1000
    assert sum(part.count("<mark>") for part in html) == MAX_SPANS
    assert html[0] == "<mark>乡贤</mark>回村讲发展" and html[2] == "最后一段：乡贤"
    assert len(html[1]) >= len(FULL_OF_MATCHES)  # the whole text is shown, only the marks stop


def test_search_and_story_page_answer_a_5mb_story_with_bounded_work(corpus_index, embedder, folded):
    engine = SearchEngine(corpus_index, embedder)
    story = next(s for s in engine.stories.values() if "乡贤" in s.headline)
    huge = dataclasses.replace(story, paragraphs=[FULL_OF_MATCHES], captions=[])
    engine.stories = {**{story_id: engine.stories[story_id] for story_id in engine.stories}, story.id: huge}
    client = create_app(engine, WebSettings()).test_client()
    for mode in ("keyword", "semantic", "hybrid"):
        folded[0] = 0
        data = client.get("/api/search", query_string={"q": "乡贤 力量", "mode": mode, "k": 40}).get_json()
        assert story.id in [hit["id"] for hit in data["hits"]], mode
        assert folded[0] < len(FULL_OF_MATCHES) / 10, mode
    folded[0] = 0
    page = client.get(f"/story/{story.id}", query_string={"q": "乡贤"})
    assert page.status_code == 200 and folded[0] < len(FULL_OF_MATCHES) / 10
