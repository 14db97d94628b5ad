"""The stories as columns, row for row with the term matrix: what filters,
facets and date sorting read, as numpy arrays over the whole archive.

Filters become boolean masks over rows; a facet is a count of values over
the rows of a match set (``np.bincount``), so counts are exact over the
whole set, never a cut of the first results.
"""
from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable

import numpy as np

from storysearch.index.idtable import IdTable
from storysearch.index.stories import Story

from .filters import FilterArg, Filters, request_filters
from .query import ParsedQuery

NO_DATE = 0
MONTHS_FACET_MAX_YEARS = 3  # a month facet when the set spans at most this many years
FACET_SIZE = 20
PLACE_FACET_LEVELS = (1, 2)  # city and county on a path that starts at the province
PLACE_SUFFIXES = ("", "市", "区", "县", "省", "镇", "街道", "乡")  # 杭州 finds 杭州市


def date_number(date: str) -> int:
    return int(date.replace("-", "")) if date else NO_DATE


class _Codes:
    """A multi-valued column: each row's values as codes, in CSR form; made a row at a time (``add``)."""

    def __init__(self):
        self.code: dict[str, int] = {}
        # rows in int64: numpy indexes with those as they are, converts int32 ones (a facet took 1.4 times as long)
        self._codes, self._rows = array("i"), array("q")
        self._added = 0

    def add(self, values: Iterable[str]) -> None:
        """The next row's values."""
        for value in dict.fromkeys(values):
            self._codes.append(self.code.setdefault(value, len(self.code)))
            self._rows.append(self._added)
        self._added += 1

    def done(self) -> "_Codes":
        self.values = list(self.code)
        self.codes = np.frombuffer(self._codes, dtype=np.int32).copy()
        self.rows = np.frombuffer(self._rows, dtype=np.int64).copy()
        del self._codes, self._rows
        return self

    def mask(self, value: str, size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        if value in self.code:
            mask[self.rows[self.codes == self.code[value]]] = True
        return mask

    def mask_where(self, test: Callable[[str], bool], size: int) -> np.ndarray:
        """The rows with a value that passes ``test``."""
        wanted = [code for value, code in self.code.items() if test(value)]
        mask = np.zeros(size, dtype=bool)
        mask[self.rows[np.isin(self.codes, wanted)]] = True
        return mask

    def counts(self, matches: np.ndarray) -> list[dict]:
        """``{"value", "count"}`` of the values of the matching rows, most frequent first."""
        counts = np.bincount(self.codes[matches[self.rows]], minlength=len(self.values))
        top = np.flatnonzero(counts)
        top = top[np.lexsort((top, -counts[top]))][:FACET_SIZE]
        return [{"value": self.values[i], "count": int(counts[i])} for i in top]


class StoryTable:
    def __init__(self, stories: Iterable[Story], numbered: Callable[[], IdTable | None] = lambda: None):
        """The columns of ``stories``, read once, one story at a time (an
        archive's outline comes as it is read: index/stories.RecordStore).
        Every column is codes in arrays, the ids an IdTable: no Python
        object a story. ``numbered()``, once they are read: the same ids
        already numbered in this order (the story store's), or None."""
        ids, dates = [], array("q")
        self.sources, self.papers, self.authors = _Codes(), _Codes(), _Codes()
        self.places, self.place_facet = _Codes(), _Codes()
        for story in stories:
            ids.append(story.id)
            self.sources.add([story.source])
            dates.append(date_number(story.date))
            self.papers.add([story.paper] if story.paper else [])
            self.authors.add(story.authors)
            # A place filter matches the place and everything inside it: each story
            # holds every name on its places' paths. The facet lists cities and counties.
            self.places.add(name for place in story.places for name in place["path"])
            self.place_facet.add(place["path"][level] for place in story.places for level in PLACE_FACET_LEVELS
                                 if len(place["path"]) > level)
        for column in (self.sources, self.papers, self.authors, self.places, self.place_facet):
            column.done()
        given = numbered()
        if given is not None and (len(given) != len(ids) or (ids and (given[0], given[-1]) != (ids[0], ids[-1]))):
            raise ValueError("the ids given are not the stories' in their order")
        self.ids = given if given is not None else IdTable(ids)  # (the ids as read, dropped once numbered)
        self.row = self.ids.row
        self.size = len(self.ids)
        self.dates = np.frombuffer(dates, dtype=np.int64).copy()

    def mask(self, filters: Filters) -> np.ndarray | None:
        """The rows these filters let through; None when they let every row through."""
        if not filters:
            return None
        mask = np.ones(self.size, dtype=bool)
        if filters.source:
            if filters.source_prefix:
                mask &= self.sources.mask_where(lambda source: source.startswith(filters.source), self.size)
            else:
                mask &= self.sources.mask(filters.source, self.size)
        if filters.author:  # a name or organisation of the byline, or part of one (俞 finds 俞琳)
            mask &= self.authors.mask_where(lambda name: filters.author in name, self.size)
        if filters.paper:
            mask &= self.papers.mask(filters.paper, self.size)
        if filters.place:
            found = np.zeros(self.size, dtype=bool)
            for suffix in PLACE_SUFFIXES:
                found |= self.places.mask(filters.place + suffix, self.size)
            mask &= found
        if filters.date_from:
            mask &= self.dates >= date_number(filters.date_from)
        if filters.date_to:
            mask &= (self.dates <= date_number(filters.date_to)) & (self.dates != NO_DATE)
        return mask

    def allowed(self, parsed: ParsedQuery, filters: FilterArg = None) -> np.ndarray | None:
        """The rows the request lets through (filters.request_filters); None for all."""
        wanted, excluded = request_filters(parsed, filters)
        mask = self.mask(wanted)
        for unwanted in excluded:
            left_out = self.mask(unwanted)
            mask = ~left_out if mask is None else mask & ~left_out
        return mask

    def facets(self, matches: np.ndarray, filters: Filters) -> dict[str, list[dict]]:
        """Counts of paper, year (and month), place and author over the matching rows,
        each with the other filters applied but its own left out."""
        def narrowed(*own: str) -> np.ndarray:
            other = self.mask(filters.without(*own))
            return matches if other is None else matches & other

        dated = narrowed("date")
        years = self.dates[dated & (self.dates != NO_DATE)] // 10000
        facets = {"paper": self.papers.counts(narrowed("paper")),
                  "year": _histogram(years, "{:04d}"),
                  "place": self.place_facet.counts(narrowed("place")),
                  "author": self.authors.counts(narrowed("author"))}
        if len(years) and years.max() - years.min() < MONTHS_FACET_MAX_YEARS:
            months = self.dates[dated & (self.dates != NO_DATE)] // 100
            facets["month"] = _histogram(months, "{:06d}", lambda v: f"{v[:4]}-{v[4:]}")
        return facets

    def by_date(self, rows: np.ndarray, relevance: np.ndarray, newest: bool) -> np.ndarray:
        """Rows ordered by date (newest or oldest first; undated last), equal
        dates by relevance (higher first)."""
        dates = self.dates[rows]
        undated = dates == NO_DATE
        key = -dates if newest else dates
        return rows[np.lexsort((-relevance, key, undated))]


def _histogram(values: np.ndarray, template: str, label=None) -> list[dict]:
    """Counts per value in time order, as facet entries."""
    found, counts = np.unique(values, return_counts=True)
    entries = []
    for value, count in zip(found.tolist(), counts.tolist()):
        text = template.format(value)
        entries.append({"value": label(text) if label else text, "count": int(count)})
    return entries
