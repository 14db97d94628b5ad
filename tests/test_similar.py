"""Find similar practices: from a story and from a description."""
import json

import pytest

from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.searcher import SearchEngine
from storysearch.cli import main

FUMES = "人间烟火 不再扰民"


def story_named(engine, headline):
    return next(s for s in engine.stories.values() if s.headline == headline)


def squeeze(text):
    return "".join(text.split())


def test_similar_to_a_story_excludes_itself_and_explains(engine):
    story = story_named(engine, "乡贤润桑梓 共拓幸福路")
    hits = engine.similar.similar_to_story(story.id, 5)
    assert len(hits) == 5 and story.id not in [h.docid for h in hits]
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert squeeze(hit.reason["passage"].rstrip("…"))[:30] in squeeze(story.text)
        assert squeeze(hit.reason["match"].rstrip("…"))[:30] in squeeze(engine.stories[hit.docid].text)
    # other stories of village worthies are the closest practices
    top3 = {engine.stories[h.docid].headline for h in hits[:3]}
    assert top3 <= {"凝心聚力 促进村强民富", "刚柔并济 为家乡助力", "建设“青春之城” 涌动乡贤力量",
                    "乡贤都来帮帮 共治力量充沛"}


def test_similar_to_a_description(engine):
    hits = engine.similar.similar_to_text("饭店油烟扰民，居民投诉多，怎么监管", 3)
    assert FUMES in [engine.stories[h.docid].headline for h in hits]
    assert hits[0].reason["passage"] is None and hits[0].reason["match"]


@pytest.mark.parametrize("text", ["量子计算机", "火星探测器发射", "NBA篮球比赛"])
def test_a_description_the_archive_never_reported_finds_nothing(engine, text):
    """Similar stories to a text keep the search's floors: a question about
    something the archive never reported finds no story (it found the 26
    least distant of 38, at similarities of 0.80 to 0.84)."""
    assert engine.similar_hits(text=text, k=50) == []
    assert engine.search(text, "semantic", 50) == []


def test_similar_to_a_description_keeps_what_is_close_in_meaning(engine):
    found = engine.similar_hits(text="老旧小区停车难怎么解决", k=50)
    floors = engine.semantic.floors
    assert found and all(hit.score >= floors.word for hit, _ in found)
    assert any(hit.score < floors.similarity for hit, _ in found)  # (held a term of the text)


@pytest.fixture(scope="module")
def reprinted(tmp_path_factory, embedder):
    """A corpus where one story is printed again in another file, once verbatim
    and once with a place name changed."""
    from storysearch.index import layout
    from storysearch.index.segment import split_stories

    corpus = tmp_path_factory.mktemp("reprint")
    page = (layout.DEFAULT_CORPUS / "001_b59fd8846a464d7b.txt").read_text(encoding="utf-8")
    (corpus / "001.txt").write_text(page, encoding="utf-8")
    fumes = next(s for s in split_stories("001.txt", page) if s.headline == FUMES)
    body = "\n\n".join(fumes.paragraphs)
    (corpus / "002.txt").write_text(f"{FUMES}\n\n{body}\n", encoding="utf-8")
    (corpus / "003.txt").write_text(f"{FUMES}\n\n{body.replace('临平区', '余杭区')}\n\n(记者 王五)\n",
                                    encoding="utf-8")
    folder = tmp_path_factory.mktemp("reprint-index") / "index"
    build_index(corpus, folder, DEFAULT_MODEL)
    return SearchEngine(folder, embedder)


def test_similar_leaves_out_reprints_of_the_story(reprinted):
    original = next(s for s in reprinted.stories.values() if s.headline == FUMES and s.source == "001.txt")
    hits = reprinted.similar.similar_to_story(original.id, 5)
    assert FUMES not in [reprinted.stories[h.docid].headline for h in hits]


def test_reprints_among_results_collapse_into_the_fullest(reprinted):
    hits = reprinted.similar.similar_to_text("餐饮油烟 监管 投诉", 5)
    fumes = [h for h in hits if reprinted.stories[h.docid].headline == FUMES]
    assert len(fumes) == 1
    copies = [s for s in reprinted.stories.values() if s.headline == FUMES]
    assert len(reprinted.stories[fumes[0].docid].text) == max(len(s.text) for s in copies)


def test_similar_api(client, engine):
    story = story_named(engine, FUMES)
    data = client.get(f"/api/similar/{story.id}", query_string={"k": 3}).get_json()
    assert data["about"]["id"] == story.id and len(data["hits"]) == 3
    assert {"id", "headline", "source", "score", "rank", "reason"} <= set(data["hits"][0])
    by_text = client.get("/api/similar", query_string={"text": "老人搬到城里跟子女生活，怎么融入社区"}).get_json()
    assert "因缘际会 老有所为" in [h["headline"] for h in by_text["hits"][:3]]
    assert client.get("/api/similar/nope").status_code == 404
    missing = client.get("/api/similar")
    assert missing.status_code == 400 and missing.get_json()["ok"] is False


def test_story_page_has_a_similar_practices_panel(client, engine):
    story = story_named(engine, FUMES)
    page = client.get(f"/story/{story.id}").get_data(as_text=True)
    assert 'id="similar"' in page and "相似做法" in page
    assert page.count("/story/") >= 5


def test_similar_cli(corpus_index, engine, capsys):
    story = story_named(engine, FUMES)
    assert main(["similar", story.id, "--index", str(corpus_index), "--json", "-k", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 2
    assert main(["similar", "--text", "电动车充电起火", "--index", str(corpus_index)]) == 0
    assert "电车消防 时刻紧抓" in capsys.readouterr().out
    assert main(["similar", "--index", str(corpus_index)]) == 2
    assert main(["similar", "no-such-story", "--index", str(corpus_index)]) == 2
    assert "no story with id" in capsys.readouterr().err
