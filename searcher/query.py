"""The keyword query language.

Plain text by default: Chinese and ASCII punctuation separate terms and are
never syntax errors; terms are ranked with OR semantics and a bonus for
matching all of them. Explicit syntax where the user asks for it:

- ``"基层治理"`` (ASCII quotes): the exact phrase must occur;
- ``“基层治理”`` (Chinese quotes) inside a longer query is punctuation, as
  in any pasted sentence: its words count as terms and stories holding the
  phrase rank higher (``boosted``); a query that is only one such phrase
  requires it, as ASCII quotes do;
- ``-物业`` or ``-"物业公司"``: stories containing it are left out;
- ``headline:乡贤`` (``标题:``): a condition on the headline;
- ``author:俞琳`` (``作者:``), ``source:000_`` (``来源:``, a file name or
  its beginning), ``paper:人民日报`` (``报纸:``), ``place:杭州市`` (``地区:``), ``date:2024`` or
  ``日期:2023-03..2024-06``: filters (searcher/filters.py).

Unbalanced quotes are read as plain text, control characters as spaces, and
only the first ``MAX_QUERY_CHARS`` characters count. A condition given twice
counts once; more than ``MAX_CONDITIONS`` distinct phrases, field conditions
and exclusions are refused (each one costs a pass over every candidate).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_QUERY_CHARS = 1000
MAX_CONDITIONS = 20
FIELD_ALIASES = {"headline": "headline", "标题": "headline", "title": "headline",
                 "author": "author", "作者": "author", "source": "source", "来源": "source",
                 "paper": "paper", "报纸": "paper", "date": "date", "日期": "date",
                 "place": "place", "地区": "place"}
_FIELD = "|".join(sorted(map(re.escape, FIELD_ALIASES), key=len, reverse=True))
_CLAUSE = re.compile(
    rf'(?P<neg>-)?(?:(?P<field>{_FIELD})[:：])?(?:"(?P<q1>[^"]*)"|“(?P<q2>[^”]*)”|(?P<word>[^\s"“”]+))')
_QUOTES = '"“”'


class QueryError(ValueError):
    """A request that cannot be answered as asked; the message says why, and
    ``chinese`` says it to a person reading a page (the message if not given)."""

    def __init__(self, message: str, chinese: str | None = None):
        super().__init__(message)
        self.chinese = chinese or message


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    terms: tuple[str, ...] = ()  # plain text chunks
    phrases: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()  # (headline|author|source, value)
    excluded: tuple[tuple[str, str], ...] = ()  # ("" for anywhere, or a field, value)
    boosted: tuple[str, ...] = ()  # phrases in Chinese quotes in a longer query: ranked up, not required

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.excluded or self.fields)

    @property
    def positive_texts(self) -> list[str]:
        """What a match should show: terms, phrases and headline conditions."""
        return [*self.terms, *self.phrases, *(v for f, v in self.fields if f == "headline")]

    @property
    def conditions(self) -> int:
        return len(self.phrases) + len(self.fields) + len(self.excluded)


def _clean(text: str) -> str:
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = text.replace("\u3000", " ")[:MAX_QUERY_CHARS]
    if text.count('"') % 2 or text.count("“") != text.count("”"):
        text = "".join(" " if ch in _QUOTES else ch for ch in text)
    return text


@lru_cache(maxsize=1024)
def parse_query(text: str) -> ParsedQuery:
    """The query's parts, duplicates merged; cached, as one request parses its
    query in several places (ranking, each mode, snippets)."""
    cleaned = _clean(text)
    terms, phrases, fields, excluded, boosted = [], {}, {}, {}, {}
    clauses = [match for match in _CLAUSE.finditer(cleaned)]
    texts = [m for m in clauses if not m.group("neg") and not m.group("field")
             and (m.group("q1") or m.group("q2") or (m.group("word") or "-") != "-")]
    for match in clauses:
        quoted = match.group("q1") if match.group("q1") is not None else match.group("q2")
        value = (quoted if quoted is not None else match.group("word") or "").strip()
        if not value or (value == "-" and quoted is None):
            continue
        name = FIELD_ALIASES.get(match.group("field") or "", "")
        if match.group("neg"):
            excluded[(name, value)] = None
        elif name:
            fields[(name, value)] = None
        elif match.group("q2") is not None and len(texts) > 1:
            terms.append(value)
            boosted[value] = None
        elif quoted is not None:
            phrases[value] = None
        else:
            terms.append(value)
    return ParsedQuery(cleaned.strip(), tuple(terms), tuple(phrases), tuple(fields), tuple(excluded),
                       tuple(boosted))


def check_conditions(parsed: ParsedQuery) -> ParsedQuery:
    """The parsed query, or QueryError if it has more conditions than allowed."""
    if parsed.conditions > MAX_CONDITIONS:
        raise QueryError(
            f"the query has {parsed.conditions} phrases, field conditions and exclusions; "
            f"at most {MAX_CONDITIONS} are allowed",
            f"检索条件太多：共 {parsed.conditions} 个短语、字段条件和排除条件，最多 {MAX_CONDITIONS} 个。请减少引号短语、"
            f"headline:/author:/source: 条件或排除词。")
    return parsed


def searchable_spans(text: str) -> tuple[str, list[tuple[int, int]]]:
    """(the cleaned query, the (start, end) in it of each text the query
    searches for: plain terms, phrases and headline conditions, never
    exclusions or filter values), so that a part can be replaced and the rest
    of the query kept as typed (did you mean, searcher/suggest.py)."""
    cleaned = _clean(text)
    spans = []
    for match in _CLAUSE.finditer(cleaned):
        group = next((name for name in ("q1", "q2", "word") if match.group(name) is not None), None)
        name = FIELD_ALIASES.get(match.group("field") or "", "")
        if group is None or match.group("neg") or name not in ("", "headline"):
            continue
        spans.append(match.span(group))
    return cleaned, spans
