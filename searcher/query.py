"""The keyword query language.

Plain text by default: Chinese and ASCII punctuation separate terms and are
never syntax errors; terms are ranked with OR semantics and a bonus for
matching all of them. Explicit syntax where the user asks for it:

- ``"基层治理"`` or ``“基层治理”``: the exact phrase must occur;
- ``-物业`` or ``-"物业公司"``: stories containing it are left out;
- ``headline:乡贤`` (``标题:``), ``author:俞琳`` (``作者:``),
  ``source:000_`` (``来源:``, a file name or its beginning): field conditions.

Unbalanced quotes are read as plain text, control characters as spaces, and
only the first ``MAX_QUERY_CHARS`` characters count.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 1000
FIELD_ALIASES = {"headline": "headline", "标题": "headline", "title": "headline",
                 "author": "author", "作者": "author", "source": "source", "来源": "source"}
_FIELD = "|".join(sorted(map(re.escape, FIELD_ALIASES), key=len, reverse=True))
_CLAUSE = re.compile(
    rf'(?P<neg>-)?(?:(?P<field>{_FIELD})[:：])?(?:"(?P<q1>[^"]*)"|“(?P<q2>[^”]*)”|(?P<word>[^\s"“”]+))')
_QUOTES = '"“”'


@dataclass
class ParsedQuery:
    text: str
    terms: list[str] = field(default_factory=list)  # plain text chunks
    phrases: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)  # (headline|author|source, value)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # ("" for anywhere, or a field, value)

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.excluded or self.fields)

    @property
    def positive_texts(self) -> list[str]:
        """What a match should show: terms, phrases and headline conditions."""
        return self.terms + self.phrases + [v for f, v in self.fields if f == "headline"]


def _clean(text: str) -> str:
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = text.replace("\u3000", " ")[:MAX_QUERY_CHARS]
    if text.count('"') % 2 or text.count("“") != text.count("”"):
        text = "".join(" " if ch in _QUOTES else ch for ch in text)
    return text


def parse_query(text: str) -> ParsedQuery:
    cleaned = _clean(text)
    parsed = ParsedQuery(cleaned.strip())
    for match in _CLAUSE.finditer(cleaned):
        quoted = match.group("q1") if match.group("q1") is not None else match.group("q2")
        value = (quoted if quoted is not None else match.group("word") or "").strip()
        if not value or (value == "-" and quoted is None):
            continue
        name = FIELD_ALIASES.get(match.group("field") or "", "")
        if match.group("neg"):
            parsed.excluded.append((name, value))
        elif name:
            parsed.fields.append((name, value))
        elif quoted is not None:
            parsed.phrases.append(value)
        else:
            parsed.terms.append(value)
    return parsed
