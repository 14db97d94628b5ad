"""Precision and recall of place extraction against expected places, overall
and per level; shared by the tests and ``scripts/bench_places.py``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import read_corpus
from .places import LEVELS, extract_places, gazetteer
from .segment import split_stories
from .stories import Story

Path_ = tuple[str, ...]


@dataclass
class Counts:
    expected: int = 0
    found: int = 0
    correct: int = 0

    @property
    def precision(self) -> float | None:
        """None when nothing was found: there is nothing to be precise about."""
        return self.correct / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.expected if self.expected else None


@dataclass
class PlacesScore:
    overall: Counts = field(default_factory=Counts)
    by_level: dict[str, Counts] = field(default_factory=lambda: {level: Counts() for level in LEVELS.values()})
    main_correct: int = 0  # stories whose first place is the expected main place
    main_expected: int = 0  # stories with at least one expected place
    misses: list[tuple[str, Path_]] = field(default_factory=list)  # (story id, path) expected, not found
    false_hits: list[tuple[str, Path_]] = field(default_factory=list)  # found, not expected


def load_expected(path: Path) -> dict[str, list[Path_]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {story_id: [tuple(place) for place in places] for story_id, places in data.items()}


def corpus_stories(folder: Path) -> list[Story]:
    pages, _ = read_corpus(folder)
    return [story for page in pages for story in split_stories(page.source, page.text)]


def level_of(path: Path_) -> str:
    return gazetteer().by_path[path].level


def score(expected: dict[str, list[Path_]], found: dict[str, list[Path_]]) -> PlacesScore:
    """Compare place paths story by story; a found place counts when its whole path is expected."""
    result = PlacesScore()
    for story_id in sorted(expected.keys() | found.keys()):
        wanted, got = expected.get(story_id, []), found.get(story_id, [])
        for path in wanted:
            counts = result.by_level[level_of(path)]
            for tally in (result.overall, counts):
                tally.expected += 1
                tally.correct += path in got
            if path not in got:
                result.misses.append((story_id, path))
        for path in got:
            for tally in (result.overall, result.by_level[level_of(path)]):
                tally.found += 1
            if path not in wanted:
                result.false_hits.append((story_id, path))
        if wanted:
            result.main_expected += 1
            result.main_correct += bool(got) and got[0] == wanted[0]
    return result


def extract_all(stories: list[Story]) -> dict[str, list[Path_]]:
    return {story.id: [place.path for place in extract_places(story)] for story in stories}
