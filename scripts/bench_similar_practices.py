"""Similar practices: practice answers against story answers, on judged questions.

    python scripts/bench_similar_practices.py [--index DIR] [--questions tests/fixtures/similar_practices.json]

Builds an index of the bundled corpus (or opens --index) and asks every
"how did other places solve X?" question of the judged set three ways:
practices (searcher/practice_answers.py: meaning and words fused), practices
by meaning alone, and similar stories (what `storysearch similar` answered
before practices). Prints nDCG@10 (gains 2^grade - 1) of each, where a
practice answer is one practice of one place graded by its judged name and
a story answer is graded by the best judged practice it reports (practice
answers come grouped by place, best first: they are read in that order, a
place's best practice then its others); and how
many of the judged practices the first ten answers reach (for stories: the
practices the ten stories report), what share of the practices shown are
judged relevant, and how many characters a reader goes through (practice
names and definitions, or the ten stories). The bundled corpus has 38
stories: ten story answers are a quarter of it, which favours stories on
"reached"; the share and the reading say what the reader pays. Also how many out-of-domain questions
(tests/fixtures/out_of_domain/queries.txt) get any practice answer.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchinfo import describe, ratio  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.practices import practice_key  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.evaluation import ndcg_at  # noqa: E402
from storysearch.index.embedding import PRECISIONS  # noqa: E402

OUT_OF_DOMAIN = ROOT / "tests" / "fixtures" / "out_of_domain" / "queries.txt"
CUTOFF = 10
CANDIDATE_FLOORS = [round(0.86 + 0.01 * i, 2) for i in range(10)]
RECALL_TARGET = 0.95


def answer_id(key: str, place: str) -> str:
    return f"{key}@{place}"


def judged(engine: SearchEngine, relevant: dict[str, int]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The grades of practice answers (key@place), of stories, and of practice keys."""
    grades = {practice_key(name): grade for name, grade in relevant.items()}
    answers, stories = {}, {}
    for story in engine.stories.values():
        for practice in story.practices:
            grade = grades.get(practice["key"], 0)
            if grade:
                answers[answer_id(practice["key"], practice.get("place", ""))] = grade
                stories[story.id] = max(stories.get(story.id, 0), grade)
    return answers, stories, grades


def add(total: dict, ndcg: float, keys: list[str], grades: dict[str, int], chars: int) -> None:
    """One question's answers into a method's totals: ``keys`` are the practices shown."""
    total["ndcg"] += ndcg
    total["reached"] += len({key for key in keys if grades.get(key, 0) > 0})
    total["shown"] += len(keys)
    total["relevant"] += sum(1 for key in keys if grades.get(key, 0) > 0)
    total["chars"] += chars


def floor_splits(engine: SearchEngine, questions: list[dict]) -> None:
    """How the floors of story-to-practice (``story_practice``) and
    practice-to-practice similarity (``elsewhere``) split judged pairs, and
    the highest floor keeping RECALL_TARGET of the relevant ones. For
    each question, from a story reporting a practice judged 2 for it (or from
    that practice): the other practices judged 2 for it are relevant, the
    practices judged only for other questions irrelevant."""
    finder = engine.practice_finder
    judged = {practice_key(name) for item in questions for name in item["relevant"]}
    pairs = {"story-to-practice": ([], []), "practice-to-practice": ([], [])}
    for item in questions:
        solving = {practice_key(name) for name, grade in item["relevant"].items() if grade == 2}
        bearing = {practice_key(name) for name in item["relevant"]}
        sources = [("story-to-practice", lambda row, story=story: row["story"] == story.id,
                    finder.nearest_to_story(story.id, len(finder.rows)))
                   for story in engine.stories.values() if any(p["key"] in solving for p in story.practices)]
        sources += [("practice-to-practice", lambda row, key=key: row["key"] == key,
                     finder.nearest_to_practice(key, len(finder.rows))) for key in solving]
        for kind, own, nearest in sources:
            relevant, irrelevant = pairs[kind]
            for row, similarity in nearest.items():
                key = finder.rows[row]["key"]
                if own(finder.rows[row]):
                    continue
                if key in solving:
                    relevant.append(similarity)
                elif key in judged and key not in bearing:
                    irrelevant.append(similarity)
    in_use = (finder.floors.story_practice, finder.floors.elsewhere)
    for (kind, (relevant, irrelevant)), used in zip(pairs.items(), in_use):
        print(f"\n{kind} similarity: {len(relevant)} judged relevant pairs, {len(irrelevant)} irrelevant")
        kept = {floor: sum(s >= floor for s in relevant) / len(relevant) for floor in CANDIDATE_FLOORS}
        for floor in CANDIDATE_FLOORS:
            print(f"  floor {floor:.2f}: relevant kept {ratio(kept[floor])}, "
                  f"irrelevant kept {ratio(sum(s >= floor for s in irrelevant) / len(irrelevant))}"
                  + ("  (in use)" if floor == used else ""))
        print(f"  highest floor keeping {RECALL_TARGET:.0%} of the relevant pairs: "
              f"{max((f for f in CANDIDATE_FLOORS if kept[f] >= RECALL_TARGET), default=None)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an index of the bundled corpus (default: build one)")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "fixtures" / "similar_practices.json")
    parser.add_argument("--show", action="store_true", help="print each question's first answers")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="the model's, for the index built (default: the setting in force)")
    args = parser.parse_args()
    print(describe())
    questions = json.loads(args.questions.read_text(encoding="utf-8"))["questions"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.index or Path(tmp) / "index"
        if args.index is None:
            build_index(layout.DEFAULT_CORPUS, folder, precision=args.precision)
        engine = SearchEngine(folder)
        print(f"model precision {engine.precision}")
        finder = engine.practice_finder
        print(f"{len(engine.stories)} stories, {len(finder.rows)} practice rows, {len(questions)} judged questions")
        totals = {name: {"ndcg": 0.0, "reached": 0, "shown": 0, "relevant": 0, "chars": 0}
                  for name in ("practices", "meaning only", "stories")}
        judged_keys, seconds = 0, []
        for item in questions:
            question = item["question"]
            answers_graded, stories_graded, grades = judged(engine, item["relevant"])
            judged_keys += sum(1 for grade in grades.values() if grade > 0)
            vector = engine.semantic.embed_text(question)
            started = time.perf_counter()
            practices = engine.similar_practices(text=question, k=CUTOFF)
            seconds.append(time.perf_counter() - started)
            meaning = finder.for_text(question, vector, CUTOFF, words=False)
            stories = engine.similar_hits(text=question, k=CUTOFF)
            for name, places in (("practices", practices), ("meaning only", meaning)):
                answers = [answer for place in places for answer in (place, *place.also)][:CUTOFF]
                add(totals[name], ndcg_at([answer_id(a.key, a.place) for a in answers], answers_graded, CUTOFF),
                    [a.key for a in answers], grades, sum(len(a.name) + len(a.definition) for a in answers))
            add(totals["stories"], ndcg_at([hit.docid for hit, _ in stories], stories_graded, CUTOFF),
                [p["key"] for _, story in stories for p in story.practices], grades,
                sum(len(story.text) for _, story in stories))
            if args.show:
                print(f"\n{question}")
                for place in practices:
                    for answer in (place, *place.also):
                        print(f"  {place.rank:>2} {grades.get(answer.key, 0)} {answer.name} ({answer.place or '-'}) "
                              f"{answer.score:.3f} {'+'.join(answer.found_by)}")
        print(f"\n{'answers':<14} nDCG@{CUTOFF}  judged practices reached in the first {CUTOFF} (of {judged_keys})  "
              f"relevant share of practices shown  characters read per question")
        for name, total in totals.items():
            print(f"{name:<14} {ratio(total['ndcg'] / len(questions))}   {total['reached']} "
                  f"({ratio(total['reached'] / judged_keys)})   {total['relevant']} of {total['shown']} "
                  f"({ratio(total['relevant'] / max(total['shown'], 1))})   {total['chars'] / len(questions):,.0f}")
        floor_splits(engine, questions)
        outside = [line.strip() for line in OUT_OF_DOMAIN.read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.startswith("#")]
        answered = [q for q in outside if engine.similar_practices(text=q, k=CUTOFF)]
        print(f"out-of-domain questions with any practice answer: {len(answered)} of {len(outside)}"
              + (f" ({'; '.join(answered[:5])})" if answered else ""))
        seconds.sort()
        print(f"practice answer time (query embedding cached): median {seconds[len(seconds) // 2] * 1000:.1f} ms, "
              f"max {seconds[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
