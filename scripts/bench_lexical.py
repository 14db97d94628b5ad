"""Keyword search quality and speed on CMRC 2018 dev.

    python scripts/bench_lexical.py [--data ../shared/data/cmrc2018/cmrc2018_dev.json]

Indexes the 848 paragraphs as stories (body only), asks the 3,219 questions
in keyword mode (k=10), and prints recall@1/5/10, MRR@10, the index time and
the query latency (median, p95).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe, percentile  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.keyword_store import write_keyword_side  # noqa: E402
from storysearch.searcher.evaluation import evaluate  # noqa: E402
from storysearch.searcher.lexical import KeywordSearcher  # noqa: E402
from storysearch.searcher.table import StoryTable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    args = parser.parse_args()
    print(describe())
    stories, questions, qrels = cmrc.load(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_keyword_side(Path(tmp) / "whoosh", Path(tmp) / layout.SPARSE, stories)
        index_seconds = time.perf_counter() - started
        searcher = KeywordSearcher(Path(tmp), StoryTable(stories))
        runs, times = {}, []
        for qid, question in questions:
            t0 = time.perf_counter()
            hits = searcher.search(question, 10)
            times.append((time.perf_counter() - t0) * 1000)
            runs[qid] = [hit.docid for hit in hits]
    scores = evaluate(runs, qrels)
    print(f"CMRC 2018 dev: {len(stories)} paragraphs, {len(questions)} questions, keyword mode")
    print(f"recall@1 {scores['recall@1']:.3f}  recall@5 {scores['recall@5']:.3f}  "
          f"recall@10 {scores['recall@10']:.3f}  MRR@10 {scores['mrr@10']:.3f}")
    print(f"index time {index_seconds:.1f} s; query latency median {statistics.median(times):.1f} ms, "
          f"p95 {percentile(times, 95):.1f} ms")


if __name__ == "__main__":
    main()
