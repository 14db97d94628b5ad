"""What the segmenter knows about one line when it decides whether a story
starts there: layout (length, punctuation, what the neighbouring lines look
like) and text cohesion (character bigrams shared with the lines around).

The same features feed the story-start model at run time and its training
(``scripts/train_segmenter.py``); each has a name, so ``--explain`` can say
which of them decided.
"""
from __future__ import annotations

import re

from .cohesion import PageText
from .textpatterns import (BYLINE_WORDS, CONTINUING, DATELINE, FUNCTION_CHARS, NUMBERED, STANDING_HEAD, TERMINAL,
                           breaks_word, byline_like, caption_like, closes_credit, headline_like, is_balanced, is_complete)

SENTENCE_INNER = set("，,、；;：:")
LEAD_LONG_CHARS = 40
# Two-part headlines are often printed with a space between the parts
# (人大助力 城乡风貌美); bylines space names, which are shorter.
SPACED_PHRASES = re.compile(r"\S{4,}\s+\S{4,}")
COHESION_LEVELS = (0.05, 0.15, 0.3, 0.5)
TRUSTED_PAGE_LINES = 20


def _shape(prefix: str, text: str | None) -> dict[str, float]:
    """What a neighbouring line looks like."""
    if text is None:  # the page's edge says little: pages may start or end mid-story
        return {}
    length = len(text)
    return {
        f"{prefix} long": float(length > LEAD_LONG_CHARS),
        f"{prefix} complete": float(is_complete(text)),
        f"{prefix} ends with a credit": float(closes_credit(text)),
        f"{prefix} short open": float(length <= LEAD_LONG_CHARS and not is_complete(text)),
        f"{prefix} byline-like": float(byline_like(text)),
    }


def line_features(page: PageText, i: int, previous_starts: bool) -> dict[str, float]:
    """Named features of line ``i`` (``previous_starts``: a story was judged
    to start on the line before)."""
    texts = page.texts
    text = texts[i]
    previous = texts[i - 1] if i > 0 else None
    following = texts[i + 1] if i + 1 < len(texts) else None
    length = len(text)
    inner = sum(text.count(c) for c in SENTENCE_INNER)
    features = {
        "bias": 1.0,
        "length <= 4": float(length <= 4),
        "length <= 12": float(length <= 12),
        "length <= 24": float(length <= 24),
        "length <= 40": float(length <= 40),
        "ends a sentence": float(is_complete(text)),
        "ends with ！ or ？": float(text.rstrip("”’』」")[-1:] in "！？!?"),
        "ends with 。": float(text.rstrip("”’』」")[-1:] == "。"),
        "inner punctuation": min(inner, 4) / 4,
        "has a dash": float("——" in text),
        "in parentheses": float(text[:1] in "(（" and text[-1:] in ")）"),
        "numbered": float(bool(NUMBERED.match(text))),
        "caption-like": float(caption_like(text)),
        "byline-like": float(byline_like(text)),
        "dateline": float(bool(DATELINE.match(text))),
        "previous starts a story": float(previous_starts),
        "next is a dateline": float(following is not None and bool(DATELINE.match(following))),
        "next names a reporter": float(following is not None and any(w in following[:12] for w in BYLINE_WORDS)),
        "terminal in the line": float(any(c in TERMINAL for c in text[:-1])),
        "headline-like": float(headline_like(text)),
        "standing head": float(bool(STANDING_HEAD.match(text))),
        "two phrases set apart by a space": float(bool(SPACED_PHRASES.fullmatch(text))),
        "ends with a function character": float(text[-1:] in FUNCTION_CHARS),
        "next continues a sentence": float(following is not None and following.startswith(CONTINUING)),
        "next opens with a function character": float(following is not None and following[:1] in FUNCTION_CHARS),
        "unbalanced brackets": float(not is_balanced(text)),
        "the line before breaks a word into this one": float(previous is not None and not is_complete(previous)
                                                             and breaks_word(previous, text)),
        "headline-like after a complete line": float(headline_like(text) and (previous is None or is_complete(previous)
                                                                              or closes_credit(previous))),
        "short open line between short open lines": float(
            len(text) <= LEAD_LONG_CHARS and not is_complete(text) and previous is not None and following is not None
            and all(len(t) <= LEAD_LONG_CHARS and not is_complete(t) for t in (previous, following))),
        "breaks a word with the next line": float(following is not None and not is_complete(text)
                                                  and breaks_word(text, following)),
    }
    features.update(_shape("previous", previous))
    features.update(_shape("next", following))
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
    headline_shape = features["headline-like"] or (length <= LEAD_LONG_CHARS and not is_complete(text))
    second = texts[i + 2] if i + 2 < len(texts) else None
    features["headline shape before a dateline"] = float(headline_shape and features.get("next is a dateline", 0) > 0)
    features["headline shape before a byline"] = float(headline_shape and features.get("next byline-like", 0) > 0)
    features["headline shape before a long line"] = float(headline_shape and features.get("next long", 0) > 0)
    features["line after next long"] = float(second is not None and len(second) > LEAD_LONG_CHARS)
    features["line after next a dateline"] = float(second is not None and bool(DATELINE.match(second)))
    return features
