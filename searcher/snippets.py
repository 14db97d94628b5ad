"""Highlighting: what the query matched, marked at the exact characters.

Matching runs on the folded text (full-width, traditional and case folded),
which has one character for each character of the original, so every span
found there is the same span of what is displayed. Output is HTML-escaped
with ``<mark>`` around the matches.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from index.analysis import text_analysis

from .query import ParsedQuery

SNIPPET_CHARS = 140


def match_targets(parsed: ParsedQuery) -> list[str]:
    """The folded strings to mark: words, bigrams (or lone characters) and phrases."""
    analysis = text_analysis()
    targets: set[str] = set()
    for text in parsed.positive_texts:
        targets.update(w for w, *_ in analysis.words(text))
        targets.update(g for g, *_ in analysis.grams(text, unigrams=False))
        folded = analysis.fold(text).strip()
        if folded:
            targets.add(folded)
    return sorted(targets, key=len, reverse=True)


def match_spans(text: str, targets: list[str]) -> list[tuple[int, int]]:
    """Merged, sorted (start, end) spans of every target occurrence in ``text``."""
    folded = text_analysis().fold(text)
    spans = []
    for target in targets:
        start = folded.find(target)
        while start != -1:
            spans.append((start, start + len(target)))
            start = folded.find(target, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> Markup:
    """``text[start:end]`` escaped, with ``<mark>`` around the spans inside it."""
    end = len(text) if end is None else end
    out, cursor = [], start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out += [escape(text[cursor:s]), Markup("<mark>"), escape(text[s:e]), Markup("</mark>")]
        cursor = e
    out.append(escape(text[cursor:end]))
    return Markup("").join(out)


def _best_window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Start of the ``width``-character window holding the most distinct matches."""
    best_start, best_score = 0, -1
    for s, _ in spans:
        start = max(0, min(s - width // 5, len(text) - width))
        inside = {text[a:b] for a, b in spans if a >= start and b <= start + width}
        if len(inside) > best_score:
            best_start, best_score = start, len(inside)
    return best_start


def snippet(text: str, parsed: ParsedQuery, width: int = SNIPPET_CHARS) -> Markup:
    """The best passage of ``text`` for the query, matches marked; the start
    of the text when nothing matched (a semantic hit may share no word)."""
    text = " ".join(text.split())
    spans = match_spans(text, match_targets(parsed))
    start = _best_window(text, spans, width) if spans else 0
    end = min(len(text), start + width)
    return (Markup("…") if start else Markup("")) + mark(text, spans, start, end) + (
        Markup("…") if end < len(text) else Markup(""))


def highlight_all(text: str, parsed: ParsedQuery) -> Markup:
    """The whole text with every match marked (for the story page)."""
    return mark(text, match_spans(text, match_targets(parsed)))
