"""Practice extraction quality and speed on the bundled stories.

    python scripts/bench_practices.py [--corpus corpus] [--expected tests/fixtures/practices.json] [--repeat 5]

Segments the corpus, extracts the named practices of every story and compares
them with the expected ones (index/practices_eval.py: a practice counts when
its normalised key matches). Prints precision and recall, how often kind and
place agree on the matched practices, every miss, false hit and kind
disagreement, and the stories extracted per second (best of --repeat passes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchinfo import describe, ratio  # noqa: E402

from storysearch.index.practices import PRACTICES_VERSION  # noqa: E402
from storysearch.index.practices_eval import corpus_stories, extract_all, load_expected, score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--expected", type=Path, default=ROOT / "tests" / "fixtures" / "practices.json")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    print(f"practices {PRACTICES_VERSION}")
    stories = corpus_stories(args.corpus)
    extract_all(stories[:1])  # load the analyzer and gazetteer once, outside the timing
    passes = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        found = extract_all(stories)
        passes.append(time.perf_counter() - started)
    result = score(load_expected(args.expected), found)
    print(f"{len(stories)} stories, {result.expected} expected practices, {result.found} found, "
          f"{result.correct} correct")
    print(f"name (normalised key): precision {ratio(result.precision)}  recall {ratio(result.recall)}")
    if result.correct:
        print(f"kind agrees on {result.kind_agree} of {result.correct} matched, "
              f"place on {result.place_agree} of {result.correct}")
    for title, items in (("misses", result.misses), ("false hits", result.false_hits)):
        print(f"{title}: {len(items)}")
        for story_id, item in items:
            print(f"  {story_id}  {item['name']}  ({item['kind']}, {item['place'] or '-'})")
    print(f"kind disagreements: {len(result.wrong_kind)}")
    for story_id, name, wanted, got in result.wrong_kind:
        print(f"  {story_id}  {name}: expected {wanted}, found {got}")
    best = min(passes)
    print(f"corpus pass (places and practices) best {best * 1000:.1f} ms of {args.repeat}: "
          f"{len(stories) / best:.0f} stories/s")


if __name__ == "__main__":
    main()
