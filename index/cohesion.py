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
PAIR = re.compile("..", re.DOTALL)
WINDOW = 3  # lines on each side of a line
BLOCK = 2048  # lines whose band sums are worked out together
KEY_LINES = 1 << 21  # pages with fewer lines sort (bigram, line) pairs as single numbers (42 + 21 bits)


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


def _rows(matrix: sparse.csr_matrix, first: int, count: int) -> sparse.csr_matrix:
    """``count`` rows of ``matrix`` from row ``first`` on (which may be
    negative), rows outside the matrix empty: a view of its entries."""
    row = np.arange(first, first + count)
    starts = matrix.indptr[np.clip(row, 0, matrix.shape[0])]
    ends = matrix.indptr[np.clip(row + 1, 0, matrix.shape[0])]
    indptr = np.concatenate(([0], np.cumsum(ends - starts)))
    kept = slice(starts[0], ends[-1])  # (the rows are consecutive)
    return sparse.csr_matrix((matrix.data[kept], matrix.indices[kept], indptr), shape=(count, matrix.shape[1]))


def _band_sum(part: sparse.csr_matrix, first: int, count: int, offsets: range) -> sparse.csr_matrix:
    """Row i: the sum of the rows i + first + k of ``part``, k in ``offsets``,
    added in that order (the rows outside count nothing). Sparse additions
    merge sorted rows, so the sums come with their bigrams in order."""
    total = None
    for k in offsets:
        shifted = _rows(part, first + k, count)
        total = shifted if total is None else total + shifted
    return total


class PageText:
    """The page's lines; for each line, how much it shares with the lines
    above and below (``above``, ``below``: weighted share of its bigrams) and
    how alike the text above and below it is (``across``: cosine)."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        n = len(texts)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        keep = _is_word_char(points)
        # (32-bit lines and code points until a bigram needs 64 bits: on a big
        # page every array made here is many megabytes)
        line_of = np.repeat(np.arange(n, dtype=np.int32), lengths)[keep]
        points = points[keep]
        same = line_of[:-1] == line_of[1:]
        grams = (points[:-1][same].astype(np.int64) << 21) | points[1:][same]
        rows = line_of[:-1][same]
        gram, line, times = _pairs(grams, rows, n)
        # the bigrams in order, each with its lines: a matrix by bigram, turned
        # into one by line, each line's bigrams in order (no sort of the entries)
        first = np.ones(len(gram), dtype=bool)
        first[1:] = gram[1:] != gram[:-1]
        vocabulary = gram[first]
        starts = np.append(np.flatnonzero(first), len(gram))
        df = np.diff(starts)  # lines holding each bigram
        idf = np.log1p(max(n, 1) / np.maximum(df, 1))
        weights = sparse.csc_matrix((times * np.repeat(idf, df), line, starts), shape=(n, len(vocabulary))).tocsr()
        # (the bigrams as strings: all written out as UTF-32 at once, then cut in twos)
        chars = np.stack([vocabulary >> 21, vocabulary & 0x1FFFFF], axis=1).astype(np.uint32)
        self.idf = dict(zip(PAIR.findall(chars.tobytes().decode("utf-32-le")), idf.tolist()))
        self.above, self.below, self.across = _nearby(weights)


def _pairs(grams: np.ndarray, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (bigram, line) pairs sorted by bigram, then line, and how
    often the line has the bigram. Bigrams take 42 bits: with fewer than 2**21
    lines a pair fits one 64-bit number, the line in its low bits (shifts and
    masks take the pair apart, far faster than a division), and sorting
    numbers is fastest."""
    if n < KEY_LINES:
        bits = max(n - 1, 1).bit_length()
        keys = (grams << bits) | rows
        keys.sort()  # (in place: what np.unique does, less a copy of the keys)
        new = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        distinct = keys[starts]
        return distinct >> bits, distinct & ((1 << bits) - 1), np.diff(np.append(starts, len(keys)))
    order = np.lexsort((rows, grams))
    grams, rows = grams[order], rows[order]
    new = np.ones(len(grams), dtype=bool)
    new[1:] = (grams[1:] != grams[:-1]) | (rows[1:] != rows[:-1])
    starts = np.flatnonzero(new)
    return grams[starts], rows[starts], np.diff(np.append(starts, len(grams)))


def _nearby(weights: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each line, the weighted share of its bigrams found in the WINDOW
    lines above it and in those below, and the cosine of the summed weights
    of the lines above and of those below. Worked out BLOCK lines at a time:
    each line's values are the same as from the whole page at once (the same
    sums in the same order), and a block's band sums stay small enough for
    the processor's caches (over the whole of a 5 MB page they took 100 MB)."""
    n = weights.shape[0]
    total = _row_sums(weights)
    above_share, below_share, across = np.zeros(n), np.zeros(n), np.zeros(n)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        low, high = max(start - WINDOW, 0), min(stop + WINDOW, n)
        part = weights[low:high]
        own = weights[start:stop]
        # (the lines below line i are the lines above line i + WINDOW + 1,
        # added in the same order: one band serves both)
        band = _band_sum(part, start - low, stop - start + WINDOW + 1, range(-WINDOW, 0))
        above = _rows(band, 0, stop - start)
        below = _rows(band, WINDOW + 1, stop - start)
        # (a line's own weights where the band has the bigram: times one, the same numbers)
        above_share[start:stop] = _ratio(own.multiply(_ones(above)), total[start:stop])
        below_share[start:stop] = _ratio(own.multiply(_ones(below)), total[start:stop])
        dot = _row_sums(above.multiply(below))
        norms = _norms(above) * _norms(below)
        np.divide(dot, norms, out=across[start:stop], where=norms > 0)
    return above_share, below_share, across


def _ones(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(len(matrix.data)), matrix.indices, matrix.indptr), shape=matrix.shape)


def _row_sums(matrix: sparse.csr_matrix, data: np.ndarray | None = None) -> np.ndarray:
    """Each row's sum of ``data`` (the matrix's own by default), added as
    scipy's ``sum(axis=1)`` adds them (``add.reduceat`` over each row that
    has entries), without building another matrix."""
    sums = np.zeros(matrix.shape[0])
    rows = np.flatnonzero(np.diff(matrix.indptr))
    sums[rows] = np.add.reduceat(matrix.data if data is None else data, matrix.indptr[rows])
    return sums


def _ratio(part: sparse.csr_matrix, total: np.ndarray) -> np.ndarray:
    return np.divide(_row_sums(part), total, out=np.zeros(len(total)), where=total > 0)


def _norms(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.sqrt(_row_sums(matrix, matrix.data * matrix.data))


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
