"""The Milvus backend (index/milvus_store.py, searcher/milvus.py) against
Milvus Lite for real: it ranks, filters, counts and sorts as the embedded
backend does, with the filters sent to Milvus; it answers similar practices
as the embedded backend does; an export becomes visible whole or not at
all; an unreachable Milvus is a clear error at start and 503 JSON on
requests."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from storysearch import cli  # noqa: E402
from storysearch.index import layout, milvus_store  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL  # noqa: E402
from storysearch.index.milvus_store import MilvusUnavailable, export_generation  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.milvus import MilvusEngine, MilvusLiveEngine, filter_expression  # noqa: E402
from storysearch.searcher.query import parse_query  # noqa: E402

QUERIES = ["乡贤", "社区治理", "垃圾分类", "如何调解邻里纠纷？", "老旧小区停车难怎么解决", "电动自行车 -疫情",
           "“共同富裕”", "headline:乡村", "基层干部 为民办实事", "志愿服务队"]
ARCHIVE_FILTERS = [{"paper": "杭州日报"}, {"date_from": "2023", "date_to": "2023-12"}, {"author": "王三"},
                   {"place": "萧山区"}, {"paper": "浙江日报", "author": "张一"}, {"source": "浙江日报/2022-01-01/01.txt"}]


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory, corpus_index):
    uri = str(tmp_path_factory.mktemp("milvus") / "bundled.db")
    assert export_generation(layout.current_generation(corpus_index), uri) == "gen-000001"
    return uri


@pytest.fixture(scope="session")
def milvus_engine(milvus_uri, embedder):
    return MilvusEngine(milvus_uri, embedder)


@pytest.fixture(scope="session")
def archive_engines(tmp_path_factory, archive, embedder):
    """The 130-story archive (two papers, three years, ten reporters) in both backends."""
    embedded, _dates = archive
    uri = str(tmp_path_factory.mktemp("milvus") / "archive.db")
    export_generation(embedded.generation, uri)
    return embedded, MilvusEngine(uri, embedder)


def same_ranking(expected, got):
    assert [hit.docid for hit in got] == [hit.docid for hit in expected]
    for want, have in zip(expected, got):
        # each list's scores to float32 rounding (Milvus sums BM25 in another order); the fused score
        # rescales them (min-max), which magnifies that rounding at the bottom of a list
        assert have.scores.keys() == want.scores.keys()
        for name, score in want.scores.items():
            assert have.scores[name] == (None if score is None else pytest.approx(score, rel=1e-5, abs=1e-6))
        assert have.score == pytest.approx(want.score, rel=1e-3, abs=1e-4)
        assert have.ranks == want.ranks and have.matched == want.matched


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_milvus_ranks_every_mode_as_the_embedded_backend(engine, milvus_engine, mode):
    found = 0
    for query in QUERIES:
        expected, got = engine.ranking(query, mode), milvus_engine.ranking(query, mode)
        same_ranking(expected.hits, got.hits)
        assert (got.total, got.related, got.facets) == (expected.total, expected.related, expected.facets)
        found += len(got.hits)
    assert found > 3 * len(QUERIES)  # the queries find something: the agreement is not of empty lists


def test_milvus_keyword_scores_are_the_term_matrix_bm25(engine, milvus_engine):
    """Sparse inner products with idf query weights give the embedded BM25 for every story, not only the top."""
    for text in ("乡贤 调解", "社区 治理 垃圾分类"):
        want, have = engine.keyword.sparse.scores(text), milvus_engine.keyword.sparse.scores(text)
        assert (want > 0).sum() > 5
        assert have == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert (milvus_engine.keyword.sparse.holding("乡贤") == engine.keyword.sparse.holding("乡贤")).all()
    assert milvus_engine.keyword.sparse.story_counts().tolist() == engine.keyword.sparse.story_counts().tolist()


@pytest.mark.parametrize("filters", ARCHIVE_FILTERS, ids=lambda f: ",".join(f))
@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_milvus_filters_and_facets_as_the_embedded_backend(archive_engines, filters, mode):
    embedded, milvus = archive_engines
    expected, got = embedded.ranking("垃圾分类", mode, filters), milvus.ranking("垃圾分类", mode, filters)
    same_ranking(expected.hits, got.hits)
    assert (got.total, got.facets) == (expected.total, expected.facets)
    if mode == "keyword":
        assert 0 < got.total < 130  # the filter narrows the set and leaves some


PLACES = '"萧山区", "萧山区市", "萧山区区", "萧山区县", "萧山区省", "萧山区镇", "萧山区街道", "萧山区乡"'
# each filter kind: the request's filters, its query, and the expression sent to Milvus
EXPRESSIONS = [
    ({"paper": "杭州日报"}, "", '(paper == "杭州日报")'),
    ({"date_from": "2023", "date_to": "2023-06"}, "", "(date >= 20230101) and (date != 0 and date <= 20230630)"),
    ({"author": "王"}, "", '(ARRAY_CONTAINS_ANY(authors, ["王三"]))'),
    ({"place": "萧山区"}, "", f"(ARRAY_CONTAINS_ANY(places, [{PLACES}]))"),
    ({"source": "浙江日报/2022-01-01/01.txt"}, "", '(source == "浙江日报/2022-01-01/01.txt")'),
    ({}, "source:浙江日报/2023", '(source >= "浙江日报/2023" and source < "浙江日报/2024")'),
    ({"paper": "浙江日报"}, "-author:张一 -date:2024",
     '(paper == "浙江日报") and not ((ARRAY_CONTAINS_ANY(authors, ["张一"]))) '
     "and not ((date >= 20240101) and (date != 0 and date <= 20241231))"),
    ({"paper": '浙江"日报\\', "author": "无此人"}, "",  # quoted as Milvus reads strings; a part no name holds
     '(ARRAY_CONTAINS_ANY(authors, [])) and (paper == "浙江\\"日报\\\\")'),
]


def sent_filters(engine, monkeypatch) -> list[tuple[str, str]]:
    """The (collection part, filter) of every search the engine sends to Milvus from now on."""
    sent, call = [], engine.index.call
    parts = {name: part for part, name in engine.index.collections.items()}

    def recording(method, *args, **kwargs):
        if method == "search":
            sent.append((parts[args[0]], kwargs.get("filter", "")))
        return call(method, *args, **kwargs)

    monkeypatch.setattr(engine.index, "call", recording)
    return sent


@pytest.mark.parametrize("filters,query,expression", EXPRESSIONS,
                         ids=["paper", "dates", "author", "place", "source", "source prefix", "exclusions", "quoted"])
def test_each_filter_is_sent_to_milvus_as_an_expression(archive_engines, monkeypatch, filters, query, expression):
    """The expression is what the story table's mask lets through, on the
    stories and on the passages; a filtered search sends it with the
    passages' search (asked once: the nearest among those it lets through)
    and the BM25 search, never with the match rule's, and ranks as the
    embedded backend."""
    embedded, milvus = archive_engines
    parsed = parse_query(query)
    assert filter_expression(parsed, filters, milvus.table.authors.values) == expression
    allowed = embedded.table.allowed(parsed, filters)
    rows = {row["row"] for row in milvus.index.read("stories", ["row"], expression)}
    assert rows == set(allowed.nonzero()[0].tolist())
    assert {row["row"] for row in milvus.index.read("passages", ["row"], expression)} == rows
    sent = sent_filters(milvus, monkeypatch)
    for mode in ("semantic", "keyword"):
        milvus.forget_results()
        expected, got = embedded.ranking(f"{query} 垃圾分类", mode, filters), milvus.ranking(f"{query} 垃圾分类", mode,
                                                                                            filters)
        same_ranking(expected.hits, got.hits)
        assert (got.total, got.facets) == (expected.total, expected.facets)
    assert sent.count(("passages", expression)) == 1 and ("passages", "") not in sent
    assert {("stories", expression)} <= set(sent)  # BM25 and the coordination count: the rows let through
    assert ("stories", "") in sent  # the match rule: every story (the facets count every match)


def test_an_unfiltered_search_sends_no_filter(milvus_engine, monkeypatch):
    sent = sent_filters(milvus_engine, monkeypatch)
    milvus_engine.forget_results()
    milvus_engine.ranking("社区治理", "hybrid")
    assert sent and {where for _, where in sent} == {""}


@pytest.mark.parametrize("query", ["社区治理 -paper:杭州日报", "社区治理 author:赵四", "垃圾分类 date:2023",
                                   "“垃圾分类工作” -萧山区", "headline:西湖区 垃圾分类"])
def test_milvus_meets_filter_fields_and_conditions_in_the_query(archive_engines, query):
    embedded, milvus = archive_engines
    for mode in ("keyword", "hybrid"):
        expected, got = embedded.ranking(query, mode), milvus.ranking(query, mode)
        same_ranking(expected.hits, got.hits)
        assert (got.total, got.facets) == (expected.total, expected.facets) and 0 < got.total < 130


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_milvus_sorts_by_date_and_browses_as_the_embedded_backend(archive_engines, sort):
    embedded, milvus = archive_engines
    for query, filters in (("社区治理 垃圾分类", None), ("", {"paper": "浙江日报"})):
        expected, got = embedded.ranking(query, "hybrid", filters, sort=sort), milvus.ranking(query, "hybrid",
                                                                                              filters, sort=sort)
        same_ranking(expected.hits, got.hits)
        assert got.total == expected.total > 10


def test_milvus_serves_records_similar_stories_and_suggestions(engine, milvus_engine):
    story_id = engine.search("乡贤", "keyword", 1)[0].docid
    assert milvus_engine.stories[story_id] == engine.stories[story_id]
    want = [(hit.docid, round(hit.score, 5)) for hit, _ in engine.similar_hits(story_id, k=5)]
    assert [(hit.docid, round(hit.score, 5)) for hit, _ in milvus_engine.similar_hits(story_id, k=5)] == want
    assert milvus_engine.completions("乡") == engine.completions("乡")


def assert_alike(expected, got):
    """Equal, numbers to float32 rounding (magnified in a fused score, as in same_ranking), containers item by item."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            assert_alike(expected[key], got[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for want, have in zip(expected, got):
            assert_alike(want, have)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-3, abs=1e-4)
    else:
        assert got == expected


def answers(found) -> list[dict]:
    return [{**vars(answer), "also": answers(answer.also)} for answer in found]


def test_milvus_answers_similar_practices_as_the_embedded_backend(engine, milvus_engine):
    questions = json.loads((Path(__file__).parent / "fixtures" / "similar_practices.json").read_text(encoding="utf-8"))
    found = 0
    for item in questions["questions"][:8]:
        expected = answers(engine.similar_practices(text=item["question"]))
        assert_alike(expected, answers(milvus_engine.similar_practices(text=item["question"])))
        found += len(expected)
    for story_id in list(engine.stories)[::4]:
        expected = answers(engine.similar_practices(story_id=story_id, k=5))
        assert_alike(expected, answers(milvus_engine.similar_practices(story_id=story_id, k=5)))
        found += len(expected)
    for practice in engine.practices.list(k=10):
        expected = answers(engine.practices_elsewhere(practice, 5))
        assert_alike(expected, answers(milvus_engine.practices_elsewhere(milvus_engine.practices.get(practice.key), 5)))
        found += len(expected)
    assert found > 50  # the answers are not empty lists
    assert not milvus_engine.warnings


def test_the_pages_with_practices_work_from_milvus(engine, milvus_engine):
    """The search page, the story page, the practice page and the API answer
    with the same practices from Milvus as from the index folder."""
    from storysearch.web.app import create_app

    parking = "老旧小区停车难怎么解决"
    folder, milvus = create_app(engine).test_client(), create_app(milvus_engine).test_client()
    story = next(s for s in engine.stories.values() if s.headline == "乡贤润桑梓 共拓幸福路")
    practice = engine.practices.get("六事工作法")
    for path, query in (("/api/similar", {"text": parking, "k": 3}), (f"/api/similar/{story.id}", {"k": 4}),
                        (f"/api/practice/{practice.name}", {})):
        expected, got = folder.get(path, query_string=query), milvus.get(path, query_string=query)
        assert got.status_code == 200
        assert_alike(expected.get_json(), got.get_json())
    page = milvus.get("/", query_string={"q": parking}).get_data(as_text=True)
    block = page[page.index('id="answering-title"'):]
    assert "崇贤街道" in block[:block.index("</section>")] and "此服务暂不提供" not in page
    panel = milvus.get(f"/story/{story.id}").get_data(as_text=True)
    first = engine.similar_practices(story_id=story.id, k=5)[0]
    assert 'class="practice-answers"' in panel and first.name in panel
    elsewhere = engine.practices_elsewhere(practice, 10)[0]
    assert elsewhere.name in milvus.get(f"/practice/{practice.name}").get_data(as_text=True)


def test_an_export_of_another_format_is_told_and_exported_again(tmp_path, archive, monkeypatch, capsys):
    embedded, _dates = archive
    uri = str(tmp_path / "old.db")
    monkeypatch.setattr(milvus_store, "FORMAT", 1)  # as an older storysearch exported it
    export_generation(embedded.generation, uri)
    monkeypatch.undo()
    with pytest.raises(MilvusUnavailable, match="in export format 1; this version reads format 2: export it again"):
        MilvusEngine(uri)
    assert cli.main(["serve", "--backend", "milvus", "--milvus-uri", uri]) == 2
    assert "export it again" in capsys.readouterr().err
    assert export_generation(embedded.generation, uri) == embedded.generation.name  # the same generation, again
    assert len(MilvusEngine(uri).stories) == len(embedded.stories)


def test_an_export_is_visible_whole_and_only_two_generations_are_kept(tmp_path, embedder, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(layout.DEFAULT_CORPUS, corpus)
    folder, uri = tmp_path / "index", str(tmp_path / "m.db")
    build_index(corpus, folder, DEFAULT_MODEL)
    export_generation(layout.current_generation(folder), uri)
    first = MilvusEngine(uri, embedder)
    live = MilvusLiveEngine(uri, embedder=embedder)  # a server's: it follows the alias
    removed = sorted(corpus.glob("*.txt"))[0]
    removed.unlink()
    build_index(corpus, folder, DEFAULT_MODEL)  # gen-000002 without that file's stories

    real_insert = milvus_store._insert

    def failing_insert(client, name, rows):  # the export dies after writing the stories collection
        if "_passages_" in name:
            raise OSError("disk full")
        return real_insert(client, name, rows)

    monkeypatch.setattr(milvus_store, "_insert", failing_insert)
    with pytest.raises(OSError):
        export_generation(layout.current_generation(folder), uri)
    assert MilvusEngine(uri, embedder).generation.name == "gen-000001"  # the half-written one is not live
    assert not live.refresh() and live.current.generation.name == "gen-000001"
    monkeypatch.setattr(milvus_store, "_insert", real_insert)
    assert export_generation(layout.current_generation(folder), uri) == "gen-000002"
    second = MilvusEngine(uri, embedder)
    assert second.generation.name == "gen-000002" and len(second.stories) < len(first.stories)
    assert live.refresh() and live.current.generation.name == "gen-000002"
    assert first.search("社区治理", "keyword", 3)  # the previous generation still answers its server
    (corpus / removed.name).write_text(removed.name, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL)
    export_generation(layout.current_generation(folder), uri)
    client = milvus_store.connect(uri)
    assert {name.rsplit("_", 1)[1] for name in client.list_collections()} == {"gen000002", "gen000003"}


def test_an_unreachable_milvus_is_a_clear_error_at_start(tmp_path, capsys):
    with pytest.raises(MilvusUnavailable, match="does not exist"):
        MilvusEngine(str(tmp_path / "absent" / "m.db"))
    with pytest.raises(MilvusUnavailable, match="holds no storysearch index"):
        MilvusEngine(str(tmp_path / "empty.db"))
    assert cli.main(["serve", "--backend", "milvus", "--milvus-uri", str(tmp_path / "absent" / "m.db")]) == 2
    assert cli.main(["serve", "--backend", "milvus"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the Milvus Lite file" in err and "needs --milvus-uri" in err and "Traceback" not in err


def test_requests_get_503_json_when_milvus_goes_away(tmp_path, corpus_index, embedder):
    from storysearch.web.app import create_app

    uri = str(tmp_path / "m.db")
    export_generation(layout.current_generation(corpus_index), uri)
    engine = MilvusEngine(uri, embedder)
    client = create_app(engine).test_client()
    assert client.get("/api/search", query_string={"q": "乡贤", "mode": "keyword"}).status_code == 200
    engine.index.client.close()
    for mode in ("keyword", "semantic", "hybrid"):
        response = client.get("/api/search", query_string={"q": "社区治理", "mode": mode})
        assert response.status_code == 503
        assert response.get_json()["ok"] is False and "unavailable" in response.get_json()["error"]
    assert client.get("/", query_string={"q": "调解"}).status_code == 503  # the page, too


def test_the_embedded_default_never_imports_pymilvus():
    code = ("import sys; import storysearch.cli, storysearch.web.app, storysearch.searcher.engine; "
            "storysearch.cli._parser(); assert 'pymilvus' not in sys.modules, 'pymilvus imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_embedded_index_folder_is_untouched_by_an_export(corpus_index, milvus_uri):
    generation = layout.current_generation(corpus_index)
    assert layout.damaged_files(generation, layout.read_meta(generation), deep=True) == []
    assert SearchEngine(corpus_index).generation == generation
