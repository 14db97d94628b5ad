"""Calibrating the similarity floors: a story found only by meaning is shown
(and counted) when it is close in meaning, its best passage at least the
floor ``similarity`` similar to the query, or at least ``word`` when it also
holds one of the query's terms (searcher/floors.py, one pair per precision);
so a query about something the archive never reported can be answered with
"nothing found".

    python scripts/bench_floor.py [--cache DIR] [--precision float32|int8]

Two kinds of queries that should find nothing, and two that should find
something, each scored by the best passage similarity (cosine,
multilingual-e5-small) of the stories they find:

- out of domain: tests/fixtures/out_of_domain/queries.txt (36 topics the
  bundled corpus never reports) against the bundled corpus;
- CMRC 2018 dev with every other article left out of the index: the
  questions about the left-out articles ("held out");
- CMRC questions about the indexed articles: is their paragraph, when
  semantic search ranks it in the top 10, still above the floor ("recall
  kept");
- the judged set of the bundled corpus (tests/fixtures/judged): relevant
  stories in the semantic top 10 still above the floor.

For each pair of candidate floors it prints the false-hit rates (queries
with any story close in meaning) and the recall kept (relevant stories
found still close in meaning), and the pair that keeps at least
RECALL_TARGET of both recalls with the fewest false hits.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, PRECISIONS, load_embedder  # noqa: E402
from storysearch.index.embedding_cache import EmbeddingCache, default_cache_dir, embed_with_cache  # noqa: E402
from storysearch.index.stories import read_stories  # noqa: E402
from storysearch.index.keyword_store import write_keyword_side  # noqa: E402
from storysearch.index.vectors import write_semantic_index  # noqa: E402
from storysearch.searcher.evaluation import read_qrels, read_queries  # noqa: E402
from storysearch.searcher.lexical import KeywordSearcher  # noqa: E402
from storysearch.searcher.query import parse_query  # noqa: E402
from storysearch.searcher.floors import FLOORS as FLOORS_IN_USE, floors_for  # noqa: E402
from storysearch.searcher.semantic import SemanticSearcher  # noqa: E402
from storysearch.searcher.table import StoryTable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT_OF_DOMAIN = ROOT / "tests" / "fixtures" / "out_of_domain" / "queries.txt"
JUDGED = ROOT / "tests" / "fixtures" / "judged"
FLOORS = [round(0.82 + 0.005 * i, 3) for i in range(17)]
WORD_FLOORS = [round(0.82 + 0.005 * i, 3) for i in range(11)]
RECALL_TARGET = 0.95
K = 10


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


Found = list[tuple[float, bool]]  # (similarity, holds one of the query's terms) of a story found


def found_stories(semantic: SemanticSearcher, keyword: KeywordSearcher, vector, query: str) -> list[tuple[str, float, bool]]:
    holds = keyword.holding_any(parse_query(query))
    return [(hit.docid, hit.score, bool(holds[keyword.table.row[hit.docid]]))
            for hit in semantic.search_vector(vector, K, floored=False)]


def best(semantic, keyword, vectors, queries) -> list[Found]:
    """Each query's stories found (that should not be)."""
    return [[(score, holds) for _, score, holds in found_stories(semantic, keyword, vector, query)]
            for vector, query in zip(vectors, queries)]


def kept(semantic, keyword, vectors, queries, relevant: list[set[str]]) -> Found:
    """Each relevant story that the semantic top K holds."""
    found = []
    for vector, query, wanted in zip(vectors, queries, relevant):
        found += [(score, holds) for docid, score, holds in found_stories(semantic, keyword, vector, query)
                  if docid in wanted]
    return found


def searchers(folder: Path, stories, embedder) -> tuple[SemanticSearcher, KeywordSearcher]:
    table = StoryTable(stories)
    return SemanticSearcher(folder, embedder, {s.id: s for s in stories}, table), KeywordSearcher(folder, table)


def bundled(embedder, cache_dir: Path, tmp: Path) -> tuple[list[Found], Found]:
    folder = tmp / "bundled"
    build_index(layout.DEFAULT_CORPUS, folder, embedder.name, cache_dir=cache_dir)
    generation = layout.current_generation(folder)
    semantic, keyword = searchers(generation, read_stories(generation / layout.STORIES), embedder)
    outside = read_lines(OUT_OF_DOMAIN)
    queries, qrels = read_queries(JUDGED / "queries.tsv"), read_qrels(JUDGED / "qrels.txt")
    judged = [queries[q] for q in queries if q in qrels]
    return (best(semantic, keyword, [semantic.embed(q) for q in outside], outside),
            kept(semantic, keyword, [semantic.embed(q) for q in judged], judged,
                 [set(qrels[q]) for q in queries if q in qrels]))


def cmrc_half(embedder, cache_dir: Path, tmp: Path) -> tuple[list[Found], Found, int]:
    """(stories found for each held-out question, relevant stories found in
    the top K for the indexed questions, indexed questions)."""
    data = json.loads(cmrc.DEFAULT.read_text(encoding="utf-8"))["data"]
    kept_ids = {p["id"] for article in data[::2] for p in article["paragraphs"]}
    stories, questions, qrels = cmrc.load()
    indexed = [s for s in stories if s.id in kept_ids]
    folder = tmp / "cmrc"
    folder.mkdir()
    write_keyword_side(folder / layout.WHOOSH, folder / layout.SPARSE, indexed)
    cache = EmbeddingCache(cache_dir, embedder.name, embedder.document_prompt, embedder.dimension, embedder.precision)
    write_semantic_index(folder, indexed, embedder, cache, ann_threshold=10**9)
    cache.close()
    semantic, keyword = searchers(folder, indexed, embedder)
    qcache = EmbeddingCache(cache_dir, embedder.name, embedder.query_prompt, embedder.dimension, embedder.precision)
    vectors, _ = embed_with_cache([q for _, q in questions], embedder.encode_queries, qcache)
    qcache.close()
    inside = [i for i, (qid, _) in enumerate(questions) if next(iter(qrels[qid])) in kept_ids]
    outside = [i for i, (qid, _) in enumerate(questions) if next(iter(qrels[qid])) not in kept_ids]
    held_out = best(semantic, keyword, [vectors[i] for i in outside], [questions[i][1] for i in outside])
    found = kept(semantic, keyword, [vectors[i] for i in inside], [questions[i][1] for i in inside],
                 [set(qrels[questions[i][0]]) for i in inside])
    return held_out, found, len(inside)


def close(score: float, holds: bool, floor: float, word_floor: float) -> bool:
    return score >= floor or (holds and score >= word_floor)


def false_hits(queries: list[Found], floor: float, word_floor: float) -> float:
    return float(np.mean([any(close(s, h, floor, word_floor) for s, h in found) for found in queries]))


def recall(found: Found, floor: float, word_floor: float) -> float:
    return float(np.mean([close(s, h, floor, word_floor) for s, h in found]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--precision", choices=PRECISIONS, help="the model's (default: the setting in force)")
    args = parser.parse_args()
    print(describe())
    embedder = load_embedder(DEFAULT_MODEL, args.precision)
    in_use = floors_for(embedder.precision) if embedder.precision in FLOORS_IN_USE else None
    print(f"model precision {embedder.precision}, runtime {embedder.runtime}")
    with tempfile.TemporaryDirectory() as tmp:
        outside, judged = bundled(embedder, args.cache, Path(tmp))
        held_out, found, asked = cmrc_half(embedder, args.cache, Path(tmp))
    print(f"out of domain: {len(outside)} queries against the bundled corpus; judged set: {len(judged)} relevant "
          f"stories in the semantic top {K}; CMRC 2018 dev, every other article indexed: {len(held_out)} questions "
          f"about the others, {len(found)} of {asked} questions about the indexed ones with their paragraph in the "
          f"top {K}")
    for name, queries in (("out of domain", outside), ("CMRC held out", held_out)):
        top = [max((s for s, _ in f), default=0.0) for f in queries]
        print(f"similarity of the best story, {name}: " + ", ".join(
            f"p{q} {np.percentile(top, q):.3f}" for q in (50, 90, 100)))
    for name, stories in (("judged", judged), ("CMRC", found)):
        print(f"similarity of the relevant stories found, {name}: " + ", ".join(
            f"p{q} {np.percentile([s for s, _ in stories], q):.3f}" for q in (0, 5, 50)))
    print("| floor | floor with a query term | false hits, out of domain | false hits, CMRC held out "
          "| recall kept, judged | recall kept, CMRC |")
    print("| --- | --- | --- | --- | --- | --- |")
    pairs = [(f, w) for f in FLOORS for w in sorted(set(WORD_FLOORS) | {f}) if w <= f]
    for floor, word_floor in pairs:
        mark = " (in use)" if in_use and (floor, word_floor) == (in_use.similarity, in_use.word) else ""
        print(f"| {floor:.3f}{mark} | {word_floor:.3f} | {false_hits(outside, floor, word_floor):.3f} | "
              f"{false_hits(held_out, floor, word_floor):.3f} | {recall(judged, floor, word_floor):.3f} | "
              f"{recall(found, floor, word_floor):.3f} |")
    eligible = [(f, w) for f, w in pairs if recall(judged, f, w) >= RECALL_TARGET and recall(found, f, w) >= RECALL_TARGET]
    if eligible:
        chosen = min(eligible, key=lambda p: (false_hits(outside, *p), false_hits(held_out, *p), -recall(judged, *p)))
        print(f"floors keeping at least {RECALL_TARGET:.0%} of both recalls with the fewest false hits (out of "
              f"domain first): {chosen[0]:.3f}, {chosen[1]:.3f} with a query term")


if __name__ == "__main__":
    main()
