"""Chinese analysis for Whoosh, built on jieba.

Tokens carry positions that count tokens (so phrase queries work) and
``startchar``/``endchar`` that are exact character offsets into the original
text (so highlights land on the right characters). Text is folded before
segmentation one character at a time (full-width to half-width), which keeps
offsets valid.
"""
from __future__ import annotations

import re
import threading

from whoosh.analysis import LowercaseFilter, Token, Tokenizer

ANALYZER_VERSION = 1
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_CHARS = re.compile(rf"[{_CJK}A-Za-z0-9]")
CJK_RUN = re.compile(rf"[{_CJK}]+")
# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to ASCII.
FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_jieba = None
_jieba_lock = threading.Lock()


def fold(text: str) -> str:
    """Character-for-character folding; ``len(fold(t)) == len(t)``."""
    return text.translate(FOLD)


def jieba_tokenizer():
    """The process-wide jieba dictionary (loading it takes about half a second)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _jieba = tokenizer
    return _jieba


def _single_token(value, positions, chars, start_pos, start_char, **kwargs):
    token = Token(positions, chars, **kwargs)
    token.text = token.original = value
    token.boost = 1.0
    if positions:
        token.pos = start_pos
    if chars:
        token.startchar, token.endchar = start_char, start_char + len(value)
    return token


class JiebaTokenizer(Tokenizer):
    """Words from jieba's search mode: each word once, plus the shorter words
    inside a long word at the same position (``中国农业发展银行`` is also
    ``农业``), so a query for a part finds the whole."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if not tokenize:
            yield _single_token(value, positions, chars, start_pos, start_char,
                                removestops=removestops, mode=mode, **kwargs)
            return
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        folded = fold(value)
        pos = start_pos
        for word, start, end in jieba_tokenizer().tokenize(folded, mode="default", HMM=True):
            if not WORD_CHARS.search(word):
                continue
            for text, s, e in _with_subwords(word, start):
                token.text = text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = value[s:e]
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar, token.endchar = start_char + s, start_char + e
                yield token
            pos += 1


def _with_subwords(word: str, start: int):
    """The word, then its dictionary sub-words of 2 and 3 characters, as jieba's
    search mode finds them."""
    yield word, start, start + len(word)
    if len(word) <= 2:
        return
    freq = jieba_tokenizer().FREQ
    for n in (2, 3):
        if len(word) <= n:
            continue
        for i in range(len(word) - n + 1):
            part = word[i:i + n]
            if freq.get(part):
                yield part, start + i, start + i + n


class CjkBigramTokenizer(Tokenizer):
    """Overlapping character bigrams of CJK runs (a lone character stays a
    unigram); Latin and digit runs whole. Catches what the word segmenter
    splits wrongly: names, new words, single characters."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if not tokenize:
            yield _single_token(value, positions, chars, start_pos, start_char,
                                removestops=removestops, mode=mode, **kwargs)
            return
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for text, s, e in bigrams(fold(value)):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[s:e]
            if positions:
                token.pos = pos
            if chars:
                token.startchar, token.endchar = start_char + s, start_char + e
            pos += 1
            yield token


def bigrams(text: str):
    for match in re.finditer(rf"[{_CJK}]+|[A-Za-z0-9]+", text):
        run, base = match.group(), match.start()
        if not CJK_RUN.fullmatch(run) or len(run) == 1:
            yield run, base, base + len(run)
            continue
        for i in range(len(run) - 1):
            yield run[i:i + 2], base + i, base + i + 2


def word_analyzer():
    return JiebaTokenizer() | LowercaseFilter()


def bigram_analyzer():
    return CjkBigramTokenizer() | LowercaseFilter()


def analyzer_settings() -> dict:
    """What an index records so that a search can tell it was built differently."""
    import jieba

    return {"analyzer_version": ANALYZER_VERSION, "segmenter": f"jieba {jieba.__version__}",
            "word_field": "jieba words + 2/3-character sub-words", "bigram_field": "CJK bigrams"}
