"""Typed filters: what narrows a result set without changing its order.

A request's filters come from its parameters (``source=``, ``author=``,
``paper=``, ``place=``, ``date_from=``, ``date_to=``) and from the query's
own field conditions (``author:俞琳``, ``source:003``, ``paper:人民日报``,
``place:杭州市``, ``date:2024``, ``日期:2023-03..2024-06``); both end up in one ``Filters``
value, checked once. Dates may be given as ``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``; a bound is inclusive, so ``date_to=2024-06`` ends on 30 June.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from .query import ParsedQuery, QueryError

DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
# Query-language fields that filter rather than match text.
FILTER_FIELDS = ("author", "source", "paper", "date", "place")


def _bound(text: str, end: bool) -> str:
    """``YYYY[-MM[-DD]]`` as the first (or, with ``end``, the last) day it
    covers, ``YYYY-MM-DD``; QueryError when it is not a date."""
    match = DATE.match(text.strip())
    if not match:
        raise QueryError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD",
                         f"“{text}”不是日期：请写成 2024、2024-03 或 2024-03-05。")
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if day:
            calendar.weekday(year, int(month), int(day))  # raises on a day that does not exist
            return f"{year:04d}-{int(month):02d}-{int(day):02d}"
        if month:
            last = calendar.monthrange(year, int(month))[1]
            return f"{year:04d}-{int(month):02d}-{last if end else 1:02d}"
        return f"{year:04d}-12-31" if end else f"{year:04d}-01-01"
    except (ValueError, calendar.IllegalMonthError):
        raise QueryError(f"{text!r} is not a date that exists", f"“{text}”这个日期不存在。") from None


def _in_order(start: str, end: str, message: str) -> None:
    """QueryError (``message``) for a date range that ends before it starts."""
    if start and end and start > end:
        raise QueryError(message, f"起始日期 {start} 晚于截止日期 {end}。")


@dataclass(frozen=True)
class Filters:
    source: str = ""  # a corpus file, or (from ``source:``) the beginning of its path
    source_prefix: bool = False
    author: str = ""  # one of the story's authors, or part of one
    paper: str = ""
    place: str = ""  # a division's name (浙江省, 杭州, 临平区): it and every place inside it
    date_from: str = ""  # YYYY-MM-DD, inclusive
    date_to: str = ""

    @property
    def active(self) -> dict[str, str]:
        """The filters that narrow anything, by name (for cache keys and echoes)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "source_prefix" and getattr(self, f.name)}

    def __bool__(self) -> bool:
        return bool(self.active)

    def without(self, *names: str) -> "Filters":
        """These filters less some of them (a facet counts with the others applied)."""
        cleared = {name: "" for name in names}
        if "date" in names:
            cleared.update(date_from="", date_to="")
        cleared.pop("date", None)
        return replace(self, **cleared)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str] | None) -> "Filters":
        """Filters from request parameters; QueryError for an unknown name or a bad date."""
        values = {name: (value or "").strip() for name, value in (values or {}).items()}
        known = {"source", "author", "paper", "place", "date_from", "date_to"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise QueryError(f"unknown filter {', '.join(unknown)}; use {', '.join(sorted(known))}",
                             f"不认识的筛选条件：{'、'.join(unknown)}。")
        date_from = _bound(values["date_from"], end=False) if values.get("date_from") else ""
        date_to = _bound(values["date_to"], end=True) if values.get("date_to") else ""
        _in_order(date_from, date_to, f"date_from {date_from} is after date_to {date_to}")
        return cls(source=values.get("source", ""), author=values.get("author", ""), paper=values.get("paper", ""),
                   place=values.get("place", ""), date_from=date_from, date_to=date_to)

    def with_query(self, parsed: ParsedQuery) -> "Filters":
        """These filters and the query's own filter fields together: a date
        range given both ways is their overlap; for another field given both
        ways, the parameter wins."""
        result = self
        for name, value in parsed.fields:
            if name == "source":
                result = replace(result, source=value, source_prefix=True) if not result.source else result
            elif name in ("author", "paper", "place"):
                result = replace(result, **{name: value}) if not getattr(result, name) else result
            elif name == "date":
                low, _, high = value.partition("..")
                start, end = _bound(low or high, end=False), _bound(high or low, end=True)
                _in_order(start, end, f"date:{value} starts at {start}, after it ends ({end})")
                result = replace(result, date_from=max(result.date_from, start), date_to=min(result.date_to or end, end))
        return result


FilterArg = Filters | Mapping[str, str] | None  # what searchers accept: typed, or request parameters


def as_filters(value: FilterArg) -> Filters:
    return value if isinstance(value, Filters) else Filters.from_mapping(value)


def request_filters(parsed: ParsedQuery, filters: FilterArg = None) -> tuple[Filters, list[Filters]]:
    """What a request lets through: the stories that meet the first (its
    filters and the query's filter fields) and none of the others (the
    query's excluded filter fields, ``-author:某某``). The story table's
    masks and the Milvus backend's filter expressions are both made from it."""
    excluded = [Filters().with_query(ParsedQuery("", fields=((name, value),)))
                for name, value in parsed.excluded if name in FILTER_FIELDS]
    return as_filters(filters).with_query(parsed), excluded
