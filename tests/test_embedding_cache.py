"""Embeddings cached by passage content, one cache per model."""
import numpy as np

from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.embedding_cache import EmbeddingCache, embed_with_cache

PAGE = "乡贤参与 基层治理\n\n张三\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。\n"


def test_rebuilding_unchanged_stories_embeds_nothing(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PAGE, encoding="utf-8")
    first = build_index(corpus, tmp_path / "index", DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    second = build_index(corpus, tmp_path / "index", DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    assert first.embedded == first.passages == 1
    assert second.embedded == 0 and second.passages == 1
    (corpus / "b.txt").write_text(PAGE.replace("某镇", "另一个镇"), encoding="utf-8")
    third = build_index(corpus, tmp_path / "index", DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    assert third.embedded == 1 and third.passages == 2


def test_each_model_has_its_own_cache(tmp_path):
    one = EmbeddingCache(tmp_path, "model-one", "passage: ", 2)
    two = EmbeddingCache(tmp_path, "model-two", "passage: ", 2)
    assert one.path != two.path
    vectors, computed = embed_with_cache(["x", "y", "x"], lambda t: np.ones((len(t), 2), np.float32), one)
    assert computed == 2 and vectors.shape == (3, 2)
    again, computed = embed_with_cache(["y", "x"], lambda t: np.zeros((len(t), 2), np.float32), one)
    assert computed == 0 and (again == 1).all()
    assert two.get(["x"]) == {}


def test_a_pass_stopped_midway_keeps_what_it_embedded(tmp_path, monkeypatch):
    from storysearch.index import embedding_cache

    monkeypatch.setattr(embedding_cache, "CACHED_TOGETHER", 3)
    cache = EmbeddingCache(tmp_path, "model", "passage: ", 2)
    texts = [f"passage {i}" for i in range(8)]
    asked = []

    def encode(part):
        asked.append(list(part))
        if len(asked) == 3:
            raise MemoryError("killed midway")
        return np.full((len(part), 2), len(asked), np.float32)

    try:
        embed_with_cache(texts, encode, cache)
    except MemoryError:
        pass
    assert [len(part) for part in asked] == [3, 3, 2]
    assert sorted(cache.get([embedding_cache.text_key(t) for t in texts])) == sorted(
        embedding_cache.text_key(t) for t in texts[:6])  # the first two parts, kept before the third failed
    vectors, computed = embed_with_cache(texts, lambda part: np.zeros((len(part), 2), np.float32), cache)
    assert computed == 2 and (vectors[:3] == 1).all() and (vectors[6:] == 0).all()
