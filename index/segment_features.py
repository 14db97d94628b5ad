"""What the segmenter knows about one line when it decides whether a story
starts there: layout (length, punctuation, what the neighbouring lines look
like) and text cohesion (character bigrams shared with the lines around).

The same features feed the story-start model at run time and its training
(``scripts/train_segmenter.py``); each has a name, so ``--explain`` can say
which of them decided.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .cohesion import PageText
from .textpatterns import (BYLINE_WORDS, CONTINUING, DATELINE, FUNCTION_CHARS, MAX_BYLINE_CHARS, MAX_HEADLINE_CHARS,
                           NUMBERED, STANDING_HEAD, TERMINAL,
                           byline_like, caption_like, closes_credit, continues_sentence, headline_like, is_balanced,
                           is_complete, runs_into)

SENTENCE_INNER = set("，,、；;：:")
LEAD_LONG_CHARS = 40
# Two-part headlines are often printed with a space between the parts
# (人大助力 城乡风貌美); bylines space names, which are shorter.
SPACED_PHRASES = re.compile(r"\S{4,}\s+\S{4,}")
COHESION_LEVELS = (0.05, 0.15, 0.3, 0.5)
TRUSTED_PAGE_LINES = 20


@dataclass(frozen=True)
class Facts:
    """What one line is like on its own, worked out once per page."""
    length: int
    complete: bool
    credit: bool
    byline: bool
    headline: bool
    dateline: bool
    breaks_next: bool  # the line stops mid-sentence and a word runs on into the next line


# What a line's own text says, in the order of ``_own``: worked out once per
# distinct text on a page (bylines, standing heads and formulaic paragraphs
# repeat), then the features of every line are put together with numpy.
OWN = ("length", "complete", "credit", "byline", "headline", "dateline", "ends with ！ or ？", "ends with 。",
       "has a dash", "in parentheses", "numbered", "caption-like",
       "standing head", "two phrases set apart by a space", "ends with a function character",
       "continues a sentence", "opens with a function character", "unbalanced brackets", "names a reporter")
# ("inner punctuation" and "terminal in the line" are counted for all distinct
# texts at once: see _marks.)


INNER_POINTS = np.array(sorted(map(ord, SENTENCE_INNER)), dtype=np.uint32)
TERMINAL_POINTS = np.array(sorted(map(ord, TERMINAL)), dtype=np.uint32)
DATELINE_START = set("【[据本新中")  # what DATELINE can open with
STANDING_HEAD_CHARS = 30  # the longest STANDING_HEAD can match
REPORTER_WORD = re.compile("|".join(map(re.escape, BYLINE_WORDS)))
REPORTER_WORD_CHARS = 12  # a byline word this near the start names a reporter
CLOSING_PARENTHESES = {")", "）"}  # what closes_credit wants the line to end with
CONTINUING_CHARS = set(CONTINUING)  # what continues_sentence wants the line to open with


def _own(text: str) -> tuple[float, ...]:
    # (a test that a cheap look at the length or an end character rules out is
    # not asked: most lines are paragraphs, far longer than headlines and bylines)
    length = len(text)
    first, last = text[:1], text[-1:]
    tail = text.rstrip("”’』」")[-1:]
    return (length, is_complete(text), last in CLOSING_PARENTHESES and closes_credit(text),
            length <= MAX_BYLINE_CHARS and byline_like(text), length <= MAX_HEADLINE_CHARS and headline_like(text),
            first in DATELINE_START and bool(DATELINE.match(text)), tail in "！？!?" and tail != "", tail == "。",
            "——" in text, first in "(（" and last in ")）", bool(NUMBERED.match(text)), caption_like(text),
            length <= STANDING_HEAD_CHARS and bool(STANDING_HEAD.match(text)),
            _spaced_phrases(text), last in FUNCTION_CHARS, first in CONTINUING_CHARS and continues_sentence(text),
            first in FUNCTION_CHARS, not is_balanced(text), bool(REPORTER_WORD.search(text, 0, REPORTER_WORD_CHARS)))


def _marks(texts: list[str]) -> dict[str, np.ndarray]:
    """For each text, its inner punctuation (a quarter per mark, at most 1)
    and whether a sentence ends before its last character: one pass of numpy
    over the texts' code points, not a pattern search per text."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    text_of = np.repeat(np.arange(len(texts)), lengths)
    inner = np.bincount(text_of[np.isin(points, INNER_POINTS)], minlength=len(texts))
    terminal = np.isin(points, TERMINAL_POINTS)
    terminal[np.cumsum(lengths)[lengths > 0] - 1] = False  # (each text's last character aside)
    return {"inner punctuation": np.minimum(inner, 4) / 4,
            "terminal in the line": (np.bincount(text_of[terminal], minlength=len(texts)) > 0).astype(float)}


def _spaced_phrases(text: str) -> bool:
    # (SPACED_PHRASES wants a space between two runs of other characters:
    # str.split finds one faster than the pattern tells that a long line has none)
    return len(text.split(None, 1)) > 1 and bool(SPACED_PHRASES.fullmatch(text))


class PageLines(PageText):
    """The page's lines with their cohesion, their facts and the columns of
    their story-start features (all but "previous starts a story", which
    depends on the decision on the line before)."""

    def __init__(self, texts: list[str]):
        super().__init__(texts)
        n = len(texts)
        # each distinct text's row once; the page's lines pick theirs by number
        distinct_texts = list(dict.fromkeys(texts))
        numbers = {text: k for k, text in enumerate(distinct_texts)}
        which = np.fromiter(map(numbers.__getitem__, texts), dtype=np.intp, count=n)
        distinct = np.fromiter(chain.from_iterable(map(_own, distinct_texts)), dtype=float,
                               count=len(distinct_texts) * len(OWN)).reshape(len(distinct_texts), len(OWN))
        own = distinct[which] if len(distinct_texts) < n else distinct
        self.own = {name: own[:, k] for k, name in enumerate(OWN)}
        for name, values in _marks(distinct_texts).items():
            self.own[name] = values[which] if len(distinct_texts) < n else values
        # (runs_into is False for a complete line: only the others are asked)
        pairs: dict[tuple[str, str], bool] = {}
        breaks = np.zeros(n)
        for i in np.flatnonzero(own[:n - 1, OWN.index("complete")] == 0).tolist():
            key = (texts[i], texts[i + 1])
            if key not in pairs:
                pairs[key] = runs_into(*key)
            breaks[i] = pairs[key]
        self.own["breaks next"] = breaks
        self.columns = _columns(self)

    @property
    def facts(self) -> list[Facts]:
        o = self.own
        return [Facts(int(o["length"][i]), bool(o["complete"][i]), bool(o["credit"][i]), bool(o["byline"][i]),
                      bool(o["headline"][i]), bool(o["dateline"][i]), bool(o["breaks next"][i]))
                for i in range(len(self.texts))]


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    """values[i + by] at i, zero past the page's edges."""
    shifted = np.zeros_like(values)
    n = len(values)
    if by > 0 and by < n:
        shifted[:n - by] = values[by:]
    elif by < 0 and -by < n:
        shifted[-by:] = values[:n + by]
    return shifted


def _columns(page: PageLines) -> dict[str, np.ndarray]:
    """Every feature of ``line_features`` but "previous starts a story", for
    all lines at once, in its order (the neighbours' shapes are zero past the
    page's edges, where ``line_features`` leaves them out)."""
    o = page.own
    n = len(page.texts)
    length = o["length"]
    has_before = np.arange(n) > 0
    has_after = np.arange(n) < n - 1
    has_second = np.arange(n) < n - 2
    nxt = {name: _shift(values, 1) for name, values in o.items()}
    prv = {name: _shift(values, -1) for name, values in o.items()}
    second = {name: _shift(o[name], 2) for name in ("length", "dateline")}
    short_open = (length <= LEAD_LONG_CHARS) & (o["complete"] == 0)
    f = lambda mask: np.asarray(mask, dtype=float)  # noqa: E731
    columns = {
        "bias": np.ones(n),
        "length <= 4": f(length <= 4),
        "length <= 12": f(length <= 12),
        "length <= 24": f(length <= 24),
        "length <= 40": f(length <= 40),
        "ends a sentence": o["complete"],
        "ends with ！ or ？": o["ends with ！ or ？"],
        "ends with 。": o["ends with 。"],
        "inner punctuation": o["inner punctuation"],
        "has a dash": o["has a dash"],
        "in parentheses": o["in parentheses"],
        "numbered": o["numbered"],
        "caption-like": o["caption-like"],
        "byline-like": o["byline"],
        "dateline": o["dateline"],
        "previous starts a story": None,
        "next is a dateline": f(has_after & (nxt["dateline"] > 0)),
        "next names a reporter": f(has_after & (nxt["names a reporter"] > 0)),
        "terminal in the line": o["terminal in the line"],
        "headline-like": o["headline"],
        "standing head": o["standing head"],
        "two phrases set apart by a space": o["two phrases set apart by a space"],
        "ends with a function character": o["ends with a function character"],
        "next continues a sentence": f(has_after & (nxt["continues a sentence"] > 0)),
        "next opens with a function character": f(has_after & (nxt["opens with a function character"] > 0)),
        "unbalanced brackets": o["unbalanced brackets"],
        "the line before breaks a word into this one": f(has_before & (prv["breaks next"] > 0)),
        "headline-like after a complete line": f((o["headline"] > 0) & (~has_before | (prv["complete"] > 0)
                                                                         | (prv["credit"] > 0))),
        "short open line between short open lines": f(short_open & has_before & has_after
                                                      & _shift(short_open, -1) & _shift(short_open, 1)),
        "breaks a word with the next line": o["breaks next"],
    }
    for prefix, shape in (("previous", prv), ("next", nxt)):
        columns[f"{prefix} long"] = f(shape["length"] > LEAD_LONG_CHARS)
        columns[f"{prefix} complete"] = shape["complete"]
        columns[f"{prefix} ends with a credit"] = shape["credit"]
        columns[f"{prefix} short open"] = f((shape["length"] <= LEAD_LONG_CHARS) & (shape["complete"] == 0)
                                            & (has_before if prefix == "previous" else has_after))
        columns[f"{prefix} byline-like"] = shape["byline"]
    trust = min(1.0, n / TRUSTED_PAGE_LINES)
    below, above, across = (np.asarray(page.below, dtype=float), np.asarray(page.above, dtype=float),
                            np.asarray(page.across, dtype=float))
    columns["shares with the text below"] = trust * below
    columns["shares with the text above"] = trust * above
    columns["text above and below alike"] = trust * across
    for level in COHESION_LEVELS:
        columns[f"shares with the text below > {level}"] = trust * f(below > level)
        columns[f"shares with the text above > {level}"] = trust * f(above > level)
        columns[f"text above and below alike > {level}"] = trust * f(across > level)
    headline_shape = (o["headline"] > 0) | short_open
    columns["headline shape before a dateline"] = f(headline_shape & has_after & (nxt["dateline"] > 0))
    columns["headline shape before a byline"] = f(headline_shape & has_after & (nxt["byline"] > 0))
    columns["headline shape before a long line"] = f(headline_shape & has_after & (nxt["length"] > LEAD_LONG_CHARS))
    columns["line after next long"] = f(has_second & (second["length"] > LEAD_LONG_CHARS))
    columns["line after next a dateline"] = f(has_second & (second["dateline"] > 0))
    return columns


def line_features(page: PageLines, i: int, previous_starts: bool) -> dict[str, float]:
    """Named features of line ``i`` (``previous_starts``: a story was judged
    to start on the line before); a neighbour's shape is left out past the
    page's edges: pages may start or end mid-story, and the edge says little."""
    n = len(page.texts)
    features = {}
    for name, column in page.columns.items():
        if column is None:
            features[name] = float(previous_starts)
        elif (name.startswith("previous ") and name != "previous starts a story" and i == 0) or (
                name.startswith("next ") and name in NEXT_SHAPE and i == n - 1):
            continue
        else:
            features[name] = float(column[i])
    return features


NEXT_SHAPE = {f"next {s}" for s in ("long", "complete", "ends with a credit", "short open", "byline-like")}


def start_scores(page: PageLines, weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Every line's story-start score, with no story and with a story
    starting on the line before: the terms added in ``line_features``' order,
    as ``StartModel.score`` adds them, so the sums are the same to the bit."""
    n = len(page.texts)
    scores = [np.zeros(n), np.zeros(n)]
    for name, column in page.columns.items():
        weight = weights.get(name, 0.0)
        for previous, score in enumerate(scores):
            score += weight * (float(previous) if column is None else column)
    return scores[0], scores[1]
