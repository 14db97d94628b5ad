"""Ranking metrics, judged-query files, and the judged set of the bundled corpus."""
import json
from pathlib import Path

import pytest

from storysearch.searcher.evaluation import evaluate, ndcg_at, read_qrels, read_queries, recall_at, reciprocal_rank
from storysearch.cli import main

JUDGED = Path(__file__).parent / "fixtures" / "judged"


def test_metrics_on_tiny_rankings():
    relevant = {"a": 2, "b": 1}
    assert recall_at(["x", "a", "y", "b"], relevant, 2) == 0.5
    assert reciprocal_rank(["x", "a"], relevant) == 0.5
    assert reciprocal_rank(["x"] * 10 + ["a"], relevant) == 0.0
    assert ndcg_at(["a", "b"], relevant) == 1.0
    assert ndcg_at(["b", "a"], relevant) == pytest.approx((1 + 3 / 1.584962500721156) / (3 + 1 / 1.584962500721156))
    scores = evaluate({"q1": ["a"], "q2": []}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert scores["mrr@10"] == 0.5 and scores["queries"] == 2


def test_file_formats_and_clear_errors(tmp_path):
    assert len(read_queries(JUDGED / "queries.tsv")) == 43
    assert read_qrels(JUDGED / "qrels.txt")["k01"]["001_b59fd8846a464d7b-001"] == 2
    bad = tmp_path / "bad.tsv"
    bad.write_text("k1 no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        read_queries(bad)
    bad.write_text("k1 0 story\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        read_qrels(bad)


def judged_scores(corpus_index, capsys, mode, prefix, tmp_path):
    queries = {q: t for q, t in read_queries(JUDGED / "queries.tsv").items() if q.startswith(prefix)}
    path = tmp_path / f"{prefix}.tsv"
    path.write_text("".join(f"{q}\t{t}\n" for q, t in queries.items()), encoding="utf-8")
    assert main(["eval", "--index", str(corpus_index), "--queries", str(path),
                 "--qrels", str(JUDGED / "qrels.txt"), "--mode", mode, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_judged_set(corpus_index, engine, capsys, tmp_path):
    scores = {(mode, prefix): judged_scores(corpus_index, capsys, mode, prefix, tmp_path)
              for mode in ("keyword", "semantic", "hybrid") for prefix in ("k", "p", "")}
    assert scores[("keyword", "k")]["mrr@10"] >= 0.95  # keyword questions: keyword search finds them
    assert scores[("semantic", "p")]["recall@5"] >= 0.9  # paraphrases: meaning finds them
    for metric in ("mrr@10", "ndcg@10"):  # hybrid beats each half on the whole set
        assert scores[("hybrid", "")][metric] > scores[("keyword", "")][metric]
        assert scores[("hybrid", "")][metric] > scores[("semantic", "")][metric]
