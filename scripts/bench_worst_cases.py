"""Time the worst cases issue 10 found: huge stories and many-phrase queries.

    python scripts/bench_worst_cases.py [--index var/index]

Snippets: three synthetic stories, a 5 MB one-line page full of matches, a
0.7 MB story with 8,000 matches and an ordinary 5 MB page (real sentences, one
match at the end); the best of three runs of `snippet` (a search result) and
`highlight_paragraphs` (the story page). Queries: `"乡" ` 250 times and other
many-condition queries through the web app (Flask's test client) on the
index, each mode, the best of three runs with the ranking cache emptied.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchinfo import describe  # noqa: E402

from storysearch.searcher.query import parse_query  # noqa: E402
from storysearch.searcher.snippets import highlight_paragraphs, snippet  # noqa: E402

SENTENCE = "社区网格员上门走访独居老人，了解生活需求，协调解决实际困难。"
QUERIES = {
    '"乡" x 250': '"乡" ' * 250,
    '250 distinct phrases': " ".join(f'"乡{chr(0x4e00 + i)}"' for i in range(250)),
    'headline:乡 x 100': "headline:乡 " * 100,
}


def stories() -> dict[str, str]:
    return {
        "0.7 MB, 8,000 matches": ("乡贤" + SENTENCE * 3)[:90] * 8_000,
        "5 MB ordinary page": (SENTENCE * 170_000)[:5_000_000 - 20] + "乡贤参与基层治理的做法",
        "5 MB one line, matches everywhere": ("乡贤参与基层治理" * 700_000)[:5_000_000],
    }


def best_of(runs: int, work, before=lambda: None) -> float:
    best = float("inf")
    for _ in range(runs):
        before()
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    args = parser.parse_args()
    print(describe())
    parsed = parse_query("乡贤 基层治理")
    snippet("预热", parsed)  # loads the analyzer (jieba, OpenCC) outside the timings
    for name, text in stories().items():
        print(f"{name:>36} ({len(text):,} chars): snippet {best_of(3, lambda: snippet(text, parsed)):8.1f} ms, "
              f"story page {best_of(3, lambda: highlight_paragraphs([text], parsed)):8.1f} ms", flush=True)

    from storysearch.searcher import SearchEngine
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    engine = SearchEngine(args.index).preload()
    client = create_app(engine, WebSettings()).test_client()
    client.get("/api/search", query_string={"q": "乡贤"})
    for name, query in QUERIES.items():
        for mode in ("keyword", "semantic", "hybrid"):
            status = client.get("/api/search", query_string={"q": query, "mode": mode}).status_code
            ms = best_of(3, lambda: client.get("/api/search", query_string={"q": query, "mode": mode}),
                         before=engine.forget_results)
            print(f"{name:>24} {mode:>8}: {ms:8.1f} ms (status {status})", flush=True)


if __name__ == "__main__":
    main()
