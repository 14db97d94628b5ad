"""Did you mean (pinyin and edit distance over the archive's own words) and
completions for the search box, on a small archive built for them."""
from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.searcher import SearchEngine
from storysearch.searcher.suggest import LITTLE, Vocabulary
from conftest import stop_server

STORIES = [
    ("新乡贤回村议事", "俞琳", "村里请来乡贤参与议事，乡贤理事会调解邻里纠纷。"),
    ("乡贤助力乡村振兴", "俞琳", "退休教师作为乡贤，带动村民发展民宿。"),
    ("乡贤工作室挂牌", "沈璐璐", "镇里为乡贤设立工作室，听取乡贤意见。"),
    ("共富工坊开进山村", "沈璐璐", "共富工坊让留守妇女在家门口就业，共富工坊已有二十家。"),
    ("共富工坊带来订单", "张一", "企业把来料加工送进共富工坊，村民增收。"),
    ("破解小马拉大车难题", "李二", "基层减负，破解小马拉大车的问题，社区干部不再疲于应付。"),
    ("小马拉大车怎么破", "李二", "街道梳理职责清单，缓解小马拉大车困境。"),
] + [(f"{district}垃圾分类新进展", "王三", f"{district}推进垃圾分类工作，居民参与踊跃，垃圾分类成效明显。")
     for district in ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区")]


def page_text(stories) -> str:
    return "\n".join(f"{headline}\n\n{author}\n\n{body}\n" for headline, author, body in stories)


@pytest.fixture(scope="module")
def small(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("suggest")
    corpus = root / "corpus"
    corpus.mkdir()
    for number, start in enumerate(range(0, len(STORIES), 3)):
        (corpus / f"{number:03d}_page.txt").write_text(page_text(STORIES[start:start + 3]), encoding="utf-8")
    build_index(corpus, root / "index", DEFAULT_MODEL, cache_dir=root / "cache")
    return SearchEngine(root / "index", embedder)


@pytest.fixture(scope="module")
def small_client(small):
    from storysearch.web.app import create_app

    return create_app(small).test_client()


def test_the_fixture_archive_has_the_words(small):
    headlines = {story.headline for story in small.stories.values()}
    assert "共富工坊开进山村" in headlines and "破解小马拉大车难题" in headlines
    assert all(small.vocabulary.word_stories(word) >= 2 for word in ("乡贤", "共富工坊", "小马拉大车"))


@pytest.mark.parametrize("typed, meant", [("乡闲", "乡贤"), ("共副工坊", "共富工坊"), ("小马拉大扯", "小马拉大车")])
def test_homophone_typos_find_the_word_meant(small, typed, meant):
    suggestion = small.did_you_mean(typed)
    assert suggestion is not None and suggestion.query == meant
    assert [(c.typed, c.suggested) for c in suggestion.corrections] == [(typed, meant)]
    assert suggestion.corrections[0].stories >= 2


def test_no_suggestion_when_the_query_finds_plenty(small):
    for query in ("乡贤", "共富工坊", "垃圾分类", "小马拉大车 垃圾分类", '"小马拉大车"'):
        assert small.did_you_mean(query) is None, query


def test_a_pasted_question_gets_no_suggestion(small):
    assert small.did_you_mean("村里怎么请乡闲参与议事和调解邻里纠纷呢") is None


def test_a_rare_word_with_no_likely_replacement_is_left_alone(small):
    assert small.did_you_mean("量子计算机") is None
    assert small.did_you_mean("!!!") is None and small.did_you_mean("") is None


def test_the_rest_of_the_query_is_kept(small):
    assert small.did_you_mean("乡闲 垃圾分类").query == "乡贤 垃圾分类"
    assert small.did_you_mean("乡闲治理").query == "乡贤治理"  # a typo inside a longer run
    assert small.did_you_mean('"共副工坊" -物业 author:沈璐璐').query == '"共富工坊" -物业 author:沈璐璐'
    assert small.did_you_mean("headline:小马拉大扯 date:2024").query == "headline:小马拉大车 date:2024"
    # an exclusion or a filter value is never corrected
    assert small.did_you_mean("垃圾分类 -乡闲") is None
    assert small.did_you_mean("垃圾分类 author:沈路路") is None


def test_a_byline_name_is_not_corrected_and_a_misspelt_one_is(small):
    assert small.did_you_mean("沈璐璐") is None
    assert small.did_you_mean("沈路路").query == "沈璐璐"


def vocabulary(words: dict[str, int], text: str) -> Vocabulary:
    """A Vocabulary over ``words`` (word -> stories) whose characters and pairs are those of ``text``."""
    mark = "\u241f"
    tokens = dict(words)
    tokens.update({mark + c: 9 for c in text})
    tokens.update({mark + text[i:i + 2]: 9 for i in range(len(text) - 1)})
    columns = {token: column for column, token in enumerate(tokens)}
    return Vocabulary.from_matrix(columns, np.array(list(tokens.values())), mark, Counter())


def test_every_reading_of_a_character_counts():
    vocab = vocabulary({"银行": 9}, "银行")
    assert vocab.correct("银航").suggested == "银行"  # 行 is usually xing, here hang


def test_a_character_one_pinyin_letter_away():
    vocab = vocabulary({"社区": 9, "业委会": 9}, "社区 业委会")
    assert vocab.correct("叶伟会").suggested == "业委会"  # sounds the same: two characters replaced
    assert vocab.correct("色区").suggested == "社区"  # se/she: one letter of pinyin, one character
    assert vocab.correct("色驱") is None  # one letter of pinyin, but two characters changed
    assert vocab.correct("社区") is None  # found as written


def test_little_is_a_documented_threshold(small):
    assert LITTLE == 3
    # 乡闲 is held by no story; 乡贤 by three, so it is not corrected
    assert small.vocabulary.stories_for("乡闲") == 0 and small.vocabulary.stories_for("乡贤") >= LITTLE


def test_api_returns_did_you_mean_with_a_link_that_keeps_the_request(small_client):
    answer = small_client.get("/api/search", query_string={"q": "乡闲 垃圾分类", "mode": "keyword",
                                                           "author": "俞琳", "k": "5"}).get_json()
    assert answer["did_you_mean"]["query"] == "乡贤 垃圾分类"
    assert answer["did_you_mean"]["corrections"] == [{"typed": "乡闲", "suggested": "乡贤", "stories": 3}]
    link = urlsplit(answer["did_you_mean"]["url"])
    assert link.path == "/api/search"
    assert parse_qs(link.query) == {"q": ["乡贤 垃圾分类"], "mode": ["keyword"], "author": ["俞琳"], "k": ["5"]}
    assert small_client.get(answer["did_you_mean"]["url"]).get_json()["did_you_mean"] is None
    alone = small_client.get("/api/search", query_string={"q": "乡闲", "author": "俞琳"}).get_json()
    assert small_client.get(alone["did_you_mean"]["url"]).get_json()["total"] >= 1


def test_api_field_is_present_and_null_when_nothing_is_suggested(small_client):
    answer = small_client.get("/api/search", query_string={"q": "垃圾分类", "mode": "keyword"}).get_json()
    assert "did_you_mean" in answer and answer["did_you_mean"] is None


def test_search_page_and_embed_offer_the_link(small_client):
    page = small_client.get("/", query_string={"q": "乡闲", "mode": "keyword"}).get_data(as_text=True)
    assert '您是不是要找：<a href="/?q=%E4%B9%A1%E8%B4%A4&amp;mode=keyword">乡贤</a>' in page
    embed = small_client.get("/embed", query_string={"q": "共副工坊"}).get_data(as_text=True)
    assert "您是不是要找：" in embed and 'href="/embed?q=' in embed and ">共富工坊</a>" in embed
    assert "您是不是要找" not in small_client.get("/", query_string={"q": "乡贤"}).get_data(as_text=True)


def test_completions_by_prefix_most_frequent_first(small_client):
    answer = small_client.get("/api/suggest", query_string={"q": "共"}).get_json()
    texts = [c["text"] for c in answer["completions"]]
    assert answer["prefix"] == "共" and "共富工坊" in texts
    assert all(text.startswith("共") for text in texts) and len(texts) <= 10
    stories = [c["stories"] for c in answer["completions"]]
    assert stories == sorted(stories, reverse=True)
    names = small_client.get("/api/suggest", query_string={"q": "沈"}).get_json()["completions"]
    assert {"text": "沈璐璐", "kind": "name", "stories": 2} in names
    assert [c["text"] for c in small_client.get("/api/suggest?q=垃").get_json()["completions"]] == ["垃圾"]
    assert small_client.get("/api/suggest?q=垃圾").get_json()["completions"] == []  # the word itself is not offered


def test_completions_come_from_headlines(small):
    # 村民 is in bodies only: not offered; 乡村振兴 is in a headline
    assert "村民" not in [c.text for c in small.completions("村")]
    assert "乡村振兴" in [c.text for c in small.completions("乡")]


def test_completions_for_an_empty_or_overlong_prefix(small_client):
    assert small_client.get("/api/suggest").get_json() == {"prefix": "", "completions": []}
    assert small_client.get("/api/suggest?q=%20%20").get_json()["completions"] == []
    assert small_client.get("/api/suggest?q=zzzz").get_json()["completions"] == []
    response = small_client.get("/api/suggest", query_string={"q": "乡" * 21})
    assert response.status_code == 400
    error = response.get_json()
    assert error["ok"] is False and error["status"] == 400 and "20" in error["error"]


def test_search_box_is_a_combobox_over_the_endpoint(small_client):
    page = small_client.get("/").get_data(as_text=True)
    assert 'role="combobox"' in page and 'aria-controls="q-completions"' in page
    assert 'data-suggest-url="/api/suggest"' in page and 'role="listbox"' in page


def test_openapi_documents_both(small_client):
    spec = small_client.get("/api/openapi.json").get_json()
    assert "/api/suggest" in spec["paths"]
    assert "did_you_mean" in spec["components"]["schemas"]["SearchResponse"]["properties"]


def test_in_a_browser_the_link_and_the_keyboard_completions(small, tmp_path):
    """Chromium: 您是不是要找 leads to the corrected search; ↓ and Enter take a
    completion without searching, Escape closes the list. Screenshot in
    docs/screenshots/did-you-mean.png."""
    import shutil
    import threading
    from pathlib import Path

    from storysearch.web.app import create_app
    from storysearch.web.server import create_server

    chromium = shutil.which("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("no Chromium here")
    server = create_server(create_app(small), "127.0.0.1", 0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    shots = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1000, "height": 560}, locale="zh-CN").new_page()
            page.goto(base + "/?q=乡闲&mode=keyword")
            assert page.inner_text("p.did-you-mean") == "您是不是要找：乡贤"
            page.screenshot(path=str(shots / "did-you-mean.png"))
            page.click("p.did-you-mean a")
            page.wait_for_url("**q=%E4%B9%A1%E8%B4%A4**")
            assert page.locator("ol.results li").count() == 3

            page.goto(base + "/?mode=keyword")
            page.type("#q", "乡")
            page.wait_for_selector("#q-completions li")
            assert page.get_attribute("#q", "aria-expanded") == "true"
            page.keyboard.press("ArrowDown")
            assert page.get_attribute("#q", "aria-activedescendant") == "q-completion-0"
            page.keyboard.press("Enter")  # takes the completion, does not search
            assert page.input_value("#q") == "乡贤" and "q=" not in page.url
            assert page.get_attribute("#q", "aria-expanded") == "false"
            page.type("#q", " 共")
            page.wait_for_selector("#q-completions li")
            page.keyboard.press("Escape")
            assert page.is_hidden("#q-completions") and page.input_value("#q") == "乡贤 共"
            page.keyboard.press("Enter")  # now it searches
            page.wait_for_url("**q=**", wait_until="commit")
            browser.close()
    finally:
        stop_server(server)


def test_completions_leave_out_words_no_story_holds_any_more():
    """A removed page's words stay in the term matrix's vocabulary, held by no live story."""
    vocabulary = Vocabulary({"张掖": 0, "张掖市": 1, "张家港": 2}, np.array([0, 0, 3]), "\u241f", Counter())
    assert [(c.text, c.stories) for c in vocabulary.complete("张")] == [("张家港", 3)]
