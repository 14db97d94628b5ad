"""Precision and recall of practice extraction against expected practices
(tests/fixtures/practices.json: story id -> [{name, kind, place}]); shared by
the tests and ``scripts/bench_practices.py``.

A found practice matches an expected one of the same story when their keys
(``practice_key``) are equal, or when one key ends with the other and the
shorter has four characters or more (区内部门审管衔接机制 printed with its
qualifier is 部门审管衔接机制). Kind and place agreement are counted over the
matched pairs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .places import extract_places
from .places_eval import Counts, corpus_stories
from .practices import extract_practices, practice_key
from .stories import Story

__all__ = ["PracticesScore", "corpus_stories", "extract_all", "load_expected", "same", "score"]

Item = dict  # {"name", "kind", "place"}


@dataclass
class PracticesScore(Counts):
    kind_agree: int = 0
    place_agree: int = 0
    misses: list[tuple[str, Item]] = field(default_factory=list)
    false_hits: list[tuple[str, Item]] = field(default_factory=list)
    wrong_kind: list[tuple[str, str, str, str]] = field(default_factory=list)  # story, name, expected, found


def load_expected(path: Path) -> dict[str, list[Item]]:
    return json.loads(path.read_text(encoding="utf-8"))


def same(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.endswith(short)


def score(expected: dict[str, list[Item]], found: dict[str, list[Item]]) -> PracticesScore:
    result = PracticesScore()
    for story_id in sorted(expected.keys() | found.keys()):
        wanted = list(expected.get(story_id, []))
        got = list(found.get(story_id, []))
        result.expected += len(wanted)
        result.found += len(got)
        unmatched = list(got)
        for item in wanted:
            key = practice_key(item["name"])
            match = next((g for g in unmatched if same(key, practice_key(g["name"]))), None)
            if match is None:
                result.misses.append((story_id, item))
                continue
            unmatched.remove(match)
            result.correct += 1
            result.kind_agree += match["kind"] == item["kind"]
            result.place_agree += match["place"] == item["place"]
            if match["kind"] != item["kind"]:
                result.wrong_kind.append((story_id, item["name"], item["kind"], match["kind"]))
        result.false_hits.extend((story_id, g) for g in unmatched)
    return result


def extract_all(stories: list[Story]) -> dict[str, list[Item]]:
    """Each story's practices, its places found as the index finds them."""
    return {story.id: [{"name": p.name, "kind": p.kind, "place": p.place}
                       for p in extract_practices(story, [place.name for place in extract_places(story)])]
            for story in stories}
