"""Text cohesion on a page: TF-IDF weighted character bigrams (IDF over the
page's lines), computed for all lines at once with sparse matrices so that
the work grows with the page's length, never with its square."""
from __future__ import annotations

import math
import re
from collections import Counter
from itertools import repeat
from operator import add, mul

import numpy as np
from scipy import sparse

WORD_CHAR = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ\u3400-\u9fff]")
WINDOW = 3  # lines on each side of a line


def bigrams(text: str) -> Counter:
    """Character bigrams of the letters, digits and CJK characters of ``text``."""
    chars = "".join(WORD_CHAR.findall(text))
    return Counter(map(add, chars, chars[1:]))


def _is_word_char(points: np.ndarray) -> np.ndarray:
    """The same characters as WORD_CHAR, on an array of code points."""
    ranges = ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A),
              (0x3400, 0x9FFF))
    mask = np.zeros(points.shape, dtype=bool)
    for low, high in ranges:
        mask |= (points >= low) & (points <= high)
    return mask


def _band(n: int, offsets: range) -> sparse.csr_matrix:
    """n x n matrix with ones on the given diagonals: summing lines nearby."""
    kept = [k for k in offsets if abs(k) < n]
    if not kept:
        return sparse.csr_matrix((n, n))
    return sparse.diags([np.ones(n - abs(k)) for k in kept], kept, shape=(n, n), format="csr")


class PageText:
    """The page's lines; for each line, how much it shares with the lines
    above and below (``above``, ``below``: weighted share of its bigrams) and
    how alike the text above and below it is (``across``: cosine)."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        n = len(texts)
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        line_of = np.repeat(np.arange(n), lengths)
        keep = _is_word_char(points)
        points, line_of = points[keep].astype(np.int64), line_of[keep]
        same = line_of[:-1] == line_of[1:]
        grams = (points[:-1][same] << 21) | points[1:][same]
        rows = line_of[:-1][same]
        vocabulary, columns = np.unique(grams, return_inverse=True)
        counts = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, len(vocabulary)))
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=len(vocabulary))  # lines holding each bigram
        idf = np.log1p(max(n, 1) / np.maximum(df, 1))
        weights = sparse.csr_matrix((counts.data * idf[counts.indices], counts.indices, counts.indptr),
                                    shape=counts.shape)
        self.idf = {chr(g >> 21) + chr(g & 0x1FFFFF): float(w) for g, w in zip(vocabulary.tolist(), idf.tolist())}
        above = _band(n, range(-WINDOW, 0)) @ weights
        below = _band(n, range(1, WINDOW + 1)) @ weights
        above.sort_indices()
        below.sort_indices()
        total = np.asarray(weights.sum(axis=1)).ravel()
        seen_above, seen_below = _seen_nearby(weights)
        self.above = _ratio(_entries(weights, seen_above), total)
        self.below = _ratio(_entries(weights, seen_below), total)
        dot = np.asarray(above.multiply(below).sum(axis=1)).ravel()
        norms = _norms(above) * _norms(below)
        self.across = np.divide(dot, norms, out=np.zeros(n), where=norms > 0)


def _seen_nearby(weights: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of ``weights`` (a line's bigram), is the bigram in one
    of the WINDOW lines above, and in one of those below? Found from each
    bigram's nearest occurrences: sorting the entries by bigram and line."""
    rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
    columns = weights.indices
    order = np.argsort(columns, kind="stable")  # the entries come by line: a stable sort keeps them so
    r, c = rows[order], columns[order]
    close = (c[1:] == c[:-1]) & (r[1:] - r[:-1] <= WINDOW)  # entry k + 1 has entry k within the window above
    above, below = np.zeros(len(r), dtype=bool), np.zeros(len(r), dtype=bool)
    above[order[1:][close]] = True
    below[order[:-1][close]] = True
    return above, below


def _entries(matrix: sparse.csr_matrix, keep: np.ndarray) -> sparse.csr_matrix:
    """The matrix with only the kept entries (in their order)."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows[keep], minlength=matrix.shape[0]))))
    return sparse.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def _ratio(part: sparse.spmatrix, total: np.ndarray) -> np.ndarray:
    shared = np.asarray(part.sum(axis=1)).ravel()
    return np.divide(shared, total, out=np.zeros(len(total)), where=total > 0)


def _norms(matrix: sparse.csr_matrix) -> np.ndarray:
    squares = sparse.csr_matrix((matrix.data * matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape)
    return np.sqrt(np.asarray(squares.sum(axis=1)).ravel())


class Similarity:
    """Cosine similarity of TF-IDF weighted bigram vectors of any texts, with
    the page's IDF. Counts its comparisons, so tests can check that the work
    stays proportional to the page."""

    def __init__(self, page: PageText):
        self.idf = page.idf
        self.comparisons = 0

    def vector(self, text: str) -> dict[str, float]:
        # (map over builtins: the loops run in C, the sums add in the same order)
        grams = bigrams(text)
        return dict(zip(grams, map(mul, grams.values(), map(self.idf.get, grams, repeat(1.0)))))

    def cosine(self, a: dict[str, float], b: dict[str, float]) -> float:
        self.comparisons += 1
        if len(a) > len(b):
            a, b = b, a
        dot = sum(map(mul, a.values(), map(b.get, a, repeat(0.0))))
        norm = math.sqrt(sum(map(mul, a.values(), a.values()))) * math.sqrt(sum(map(mul, b.values(), b.values())))
        return dot / norm if norm else 0.0
