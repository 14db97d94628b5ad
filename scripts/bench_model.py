"""The embedding model in float32 and in int8 (index/embedding.py), measured in one run.

    python scripts/bench_model.py [--queries 200] [--repeat 3] [--threads N] [--data …/cmrc2018_dev.json]

Speed, taking turns so that a busy machine slows both alike: query embedding,
one query at a time (distinct queries: the judged ones, then CMRC 2018 dev
questions), p50 and p95; passage embedding on the bundled corpus's real
passages, median passages/s over the repeats. Memory: the RSS of a fresh
process after loading the model and embedding one query. Agreement: the
cosine between the two precisions' vectors of the same passages and queries.
Quality: CMRC 2018 dev MRR@10 per mode (scripts/bench_quality.py, all 3,219
questions; embeddings cached as there), and the judged queries over the
bundled corpus (tests/fixtures/judged/) on an index built at each precision.
"""
from __future__ import annotations

import argparse
import multiprocessing
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
from storysearch.index.embedding_cache import default_cache_dir  # noqa: E402
from storysearch.index.segment import segment_page  # noqa: E402
from storysearch.index.vectors import story_passage_rows  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402
from storysearch.searcher.evaluation import evaluate, read_qrels, read_queries  # noqa: E402

JUDGED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "judged"
JUDGED_SETS = {"keyword questions": "k", "similar-practice questions": "p", "all": ""}  # by query id prefix


def rss_after_loading(precision: str, threads: int | None) -> float:
    """MB resident in this (fresh) process once the model is loaded and has embedded a query."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    load_embedder(DEFAULT_MODEL, precision).encode_queries(["乡贤参与基层治理"])
    with open("/proc/self/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def bundled_passages() -> list[str]:
    pages, _ = read_corpus(layout.DEFAULT_CORPUS)
    stories = [story for page in pages for story in segment_page(page.source, page.text).stories]
    return [row["text"] for row in story_passage_rows(stories)]


def in_turns(round_number: int) -> tuple[str, ...]:
    """Both precisions, the first one alternating from round to round."""
    return PRECISIONS if round_number % 2 == 0 else PRECISIONS[::-1]


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
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    parser.add_argument("--cache", type=Path, default=default_cache_dir(),
                        help="the CMRC embeddings' cache (default: %(default)s)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(describe())
    print(f"torch threads: {torch.get_num_threads()}; quantized engine: {torch.backends.quantized.engine}")

    spawn = multiprocessing.get_context("spawn")
    rss = {}
    for precision in PRECISIONS:
        with spawn.Pool(1) as pool:
            rss[precision] = pool.apply(rss_after_loading, (precision, args.threads))

    embedders = {}
    for precision in PRECISIONS:
        started = time.perf_counter()
        embedders[precision] = load_embedder(DEFAULT_MODEL, precision)
        print(f"{precision} model loaded in {time.perf_counter() - started:.1f} s")
    _, questions, _ = cmrc.load(args.data)
    queries = list(dict.fromkeys([*read_queries(JUDGED / "queries.tsv").values(), *(q for _, q in questions)]))
    queries = queries[:args.queries]
    passages = bundled_passages()
    for embedder in embedders.values():  # warm-up
        embedder.encode_queries(queries[:3])
        embedder.encode_documents(passages[:4])

    latency = {precision: [] for precision in PRECISIONS}
    for number, query in enumerate(queries):
        for precision in in_turns(number):
            started = time.perf_counter()
            embedders[precision].encode_queries([query])
            latency[precision].append((time.perf_counter() - started) * 1000)
    throughput = {precision: [] for precision in PRECISIONS}
    for number in range(args.repeat):
        for precision in in_turns(number):
            started = time.perf_counter()
            embedders[precision].encode_documents(passages)
            throughput[precision].append(len(passages) / (time.perf_counter() - started))
    document_vectors = {p: embedders[p].encode_documents(passages) for p in PRECISIONS}
    query_vectors = {p: embedders[p].encode_queries(queries) for p in PRECISIONS}

    quality, judged = {}, {}
    for precision in PRECISIONS:
        print(f"\nCMRC 2018 dev, {precision}:")
        quality[precision] = bench_quality.measure(args.data, args.cache, DEFAULT_MODEL, precision, full=False)
        with tempfile.TemporaryDirectory() as tmp:
            judged[precision] = judged_scores(precision, Path(tmp))

    print(f"\n{len(queries)} distinct queries one at a time; {len(passages)} bundled passages, "
          f"{args.repeat} rounds; precisions taking turns")
    print("| | " + " | ".join(PRECISIONS) + " |")
    print("| --- |" + " --- |" * len(PRECISIONS))
    rows = {
        "query embedding p50 / p95": lambda p: f"{statistics.median(latency[p]):.1f} / "
                                               f"{percentile(latency[p], 95):.1f} ms",
        "passages/s (median)": lambda p: f"{statistics.median(throughput[p]):.1f}",
        "RSS after loading": lambda p: f"{rss[p]:,.0f} MB",
        **{f"CMRC MRR@10 {mode}": (lambda p, mode=mode: f"{quality[p][mode]['mrr@10']:.4f}")
           for mode in ("keyword", "semantic", "hybrid weighted", "hybrid rrf")},
        **{f"judged {mode}, {name}: MRR@10 / nDCG@10": (
            lambda p, mode=mode, name=name: f"{judged[p][mode][name]['mrr@10']:.4f} / "
                                            f"{judged[p][mode][name]['ndcg@10']:.4f}")
           for mode in ("semantic", "hybrid") for name in JUDGED_SETS},
    }
    for label, cell in rows.items():
        print(f"| {label} | " + " | ".join(cell(p) for p in PRECISIONS) + " |")
    speedup = statistics.median(latency["float32"]) / statistics.median(latency["int8"])
    gain = statistics.median(throughput["int8"]) / statistics.median(throughput["float32"])
    print(f"int8 against float32: query p50 {speedup:.2f}x faster, passages/s {gain:.2f}x")
    print(f"cosine int8 to float32: passages {cosines(document_vectors['float32'], document_vectors['int8'])}; "
          f"queries {cosines(query_vectors['float32'], query_vectors['int8'])}")


if __name__ == "__main__":
    main()
