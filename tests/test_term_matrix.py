"""The segmented BM25 term matrix (index/sparse.py) against bm25s, the
reference implementation: the same scores after a build, after updates that
drop and add rows, after segments are merged and deleted rows compacted."""
import json
import os
import random
import shutil

import bm25s
import numpy as np
import pytest

from storysearch.index import layout, sparse
from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL

from test_keyword_build import assert_same_matrix

VOCABULARY = [f"t{i}" for i in range(40)]


def documents(rng: random.Random, count: int, prefix: str) -> dict[str, list[str]]:
    return {f"{prefix}{i}": [rng.choice(VOCABULARY[:rng.randint(5, 40)]) for _ in range(rng.randint(1, 30))]
            for i in range(count)}


def reference_scores(docs: dict[str, list[str]], ids: list[str], query: list[str]) -> np.ndarray:
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index([docs[row_id] for row_id in ids], show_progress=False)
    known = [token for token in query if token in retriever.vocab_dict]
    return retriever.get_scores(known) if known else np.zeros(len(ids))


def assert_same_as_reference(folder, docs):
    ids = sorted(docs)  # the matrix answers in any order it is asked for
    matrix = sparse.open_term_matrix(folder, ids)
    for query in (["t0"], ["t1", "t7", "t33"], ["t39", "t2", "t2"], VOCABULARY[:10]):
        np.testing.assert_allclose(matrix.scores(list(dict.fromkeys(query)))[0],
                                   reference_scores(docs, ids, list(dict.fromkeys(query))), rtol=2e-6, atol=1e-7)
    counts = matrix.row_counts()
    for token in VOCABULARY:
        held = sum(token in docs[row_id] for row_id in ids)
        assert (counts[matrix.vocabulary[token]] if token in matrix.vocabulary else 0) == held
    assert sorted(sparse.matrix_ids(folder)) == ids


def segments(folder):
    return json.loads((folder / sparse.MANIFEST).read_text(encoding="utf-8"))


def test_a_build_scores_as_bm25s(tmp_path):
    docs = documents(random.Random(1), 60, "d")
    sparse.write_term_matrix(tmp_path / "m", list(docs), list(docs.values()))
    assert_same_as_reference(tmp_path / "m", docs)


def test_updates_merges_and_compaction_score_as_a_rebuild(tmp_path):
    rng = random.Random(2)
    docs = documents(rng, 50, "a")
    sparse.write_term_matrix(tmp_path / "g0", list(docs), list(docs.values()))
    for step in range(1, 12):
        drop = set(rng.sample(sorted(docs), 3))
        fresh = documents(rng, 4, f"u{step}-")
        fresh[sorted(drop)[0]] = ["t1", "t2", "t3"]  # a row read again: dropped from its old segment, back in the new
        for row_id in drop:
            docs.pop(row_id)
        docs.update(fresh)
        sparse.update_term_matrix(tmp_path / f"g{step}", tmp_path / f"g{step - 1}", drop, list(fresh),
                                  list(fresh.values()))
        assert_same_as_reference(tmp_path / f"g{step}", docs)
        assert len(segments(tmp_path / f"g{step}")["segments"]) <= sparse.MAX_SEGMENTS
    # the base segment was linked, not copied, into the generations that kept it
    base = tmp_path / "g1" / "seg-000001" / "counts.npy"
    assert os.stat(base).st_ino == os.stat(tmp_path / "g0" / "seg-000001" / "counts.npy").st_ino
    # dropping most rows compacts everything into one segment without deleted rows
    drop = set(sorted(docs)[:len(docs) // 2])
    sparse.update_term_matrix(tmp_path / "last", tmp_path / "g11", drop, [], [])
    for row_id in drop:
        docs.pop(row_id)
    assert segments(tmp_path / "last") == {"segments": [segments(tmp_path / "last")["segments"][0]], "deleted": {}}
    assert_same_as_reference(tmp_path / "last", docs)


def test_a_matrix_that_does_not_hold_the_rows_asked_for_is_damaged(tmp_path):
    sparse.write_term_matrix(tmp_path / "m", ["a", "b"], [["t1"], ["t2"]])
    with pytest.raises(layout.IndexDamaged):
        sparse.open_term_matrix(tmp_path / "m", ["a", "b", "c"])
    with pytest.raises(layout.IndexDamaged):
        sparse.open_term_matrix(tmp_path / "m", ["a", "x"])
    table = tmp_path / "m" / "seg-000001" / "tokens.marisa"
    table.write_bytes(table.read_bytes()[:-8])  # a token table cut short
    with pytest.raises(layout.IndexDamaged, match="not a token table"):
        sparse.open_term_matrix(tmp_path / "m", ["a", "b"])
    (tmp_path / "m" / sparse.MANIFEST).unlink()
    with pytest.raises(layout.IndexDamaged):
        sparse.open_term_matrix(tmp_path / "m", ["a", "b"])


def test_adding_a_page_tokenizes_only_its_stories(tmp_path, embedder):
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    pages = sorted(layout.DEFAULT_CORPUS.glob("*.txt"))
    shutil.copy(pages[0], corpus / pages[0].name)
    build_index(corpus, folder, DEFAULT_MODEL)
    before = layout.current_generation(folder) / layout.SPARSE
    shutil.copy(pages[1], corpus / pages[1].name)
    build_index(corpus, folder, DEFAULT_MODEL)
    after = layout.current_generation(folder) / layout.SPARSE
    assert segments(after)["segments"] == ["seg-000001", "seg-000002"]
    assert os.stat(after / "seg-000001" / "rows.npy").st_ino == os.stat(before / "seg-000001" / "rows.npy").st_ino
    new = json.loads((after / "seg-000002" / "ids.json").read_text(encoding="utf-8"))
    assert new and all(story_id.startswith(pages[1].stem) for story_id in new)


def test_vector_segments_search_as_one_exact_index(tmp_path, monkeypatch):
    """index/vectors.py keeps passage vectors in segments as this module keeps
    the term matrix: search over linked segments with deleted passages gives
    the scores and ids of one flat index of the live passages, before and
    after a merge and a compaction."""
    import faiss

    from storysearch.index import vectors

    rng = np.random.default_rng(15)
    dimension = 16
    stored = rng.standard_normal((400, dimension)).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    queries = rng.standard_normal((3, dimension)).astype(np.float32)

    def rows(ids):
        return [{"id": i, "story": f"s{i // 3}", "text": f"passage {i}"} for i in ids]

    def generation(name):
        (tmp_path / name).mkdir()
        return tmp_path / name

    monkeypatch.setattr(vectors, "MAX_SEGMENTS", 2)
    monkeypatch.setattr(vectors, "MAX_DELETED_SHARE", 0.3)
    previous = generation("g0")
    vectors.save_vectors(previous, rows(range(200)), stored[:200], dimension, ann_threshold=10 ** 9)
    live = set(range(200))
    steps = [({"s5", "s10", "s60"}, range(200, 260)), (set(), range(260, 300)),  # the third segment: merged
             ({f"s{n}" for n in range(20, 60)}, range(300, 400))]  # a third of what is stored deleted: compacted
    for number, (drop, added) in enumerate(steps, 1):
        folder = generation(f"g{number}")
        vectors.update_vectors(folder, previous, drop, rows(added), stored[list(added)], dimension,
                               ann_threshold=10 ** 9)
        live = {i for i in live if f"s{i // 3}" not in drop} | set(added)
        exact = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        ids = np.array(sorted(live), dtype=np.int64)
        exact.add_with_ids(stored[ids], ids)
        found = vectors.open_vectors(folder)
        assert found.ntotal == len(live) and vectors.vector_ids(folder) == live
        assert {row["id"] for row in vectors.read_passages(folder)} == live
        stories = sorted({f"s{i // 3}" for i in live})
        passages = vectors.PassageStore(folder, stories, {story: row for row, story in enumerate(stories)})
        assert len(passages) == len(live)
        for pid in sorted(live)[::7]:
            assert passages.stories([pid]) == [f"s{pid // 3}"] and passages.text(pid) == f"passage {pid}"
        for story in stories[::5]:
            assert passages.passage_ids(story) == sorted(i for i in live if f"s{i // 3}" == story)
        for k in (1, 10, len(live), len(live) + 5):
            for query in queries:  # one at a time, as a search asks
                scores, hits = found.search(query[None, :], k)
                want_scores, want_hits = exact.search(query[None, :], k)
                assert np.array_equal(scores[hits >= 0], want_scores[want_hits >= 0]) and set(
                    hits[hits >= 0].tolist()) == set(want_hits[want_hits >= 0].tolist())
        assert np.array_equal(found.reconstruct(int(ids[-1])), stored[ids[-1]])
        manifest = vectors._read_manifest(folder / "vectors")
        assert len(manifest["segments"]) == [2, 2, 1][number - 1]
        assert bool(manifest["deleted"]) == (number in (1, 2))
        previous = folder


def test_hnsw_segments_keep_half_precision_vectors_that_score_as_exact(tmp_path):
    """Above ann_threshold the vectors are stored in half precision (half the
    memory): scores within 1e-3 of float32 ones, the same best passage."""
    import faiss

    from storysearch.index import vectors

    rng = np.random.default_rng(16)
    stored = rng.standard_normal((300, 64)).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    rows = [{"id": i, "story": f"s{i}", "text": f"passage {i}"} for i in range(300)]
    kind = vectors.save_vectors(tmp_path, rows, stored, 64, ann_threshold=0)
    assert kind.startswith("hnsw") and "fp16" in kind
    written = faiss.read_index(str(tmp_path / "vectors" / "seg-000001.faiss"))  # (kept: faiss frees what it owns)
    inner = faiss.downcast_index(written.index)
    assert faiss.downcast_index(inner.storage).code_size == 64 * 2  # two bytes a dimension
    found = vectors.open_vectors(tmp_path)
    for query in stored[:20] + 0.3 * rng.standard_normal((20, 64)).astype(np.float32):
        scores, hits = found.search(query[None, :], 5)
        np.testing.assert_allclose(scores[0], stored[hits[0]] @ query, atol=1e-3)
        assert hits[0, 0] == int(np.argmax(stored @ query))
    np.testing.assert_allclose(found.reconstruct(7), stored[7], atol=1e-3)


def test_counts_are_kept_in_16_bits_and_a_segment_of_float32_counts_still_serves(tmp_path, monkeypatch):
    docs = documents(random.Random(4), 40, "d")
    sparse.write_term_matrix(tmp_path / "m", list(docs), list(docs.values()))
    assert np.load(tmp_path / "m" / "seg-000001" / "counts.npy").dtype == np.uint16
    # the matrix as the code before wrote it (float32 counts): read, updated and merged alike
    shutil.copytree(tmp_path / "m", tmp_path / "old")
    counts = tmp_path / "old" / "seg-000001" / "counts.npy"
    np.save(counts, np.load(counts).astype(np.float32))
    assert_same_as_reference(tmp_path / "old", docs)
    monkeypatch.setattr(sparse, "MAX_DELETED_SHARE", 0.0)  # the update compacts: the old segment is merged
    drop = set(sorted(docs)[:3])
    fresh = documents(random.Random(5), 3, "n")
    sparse.update_term_matrix(tmp_path / "new", tmp_path / "old", drop, list(fresh), list(fresh.values()))
    for row_id in drop:
        docs.pop(row_id)
    docs.update(fresh)
    assert_same_as_reference(tmp_path / "new", docs)
    (merged,) = segments(tmp_path / "new")["segments"]
    assert np.load(tmp_path / "new" / merged / "counts.npy").dtype == np.uint16
    # a row holding a token more often than 16 bits count scores as if it held it 65,535 times
    assert sparse.Segment.from_tokens(["long"], [["t0"] * 70_000 + ["t1"]]).counts.tolist() == [65_535, 1]


def test_a_matrix_written_in_parts_is_the_matrix_written_whole(tmp_path):
    """Parts of a full build are merged on disk (sparse.merge_segments) into the
    files one segment of every row is: same tokens, columns, rows, counts."""
    docs = documents(random.Random(6), 70, "d")
    for token in ("only-first", "only-last"):  # tokens a single part holds
        docs["d0" if token == "only-first" else "d69"].append(token)
    sparse.write_term_matrix(tmp_path / "whole", list(docs), list(docs.values()))
    rows = list(docs.items())
    sparse.write_segments(tmp_path / "parts", [sparse.Segment.from_tokens([i for i, _ in rows[first:first + 16]],
                                                                          [t for _, t in rows[first:first + 16]])
                                               for first in range(0, len(rows), 16)])
    assert_same_matrix(tmp_path / "parts", tmp_path / "whole")
    assert_same_as_reference(tmp_path / "parts", docs)
