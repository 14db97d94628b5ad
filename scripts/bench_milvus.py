"""Agreement and latency of the Milvus backend against the embedded one,
on the bundled corpus (its judged queries) and on CMRC 2018 dev, unfiltered
and filtered.

    python scripts/bench_milvus.py [--data …/cmrc2018_dev.json] [--cache DIR] [--questions N]

Each corpus is indexed once as `storysearch index` writes a generation
(CMRC: its 848 paragraphs as stories, as scripts/bench_quality.py reads
them), exported into a Milvus Lite file, and every query asked of both
backends in each mode (k=10, the ranking cache emptied before each): MRR@10
of each, the share of queries whose top hit is the same (two empty lists
agree), and search latency p50/p95 in ms. Query vectors come from the
embedding cache (default ~/.cache/storysearch/embeddings) and are computed
once, so the times are the searches', not the model's.

Filtered: CMRC's paragraphs have no paper or date, so each is given one of
PAPERS and a date in 2020 to 2023 by its position (filters never change a
score, so the unfiltered figures are those of CMRC as it is); the first
FILTERED_QUESTIONS questions are asked with each of FILTERS, in every mode:
the share of requests whose ten hits are the same in both backends, and
latency p50/p95.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from importlib import metadata
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe, percentile  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.analysis import analyzer_settings  # noqa: E402
from storysearch.index.build import GenerationWriter, build_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from storysearch.index.embedding_cache import EmbeddingCache, default_cache_dir, embed_with_cache  # noqa: E402
from storysearch.index.keyword_store import write_keyword_side  # noqa: E402
from storysearch.index.milvus_store import export_generation  # noqa: E402
from storysearch.index.practice_index import write_practice_index  # noqa: E402
from storysearch.index.stories import write_story_file  # noqa: E402
from storysearch.index.vectors import write_semantic_index  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.evaluation import evaluate, read_qrels, read_queries  # noqa: E402
from storysearch.searcher.milvus import MilvusEngine  # noqa: E402
from storysearch.searcher.semantic import embedding_text  # noqa: E402

MODES = ("keyword", "semantic", "hybrid")
JUDGED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "judged"
K = 10
PAPERS = ("甲报", "乙报", "丙报", "丁报")
# about a quarter, a quarter, a sixteenth of the paragraphs
FILTERS = ({"paper": "乙报"}, {"date_from": "2021", "date_to": "2021"}, {"paper": "丙报", "date_from": "2022-01",
                                                                       "date_to": "2022-12"})
FILTERED_QUESTIONS = 200


def cmrc_generation(folder: Path, stories, embedder, cache: EmbeddingCache) -> None:
    """A generation of the CMRC paragraphs, written as a build writes one (a corpus of pages would be segmented)."""
    folder.mkdir(parents=True)
    with GenerationWriter(folder) as writer:
        generation = writer.path
        write_keyword_side(generation / layout.WHOOSH, generation / layout.SPARSE, stories)
        info = write_semantic_index(generation, stories, embedder, cache)
        write_practice_index(generation, stories, embedder, cache)
        write_story_file(generation / layout.STORIES, generation / layout.STORY_INDEX,
                         [(stories[0].source, stories)])
        writer.commit({"files": {stories[0].source: {"sha256": "", "stories": len(stories)}},
                       "counts": {"stories": len(stories), "passages": info["passages"]},
                       "analyzer": analyzer_settings(),
                       "model": {key: value for key, value in info.items() if key not in ("passages", "embedded")}})


def with_cached_queries(embedder, texts: list[str], cache: EmbeddingCache) -> None:
    """The model answers these query texts from vectors computed once (from the cache)."""
    vectors, _ = embed_with_cache(texts, embedder.encode_queries, cache)
    known = dict(zip(texts, vectors))
    embed = embedder.query_vector
    embedder.query_vector = lambda text: known[text] if text in known else embed(text)


def with_papers_and_dates(stories):
    """Each story with one of PAPERS and a date, by its position (something for filters to narrow)."""
    return [replace(story, paper=PAPERS[number % len(PAPERS)],
                    date=f"{2020 + number // 7 % 4}-{1 + number % 12:02d}-{1 + number % 28:02d}")
            for number, story in enumerate(stories)]


def run(engine, questions: list[tuple[str, str]], mode: str, filters=None) -> tuple[dict[str, list[str]], list[float]]:
    runs, times = {}, []
    for qid, question in questions:
        engine.forget_results()
        started = time.perf_counter()
        hits = engine.search(question, mode, K, filters)
        times.append((time.perf_counter() - started) * 1000)
        runs[qid] = [hit.docid for hit in hits]
    return runs, times


def compare_filtered(name: str, embedded, milvus, questions) -> None:
    questions = questions[:FILTERED_QUESTIONS]
    print(f"\n{name}, filtered: {len(questions)} queries, each with every filter, k={K}")
    print(f"  {'filter':<44} {'mode':<9} {'same top 10':>11}   {'p50/p95 ms embedded':>20} {'Milvus':>14}")
    for filters in FILTERS:
        for mode in MODES:
            found = {}
            for backend, engine in (("embedded", embedded), ("milvus", milvus)):
                run(engine, questions[:10], mode, filters)  # warm
                found[backend] = run(engine, questions, mode, filters)
            same = sum(found["embedded"][0][qid] == found["milvus"][0][qid] for qid, _ in questions)
            times = {backend: f"{percentile(t, 50):.1f} / {percentile(t, 95):.1f}" for backend, (_, t) in found.items()}
            label = "&".join(f"{name}={value}" for name, value in filters.items())
            print(f"  {label:<44} {mode:<9} {same / len(questions):>11.1%}   "
                  f"{times['embedded']:>20} {times['milvus']:>14}")


def compare(name: str, embedded, milvus, questions, qrels) -> None:
    print(f"\n{name}: {len(embedded.stories)} stories, {len(questions)} queries, k={K}")
    print(f"  {'mode':<9} {'MRR@10 embedded':>15} {'Milvus':>8} {'diff':>8} {'same top':>9}   "
          f"{'p50/p95 ms embedded':>20} {'Milvus':>14}")
    for mode in MODES:
        found = {}
        for backend, engine in (("embedded", embedded), ("milvus", milvus)):
            run(engine, questions[:20], mode)  # warm: lazy parts, caches, Milvus's first searches
            found[backend] = run(engine, questions, mode)
        mrr = {backend: evaluate(runs, qrels)["mrr@10"] for backend, (runs, _) in found.items()}
        same = sum(found["embedded"][0][qid][:1] == found["milvus"][0][qid][:1] for qid, _ in questions)
        times = {backend: f"{percentile(t, 50):.1f} / {percentile(t, 95):.1f}" for backend, (_, t) in found.items()}
        print(f"  {mode:<9} {mrr['embedded']:>15.4f} {mrr['milvus']:>8.4f} {mrr['milvus'] - mrr['embedded']:>+8.4f} "
              f"{same / len(questions):>9.1%}   {times['embedded']:>20} {times['milvus']:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--questions", type=int, default=None, help="ask only the first N CMRC questions")
    args = parser.parse_args()
    print(describe() + "; " + "; ".join(f"{name} {metadata.version(name)}" for name in ("pymilvus", "milvus-lite")))
    embedder = load_embedder(DEFAULT_MODEL, "float32")
    documents = EmbeddingCache(args.cache, embedder.name, embedder.document_prompt, embedder.dimension, "float32")
    queries = EmbeddingCache(args.cache, embedder.name, embedder.query_prompt, embedder.dimension, "float32")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        judged = read_queries(JUDGED / "queries.tsv")
        with_cached_queries(embedder, [embedding_text(q) for q in judged.values()], queries)
        build_index(layout.DEFAULT_CORPUS, tmp / "bundled", DEFAULT_MODEL, cache_dir=args.cache, precision="float32")
        started = time.perf_counter()
        export_generation(layout.current_generation(tmp / "bundled"), str(tmp / "bundled.db"))
        print(f"bundled corpus exported to Milvus Lite in {time.perf_counter() - started:.1f} s")
        compare("bundled corpus (tests/fixtures/judged)", SearchEngine(tmp / "bundled", embedder),
                MilvusEngine(str(tmp / "bundled.db"), embedder), list(judged.items()),
                read_qrels(JUDGED / "qrels.txt"))

        stories, questions, qrels = cmrc.load(args.data)
        stories = with_papers_and_dates(stories)
        questions = questions[:args.questions]
        with_cached_queries(embedder, [embedding_text(q) for _, q in questions], queries)
        cmrc_generation(tmp / "cmrc", stories, embedder, documents)
        started = time.perf_counter()
        export_generation(layout.current_generation(tmp / "cmrc"), str(tmp / "cmrc.db"))
        print(f"\nCMRC 2018 dev exported to Milvus Lite in {time.perf_counter() - started:.1f} s")
        embedded, milvus = SearchEngine(tmp / "cmrc", embedder), MilvusEngine(str(tmp / "cmrc.db"), embedder)
        compare("CMRC 2018 dev", embedded, milvus, questions, {qid: qrels[qid] for qid, _ in questions})
        compare_filtered("CMRC 2018 dev", embedded, milvus, questions)
    documents.close()
    queries.close()


if __name__ == "__main__":
    main()
