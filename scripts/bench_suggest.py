"""What did-you-mean and completions cost as the archive grows.

    python scripts/bench_suggest.py [--sizes 1000 10000 100000]

The vocabulary (searcher/suggest.py) is derived when the engine opens, so
its cost is open time and memory. Its size is measured on real text (CMRC
2018 dev paragraphs and the bundled corpus, story-sized), fitted to Heaps'
law (V = K n^b) and extrapolated to each archive size; a vocabulary of that
size is then made of the real words plus new words drawn from the real
characters and word lengths (pinyin keying costs the same per word), with as
many character-pair tokens as the real text has per word. Measured: building
the Vocabulary (the archive's characters by reading) and the trie of words
of completions, their memory, did-you-mean for a homophone typo, for a
typo one letter of pinyin off, for a rare word with nothing to suggest (every
candidate tried), for a query without typos, and a completion.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402

from storysearch.index import layout  # noqa: E402
from storysearch.index.analysis import CJK_RUN, text_analysis  # noqa: E402
from storysearch.index.corpus import read_corpus  # noqa: E402
from storysearch.index.sparse import GRAM_MARK  # noqa: E402
from storysearch.searcher.suggest import Vocabulary  # noqa: E402


def real_texts() -> list[str]:
    stories, _, _ = cmrc.load()
    texts = [story.text for story in stories]
    pages, _ = read_corpus(layout.DEFAULT_CORPUS)
    texts += [page.text for page in pages]
    return texts


def vocabulary_of(texts: list[str]) -> tuple[Counter, Counter]:
    analysis = text_analysis()
    words, grams = Counter(), Counter()
    for text in texts:
        words.update({w for w, *_ in analysis.words(text) if len(w) > 1})
        grams.update({g for g, *_ in analysis.grams(text)})
    return words, grams


def heaps(texts: list[str]) -> tuple[float, float, float]:
    """(K, b) of V = K n^b for words, and pair tokens per word, fitted on growing prefixes."""
    points = []
    for n in (100, 200, 400, len(texts)):
        words, grams = vocabulary_of(texts[:n])
        points.append((n, len(words), len(grams)))
    xs = np.log([p[0] for p in points])
    ys = np.log([p[1] for p in points])
    b, log_k = np.polyfit(xs, ys, 1)
    return float(np.exp(log_k)), float(b), points[-1][2] / points[-1][1]


def synthetic(words: Counter, size: int, seed: int = 0) -> Counter:
    """``words`` grown to ``size`` with new words of real characters and lengths, their story
    counts drawn from the real words' (about half the words are in one story only)."""
    rng = random.Random(seed)
    chars = [c for w in words for c in w if CJK_RUN.fullmatch(c)]
    lengths = [len(w) for w in words]
    counts = list(words.values())
    grown = Counter(words)
    while len(grown) < size:
        grown["".join(rng.choice(chars) for _ in range(rng.choice(lengths)))] = rng.choice(counts)
    return grown


def timed(function, repeat: int = 200) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    Vocabulary.from_matrix({"乡贤": 0}, np.array([5]), GRAM_MARK, Counter())  # pypinyin's dictionaries loaded
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    texts = real_texts()
    k, b, grams_per_word = heaps(texts)
    words, _ = vocabulary_of(texts)
    print(f"real text: {len(texts)} story-sized texts, {len(words)} words of 2+ characters; "
          f"Heaps V = {k:.1f} n^{b:.3f}; {grams_per_word:.2f} pair tokens per word")
    print("| stories | words (est.) | tokens in matrix vocab | characters by reading (s) | word trie (s) "
          "| memory (MB) | typo, same sound (ms) | typo, one letter off (ms) | rare word, no typo (ms) "
          "| query without typos (ms) | completion (ms) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in args.sizes:
        n_words = max(len(words), int(k * size ** b))
        grown = synthetic(words, n_words)
        grown.update({probe: size // 20 for probe in ("乡贤", "共富工坊", "小马拉大车", "社区", "治理")})
        for word in [w for w in grown if w.startswith("色") or w in ("量子", "计算", "计算机", "量子计算机")]:
            del grown[word]  # the probes' typos are typos
        tokens = {word: i for i, word in enumerate(grown)}
        counts = list(grown.values())
        chars = Counter(c for word in grown for c in word)
        for char, count in chars.items():  # the character tokens: what the readings are filed from
            tokens[GRAM_MARK + char] = len(counts)
            counts.append(count)
        pairs = Counter()
        for word, count in grown.items():  # every pair of a word is in the stories holding the word
            for i in range(len(word) - 1):
                pairs[word[i:i + 2]] = max(pairs[word[i:i + 2]], count)
        pairs.update({"区治": size // 20})  # 社区治理 written as one
        for typo in ("乡闲", "共副", "色区", "量子", "子计", "计算", "算机"):  # the probes' typos are typos
            pairs.pop(typo, None)
        for pair, count in pairs.items():
            tokens[GRAM_MARK + pair] = len(counts)
            counts.append(count)
        for gram in range(int(n_words * grams_per_word) - len(tokens) + n_words):  # the other pair tokens
            tokens[f"{GRAM_MARK}#{gram}"] = len(counts)
            counts.append(1)
        frequencies = np.array(counts)
        start = time.perf_counter()
        vocab = Vocabulary.from_matrix(tokens, frequencies, GRAM_MARK, Counter({"俞琳": 5}), stories=size)
        built = time.perf_counter() - start
        start = time.perf_counter()
        vocab.warm()
        word_trie = time.perf_counter() - start
        del vocab
        tracemalloc.start()  # a second build, traced for its memory (slower, so not the one timed)
        vocab = Vocabulary.from_matrix(tokens, frequencies, GRAM_MARK, Counter({"俞琳": 5}), stories=size).warm()
        memory = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        assert vocab.did_you_mean("乡闲").query == "乡贤"

        def uncached(function):  # corrections are remembered: time them afresh
            def run():
                vocab._corrected.clear()
                function()
            return run

        hit = timed(uncached(lambda: vocab.did_you_mean("共副工坊")))
        fallback = timed(uncached(lambda: vocab.correct("色区")), repeat=50)
        rare = timed(uncached(lambda: vocab.did_you_mean("量子计算机")), repeat=50)
        plain = timed(uncached(lambda: vocab.did_you_mean("社区治理")))
        vocab._completions.clear()

        def complete():
            vocab._completions.clear()
            vocab.complete("社")

        completion = timed(complete, repeat=50)
        print(f"| {size} | {n_words} | {len(tokens)} | {built:.2f} | {word_trie:.2f} | {memory:.0f} | {hit:.3f} "
              f"| {fallback:.2f} | {rare:.2f} | {plain:.3f} | {completion:.2f} |")


if __name__ == "__main__":
    main()
