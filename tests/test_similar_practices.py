"""Similar practices answered with practices: the practice index, the
answers to a question, a story and a practice, and the API, CLI and pages."""
import json
import shutil
from pathlib import Path

import pytest

from storysearch.cli import main
from storysearch.index import layout
from storysearch.index.build import build_index
from storysearch.index.check import check_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.practice_index import read_rows
from storysearch.index.practices import practice_key
from storysearch.searcher.evaluation import ndcg_at

QUESTIONS = json.loads((Path(__file__).parent / "fixtures" / "similar_practices.json").read_text(encoding="utf-8"))
PARKING = "老旧小区停车难怎么解决"


def grades(question: str) -> dict[str, int]:
    item = next(q for q in QUESTIONS["questions"] if q["question"] == question)
    return {practice_key(name): grade for name, grade in item["relevant"].items()}


def test_the_judged_practices_are_practices_of_the_corpus(engine):
    assert len(QUESTIONS["questions"]) >= 20
    keys = set(engine.practices.practices)
    for item in QUESTIONS["questions"]:
        missing = [name for name in item["relevant"] if practice_key(name) not in keys]
        assert not missing, f"{item['question']}: {missing}"


def test_every_practice_of_every_story_has_a_row(engine, corpus_index):
    rows = read_rows(layout.current_generation(corpus_index))
    assert sorted((r["story"], r["key"]) for r in rows) == sorted(
        (s.id, p["key"]) for s in engine.stories.values() for p in s.practices)
    assert engine.practice_finder.vectors.ntotal == len(rows)


def test_a_question_is_answered_with_practices_grouped_by_place(engine):
    answers = engine.similar_practices(text=PARKING, k=10)
    wanted = grades(PARKING)
    assert wanted.get(answers[0].key) == 2 and answers[0].place == "崇贤街道"
    assert "亭廊议事会议" in [other.name for other in answers[0].also]  # the place's other answer
    assert [a.rank for a in answers] == list(range(1, len(answers) + 1))
    assert len({a.place or a.story for a in answers}) == len(answers)
    for place in answers:
        assert all(other.place == place.place and other.score <= place.score for other in place.also)
        assert len({place.key, *(other.key for other in place.also)}) == 1 + len(place.also)
    for answer in [answer for place in answers for answer in (place, *place.also)]:
        story = engine.stories[answer.story]
        record = next(p for p in story.practices if p["key"] == answer.key)
        assert (answer.name, answer.kind, answer.place, answer.definition) == (
            record["name"], record["kind"], record["place"], record["definition"])
        assert answer.found_by and set(answer.found_by) <= {"keyword", "semantic"}


def test_a_question_from_elsewhere_gets_no_practice(engine):
    assert engine.similar_practices(text="今天天气怎么样", k=10) == []


def test_words_and_meaning_rank_the_judged_practices_better_than_meaning_alone(engine):
    """The whole judged set: the fused answers reach the nDCG@10 the README reports."""
    finder, fused, meaning = engine.practice_finder, 0.0, 0.0
    for item in QUESTIONS["questions"]:
        wanted = grades(item["question"])
        graded = {f"{p['key']}@{p['place']}": wanted[p["key"]] for s in engine.stories.values()
                  for p in s.practices if wanted.get(p["key"], 0) > 0}
        vector = engine.semantic.embed_text(item["question"])
        for answers, add in ((engine.similar_practices(text=item["question"], k=10), "fused"),
                             (finder.for_text(item["question"], vector, 10, words=False), "meaning")):
            read = [answer for place in answers for answer in (place, *place.also)]
            score = ndcg_at([f"{a.key}@{a.place}" for a in read], graded, 10)
            fused, meaning = (fused + score, meaning) if add == "fused" else (fused, meaning + score)
    count = len(QUESTIONS["questions"])
    assert fused / count >= 0.75 and fused > meaning


def test_a_story_gets_practices_of_other_stories_not_its_own(engine):
    story = next(s for s in engine.stories.values() if s.headline == "乡贤润桑梓 共拓幸福路")
    own = {p["key"] for p in story.practices}
    answers = engine.similar_practices(story_id=story.id, k=5)
    assert len(answers) == 5
    assert all(a.story != story.id and a.key not in own for a in answers)
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)


def test_the_practices_elsewhere_are_of_other_places(engine):
    practice = engine.practices.get("六事工作法")
    places = {place["name"] for place in practice.places}
    answers = engine.practices_elsewhere(practice, 5)
    assert answers and all(a.place and a.place not in places and a.key != practice.key for a in answers)
    assert all(a.similarity >= engine.practice_finder.floors.elsewhere for a in answers)
    assert len(engine.practices_elsewhere(engine.practices.get("乡贤回归工程"), 5)) == 5


def test_api_similar_answers_practices_first(client):
    body = client.get("/api/similar", query_string={"text": PARKING, "k": 3}).get_json()
    assert set(body) == {"about", "practices", "hits"}
    assert 1 <= len(body["practices"]) <= 3 and len(body["hits"]) == 3
    first = body["practices"][0]
    assert set(first) == {"name", "key", "kind", "place", "definition", "score", "similarity", "rank", "found_by",
                          "story", "also"}
    assert first["similarity"] >= 0.85
    assert first["also"] and all(other["place"] == first["place"] for other in first["also"])
    assert first["place"] == "崇贤街道" and first["definition"] and first["story"]["headline"]
    story_id = first["story"]["id"]
    by_story = client.get(f"/api/similar/{story_id}", query_string={"k": 4}).get_json()
    assert len(by_story["practices"]) == 4 and all(p["story"]["id"] != story_id for p in by_story["practices"])


def test_story_page_panel_lists_practices_then_stories(client, engine):
    story = next(s for s in engine.stories.values() if s.headline == "乡贤润桑梓 共拓幸福路")
    page = client.get(f"/story/{story.id}").get_data(as_text=True)
    panel = page[page.index('id="similar"'):]
    first = engine.similar_practices(story_id=story.id, k=5)[0]
    assert 'class="practice-answers"' in panel and first.name in panel
    assert panel.index('class="practice-answers"') < panel.index("相似报道")
    listing = client.get(f"/story/{story.id}/similar").get_data(as_text=True)
    assert "practice-answers" in listing and first.definition[:15] in listing


def test_cli_similar_prints_practices_then_stories(corpus_index, capsys):
    assert main(["similar", "--index", str(corpus_index), "--text", PARKING, "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert out.index("相似做法") < out.index("崇贤街道") < out.index("相似报道")


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, embedder):
    corpus = tmp_path_factory.mktemp("practice-corpus")
    for name in sorted(p.name for p in layout.DEFAULT_CORPUS.glob("*.txt"))[:2]:
        shutil.copy(layout.DEFAULT_CORPUS / name, corpus / name)
    folder = tmp_path_factory.mktemp("practice-index") / "index"
    build_index(corpus, folder, DEFAULT_MODEL)
    return corpus, folder


def test_an_update_keeps_the_vectors_of_practices_it_did_not_read_again(small_index):
    corpus, folder = small_index
    first = sorted(corpus.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    report = build_index(corpus, folder, DEFAULT_MODEL)
    meta = layout.read_meta(layout.current_generation(folder))
    rows = read_rows(layout.current_generation(folder))
    again = sum(1 for row in rows if row["story"].startswith(first.stem))
    assert report.changed == [first.name]
    assert meta["model"]["practices"]["rows"] == len(rows)
    assert meta["model"]["practices"]["embedded"] == again < len(rows)
    assert check_index(folder).ok


def test_check_names_a_damaged_practice_index(small_index):
    _, folder = small_index
    rows = layout.current_generation(folder) / layout.PRACTICE_INDEX / "rows.jsonl"
    kept = rows.read_bytes()
    try:
        rows.write_text(kept.decode("utf-8").splitlines()[0] + "\n", encoding="utf-8")
        report = check_index(folder)
        assert not report.ok and any("practice" in problem for problem in report.problems)
    finally:
        rows.write_bytes(kept)


def test_a_story_that_names_no_place_is_one_answer_not_one_per_practice(engine):
    placeless = {s.id for s in engine.stories.values() if s.practices and not s.places}
    assert placeless  # the bundled corpus has one: the industrial park's community (高新区(滨江))
    answers = engine.similar_practices(text="产业园区企业多，社区怎么服务企业和员工", k=10)
    stories = [a.story for a in answers if not a.place]
    assert stories and len(stories) == len(set(stories))
    grouped = next(a for a in answers if not a.place)
    assert grouped.also and all(other.story == grouped.story for other in grouped.also)


def test_bad_similar_and_practice_requests_are_told_why_in_chinese(client):
    for query in ({"text": "。，！"}, {"text": "   "}):
        body = client.get("/api/similar", query_string=query)
        assert body.status_code == 400 and body.get_json()["message"]
    kind = client.get("/api/practices", query_string={"kind": "foo"})
    assert kind.status_code == 400 and "工作法" in kind.get_json()["message"]
    long = client.get("/api/practices", query_string={"q": "做法" * 100})
    assert long.status_code == 400 and "太长" in long.get_json()["message"]
    page = client.get("/practices", query_string={"kind": "foo"})
    assert page.status_code == 400 and "没有“foo”这个类别" in page.get_data(as_text=True)


def test_a_single_character_is_not_a_word_of_the_question(engine):
    """站 of 科考站 is in 网约配送站: no practice answers a question about the Antarctic."""
    assert engine.similar_practices(text="南极科考站", k=10) == []


def test_a_question_on_the_search_page_gets_practices_above_its_stories(client):
    page = client.get("/", query_string={"q": PARKING}).get_data(as_text=True)
    block = page[page.index('id="answering-title"'):]
    assert "崇贤街道" in block[:block.index("</section>")]
    assert block.index("practice-answers") < block.index('class="results"')
    more = client.get("/similar", query_string={"text": PARKING})
    listing = more.get_data(as_text=True)
    assert more.status_code == 200 and "各地的做法" in listing and "practice-answers" in listing
    for asked in ({"q": PARKING, "mode": "keyword"}, {"q": PARKING, "place": "临平区"}, {"q": PARKING, "page": 2}):
        assert 'id="answering-title"' not in client.get("/", query_string=asked).get_data(as_text=True)
    bad = client.get("/similar", query_string={"text": "。"})
    assert bad.status_code == 400 and "没有可以查找的文字" in bad.get_data(as_text=True)


def test_a_story_no_other_story_shares_gets_no_practice(engine):
    """The e-bike fire-safety story: the nearest practices are below the floor, none is shown."""
    floor = engine.practice_finder.floors.story_practice
    fire = next(s for s in engine.stories.values() if s.headline == "电车消防 时刻紧抓")
    assert engine.similar_practices(story_id=fire.id, k=5) == []
    near = engine.practice_finder.nearest_to_story(fire.id)
    assert near and max(near.values()) < floor
    for story in engine.stories.values():
        for answer in engine.similar_practices(story_id=story.id, k=3):
            assert answer.similarity >= floor
