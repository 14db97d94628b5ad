"""The embedding model in torch float32, onnxruntime float32 and onnxruntime
int8 (index/embedding.py, index/onnx_model.py), measured in one run.

    python scripts/bench_model.py [--queries 200] [--repeat 3] [--threads N] [--data …/cmrc2018_dev.json]

Speed, taking turns so that a busy machine slows both alike: query embedding,
one query at a time (distinct queries: the judged ones, then CMRC 2018 dev
questions), p50 and p95; passage embedding on the bundled corpus's real
passages, median passages/s over the repeats. Memory: the RSS of a fresh
process after loading the model and embedding one query. Agreement: the
cosine between int8's and float32's vectors of the same passages and queries,
and the largest difference between torch's and onnxruntime's float32 vectors.
Quality: CMRC 2018 dev MRR@10 per mode (scripts/bench_quality.py, all 3,219
questions; embeddings cached as there), and the judged queries over the
bundled corpus (tests/fixtures/judged/) on an index built at each precision
(float32's figures hold for both runtimes: their vectors agree within 1e-5).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_quality  # noqa: E402
import cmrc  # noqa: E402
from benchinfo import describe, percentile  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, PRECISIONS, load_embedder  # noqa: E402
from storysearch.index.settings import current as current_settings  # noqa: E402
from storysearch.index.embedding_cache import default_cache_dir  # noqa: E402
from storysearch.index.segment import segment_page  # noqa: E402
from storysearch.index.vectors import story_passage_rows  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.evaluation import evaluate, read_qrels, read_queries  # noqa: E402

JUDGED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "judged"
JUDGED_SETS = {"keyword questions": "k", "similar-practice questions": "p", "all": ""}  # by query id prefix
VARIANTS = (("torch", "float32"), ("onnx", "float32"), ("onnx", "int8"))  # (runtime, precision)


def label(variant: tuple[str, str]) -> str:
    return " ".join(variant)


def rss_after_loading(variant: tuple[str, str], threads: int | None) -> float:
    """MB resident in this (fresh) process once the model is loaded and has embedded a query."""
    if threads:
        os.environ["STORYSEARCH_MODEL_THREADS"] = str(threads)
    runtime, precision = variant
    load_embedder(DEFAULT_MODEL, precision, runtime).encode_queries(["乡贤参与基层治理"])
    with open("/proc/self/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def bundled_passages() -> list[str]:
    pages, _ = read_corpus(layout.DEFAULT_CORPUS)
    stories = [story for page in pages for story in segment_page(page.source, page.text).stories]
    return [row["text"] for row in story_passage_rows(stories)]


def in_turns(round_number: int) -> tuple[tuple[str, str], ...]:
    """Every variant, the first one changing from round to round."""
    shift = round_number % len(VARIANTS)
    return VARIANTS[shift:] + VARIANTS[:shift]


def cosines(a, b) -> str:
    found = (a * b).sum(axis=1)
    return f"min {found.min():.4f}, p5 {percentile(found.tolist(), 5):.4f}, mean {found.mean():.4f}"


def judged_scores(precision: str, folder: Path) -> dict[str, dict[str, dict]]:
    """Semantic and hybrid scores of the judged queries, per set, on the bundled corpus indexed at ``precision``."""
    build_index(layout.DEFAULT_CORPUS, folder / "index", DEFAULT_MODEL, cache_dir=folder / "cache",
                precision=precision)
    engine = SearchEngine(folder / "index")
    queries, qrels = read_queries(JUDGED / "queries.tsv"), read_qrels(JUDGED / "qrels.txt")
    scores: dict[str, dict[str, dict]] = {}
    for mode in ("semantic", "hybrid"):
        runs = engine.searcher(mode).batch_search(list(queries.values()), list(queries), 10)
        ranked = {qid: [hit.docid for hit in hits] for qid, hits in runs.items()}
        scores[mode] = {name: evaluate({q: r for q, r in ranked.items() if q.startswith(prefix)},
                                       {q: r for q, r in qrels.items() if q in queries and q.startswith(prefix)})
                        for name, prefix in JUDGED_SETS.items()}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200, help="distinct queries timed (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of passage embedding (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="model threads (default: each runtime's own choice)")
    parser.add_argument("--no-quality", action="store_true", help="speed, memory and agreement only")
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    parser.add_argument("--cache", type=Path, default=default_cache_dir(),
                        help="the CMRC embeddings' cache (default: %(default)s)")
    args = parser.parse_args()
    import onnxruntime
    import torch

    if args.threads:
        os.environ["STORYSEARCH_MODEL_THREADS"] = str(args.threads)
    print(describe())
    print(f"onnxruntime {onnxruntime.__version__}; model threads: {current_settings().model_threads or 'runtime choice'}")

    spawn = multiprocessing.get_context("spawn")
    rss = {}
    for variant in VARIANTS:
        with spawn.Pool(1) as pool:
            rss[variant] = pool.apply(rss_after_loading, (variant, args.threads))

    embedders = {}
    for variant in VARIANTS:
        started = time.perf_counter()
        embedders[variant] = load_embedder(DEFAULT_MODEL, variant[1], variant[0])
        print(f"{label(variant)} model loaded in {time.perf_counter() - started:.1f} s")
    if args.threads:
        torch.set_num_threads(args.threads)
    _, questions, _ = cmrc.load(args.data)
    queries = list(dict.fromkeys([*read_queries(JUDGED / "queries.tsv").values(), *(q for _, q in questions)]))
    queries = queries[:args.queries]
    passages = bundled_passages()
    for embedder in embedders.values():  # warm-up
        embedder.encode_queries(queries[:3])
        embedder.encode_documents(passages[:4])

    latency = {variant: [] for variant in VARIANTS}
    for number, query in enumerate(queries):
        for variant in in_turns(number):
            started = time.perf_counter()
            embedders[variant].encode_queries([query])
            latency[variant].append((time.perf_counter() - started) * 1000)
    throughput = {variant: [] for variant in VARIANTS}
    for number in range(args.repeat):
        for variant in in_turns(number):
            started = time.perf_counter()
            embedders[variant].encode_documents(passages)
            throughput[variant].append(len(passages) / (time.perf_counter() - started))
    document_vectors = {v: embedders[v].encode_documents(passages) for v in VARIANTS}
    query_vectors = {v: embedders[v].encode_queries(queries) for v in VARIANTS}

    quality, judged = {}, {}
    for precision in () if args.no_quality else PRECISIONS:
        print(f"\nCMRC 2018 dev, {precision}:")
        quality[precision] = bench_quality.measure(args.data, args.cache, DEFAULT_MODEL, precision, full=False)
        with tempfile.TemporaryDirectory() as tmp:
            judged[precision] = judged_scores(precision, Path(tmp))

    print(f"\n{len(queries)} distinct queries one at a time; {len(passages)} bundled passages, "
          f"{args.repeat} rounds; variants taking turns")
    print("| | " + " | ".join(label(v) for v in VARIANTS) + " |")
    print("| --- |" + " --- |" * len(VARIANTS))
    rows = {
        "query embedding p50 / p95": lambda v: f"{statistics.median(latency[v]):.1f} / "
                                               f"{percentile(latency[v], 95):.1f} ms",
        "passages/s (median)": lambda v: f"{statistics.median(throughput[v]):.1f}",
        "RSS after loading": lambda v: f"{rss[v]:,.0f} MB",
    }
    if quality:
        rows.update({
            **{f"CMRC MRR@10 {mode}": (lambda v, mode=mode: f"{quality[v[1]][mode]['mrr@10']:.4f}")
               for mode in ("keyword", "semantic", "hybrid weighted", "hybrid rrf")},
            **{f"judged {mode}, {name}: MRR@10 / nDCG@10": (
                lambda v, mode=mode, name=name: f"{judged[v[1]][mode][name]['mrr@10']:.4f} / "
                                                f"{judged[v[1]][mode][name]['ndcg@10']:.4f}")
               for mode in ("semantic", "hybrid") for name in JUDGED_SETS},
        })
    for row, cell in rows.items():
        print(f"| {row} | " + " | ".join(cell(v) for v in VARIANTS) + " |")
    base = VARIANTS[0]
    for variant in VARIANTS[1:]:
        speedup = statistics.median(latency[base]) / statistics.median(latency[variant])
        gain = statistics.median(throughput[variant]) / statistics.median(throughput[base])
        print(f"{label(variant)} against {label(base)}: query p50 {speedup:.2f}x faster, passages/s {gain:.2f}x")
    torch32, onnx32, onnx8 = (document_vectors[v] for v in VARIANTS)
    print(f"largest difference, torch to onnx float32 vectors: {abs(torch32 - onnx32).max():.2e}")
    print(f"cosine onnx int8 to float32: passages {cosines(onnx32, onnx8)}; "
          f"queries {cosines(query_vectors[VARIANTS[1]], query_vectors[VARIANTS[2]])}")


if __name__ == "__main__":
    main()
