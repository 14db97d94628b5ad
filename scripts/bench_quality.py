"""Retrieval quality of keyword, semantic and hybrid search on CMRC 2018 dev,
and the recall of the approximate (HNSW) vector index against exact search.

    python scripts/bench_quality.py [--data …/cmrc2018_dev.json] [--cache DIR] [--precision int8]

Indexes the 848 paragraphs as stories (passages of about 300 characters),
asks the 3,219 questions in each mode (k=10) and prints recall@1/5/10,
MRR@10 and nDCG@10. Passage and question embeddings are cached by content
(default ~/.cache/storysearch/embeddings), so a rerun embeds nothing.
Each mode ranks as SearchEngine does, with the query vectors taken from the
cache: keyword matches by their rule, semantic stories close in meaning
(the similarity floors), and hybrid = the keyword list and the semantic
list (depth 100) fused, weighted (the default) and RRF (the option), and
shaped by the question's form (searcher/hybrid.py). Then the same
questions again, each pasted with its longest word in Chinese quotation
marks (“…”), which boost the quoted words rather than require them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cmrc  # noqa: E402
from benchinfo import describe  # noqa: E402

from storysearch.index.analysis import text_analysis  # noqa: E402
from storysearch.index import layout  # noqa: E402
from storysearch.index.keyword_store import write_keyword_side  # noqa: E402
from storysearch.index.vectors import open_vectors, vector_index, write_semantic_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, PRECISIONS, load_embedder  # noqa: E402
from storysearch.index.embedding_cache import EmbeddingCache, default_cache_dir, embed_with_cache  # noqa: E402
from storysearch.searcher.evaluation import evaluate  # noqa: E402
from storysearch.searcher.hits import ranked  # noqa: E402
from storysearch.searcher.hybrid import FUSION_DEPTH, FUSIONS, hybrid_hits  # noqa: E402
from storysearch.searcher.lexical import KeywordSearcher, is_question  # noqa: E402
from storysearch.searcher.query import parse_query  # noqa: E402
from storysearch.searcher.semantic import SemanticSearcher, embedding_text  # noqa: E402
from storysearch.searcher.table import StoryTable  # noqa: E402

K = 10


def line(name: str, scores: dict) -> str:
    return (f"{name:<26} R@1 {scores['recall@1']:.3f}  R@5 {scores['recall@5']:.3f}  R@10 {scores['recall@10']:.3f}"
            f"  MRR@10 {scores['mrr@10']:.3f}  nDCG@10 {scores['ndcg@10']:.3f}")


def ann_recall(folder: Path, vectors, depth: int = K) -> float:
    """Share of the exact top-``depth`` passages that HNSW also returns."""
    import faiss
    import numpy as np

    exact = open_vectors(folder)  # (built flat: exact inner product over every live passage)
    ids = np.sort(exact.ids())
    total = len(ids)
    stored = np.stack([exact.reconstruct(int(i)) for i in ids])
    approximate, _ = vector_index(stored.shape[1], total, ann_threshold=0)
    approximate.add_with_ids(stored, ids)
    faiss.downcast_index(approximate.index).hnsw.efSearch = 128
    _, truth = exact.search(vectors, depth)
    _, found = approximate.search(vectors, depth)
    return float(np.mean([len(set(t) & set(f)) / depth for t, f in zip(truth, found)]))


def engine_ranking(keyword: KeywordSearcher, semantic: SemanticSearcher, question: str, vector) -> dict:
    """Each mode's ranking as SearchEngine makes it (searcher/engine.py), with
    the question's vector from the cache: the keyword matches by their rule,
    the semantic stories close in meaning, and both fused and shaped."""
    parsed = parse_query(question)
    matched = keyword.match(parsed)
    lists = {"keyword": ranked(keyword.top(matched.scores, matched.pool, FUSION_DEPTH), "keyword"),
             "semantic": semantic.search_vector(vector, FUSION_DEPTH, question, floored=False)}
    holds = keyword.holding_any(parsed)
    close = semantic.floors.close_in_meaning(lists["semantic"], lambda story_id: holds[keyword.table.row[story_id]])
    literal = lambda story_id: bool(matched.matches[keyword.table.row[story_id]])  # noqa: E731
    found = {"keyword": ranked(keyword.top(matched.scores, matched.matches, FUSION_DEPTH), "keyword"),
             "semantic": [hit for hit in lists["semantic"] if hit.docid in close]}
    for fusion in FUSIONS:
        found[f"hybrid {fusion}"] = hybrid_hits(lists, literal, close, not is_question(parsed), fusion)
    return found


def quoted(question: str) -> str:
    """The question with its longest word in Chinese quotation marks, as a pasted sentence quotes a name."""
    words = [(start, end) for word, start, end, _ in text_analysis().words(question) if len(word) >= 2]
    if not words:
        return question
    start, end = max(words, key=lambda span: (span[1] - span[0], -span[0]))
    return f"{question[:start]}“{question[start:end]}”{question[end:]}"


def report(keyword, semantic, questions, vectors, qrels) -> dict[str, dict]:
    """Print and return each mode's scores."""
    runs = {name: {} for name in ("keyword", "semantic", "hybrid rrf", "hybrid weighted")}
    for (qid, question), vector in zip(questions, vectors):
        for name, hits in engine_ranking(keyword, semantic, question, vector).items():
            runs[name][qid] = [h.docid for h in hits[:K]]
    scores = {name: evaluate(run, qrels) for name, run in runs.items()}
    for name, found in scores.items():
        label = {"hybrid rrf": "hybrid rrf (k=60)", "hybrid weighted": "hybrid weighted (default)"}.get(name, name)
        print(line(label, found))
    return scores


def measure(data: Path, cache_dir: Path, model: str = DEFAULT_MODEL, precision: str = "float32",
            full: bool = True) -> dict[str, dict]:
    """Print the report for one model at one precision and return each
    mode's scores on the questions as asked; ``full`` adds the pasted
    questions and the HNSW recall."""
    stories, questions, qrels = cmrc.load(data)
    by_id = {story.id: story for story in stories}
    embedder = load_embedder(model, precision)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_keyword_side(folder / "whoosh", folder / layout.SPARSE, stories)
        cache = EmbeddingCache(cache_dir, embedder.name, embedder.document_prompt, embedder.dimension, precision)
        started = time.perf_counter()
        info = write_semantic_index(folder, stories, embedder, cache)
        print(f"passages: {info['passages']} ({info['embedded']} embedded in {time.perf_counter() - started:.0f} s, "
              f"{info['passages'] - info['embedded']} from the cache; {precision})")
        qcache = EmbeddingCache(cache_dir, embedder.name, embedder.query_prompt, embedder.dimension, precision)
        started = time.perf_counter()
        vectors, computed = embed_with_cache([q for _, q in questions], embedder.encode_queries, qcache)
        print(f"questions: {len(questions)} ({computed} embedded in {time.perf_counter() - started:.0f} s)")
        table = StoryTable(stories)
        keyword = KeywordSearcher(folder, table)
        semantic = SemanticSearcher(folder, embedder, by_id, table)
        print(f"CMRC 2018 dev: {len(stories)} paragraphs, {len(questions)} questions, k={K}")
        scores = report(keyword, semantic, questions, vectors, qrels)
        if full:
            pasted = [(qid, quoted(question)) for qid, question in questions]
            pasted_vectors, _ = embed_with_cache([embedding_text(q) for _, q in pasted], embedder.encode_queries,
                                                 qcache)
            print("the same questions pasted with their longest word in Chinese quotes (“…”):")
            report(keyword, semantic, pasted, pasted_vectors, qrels)
            print(f"HNSW (M=32, efSearch=128, fp16 vectors) recall@{K} of passages against exact search: "
                  f"{ann_recall(folder, vectors):.4f}")
        cache.close()
        qcache.close()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=cmrc.DEFAULT)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--precision", choices=PRECISIONS, default="float32", help="what the model computes in")
    args = parser.parse_args()
    print(describe())
    measure(args.data, args.cache, args.model, args.precision)


if __name__ == "__main__":
    main()
