"""Train the story-start model (index/data/story_start.json).

    python scripts/train_segmenter.py [GOLD_DIR ...] [--check]

Every line of every page of the gold folders (default: the People's Daily
development set, clean and messy) and of the bundled pages (headline lines
from tests/fixtures/segmentation.json) is one example: does a story start
here? Nothing is tuned to single pages: one L2-regularised logistic
regression over the whole set. ``--check`` trains on the pages of odd days
and reports precision and recall of story starts on the even days, to show
what the model does on pages it was not trained on; nothing is written then.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storysearch.index import layout  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.segment import _debris  # noqa: E402
from storysearch.index.segment_features import PageLines, line_features  # noqa: E402
from storysearch.index.story_start import MODEL_FILE, StartModel, train  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "peoples-daily-1998-dev"
BUNDLED_WEIGHT = 10
FIXTURE = ROOT / "tests" / "fixtures" / "segmentation.json"


def page_examples(text: str, starts: set[int]) -> list[tuple[str, dict, int]]:
    numbered = [(no, line.strip()) for no, line in enumerate(text.split("\n"), 1) if line.strip()]
    debris = {d.no for d in _debris(numbered, {})}
    items = [(no, t) for no, t in numbered if no not in debris]
    page = PageLines([t for _, t in items])
    rows = []
    for i, (no, _) in enumerate(items):
        previous_starts = i > 0 and items[i - 1][0] in starts
        rows.append((str(no), line_features(page, i, previous_starts), int(no in starts)))
    return rows


def gold_pages(folders: list[Path]) -> list[tuple[str, str, set[int]]]:
    pages = []
    for folder in folders:
        gold = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
        for page in gold["pages"]:
            text = (folder / page["file"]).read_text(encoding="utf-8")
            pages.append((page["file"], text, {a["headline_line"] for a in page["articles"]}))
    return pages


def bundled_pages() -> list[tuple[str, str, set[int]]]:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    pages = []
    for page in read_corpus(layout.DEFAULT_CORPUS)[0]:
        headlines = {s["headline"] for s in expected[page.source]["stories"]}
        starts = {no for no, line in enumerate(page.text.split("\n"), 1) if line.strip() in headlines}
        pages.append((page.source, page.text, starts))
    return pages


def examples(pages) -> tuple[list[dict], list[int]]:
    """Rows and labels; the bundled pages (our own paper's conventions, five
    pages against a development set of 126) count BUNDLED_WEIGHT times."""
    rows, labels = [], []
    for name, text, starts in pages:
        copies = 1 if name[:8].isdigit() else BUNDLED_WEIGHT
        for _, features, label in page_examples(text, starts):
            rows.extend([features] * copies)
            labels.extend([label] * copies)
    return rows, labels


def f1(said: list[bool], labels: list[int]) -> float:
    hits = sum(1 for s, y in zip(said, labels) if s and y)
    return 2 * hits / max(sum(said) + sum(labels), 1)


def with_best_threshold(model: StartModel, rows: list[dict], labels: list[int]) -> StartModel:
    """The decision threshold with the best F1 of story starts over the
    training lines (0.20 to 0.60 in steps of 0.02)."""
    probabilities = [model.probability(row) for row in rows]
    best = max((f1([p >= t for p in probabilities], labels), -abs(t - 0.5), t)
               for t in (0.2 + 0.02 * k for k in range(21)))
    return StartModel(model.weights, round(best[2], 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[DEV / "clean", DEV / "messy"])
    parser.add_argument("--check", action="store_true", help="train on odd days, report on even days")
    args = parser.parse_args()
    pages = gold_pages(args.folders) + bundled_pages()
    if args.check:
        odd = [p for p in pages if not p[0][:8].isdigit() or int(p[0][6:8]) % 2]
        even = [p for p in pages if p[0][:8].isdigit() and not int(p[0][6:8]) % 2]
        model = with_best_threshold(train(*examples(odd)), *examples(odd))
        rows, labels = examples(even)
        said = [model.starts(row) for row in rows]
        hits = sum(1 for s, y in zip(said, labels) if s and y)
        print(f"trained on {len(odd)} pages, checked on {len(even)}: story starts precision "
              f"{hits / max(sum(said), 1):.3f}, recall {hits / max(sum(labels), 1):.3f}")
        return
    rows, labels = examples(pages)
    model = with_best_threshold(train(rows, labels), rows, labels)
    said = [model.starts(row) for row in rows]
    hits = sum(1 for s, y in zip(said, labels) if s and y)
    print(f"{len(pages)} pages, {len(rows)} lines, {sum(labels)} story starts, threshold {model.threshold}: precision "
          f"{hits / max(sum(said), 1):.3f}, recall {hits / max(sum(labels), 1):.3f}")
    model.save(MODEL_FILE, note=f"trained by scripts/train_segmenter.py on {len(pages)} pages, {len(rows)} lines")
    for name, weight in sorted(model.weights.items(), key=lambda t: -abs(t[1])):
        print(f"  {weight:+.2f}  {name}")


if __name__ == "__main__":
    main()
