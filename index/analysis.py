"""Chinese analysis for Whoosh, built on jieba (rjieba, the Rust port).

Two fields are analysed from the same text:

- words: jieba words in search mode (each word, plus the dictionary words of
  two and three characters inside a longer word at the same position, so
  ``农业`` finds ``中国农业发展银行``), function words dropped;
- bigrams: every CJK character and every pair of neighbours (as Lucene's
  CJK bigram filter with unigrams), so names and new words that jieba splits
  wrongly, and single characters, still match.

Spaces between two Chinese characters are not significant: words and
bigrams run on across them (``网格连心 组团服务`` is analysed as
``网格连心组团服务``), never across a line break.

Latin letters and digit runs stay whole (``2024``, ``1+3+N``, ``AP``) and
are lower-cased; user-dictionary terms that mix scripts (``e锦红聚``) too.
Before segmentation, text is folded one character for one character:
full-width to half-width, traditional to simplified (OpenCC), lower case. So
token positions count tokens and ``startchar``/``endchar`` are exact offsets
into the original text, which is what is stored and shown.
"""
from __future__ import annotations

import hashlib
import operator
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from whoosh.analysis import Token, Tokenizer

from . import settings

ANALYZER_VERSION = 3
DATA = Path(__file__).resolve().parent / "data"
SHIPPED_USERDICT = DATA / "userdict.txt"
STOPWORDS = DATA / "stopwords.txt"
USERDICT_FREQ = 20000  # high enough that a listed term wins over its parts

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RUN = re.compile(f"[{CJK}]+")
# Spaces between Chinese characters mean nothing (网格连心 组团服务 is 网格连心组团服务,
# 孟 航 is 孟航): a run of CJK characters goes on across them, never across a line break.
CJK_SPACED_RUN = f"[{CJK}]+(?:[ \t\u00a0]+[{CJK}]+)*"
HORIZONTAL_SPACE = " \t\u00a0"
_HORIZONTAL_SPACE_RE = re.compile(f"[{HORIZONTAL_SPACE}]")
# Letters and digits of any script but CJK, joined by the marks that keep
# codes and brand names whole: 1+X+N, 2.6, COVID-19, AT&T.
ALNUM = rf"[^\W_{CJK}]"
ALNUM_RUN = rf"{ALNUM}+(?:[+\-.&/·']{ALNUM}+)*"
# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to ASCII.
FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _read_list(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def userdict_paths() -> list[Path]:
    """The shipped dictionary, then the user's (``STORYSEARCH_USERDICT``, paths
    separated by the platform's path separator)."""
    return [SHIPPED_USERDICT, *map(Path, settings.current().userdict)]


@dataclass(frozen=True)
class AnalyzerSettings:
    userdicts: tuple[Path, ...]

    @classmethod
    def current(cls) -> "AnalyzerSettings":
        return cls(tuple(userdict_paths()))

    def user_words(self) -> list[tuple[str, int]]:
        words = []
        for path in self.userdicts:
            if not path.is_file():
                raise FileNotFoundError(f"user dictionary {path} does not exist")
            for entry in _read_list(path):
                word, _, freq = entry.partition(" ")
                words.append((word, int(freq) if freq.strip().isdigit() else USERDICT_FREQ))
        return words

    def checksum(self) -> str:
        digest = hashlib.sha256()
        for path in (*self.userdicts, STOPWORDS):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def describe(self) -> dict:
        """What an index records so that a search can tell it was built differently."""
        return {
            "analyzer_version": ANALYZER_VERSION,
            "segmenter": f"rjieba {metadata.version('rjieba')}, search mode, HMM on",
            "t2s": f"opencc {metadata.version('opencc')} t2s",
            "fields": "words (jieba + 2/3-character sub-words, stopwords dropped) and CJK uni+bigrams",
            "userdicts": [str(p) for p in self.userdicts],
            "dictionary_checksum": self.checksum(),
        }


class _Text:
    """The process-wide segmenter, converter and word lists for one setting."""

    def __init__(self, settings: AnalyzerSettings):
        import opencc
        import rjieba

        self.jieba = rjieba.Jieba()
        mixed = []
        for word, freq in settings.user_words():
            self.jieba.add_word(word, freq, None)
            if CJK_RUN.search(word) and re.search(ALNUM, word):
                mixed.append(word.lower())
        self.t2s = opencc.OpenCC("t2s")
        self.stopwords = frozenset(_read_list(STOPWORDS))
        self._known_subwords: dict[str, list[str]] = {}  # word -> its sub-words, for word_list
        # Mixed-script dictionary terms first, then Latin/digit runs, then CJK runs.
        alternatives = [re.escape(w) for w in sorted(mixed, key=len, reverse=True)]
        self.pieces = re.compile("|".join([*alternatives, f"(?P<alnum>{ALNUM_RUN})", f"(?P<cjk>{CJK_SPACED_RUN})"]))

    def fold(self, text: str) -> str:
        """Full-width to half-width, traditional to simplified, lower case; the
        result has exactly one character for each character of ``text``."""
        text = text.translate(FULLWIDTH)
        simplified = self.t2s.convert(text)
        if len(simplified) != len(text):  # a phrase rule changed the length: go char by char
            simplified = "".join(c if len(s := self.t2s.convert(c)) != 1 else s for c in text)
        lowered = simplified.lower()
        if len(lowered) != len(simplified):
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in simplified)
        return lowered

    def words(self, text: str, folded: str | None = None):
        """(word, start, end, position) for the word field; ``folded``: ``fold(text)``, where known."""
        folded = self.fold(text) if folded is None else folded
        pos = 0
        for match in self.pieces.finditer(folded):
            if match.lastgroup != "cjk":
                yield match.group(), match.start(), match.end(), pos
                pos += 1
                continue
            run, at = _without_spaces(match)
            for word, start, end in self.jieba.tokenize(run, "default", True):
                if word in self.stopwords:
                    continue
                yield word, at[start], at[end - 1] + 1, pos
                for sub, s, e in self._subwords(word):
                    yield sub, at[start + s], at[start + e - 1] + 1, pos
                pos += 1

    def word_list(self, folded: str) -> list[str]:
        """``words(text)``'s words alone, from ``folded`` = ``fold(text)`` (the
        term matrix's; the sub-words of each word are found once and kept)."""
        found: list[str] = []
        stopwords, known, tokenize = self.stopwords, self._known_subwords, self.jieba.tokenize
        if len(known) > 1_000_000:
            known.clear()
        for match in self.pieces.finditer(folded):
            run = match.group()
            if match.lastgroup != "cjk":
                found.append(run)
                continue
            if _HORIZONTAL_SPACE_RE.search(run):
                run = _HORIZONTAL_SPACE_RE.sub("", run)
            for word, _start, _end in tokenize(run, "default", True):
                if word in stopwords:
                    continue
                found.append(word)
                if len(word) > 2:
                    parts = known.get(word)
                    if parts is None:
                        parts = known[word] = [part for part, _s, _e in self._subwords(word)]
                    found += parts
        return found

    def _subwords(self, word: str):
        for n in (2, 3):
            if len(word) > n:
                for i in range(len(word) - n + 1):
                    part = word[i:i + n]
                    if self.jieba.has_word(part) and part not in self.stopwords:
                        yield part, i, i + n

    def grams(self, text: str, unigrams: bool = True):
        """(gram, start, end, position) for the bigram field: in a CJK run each
        character (if ``unigrams``) and each pair, sharing the position of the
        first character; Latin/digit runs whole."""
        folded = self.fold(text)
        pos = 0
        for match in self.pieces.finditer(folded):
            if match.lastgroup != "cjk":
                yield match.group(), match.start(), match.end(), pos
                pos += 1
                continue
            run, at = _without_spaces(match)
            for i, char in enumerate(run):
                if unigrams or len(run) == 1:
                    yield char, at[i], at[i] + 1, pos
                if i + 1 < len(run):
                    yield run[i:i + 2], at[i], at[i + 1] + 1, pos
                pos += 1

    def gram_lists(self, folded: str) -> tuple[list[str], list[int]]:
        """``grams(text)``'s grams and positions (with unigrams) as two lists,
        from ``folded`` = ``fold(text)``: the same tokens in the same order,
        made a run at a time (the build's path; tests/test_keyword_build.py
        compares the two)."""
        grams: list[str] = []
        positions: list[int] = []
        pos = 0
        for match in self.pieces.finditer(folded):
            if match.lastgroup != "cjk":
                grams.append(match.group())
                positions.append(pos)
                pos += 1
                continue
            run = match.group()
            if _HORIZONTAL_SPACE_RE.search(run):  # (as _without_spaces)
                run = _HORIZONTAL_SPACE_RE.sub("", run)
            n = len(run)
            if n == 1:
                grams.append(run)
                positions.append(pos)
                pos += 1
                continue
            run_grams: list = [None] * (2 * n - 1)  # each character, then the pair it starts
            run_grams[0::2] = run
            run_grams[1::2] = list(map(operator.add, run[:-1], run[1:]))
            run_positions: list = [0] * (2 * n - 1)
            run_positions[0::2] = range(pos, pos + n)
            run_positions[1::2] = range(pos, pos + n - 1)
            grams += run_grams
            positions += run_positions
            pos += n
        return grams, positions


def _without_spaces(match: re.Match) -> tuple[str, list[int]]:
    """A CJK run without the spaces inside it, and where each of its
    characters is in the analysed text."""
    run, base = match.group(), match.start()
    if not _HORIZONTAL_SPACE_RE.search(run):
        return run, range(base, base + len(run))
    kept = [i for i, char in enumerate(run) if char not in HORIZONTAL_SPACE]
    return "".join(run[i] for i in kept), [base + i for i in kept]


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _text_for(settings: AnalyzerSettings) -> _Text:
    with _lock:
        return _Text(settings)


def text_analysis() -> _Text:
    return _text_for(AnalyzerSettings.current())


def jieba_tokenizer():
    """The configured segmenter (user dictionaries loaded)."""
    return text_analysis().jieba


class _SpanTokenizer(Tokenizer):
    """A Whoosh tokenizer over one of the span generators above."""

    method = ""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        spans = getattr(text_analysis(), self.method)(value) if tokenize else [(value, 0, len(value), 0)]
        for text, start, end, pos in spans:
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class BigramTokenizer(_SpanTokenizer):
    method = "grams"


def bigram_analyzer():
    return BigramTokenizer()


def analyzer_settings() -> dict:
    return AnalyzerSettings.current().describe()


def analyzer_differences(built: dict | None, now: dict) -> list[str]:
    """What differs between the analyzer an index was built with and this
    one. Where the user dictionaries lie is recorded for people: their words
    are the checksum's, so an installation moved to another folder, the same
    dictionaries in it, differs in nothing."""
    built = built or {}
    return sorted(key for key in set(built) | set(now) if key != "userdicts" and built.get(key) != now.get(key))
