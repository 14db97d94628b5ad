"""Did you mean, and completions for the search box, from the index's own vocabulary.

The vocabulary is what the archive says, nothing from outside: the words of
the term matrix (index/sparse.py: headline and body words as the analyzer
produces them), of two characters or more, each with the number of stories
holding it (its document frequency, the length of its column), plus the
byline names with the number of stories they sign. It is derived when the
engine opens (``SearchEngine.preload`` warms it; otherwise the first search
that needs it builds it), so the index format does not change.

**Did you mean.** Homophones are the common Chinese typo (an input method
offers a word that sounds the same: ``乡闲`` for ``乡贤``), so each vocabulary
word is filed under its toneless pinyin (``xiang xian``), read as pypinyin
reads the whole word where its phrase dictionary knows it (``银行`` is
``yin hang``) and character by character otherwise. Looking a typed word up
is a dict hit; only when no word sounds the same are the pinyin keys of the
words *of the same length* compared by edit distance (rapidfuzz), at most
``MAX_PINYIN_DISTANCE`` letters apart (``zh``/``z``, ``ing``/``in``: a
dialect's or a finger's slip).

A query *finds little* when fewer than ``LITTLE`` stories contain all its
words as written. That is estimated from the term matrix without searching:
a word's stories are at most those holding each of its character pairs
(exact for two characters), and the stories holding all words at most those
holding the rarest. Only then is anything suggested, and only for the words
found in fewer than ``LITTLE`` stories: a replacement must differ from what
was typed in few characters, be found in at least ``MIN_TARGET`` stories and
in more than ``RATIO`` times as many as the typed word. The rest of the query
(other words, quoted phrases, field conditions, exclusions, the request's
filters) is kept as typed.

**Completions.** Vocabulary words and byline names beginning with what was
typed, the words only where they occur in some headline (every character
pair of the word is in the headline field), most frequent first.
"""
from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np

from storysearch.index.analysis import CJK, text_analysis

from .query import QueryError, searchable_spans

LITTLE = 3  # fewer stories than this holding the query's words as written: the query finds little
MIN_TARGET = 2  # a suggested word is found in at least this many stories (1 where the archive is tiny)
RATIO = 3  # ... and in more than this many times as many as the word typed
MAX_PINYIN_DISTANCE = 1  # letters of toneless pinyin, for words that do not sound the same
MAX_WORD_CHARS = 8  # longer runs are corrected word by word
MAX_READINGS = 16  # heteronym readings of a typed word tried as keys
MAX_PREFIX_CHARS = 20
MAX_COMPLETIONS = 10
COMPLETION_CHECKS = 300  # words tried against the headlines for one prefix, most frequent first
CJK_WORD = re.compile(f"[{CJK}]{{2,{MAX_WORD_CHARS}}}")
CJK_RUN = re.compile(f"[{CJK}]+")


@dataclass(frozen=True)
class Correction:
    typed: str  # as the query has it
    suggested: str  # a word of the archive
    stories: int  # how many stories hold the suggested word


@dataclass(frozen=True)
class Suggestion:
    """The query with its likely typos replaced, and which words were replaced."""

    query: str
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class Completion:
    text: str
    kind: str  # "term" or "name"
    stories: int


@lru_cache(maxsize=None)
def _char_readings(char: str) -> tuple[str, ...]:
    """The toneless readings of one character, the most common first."""
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda c: [c])[0]
    return tuple(dict.fromkeys(readings)) or (char,)


@lru_cache(maxsize=None)
def _toneless(syllable: str) -> str:
    from pypinyin.contrib.tone_convert import to_normal

    return to_normal(syllable)


@lru_cache(maxsize=1)
def _phrases() -> dict:
    from pypinyin.constants import PHRASES_DICT

    return PHRASES_DICT


def pinyin_key(word: str) -> str:
    """The toneless pinyin of a word, syllables separated by spaces; the
    phrase dictionary's reading where it has the word and one of its
    characters has several readings."""
    readings = [_char_readings(c) for c in word]
    for r in readings:
        if len(r) > 1:
            phrase = _phrases().get(word)
            if phrase and len(phrase) == len(word):
                return " ".join([_toneless(p[0]) for p in phrase])
            break
    return " ".join([r[0] for r in readings])


def typed_keys(word: str) -> list[str]:
    """Every reading of a typed word (heteronyms multiply), the usual one first."""
    first = pinyin_key(word)
    readings = [_char_readings(c) for c in word]
    keys = [first]
    for combo in product(*readings):
        if len(keys) >= MAX_READINGS:
            break
        key = " ".join(combo)
        if key != first:
            keys.append(key)
    return keys


class Vocabulary:
    """The archive's words and names with their story counts, filed by pinyin and by prefix."""

    def __init__(self, terms: dict[str, int], names: Counter, gram_stories: Callable[[str], int],
                 in_headlines: Callable[[str], bool] | None = None, stories: int = 0):
        """``terms``: word -> stories holding it; ``names``: byline name ->
        stories it signs; ``gram_stories(text)``: how many stories hold a
        character or a pair of characters (0 when none);
        ``in_headlines(word)``: whether some headline holds the word."""
        self.terms = terms
        self.names = names
        self.gram_stories = gram_stories
        self.in_headlines = in_headlines or (lambda word: True)
        self.stories = stories
        self.min_target = MIN_TARGET if stories >= 100 else 1
        # Only words that could be suggested are filed: those in at least
        # min_target stories (in a large archive, half the words occur once).
        self.by_key: dict[str, list[str]] = {}
        for word in [*terms, *(name for name in names if name not in terms)]:
            if max(terms.get(word, 0), names.get(word, 0)) >= self.min_target and CJK_WORD.fullmatch(word):
                self.by_key.setdefault(pinyin_key(word), []).append(word)
        # the distinct keys of each length (in syllables), for the edit-distance step
        self.keys_by_length: dict[int, list[str]] = {}
        for key in self.by_key:
            self.keys_by_length.setdefault(key.count(" ") + 1, []).append(key)
        self.sorted_terms = sorted(w for w in terms if len(w) > 1)
        self.sorted_names = sorted(names)
        self._completions: dict[str, list[Completion]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_matrix(cls, vocab: dict[str, int], frequencies: np.ndarray, gram_mark: str, names: Counter,
                    in_headlines: Callable[[str], bool] | None = None, stories: int = 0) -> "Vocabulary":
        """From the term matrix's vocabulary (token -> column) and each
        column's story count; tokens starting with ``gram_mark`` are the
        character and pair tokens, the rest words."""
        terms = {token: int(frequencies[column]) for token, column in vocab.items()
                 if len(token) > 1 and token[0] != gram_mark}

        def gram_stories(text: str) -> int:
            column = vocab.get(gram_mark + text)
            return 0 if column is None else int(frequencies[column])

        return cls({t: n for t, n in terms.items() if n > 0}, names, gram_stories, in_headlines, stories)

    # --- did you mean -------------------------------------------------------

    def written_stories(self, text: str) -> int:
        """At most how many stories contain ``text`` (folded) as written: the
        fewest holding one of its character pairs (exact for a pair)."""
        if len(text) == 1:
            return self.gram_stories(text)
        return min(self.gram_stories(text[i:i + 2]) for i in range(len(text) - 1))

    def stories_for(self, word: str) -> int:
        """At most how many stories hold ``word`` (folded): as written in
        their text, or as a byline name."""
        return max(self.written_stories(word), self.names.get(word, 0))

    def correct(self, word: str) -> Correction | None:
        """The likeliest word of the archive meant by ``word`` (folded CJK of
        2..MAX_WORD_CHARS characters), or None."""
        found = self.stories_for(word)
        if found >= LITTLE:
            return None
        need = max(self.min_target, RATIO * found + 1)
        best = None
        for distance, key in self._neighbours(word):
            for candidate in self.by_key.get(key, ()):
                stories = max(self.terms.get(candidate, 0), self.names.get(candidate, 0))
                changed = sum(a != b for a, b in zip(candidate, word))
                if candidate == word or stories < need or changed > (len(word) + 1) // 2:
                    continue
                if distance and changed > 1:
                    continue
                rank = (distance, changed, -stories, candidate)
                if best is None or rank < best[0]:
                    best = (rank, candidate, stories)
        return Correction(word, best[1], best[2]) if best else None

    def _neighbours(self, word: str) -> Iterable[tuple[int, str]]:
        """(pinyin distance, key): the keys that sound the same, then, if none
        is filed, those within MAX_PINYIN_DISTANCE among words as long."""
        keys = [key for key in typed_keys(word) if key in self.by_key]
        if keys:
            return [(0, key) for key in keys]
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        choices = self.keys_by_length.get(len(word), [])
        found = process.extract(pinyin_key(word), choices, scorer=Levenshtein.distance,
                                score_cutoff=MAX_PINYIN_DISTANCE, limit=50)
        return [(int(distance), key) for key, distance, _ in found]

    def did_you_mean(self, query: str) -> Suggestion | None:
        """The query with the words it likely misspelled replaced, when it finds little; else None."""
        analysis = text_analysis()
        text, spans = searchable_spans(query)
        folded = analysis.fold(text)
        units: list[tuple[int, int]] = []  # (start, end) in ``text`` of each word checked
        for start, end in spans:
            for run in CJK_RUN.finditer(folded, start, end):
                units.extend(self._units(run.group(), run.start()))
        if not units:
            return None
        found = {unit: self.stories_for(folded[unit[0]:unit[1]]) for unit in units}
        if min(found.values()) >= LITTLE:
            return None  # every word is found often enough: the query does not find little
        corrections = []
        for (start, end), stories in found.items():
            if stories >= LITTLE or end - start < 2:
                continue
            correction = self.correct(folded[start:end])
            if correction:
                corrections.append((start, end, Correction(text[start:end], correction.suggested,
                                                           correction.stories)))
        if not corrections:
            return None
        pieces, at = [], 0
        for start, end, correction in corrections:
            pieces += [text[at:start], correction.suggested]
            at = end
        pieces.append(text[at:])
        return Suggestion("".join(pieces), tuple(c for *_, c in corrections))

    def _units(self, run: str, base: int) -> list[tuple[int, int]]:
        """The words of a CJK run to check: the whole run when it is short
        enough to be one word and the archive has a word sounding like it;
        otherwise jieba's words, neighbouring single characters joined (a
        typo often splits a word into characters: ``乡闲`` is ``乡`` ``闲``)."""
        if len(run) == 1:
            return [(base, base + 1)]
        if len(run) <= MAX_WORD_CHARS and self.stories_for(run) < LITTLE and self.correct(run):
            return [(base, base + len(run))]
        units: list[list[int]] = []
        for _word, start, end in text_analysis().jieba.tokenize(run, "default", True):
            if end - start == 1 and units and units[-1][2]:
                units[-1][1] = end
            else:
                units.append([start, end, end - start == 1])
        return [(base + start, base + end) for start, end, _single in units]

    # --- completions ---------------------------------------------------------

    def complete(self, prefix: str, limit: int = MAX_COMPLETIONS) -> list[Completion]:
        """Names and headline words beginning with ``prefix``, most frequent first."""
        if len(prefix) > MAX_PREFIX_CHARS:
            raise QueryError(f"the prefix is longer than {MAX_PREFIX_CHARS} characters",
                                  f"输入太长：自动补全最多看 {MAX_PREFIX_CHARS} 个字。")
        folded = text_analysis().fold(prefix.strip())
        if not folded:
            return []
        with self._lock:
            if folded in self._completions:
                return self._completions[folded][:limit]
        names = [Completion(name, "name", self.names[name]) for name in _starting(self.sorted_names, folded)
                 if name != folded]
        words = sorted((w for w in _starting(self.sorted_terms, folded) if w != folded and w not in self.names),
                       key=lambda w: (-self.terms[w], len(w), w))
        found = []
        for word in words[:COMPLETION_CHECKS]:
            if len(found) >= MAX_COMPLETIONS:
                break
            if self.in_headlines(word):
                found.append(Completion(word, "term", self.terms[word]))
        ranked = sorted(names + found, key=lambda c: (-c.stories, len(c.text), c.text))[:MAX_COMPLETIONS]
        with self._lock:
            if len(self._completions) > 4096:
                self._completions.clear()
            self._completions[folded] = ranked
        return ranked[:limit]


def _starting(ordered: list[str], prefix: str) -> Iterable[str]:
    """The items of a sorted list that begin with ``prefix``."""
    at = bisect.bisect_left(ordered, prefix)
    while at < len(ordered) and ordered[at].startswith(prefix):
        yield ordered[at]
        at += 1
