"""Ranking metrics over judged queries (qrels: query id -> story id -> grade)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def recall_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted.intersection(ranking[:k])) / len(wanted) if wanted else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranking[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG with graded gains 2^grade - 1."""
    def dcg(grades):
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(grades))
    ideal = dcg(sorted((g for g in relevant.values() if g > 0), reverse=True)[:k])
    return dcg([relevant.get(doc, 0) for doc in ranking[:k]]) / ideal if ideal else 0.0


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]],
             cutoffs: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Mean metrics over the judged queries (a query with no run scores zero)."""
    judged = [qid for qid, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not judged:
        raise ValueError("no query has a relevant story in the qrels")
    scores = {f"recall@{k}": 0.0 for k in cutoffs} | {"mrr@10": 0.0, "ndcg@10": 0.0}
    for qid in judged:
        ranking, relevant = runs.get(qid, []), qrels[qid]
        for k in cutoffs:
            scores[f"recall@{k}"] += recall_at(ranking, relevant, k)
        scores["mrr@10"] += reciprocal_rank(ranking, relevant)
        scores["ndcg@10"] += ndcg_at(ranking, relevant)
    return {name: value / len(judged) for name, value in scores.items()} | {"queries": len(judged)}


def read_queries(path) -> dict[str, str]:
    """Queries as TSV: query id, a tab, the query text (Pyserini's topic files)."""
    queries = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith("#"):
                continue
            qid, sep, text = line.rstrip("\n").partition("\t")
            if not sep or not text.strip():
                raise ValueError(f"{path}:{number}: expected 'query id<TAB>query text'")
            queries[qid.strip()] = text.strip()
    return queries


def read_qrels(path) -> dict[str, dict[str, int]]:
    """TREC qrels: query id, iteration (ignored), story id, graded relevance."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
                raise ValueError(f"{path}:{number}: expected 'query-id 0 story-id grade'")
            qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels
