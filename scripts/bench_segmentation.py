"""Story segmentation against gold: quality and speed.

    python scripts/bench_segmentation.py PAGES_DIR [PAGES_DIR ...] [--errors N]
    python scripts/bench_segmentation.py --bundled
    python scripts/bench_segmentation.py --big-page MB [--repeat N]

PAGES_DIR holds pages and a ``gold.json`` in the format of
``../shared/data/peoples-daily-1998-dev/`` (see ``../shared/README.md``).
Prints stories produced against articles, headline exact, boundary exact
(the story holds exactly the article's page lines), begins/ends, over- and
under-split counts, interleaved tails reattached, broken paragraphs
rejoined, the confusion table of line roles (gold role by the role the
segmenter gave) and pages per second. ``--bundled`` scores the bundled
corpus against tests/fixtures/segmentation.json (stories right);
``--big-page`` times one generated page of that many megabytes, segmented
``--repeat`` times (5 by default; what the segmenter remembers of texts is
forgotten before each run): the median and the range.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchinfo import describe  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.segment import segment_page  # noqa: E402
from storysearch.index.segment_score import GOLD_ROLES, Score, score_folder  # noqa: E402
from storysearch.index.textpatterns import forget_texts  # noqa: E402
from storysearch.index.textsim import char_grams  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "segmentation.json"


def print_score(folder: Path, score: Score, errors: int) -> None:
    print(f"\n{folder}: {score.pages} pages, {score.articles} articles, {score.stories} stories produced")
    counts = {"tails reattached": (score.tails_reattached, score.tails),
              "broken paragraphs rejoined": (score.broken_rejoined, score.broken)}
    for name, value in score.figures.items():
        print(f"  {name:28s} {value:.3f}" + (" ({} of {})".format(*counts[name]) if name in counts else ""))
    print(f"  over-split articles          {score.over_split}")
    print(f"  under-split stories          {score.under_split}")
    print(f"  pages per second             {score.pages / score.seconds:.1f} (segmentation only)")
    produced = sorted({role for _, role in score.roles})
    print("  line roles (rows: gold, columns: produced)")
    print("    " + " " * 9 + "".join(f"{role[:11]:>12s}" for role in produced))
    for gold in GOLD_ROLES:
        print(f"    {gold:9s}" + "".join(f"{score.roles.get((gold, role), 0):12d}" for role in produced))
    kinds = Counter(kind for kind, _, _ in score.errors)
    print("  errors by kind: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    for kind, page, example in score.errors[:errors]:
        print(f"    {kind:12s} {page}  {example}")


def bundled() -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    pages = read_corpus(layout.DEFAULT_CORPUS)[0]
    right = total = produced = 0
    started = time.perf_counter()
    for page in pages:
        stories = segment_page(page.source, page.text).stories
        want = expected[page.source]["stories"]
        produced += len(stories)
        total += len(want)
        by_headline = {s.headline: s for s in stories}
        for item in want:
            story = by_headline.get(item["headline"])
            right += bool(story) and (story.subheadline, story.authors) == (item["subheadline"], item["authors"]) \
                and [[p[:6], p[-6:]] for p in story.paragraphs] == item["paragraphs"]
    seconds = time.perf_counter() - started
    print(f"\nbundled corpus: {len(pages)} pages, {total} stories expected, {produced} produced, "
          f"{right} right (headline, subheadline, authors, paragraphs); {len(pages) / seconds:.1f} pages per second")


def big_page(megabytes: float, repeat: int) -> None:
    """One page of formulaic stories (headline, byline, two paragraphs),
    segmented ``repeat`` times."""
    parts, size, n = [], 0, 0
    while size < megabytes * 1_000_000:
        part = (f"第{n}区垃圾分类宣传进社区\n\n王五\n\n近日,第{n}区组织志愿者走进社区,向居民讲解垃圾分类知识,"
                f"发放宣传资料200余份,现场指导居民正确投放。\n\n活动现场,志愿者们耐心解答居民提出的问题,"
                f"居民纷纷表示受益匪浅,将坚持做好垃圾分类。\n")
        parts.append(part)
        size += len(part.encode("utf-8"))
        n += 1
    text = "\n".join(parts)
    seconds = []
    for _ in range(repeat):
        forget_texts()
        char_grams.cache_clear()
        started = time.perf_counter()
        result = segment_page("big.txt", text)
        seconds.append(time.perf_counter() - started)
    print(f"\none generated page of {size / 1e6:.1f} MB ({n} stories): {len(result.stories)} stories "
          f"in {statistics.median(seconds):.2f} s (median of {repeat} runs, {min(seconds):.2f}-{max(seconds):.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--bundled", action="store_true", help="score the bundled corpus against the fixture")
    parser.add_argument("--big-page", type=float, metavar="MB", help="time one generated page of this size")
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="segment the generated page N times")
    parser.add_argument("--errors", type=int, default=0, help="print this many errors as examples")
    args = parser.parse_args()
    print(describe())
    if args.bundled:
        bundled()
    for folder in args.folders:
        print_score(folder, score_folder(folder), args.errors)
    if args.big_page:
        big_page(args.big_page, args.repeat)


if __name__ == "__main__":
    main()
