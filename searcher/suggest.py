"""Did you mean, and completions for the search box, from the index's own vocabulary.

The vocabulary is what the archive says, nothing from outside: the words of
the term matrix (index/sparse.py: headline and body words as the analyzer
produces them), of two characters or more, each with the number of stories
holding it (the length of its column, its document frequency), plus the
byline names with the number of stories they sign. Nothing is copied or
stored: the matrix's own vocabulary (token -> column) answers whether a word
exists and how often. What is made when the engine opens
(``SearchEngine.preload`` warms it) is small: the archive's characters (its
character tokens) filed by their toneless pinyin readings, from pypinyin:
``xian`` -> ``贤 闲 县 先 …``, a few thousand characters whatever the size of
the archive.

**Did you mean.** Homophones are the common Chinese typo: an input method
offers a word that sounds the same (``乡闲`` for ``乡贤``). A typed word's
candidates are the words made by replacing one of its characters by another
of the archive's characters with the same reading (every reading, so ``银航``
finds ``银行`` although 行 is usually ``xing``), or, failing that, two of
them; and by one whose reading is one letter of pinyin away (``she``/``se``,
``ing``/``in``: a dialect's or a finger's slip; rapidfuzz gives those
syllables), changing one character. Each candidate costs a dict lookup in the
matrix's vocabulary, never a scan of it.

A query *finds little* when fewer than ``LITTLE`` stories contain all its
words as written. That is estimated from the term matrix without searching:
a word's stories are at most those holding each of its character pairs
(exact for two characters), and the stories holding all words at most those
holding the rarest. Only then is anything suggested, and only for the words
found in fewer than ``LITTLE`` stories, and not in queries of more than
``MAX_QUERY_WORDS`` words (pasted questions): a replacement must be found in at
least ``MIN_TARGET`` stories and in more than ``RATIO`` times as many as the
word typed; the one that sounds the same, changes fewest characters and is
found most often wins. The rest of the query (other words, quoted phrases,
field conditions, exclusions, the request's filters) is kept as typed.

**Completions.** Vocabulary words and byline names beginning with what was
typed, the words only where they occur in some headline (every character
pair of the word is in the headline field), most frequent first. The trie of
words they are found in is made on first use (or by ``warm``).
"""
from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import marisa_trie
import numpy as np

from storysearch.index.analysis import CJK, text_analysis

from .query import QueryError, searchable_spans

LITTLE = 3  # fewer stories than this holding the query's words as written: the query finds little
MIN_TARGET = 2  # a suggested word is found in at least this many stories (1 where the archive is tiny)
RATIO = 3  # ... and in more than this many times as many as the word typed
MAX_PINYIN_DISTANCE = 1  # letters of toneless pinyin, for a character that does not sound the same
MAX_WORD_CHARS = 8  # longer runs are corrected word by word
MAX_QUERY_WORDS = 6  # a longer query is a pasted question, not keywords with a typo: nothing suggested
HOMOPHONES_FOR_TWO = 60  # when two characters are replaced: the most frequent characters of each reading
MAX_PREFIX_CHARS = 20
MAX_COMPLETIONS = 10
COMPLETION_CHECKS = 300  # words tried against the headlines for one prefix, most frequent first
CJK_RUN = re.compile(f"[{CJK}]+")
CJK_RANGES = [(ord(a), ord(b)) for a, b in re.findall(r"(.)-(.)", CJK)]


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
    """The toneless readings of one character, the most common first.

    pypinyin's phrase dictionary (46 MB of a server's memory) only decides
    the readings of characters inside words; without it (its documented
    PYPINYIN_NO_PHRASES switch, set unless the process set it) every CJK
    character reads the same as with it (checked for all of them)."""
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")  # nor a copy of its dictionary, which we never change
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda c: [c])[0]
    return tuple(dict.fromkeys(readings)) or (char,)


class Vocabulary:
    """The archive's words and names with their story counts, its characters by reading."""

    def __init__(self, tokens: Mapping[str, int], frequencies: np.ndarray, gram_mark: str, names: Counter,
                 in_headlines: Callable[[str], bool] | None = None, stories: int = 0):
        """``tokens``: the term matrix's vocabulary (token -> column), where
        the words are plain and the characters and character pairs start
        with ``gram_mark``; ``frequencies``: the stories holding each
        column; ``names``: byline name -> stories it signs;
        ``in_headlines(word)``: whether some headline holds the word."""
        self.tokens = tokens
        self.frequencies = frequencies
        self.mark = gram_mark
        self.names = names
        self.in_headlines = in_headlines or (lambda word: True)
        self.stories = stories
        self.min_target = MIN_TARGET if stories >= 100 else 1
        # The archive's characters by reading, the most frequent first.
        found: dict[str, int] = {}
        for low, high in CJK_RANGES:
            for code in range(low, high + 1):
                count = self.gram_stories(chr(code))
                if count:
                    found[chr(code)] = count
        for name, count in names.items():
            for char in "".join(CJK_RUN.findall(name)):
                found[char] = max(found.get(char, 0), count)
        self.by_reading: dict[str, list[str]] = {}
        for char in sorted(found, key=lambda c: (-found[c], c)):
            for reading in _char_readings(char):
                self.by_reading.setdefault(reading, []).append(char)
        self._name_pairs = Counter()  # byline names are not in the text: their pairs count too
        for name, count in names.items():
            for i in range(len(name) - 1):
                self._name_pairs[name[i:i + 2]] += count
        self._near: dict[str, list[str]] = {}
        self._words: marisa_trie.Trie | None = None
        self._name_trie = marisa_trie.Trie(names)
        self._completions: dict[str, list[Completion]] = {}
        self._corrected: dict[str, Correction | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_matrix(cls, tokens: Mapping[str, int], frequencies: np.ndarray, gram_mark: str, names: Counter,
                    in_headlines: Callable[[str], bool] | None = None, stories: int = 0) -> "Vocabulary":
        return cls(tokens, frequencies, gram_mark, names, in_headlines, stories)

    def _column_stories(self, token: str) -> int:
        column = self.tokens.get(token)
        return 0 if column is None else int(self.frequencies[column])

    def gram_stories(self, text: str) -> int:
        """How many stories hold a character or a pair of characters (folded)."""
        return self._column_stories(self.mark + text)

    def pair_stories(self, pair: str) -> int:
        """How many stories hold a pair of characters in their text or in a byline name."""
        return max(self.gram_stories(pair), self._name_pairs.get(pair, 0))

    def word_stories(self, word: str) -> int:
        """How many stories have ``word`` among their words, or as a byline name."""
        return max(self._column_stories(word) if len(word) > 1 else 0, self.names.get(word, 0))

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

    def near(self, reading: str) -> list[str]:
        """The readings of the archive's characters one letter of pinyin from ``reading``."""
        if reading not in self._near:
            from rapidfuzz import process
            from rapidfuzz.distance import Levenshtein

            found = process.extract(reading, list(self.by_reading), scorer=Levenshtein.distance,
                                    score_cutoff=MAX_PINYIN_DISTANCE, limit=None)
            self._near[reading] = [other for other, distance, _ in found if distance]
        return self._near[reading]

    def homophones(self, char: str) -> list[str]:
        """The archive's characters sharing a reading with ``char``, the most frequent first."""
        found = {}
        for reading in _char_readings(char):
            for other in self.by_reading.get(reading, ()):
                found.setdefault(other, None)
        found.pop(char, None)
        return list(found)

    def correct(self, word: str) -> Correction | None:
        """The likeliest word of the archive meant by ``word`` (folded CJK of
        2..MAX_WORD_CHARS characters), or None; remembered for the next request."""
        with self._lock:
            if word in self._corrected:
                return self._corrected[word]
        correction = self._correct(word)
        with self._lock:
            if len(self._corrected) > 4096:
                self._corrected.clear()
            self._corrected[word] = correction
        return correction

    def _correct(self, word: str) -> Correction | None:
        found = self.stories_for(word)
        if found >= LITTLE:
            return None
        need = max(self.min_target, RATIO * found + 1)
        best: list = []

        def consider(candidate: str, distance: int, changed: int) -> None:
            stories = self.word_stories(candidate)
            if stories >= need:
                rank = (distance, changed, -stories, candidate)
                if not best or rank < best[0]:
                    best[:] = [rank, candidate, stories]

        def fits(i: int, char: str, changed: tuple[int, ...]) -> bool:
            """Whether ``char`` at ``i`` makes pairs with the unchanged neighbours that
            enough stories hold (every pair of a word they hold is in them too)."""
            if i > 0 and i - 1 not in changed and self.pair_stories(word[i - 1] + char) < need:
                return False
            return not (i + 1 < len(word) and i + 1 not in changed and self.pair_stories(char + word[i + 1]) < need)

        alike = [self.homophones(c) for c in word]
        for i, others in enumerate(alike):  # one character that sounds the same
            for other in others:
                if fits(i, other, (i,)):
                    consider(word[:i] + other + word[i + 1:], 0, 1)
        if not best and len(word) >= 3:  # two of them
            for i in range(len(word)):
                for j in range(i + 1, len(word)):
                    firsts = [a for a in alike[i][:HOMOPHONES_FOR_TWO] if fits(i, a, (i, j))]
                    seconds = [b for b in alike[j][:HOMOPHONES_FOR_TWO] if fits(j, b, (i, j))]
                    for a in firsts:
                        for b in seconds:
                            if j == i + 1 and self.pair_stories(a + b) < need:
                                continue
                            consider(word[:i] + a + word[i + 1:j] + b + word[j + 1:], 0, 2)
        if not best:  # one character one letter of pinyin away
            for i, char in enumerate(word):
                for reading in _char_readings(char):
                    for near in self.near(reading):
                        for other in self.by_reading[near]:
                            if fits(i, other, (i,)):
                                consider(word[:i] + other + word[i + 1:], 1, 1)
        return Correction(word, best[1], best[2]) if best else None

    def did_you_mean(self, query: str) -> Suggestion | None:
        """The query with the words it likely misspelled replaced, when it finds little; else None."""
        analysis = text_analysis()
        text, spans = searchable_spans(query)
        folded = analysis.fold(text)
        units: list[tuple[int, int]] = []  # (start, end) in ``text`` of each word checked
        for start, end in spans:
            for run in CJK_RUN.finditer(folded, start, end):
                units.extend(self._units(run.group(), run.start()))
        if not units or len(units) > MAX_QUERY_WORDS:
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

    def words(self) -> marisa_trie.Trie:
        """The archive's words of two characters or more, for prefix lookups,
        in a static trie (marisa-trie: a few MB where a sorted list of an
        archive's words took tens); made once."""
        with self._lock:
            if self._words is None:
                mark = self.mark
                self._words = marisa_trie.Trie(t for t in self.tokens if len(t) > 1 and t[0] != mark)
            return self._words

    def warm(self) -> "Vocabulary":
        """Make now what the first completion would make."""
        self.words()
        return self

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
        names = [Completion(name, "name", self.names[name]) for name in self._name_trie.keys(folded)
                 if name != folded]
        # (a word only stories since removed held stays in the term matrix's vocabulary, held by none)
        words = sorted((w for w in self.words().keys(folded)
                        if w != folded and w not in self.names and self._column_stories(w)),
                       key=lambda w: (-self._column_stories(w), len(w), w))
        found = []
        for word in words[:COMPLETION_CHECKS]:
            if len(found) >= MAX_COMPLETIONS:
                break
            if self.in_headlines(word):
                found.append(Completion(word, "term", self._column_stories(word)))
        ranked = sorted(names + found, key=lambda c: (-c.stories, len(c.text), c.text))[:MAX_COMPLETIONS]
        with self._lock:
            if len(self._completions) > 4096:
                self._completions.clear()
            self._completions[folded] = ranked
        return ranked[:limit]

