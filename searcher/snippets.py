"""Highlighting: what the query matched, marked at the exact characters.

Matching runs on the folded text (full-width, traditional and case folded),
which has one character for each character of the original, so every span
found there is the same span of what is displayed. Output is HTML-escaped
with ``<mark>`` around the matches.

The work is bounded whatever the story: text is folded and searched chunk by
chunk, a snippet is chosen from the first ``SNIPPET_SCAN_CHARS`` characters,
a story page marks matches in its first ``PAGE_SCAN_CHARS``, and the search
stops after ``MAX_SPANS`` matches (a 5 MB page is shown, only partly marked).
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

from markupsafe import Markup, escape

from storysearch.index.analysis import text_analysis

from .query import ParsedQuery

SNIPPET_CHARS = 140
SNIPPET_SCAN_CHARS = 100_000
PAGE_SCAN_CHARS = 300_000
MAX_SPANS = 1_000
MAX_TARGETS = 100
SCAN_CHUNK = 8_192


def match_targets(parsed: ParsedQuery) -> list[str]:
    """The folded strings to mark: words, bigrams (or lone characters) and
    phrases, the longest first (at most ``MAX_TARGETS``). Asked once a hit
    of a page: the answer is kept per analyzer and query."""
    return list(_match_targets(text_analysis(), parsed))


@lru_cache(maxsize=256)
def _match_targets(analysis, parsed: ParsedQuery) -> tuple[str, ...]:
    targets: set[str] = set()
    for text in parsed.positive_texts:
        targets.update(w for w, *_ in analysis.words(text))
        targets.update(g for g, *_ in analysis.grams(text, unigrams=False))
        folded = analysis.fold(text).strip()
        if folded:
            targets.add(folded)
    return tuple(sorted(targets, key=lambda t: (-len(t), t))[:MAX_TARGETS])


def match_spans(text: str, targets: list[str], limit: int = MAX_SPANS) -> list[tuple[int, int]]:
    """Merged, sorted (start, end) spans of target occurrences in ``text``, at
    most ``limit``: the text is folded and searched a chunk at a time, so the
    work stops with the first ``limit`` matches."""
    if not targets or limit <= 0:
        return []
    fold = text_analysis().fold
    overlap = max(map(len, targets)) - 1  # a match may start in a chunk and end in the next
    merged: list[tuple[int, int]] = []
    for offset in range(0, len(text), SCAN_CHUNK):
        folded = fold(text[offset:offset + SCAN_CHUNK + overlap])
        found = []
        for target in targets:
            start = folded.find(target)
            while -1 < start < SCAN_CHUNK:  # later starts belong to the next chunk
                found.append((offset + start, offset + start + len(target)))
                start = folded.find(target, start + 1)
        for start, end in sorted(found):
            # one span for what touches or is apart only by spaces (a phrase printed 网格连心 组团服务)
            if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip(" \t\u3000\u00a0")):
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            elif len(merged) == limit:
                return merged
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


def best_window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Start of the ``width``-character window holding the most distinct
    matched texts, of the windows starting a fifth of a width before a match
    (the first of equals). One pass: the candidate starts only move right, so
    spans enter the window at its end and leave at its start once each."""
    best_start, best_score = 0, -1
    inside: Counter[str] = Counter()
    entered = left = 0
    for s, _ in spans:
        start = max(0, min(s - width // 5, len(text) - width))
        while entered < len(spans) and spans[entered][1] <= start + width:
            inside[text[spans[entered][0]:spans[entered][1]]] += 1
            entered += 1
        while left < entered and spans[left][0] < start:
            key = text[spans[left][0]:spans[left][1]]
            inside[key] -= 1
            if not inside[key]:
                del inside[key]
            left += 1
        if len(inside) > best_score:
            best_start, best_score = start, len(inside)
    return best_start


def snippet(text: str, parsed: ParsedQuery, width: int = SNIPPET_CHARS) -> Markup:
    """The best passage of the text's first ``SNIPPET_SCAN_CHARS`` characters
    for the query, matches marked; the start of the text when nothing matched
    there (a semantic hit may share no word)."""
    cut = len(text) > SNIPPET_SCAN_CHARS
    text = " ".join(text[:SNIPPET_SCAN_CHARS].split())
    spans = match_spans(text, match_targets(parsed))
    start = best_window(text, spans, width) if spans else 0
    end = min(len(text), start + width)
    return (Markup("…") if start else Markup("")) + mark(text, spans, start, end) + (
        Markup("…") if end < len(text) or cut else Markup(""))


def highlight_paragraphs(paragraphs: list[str], parsed: ParsedQuery) -> list[Markup]:
    """The paragraphs whole, with the matches marked in their first
    ``PAGE_SCAN_CHARS`` characters (at most ``MAX_SPANS``), for the story page."""
    targets = match_targets(parsed)
    scan_left, spans_left, marked = PAGE_SCAN_CHARS, MAX_SPANS, []
    for paragraph in paragraphs:
        spans = match_spans(paragraph[:scan_left], targets, spans_left)
        scan_left, spans_left = max(0, scan_left - len(paragraph)), spans_left - len(spans)
        marked.append(mark(paragraph, spans))
    return marked
