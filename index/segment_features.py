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

from .cohesion import PageText
from .textpatterns import (BYLINE_WORDS, DATELINE, FUNCTION_CHARS, NUMBERED, STANDING_HEAD, TERMINAL,
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


class PageLines(PageText):
    """The page's lines with their cohesion and their facts."""

    def __init__(self, texts: list[str]):
        super().__init__(texts)
        self.facts = []
        for i, text in enumerate(texts):
            following = texts[i + 1] if i + 1 < len(texts) else None
            complete = is_complete(text)
            self.facts.append(Facts(len(text), complete, closes_credit(text), byline_like(text), headline_like(text),
                                    bool(DATELINE.match(text)),
                                    runs_into(text, following)))


def _shape(prefix: str, facts: Facts | None) -> dict[str, float]:
    """What a neighbouring line looks like."""
    if facts is None:  # the page's edge says little: pages may start or end mid-story
        return {}
    return {
        f"{prefix} long": float(facts.length > LEAD_LONG_CHARS),
        f"{prefix} complete": float(facts.complete),
        f"{prefix} ends with a credit": float(facts.credit),
        f"{prefix} short open": float(facts.length <= LEAD_LONG_CHARS and not facts.complete),
        f"{prefix} byline-like": float(facts.byline),
    }


def line_features(page: PageLines, i: int, previous_starts: bool) -> dict[str, float]:
    """Named features of line ``i`` (``previous_starts``: a story was judged
    to start on the line before)."""
    texts = page.texts
    text = texts[i]
    own = page.facts[i]
    before = page.facts[i - 1] if i > 0 else None
    after = page.facts[i + 1] if i + 1 < len(texts) else None
    following = texts[i + 1] if after else None
    length = own.length
    inner = sum(text.count(c) for c in SENTENCE_INNER)
    tail = text.rstrip("”’』」")[-1:]
    features = {
        "bias": 1.0,
        "length <= 4": float(length <= 4),
        "length <= 12": float(length <= 12),
        "length <= 24": float(length <= 24),
        "length <= 40": float(length <= 40),
        "ends a sentence": float(own.complete),
        "ends with ！ or ？": float(tail in "！？!?" and tail != ""),
        "ends with 。": float(tail == "。"),
        "inner punctuation": min(inner, 4) / 4,
        "has a dash": float("——" in text),
        "in parentheses": float(text[:1] in "(（" and text[-1:] in ")）"),
        "numbered": float(bool(NUMBERED.match(text))),
        "caption-like": float(caption_like(text)),
        "byline-like": float(own.byline),
        "dateline": float(own.dateline),
        "previous starts a story": float(previous_starts),
        "next is a dateline": float(after is not None and after.dateline),
        "next names a reporter": float(following is not None and any(w in following[:12] for w in BYLINE_WORDS)),
        "terminal in the line": float(any(c in TERMINAL for c in text[:-1])),
        "headline-like": float(own.headline),
        "standing head": float(bool(STANDING_HEAD.match(text))),
        "two phrases set apart by a space": float(bool(SPACED_PHRASES.fullmatch(text))),
        "ends with a function character": float(text[-1:] in FUNCTION_CHARS),
        "next continues a sentence": float(following is not None and continues_sentence(following)),
        "next opens with a function character": float(following is not None and following[:1] in FUNCTION_CHARS),
        "unbalanced brackets": float(not is_balanced(text)),
        "the line before breaks a word into this one": float(before is not None and before.breaks_next),
        "headline-like after a complete line": float(own.headline and (before is None or before.complete
                                                                        or before.credit)),
        "short open line between short open lines": float(
            length <= LEAD_LONG_CHARS and not own.complete and before is not None and after is not None
            and all(f.length <= LEAD_LONG_CHARS and not f.complete for f in (before, after))),
        "breaks a word with the next line": float(own.breaks_next),
    }
    features.update(_shape("previous", before))
    features.update(_shape("next", after))
    # Cohesion: a headline shares words with the text below it, a crosshead
    # or a verse line with the text on both sides; a story boundary
    # separates text that shares little.
    # On a page of a few lines the page's IDF tells common words from rare
    # ones poorly, so cohesion counts for less there.
    trust = min(1.0, len(texts) / TRUSTED_PAGE_LINES)
    below, above, across = page.below[i], page.above[i], page.across[i]
    features["shares with the text below"] = trust * float(below)
    features["shares with the text above"] = trust * float(above)
    features["text above and below alike"] = trust * float(across)
    for level in COHESION_LEVELS:
        features[f"shares with the text below > {level}"] = trust * float(below > level)
        features[f"shares with the text above > {level}"] = trust * float(above > level)
        features[f"text above and below alike > {level}"] = trust * float(across > level)
    headline_shape = own.headline or (length <= LEAD_LONG_CHARS and not own.complete)
    second = page.facts[i + 2] if i + 2 < len(texts) else None
    features["headline shape before a dateline"] = float(headline_shape and after is not None and after.dateline)
    features["headline shape before a byline"] = float(headline_shape and after is not None and after.byline)
    features["headline shape before a long line"] = float(headline_shape and after is not None
                                                          and after.length > LEAD_LONG_CHARS)
    features["line after next long"] = float(second is not None and second.length > LEAD_LONG_CHARS)
    features["line after next a dateline"] = float(second is not None and second.dateline)
    return features
