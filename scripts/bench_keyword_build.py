"""The keyword side of a full build alone: the Whoosh index and the term
matrix of a synthetic archive (bench_scale.py's: real paragraphs under real
headlines), each timed, in stories/s, with the time projected to 100,000.

    python scripts/bench_keyword_build.py [--sizes 10000] [--processes 0|1|2] [--profile FILE]

No model is loaded. It calls ``write_keyword_side`` as a build does (with
``--processes``, that setting), or in code from before it
``write_keyword_index`` then ``write_sparse_index``: so the same script run
by another checkout's interpreter (``/work/main/.venv/bin/python
scripts/bench_keyword_build.py``) times that checkout's code on the same
stories (the archive depends only on the seed). The columns: tokenizing
(the Whoosh side's, in a build of two processes the term matrix's own is
in its column), Whoosh, term matrix (in two processes: the second
process's time, spent alongside), the whole keyword side's wall time.
``--profile`` writes a cProfile of the largest size's build (of this process only).
"""
from __future__ import annotations

import argparse
import cProfile
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
import bench_scale  # noqa: E402
from bench_scale import synthetic_archive  # noqa: E402
from benchinfo import describe  # noqa: E402

from storysearch.index import keyword_store, layout, sparse  # noqa: E402
from storysearch.index.build import place_records  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.segment import split_stories  # noqa: E402

PROJECTED = 100_000


def real_text():
    """bench_scale's paragraphs and headlines, and the bundled stories' places."""
    bundled = [s for page in read_corpus(layout.DEFAULT_CORPUS)[0] for s in split_stories(page.source, page.text)]
    paragraphs, headlines = bench_scale.real_text(bundled, cmrc.load()[0])
    return paragraphs, headlines, [place_records(story) for story in bundled]


def build(folder: Path, stories, processes: int | None) -> dict:
    """Seconds for the Whoosh index and the term matrix (and for both, where one pass writes them)."""
    timings = {}
    if hasattr(keyword_store, "write_keyword_side"):
        started = time.perf_counter()
        timings.update(keyword_store.write_keyword_side(folder / layout.WHOOSH, folder / layout.SPARSE, stories,
                                                        processes))
        timings["total_s"] = time.perf_counter() - started
        return timings
    started = time.perf_counter()
    keyword_store.write_keyword_index(folder / layout.WHOOSH, stories)
    timings["whoosh_s"] = time.perf_counter() - started
    started = time.perf_counter()
    sparse.write_sparse_index(folder / layout.SPARSE, stories)
    timings["term_matrix_s"] = time.perf_counter() - started
    timings["total_s"] = timings["whoosh_s"] + timings["term_matrix_s"]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--profile", type=Path, help="write a cProfile of the largest size's build here")
    parser.add_argument("--processes", type=int, help="the setting build_processes (code that has it)")
    parser.add_argument("--keep", type=Path, help="build into this folder (must not exist) instead of a temporary one")
    args = parser.parse_args()
    print(describe(), flush=True)
    print(f"code: {Path(keyword_store.__file__).resolve().parent.parent}"
          + (f", processes: {args.processes}" if args.processes is not None else ""), flush=True)
    paragraphs, headlines, places = real_text()
    print("| stories | processes | tokenizing (shared) | Whoosh | term matrix | keyword side | stories/s | "
          "projected for 100,000 | peak RSS |", flush=True)
    for size in args.sizes:
        stories = synthetic_archive(size, paragraphs, headlines, places, random.Random(2026))
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.keep or Path(tmp) / "gen"
            folder.mkdir(parents=True)
            profile = cProfile.Profile() if args.profile and size == max(args.sizes) else None
            if profile:
                profile.enable()
            timings = build(folder, stories, args.processes)
            if profile:
                profile.disable()
                profile.dump_stats(str(args.profile))
        total = timings["total_s"]
        shown = [f"{timings[name]:.1f} s" if name in timings else "-"
                 for name in ("tokenize_s", "whoosh_s", "term_matrix_s")]
        print(f"| {size:,} | {timings.get('processes', '-')} | {' | '.join(shown)} | {total:.1f} s | {size / total:.0f} | "
              f"{PROJECTED / (size / total) / 60:.1f} min | "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
