"""Reciprocal rank fusion on tiny lists with exact expected results."""
from storysearch.searcher.fusion import reciprocal_rank_fusion, weighted_fusion
from storysearch.searcher.hits import ranked


def run(mode, *docids):
    return ranked([(d, 10.0 - i) for i, d in enumerate(docids)], mode)


def test_scores_are_sums_of_reciprocal_ranks():
    fused = reciprocal_rank_fusion({"keyword": run("keyword", "a", "b"), "semantic": run("semantic", "b", "c")})
    scores = {hit.docid: hit.score for hit in fused}
    assert scores == {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62}
    assert [hit.docid for hit in fused] == ["b", "a", "c"]
    assert [hit.rank for hit in fused] == [1, 2, 3]


def test_story_in_one_list_keeps_none_for_the_other():
    fused = reciprocal_rank_fusion({"keyword": run("keyword", "a"), "semantic": run("semantic", "b", "a")})
    ranks = {hit.docid: hit.ranks for hit in fused}
    assert ranks == {"a": {"keyword": 1, "semantic": 2}, "b": {"keyword": None, "semantic": 1}}


def test_ties_break_on_best_rank_then_docid_whatever_the_input_order():
    # x is 1st then 2nd, y 2nd then 1st: equal sums and equal best ranks.
    left = {"keyword": run("keyword", "x", "y"), "semantic": run("semantic", "y", "x")}
    right = {"semantic": run("semantic", "y", "x"), "keyword": run("keyword", "x", "y")}
    assert [h.docid for h in reciprocal_rank_fusion(left)] == ["x", "y"]
    assert [h.docid for h in reciprocal_rank_fusion(right)] == ["x", "y"]
    single = reciprocal_rank_fusion({"keyword": run("keyword", "m"), "semantic": run("semantic", "d")})
    assert [h.docid for h in single] == ["d", "m"]  # both rank 1: the id decides


def test_depth_cuts_the_fused_list():
    fused = reciprocal_rank_fusion({"keyword": run("keyword", "a", "b", "c")}, depth=2)
    assert [h.docid for h in fused] == ["a", "b"]


def test_custom_k_changes_scores():
    fused = reciprocal_rank_fusion({"keyword": run("keyword", "a")}, k=0)
    assert fused[0].score == 1.0


def test_fused_hits_keep_each_list_score():
    fused = reciprocal_rank_fusion({"keyword": run("keyword", "a"), "semantic": run("semantic", "b", "a")})
    scores = {hit.docid: hit.scores for hit in fused}
    assert scores == {"a": {"keyword": 10.0, "semantic": 9.0}, "b": {"keyword": None, "semantic": 10.0}}


def test_weighted_fusion_normalises_each_list():
    keyword = ranked([("a", 30.0), ("b", 20.0), ("c", 10.0)], "keyword")
    semantic = ranked([("c", 0.9), ("b", 0.8)], "semantic")
    fused = weighted_fusion({"keyword": keyword, "semantic": semantic}, {"keyword": 0.5, "semantic": 0.5})
    scores = {hit.docid: round(hit.score, 6) for hit in fused}
    assert scores == {"a": 0.5, "b": 0.25, "c": 0.5}
    assert [hit.docid for hit in fused] == ["a", "c", "b"]  # a and c tie; a has the better best rank


def test_weighted_fusion_of_a_single_item_list():
    fused = weighted_fusion({"keyword": run("keyword", "a")}, {"keyword": 0.7})
    assert fused[0].score == 0.7
