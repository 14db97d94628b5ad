"""Hybrid search: explanations, fusion methods, paging, one embedding per request."""
from storysearch.searcher import SearchEngine


def test_explain_gives_both_ranks_and_scores_and_the_fused_score(client):
    data = client.get("/api/search", query_string={"q": "乡贤 教育基金", "explain": "1", "k": 30,
                                                   "fusion": "rrf"}).get_json()
    assert data["hits"]
    for hit in data["hits"]:
        explain = hit["explain"]
        assert explain["fused"]["score"] == hit["score"]
        assert "reciprocal rank fusion (k=60)" == explain["fused"]["method"]
        for name in ("keyword", "semantic"):
            assert explain[name]["rank"] == hit["ranks"][name]
            assert (explain[name]["score"] is None) == (explain[name]["rank"] is None)
    assert any(not h["matched"] for h in data["hits"])  # stories found by meaning only exist
    plain = client.get("/api/search", query_string={"q": "乡贤"}).get_json()
    assert "explain" not in plain["hits"][0]


def test_weighted_fusion_is_the_default_and_rrf_an_option(client):
    rrf = client.get("/api/search", query_string={"q": "乡贤", "explain": 1, "fusion": "rrf"}).get_json()
    weighted = client.get("/api/search", query_string={"q": "乡贤", "explain": 1}).get_json()
    assert weighted["hits"][0]["explain"]["fused"]["method"].startswith("weighted")
    assert 0 < weighted["hits"][0]["score"] <= 1.0 and rrf["hits"][0]["score"] < 0.05
    bad = client.get("/api/search", query_string={"q": "乡贤", "fusion": "max"})
    assert bad.status_code == 400


def test_pages_are_cut_from_one_ranking(corpus_index, embedder, monkeypatch):
    engine = SearchEngine(corpus_index, embedder)
    calls = []
    original = engine.keyword.match
    monkeypatch.setattr(engine.keyword, "match", lambda *a, **kw: calls.append(a) or original(*a, **kw))
    first = engine.search("社区", "hybrid", 5, offset=0)
    second = engine.search("社区", "hybrid", 5, offset=5)
    assert [h.rank for h in first] == [1, 2, 3, 4, 5] and [h.rank for h in second] == [6, 7, 8, 9, 10]
    assert len(calls) == 1


def test_one_query_embedding_serves_every_mode(corpus_index, embedder, monkeypatch):
    engine = SearchEngine(corpus_index, embedder)
    calls = []
    original = embedder.encode_queries
    monkeypatch.setattr(embedder, "encode_queries", lambda texts: calls.append(texts) or original(texts))
    query = "一个没有问过的问题：社区如何组织志愿者"
    engine.search(query, "semantic", 5)
    engine.search(query, "hybrid", 5)
    engine.search(query, "hybrid", 5, fusion="rrf")
    assert calls == [[query]]


def test_api_pages(client):
    first = client.get("/api/search", query_string={"q": "社区", "k": 3}).get_json()
    second = client.get("/api/search", query_string={"q": "社区", "k": 3, "page": 2}).get_json()
    assert [h["rank"] for h in second["hits"]] == [4, 5, 6]
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    assert second["total"] >= 6 and second["offset"] == 3
    assert client.get("/api/search", query_string={"q": "社区", "page": "two"}).status_code == 400
