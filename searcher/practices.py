"""The archive's named practices (index/practices.py) as a catalogue: one
entry per practice however printed (grouped by the practice's key), with the
places it belongs to and the stories that mention it; listed, filtered by
place and kind, and searched by name or definition."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from storysearch.index.analysis import text_analysis
from storysearch.index.practices import KINDS as PRACTICE_KINDS, practice_key
from storysearch.index.stories import Story

from .lexical import match_terms, query_terms
from .query import QueryError
from .table import PLACE_SUFFIXES

MAX_PRACTICES = 1000
DEFAULT_PRACTICES = 50


@dataclass
class CatalogPractice:
    """One practice: its display name (the most frequent printing), kind,
    places (name, path, number of stories), definition, and the stories that
    mention it, newest first when the stories have dates."""

    key: str
    name: str
    kind: str
    definition: str
    places: list[dict] = field(default_factory=list)  # {"name", "path", "stories", "definition"}, most stories first
    names: list[str] = field(default_factory=list)  # every printing, most frequent first
    story_ids: list[str] = field(default_factory=list)

    @property
    def stories(self) -> int:
        return len(self.story_ids)

    def paths(self) -> list[list[str]]:
        return [place["path"] for place in self.places]


def _good_definition(definitions: list[str]) -> str:
    """The first definition that says something (at least a short clause), else the longest."""
    for definition in definitions:
        if len(definition.strip()) >= 8:
            return definition.strip()
    return max(definitions, key=len, default="").strip()


def _place_names(name: str) -> set[str]:
    return {name + suffix for suffix in PLACE_SUFFIXES}


class PracticeCatalog:
    """Built once from an engine's stories; read only afterwards."""

    def __init__(self, stories: Iterable[Story]):
        ordered = sorted(stories, key=lambda story: (story.date or "", story.id), reverse=True)
        groups: dict[str, dict] = {}
        for story in ordered:  # newest first, so each practice's stories come out by date
            paths = {place["name"]: place["path"] for place in story.places}
            for practice in story.practices:
                key = practice.get("key") or practice_key(practice["name"])
                if not key:
                    continue
                group = groups.setdefault(key, {"names": Counter(), "kinds": Counter(), "places": Counter(),
                                                "paths": {}, "definitions": [], "by_place": {}, "stories": []})
                group["names"][practice["name"]] += 1
                group["kinds"][practice["kind"]] += 1
                if practice.get("definition"):
                    group["definitions"].append(practice["definition"])
                    group["by_place"].setdefault(practice.get("place", ""), []).append(practice["definition"])
                if story.id not in group["stories"]:
                    group["stories"].append(story.id)
                    if practice.get("place"):
                        group["places"][practice["place"]] += 1
                        group["paths"][practice["place"]] = paths.get(practice["place"], [practice["place"]])
        self.practices: dict[str, CatalogPractice] = {}
        for key, group in groups.items():
            # oldest definition first: the story that introduced it says what it is
            definitions = list(reversed(group["definitions"]))
            self.practices[key] = CatalogPractice(
                key, group["names"].most_common(1)[0][0], group["kinds"].most_common(1)[0][0],
                _good_definition(definitions),
                [{"name": name, "path": group["paths"][name], "stories": count,
                  "definition": _good_definition(list(reversed(group["by_place"].get(name, []))))}
                 for name, count in sorted(group["places"].items(), key=lambda item: (-item[1], item[0]))],
                [name for name, _ in group["names"].most_common()], group["stories"])
        self._by_name = {name: p for p in self.practices.values() for name in p.names}
        self._fold = text_analysis().fold
        self._folded = {key: self._fold(" ".join([*p.names, p.definition])) for key, p in self.practices.items()}

    def __len__(self) -> int:
        return len(self.practices)

    @property
    def kinds(self) -> list[str]:
        present = {p.kind for p in self.practices.values()}
        return [kind for kind in PRACTICE_KINDS if kind in present]

    @property
    def places(self) -> list[str]:
        return sorted({name for p in self.practices.values() for path in p.paths() for name in path})

    def get(self, name_or_key: str) -> CatalogPractice | None:
        """The practice printed as ``name_or_key``, or whose key it is, or that it names however printed."""
        if not name_or_key:
            return None
        return (self._by_name.get(name_or_key) or self.practices.get(name_or_key)
                or self.practices.get(practice_key(name_or_key)))

    def list(self, q: str = "", place: str = "", kind: str = "", k: int = DEFAULT_PRACTICES) -> list[CatalogPractice]:
        """The practices whose names or definition hold every word of ``q``
        (as a story holds a query's terms: 社区议事 finds 社区…议事), or that
        ``q`` names; of ``place`` (or
        a place under it: 杭州 finds 杭州市 and its districts) and ``kind``,
        most stories first, then by name; at most ``k``."""
        return self.matching(q, place, kind)[:k]

    def matching(self, q: str = "", place: str = "", kind: str = "") -> list[CatalogPractice]:
        q, place, kind = q.strip(), place.strip(), kind.strip()
        terms = match_terms([q]) if q else []
        if q and not terms:  # common words only (的, 怎么) are looked for as written; punctuation is nothing
            if not any(query_terms(q)):  # (as a similar request's text is checked: engine._similar_to)
                raise QueryError("the query has nothing to search for: only punctuation, spaces or symbols",
                                 "检索词里没有可以查找的内容：只有标点、空格或符号。")
            terms = [self._fold(q)]
        keyed = practice_key(q) if q else ""
        names = _place_names(place) if place else set()
        found = [p for key, p in self.practices.items()
                 if (not terms or all(term in self._folded[key] for term in terms) or (keyed and keyed in key))
                 and (not kind or p.kind == kind)
                 and (not names or any(names & set(path) for path in p.paths()))]
        return sorted(found, key=lambda p: (-p.stories, p.name))
