"""Index build time and single-query latency per mode on a corpus folder.

    python scripts/bench_latency.py [--corpus corpus] [--repeat 5]

Builds a fresh index in a temporary folder with an empty embedding cache
(the model is loaded first, so the build time excludes loading), then times
each query of QUERIES in each mode, one at a time, with the ranking and
query-vector caches emptied first: a new user's request, query embedding
included.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchinfo import describe, percentile  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402

QUERIES = ["乡贤", "老旧小区停车难怎么解决", "电动自行车充电安全", "基层治理 小马拉大车",
           "餐饮油烟扰民", "年轻干部廉洁教育", "社区志愿者上门送餐", "共同富裕 乡村振兴"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=layout.DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    started = time.perf_counter()
    embedder = load_embedder(DEFAULT_MODEL)
    print(f"model load: {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        report = build_index(args.corpus, Path(tmp) / "index", DEFAULT_MODEL, cache_dir=Path(tmp) / "cache")
        print(f"index build: {report.seconds:.1f} s for {report.stories} stories, {report.passages} passages "
              f"({report.passages / report.seconds:.1f} passages/s including segmentation and Whoosh)")
        engine = SearchEngine(Path(tmp) / "index", embedder)
        for mode in ("keyword", "semantic", "hybrid"):
            engine.search(QUERIES[0], mode, 10)  # warm-up
            times = []
            for _ in range(args.repeat):
                for query in QUERIES:
                    engine.forget_results()
                    embedder.query_vector.cache_clear()
                    t0 = time.perf_counter()
                    engine.search(query, mode, 10)
                    times.append((time.perf_counter() - t0) * 1000)
            print(f"{mode:>8}: median {statistics.median(times):6.1f} ms, p95 {percentile(times, 95):6.1f} ms "
                  f"over {len(times)} queries (k=10)")


if __name__ == "__main__":
    main()
