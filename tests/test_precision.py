"""The model run by onnxruntime, in float32 equal to torch's; at int8 close
to float32, recorded by the index, kept apart in the embedding cache,
followed when searching."""
import json
from pathlib import Path

import numpy as np
import pytest

from storysearch.index import layout, settings
from storysearch.index.build import build_index
from storysearch.index.corpus import read_corpus
from storysearch.index.embedding import DEFAULT_MODEL, Embedder
from storysearch.index.onnx_model import GRAPH_FILES, MARKER, ensure_exported
from storysearch.index.embedding_cache import EmbeddingCache
from storysearch.index.segment import segment_page
from storysearch.index.vectors import story_passage_rows
from storysearch.searcher import SearchEngine

# int8 against float32 on the bundled corpus measured a lowest cosine of 0.996
# (passages) and 0.994 (queries); the bound leaves room for other CPUs' kernels.
MIN_COSINE = 0.98
CLEAR_LEAD = 0.02  # a float32 top passage this far ahead of the next must stay first
PAGE = "电动自行车 安全整治\n\n李四\n\n某县开展电动自行车充电安全专项整治,清理飞线充电。\n"


@pytest.fixture(scope="module")
def passages():
    """One passage from each of 20 bundled stories."""
    pages, _ = read_corpus(layout.DEFAULT_CORPUS)
    stories = [story for page in pages for story in segment_page(page.source, page.text).stories]
    first = {}
    for row in story_passage_rows(stories):
        first.setdefault(row["story"], row["text"])
    return list(first.values())[:20]


@pytest.fixture(scope="module")
def queries():
    lines = (Path(__file__).parent / "fixtures" / "judged" / "queries.tsv").read_text("utf-8")
    texts = [line.split("\t", 1)[1] for line in lines.splitlines() if line and not line.startswith("#")]
    return texts[::2][:20]  # keyword and similar-practice questions both


def test_onnx_float32_equals_torch(float32_embedder, torch_embedder, passages, queries):
    assert (float32_embedder.runtime, torch_embedder.runtime) == ("onnx", "torch")
    assert np.abs(float32_embedder.encode_documents(passages) - torch_embedder.encode_documents(passages)).max() < 1e-5
    assert np.abs(float32_embedder.encode_queries(queries) - torch_embedder.encode_queries(queries)).max() < 1e-5
    long = ["网格员上门走访群众。" * 120]  # beyond 512 tokens: truncated alike
    assert np.abs(float32_embedder.encode_documents(long) - torch_embedder.encode_documents(long)).max() < 1e-5


def test_the_export_is_made_once_and_reused(float32_embedder):
    from storysearch.index.embedding import resolve_model_path

    folder = ensure_exported(resolve_model_path(DEFAULT_MODEL))
    written = {name: (folder / name).stat().st_mtime_ns for name in [*GRAPH_FILES.values(), MARKER]}
    assert ensure_exported(resolve_model_path(DEFAULT_MODEL)) == folder
    assert {name: (folder / name).stat().st_mtime_ns for name in written} == written


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(int8_embedder, passages):
    """int8 quantizes activations with one scale per input: each text is run alone."""
    together = int8_embedder.encode_documents(passages[:8])
    for text, vector in zip(passages[:8], together):
        assert np.allclose(int8_embedder.encode_documents([text])[0], vector, atol=1e-6)


def test_int8_needs_onnxruntime():
    with pytest.raises(ValueError, match="onnx"):
        Embedder(DEFAULT_MODEL, "int8", "torch")
    with pytest.raises(ValueError, match="runtime"):
        Embedder(DEFAULT_MODEL, "float32", "tensorflow")


def test_int8_vectors_agree_with_float32(float32_embedder, int8_embedder, passages, queries):
    assert int8_embedder.precision == "int8" and float32_embedder.precision == "float32"
    documents = [float32_embedder.encode_documents(passages), int8_embedder.encode_documents(passages)]
    asked = [float32_embedder.encode_queries(queries), int8_embedder.encode_queries(queries)]
    assert (documents[0] * documents[1]).sum(axis=1).min() >= MIN_COSINE
    assert (asked[0] * asked[1]).sum(axis=1).min() >= MIN_COSINE
    exact, quantized = asked[0] @ documents[0].T, asked[1] @ documents[1].T
    leads = np.sort(exact, axis=1)[:, -1] - np.sort(exact, axis=1)[:, -2]
    clear = np.flatnonzero(leads > CLEAR_LEAD)
    assert len(clear) >= 5
    assert (exact[clear].argmax(axis=1) == quantized[clear].argmax(axis=1)).all()


def test_int8_in_onnxruntime_is_the_default():
    """Each precision has floors calibrated on its own vectors (searcher/floors.py)."""
    from storysearch.searcher.floors import FLOORS

    defaults = settings.load({})
    assert (defaults.model_precision, defaults.model_runtime) == ("int8", "onnx")
    assert set(FLOORS) == {"float32", "int8"}
    with pytest.raises(settings.SettingsError, match="STORYSEARCH_MODEL_PRECISION"):
        settings.load({"STORYSEARCH_MODEL_PRECISION": "int4"})


def test_each_precision_has_its_own_cache(tmp_path):
    float32 = EmbeddingCache(tmp_path, "model", "passage: ", 2)
    assert EmbeddingCache(tmp_path, "model", "passage: ", 2, "float32").path == float32.path  # as before precisions
    assert EmbeddingCache(tmp_path, "model", "passage: ", 2, "int8").path != float32.path


@pytest.fixture()
def small(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PAGE, encoding="utf-8")
    return corpus, tmp_path / "index", tmp_path / "cache"


def test_the_index_records_the_precision_and_search_follows_it(small, float32_embedder, int8_embedder,
                                                               monkeypatch):
    corpus, folder, cache = small
    monkeypatch.setenv("STORYSEARCH_MODEL_PRECISION", "int8")
    settings.use(settings.load())
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    engine = SearchEngine(folder)
    assert engine.meta["model"]["precision"] == engine.precision == "int8"
    assert engine.warnings == [] and engine.semantic.embedder is int8_embedder
    assert report.embedded == report.passages
    assert engine.search("电瓶车充电", "semantic", 5)

    handed = SearchEngine(folder, float32_embedder)  # handed a float32 model, an int8 index serves and says so
    assert len(handed.warnings) == 1 and "int8" in handed.warnings[0]
    assert handed.search("电瓶车充电", "semantic", 5)

    again = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, precision="float32")
    assert again.embedded == again.passages  # other vectors, not the int8 ones from the cache
    assert SearchEngine(folder).precision == "float32"


def test_an_index_that_records_no_precision_is_float32(small):
    corpus, folder, cache = small
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, precision="float32")
    meta_path = layout.current_generation(folder) / layout.META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["model"]["precision"]  # as an index built before precisions were recorded
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    assert SearchEngine(folder).precision == "float32"
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, precision="float32")
    assert report.up_to_date  # its float32 vectors are kept


@pytest.mark.parametrize("mode", ["mean", "cls", "max", "lasttoken"])
def test_numpy_pooling_equals_sentence_transformers(mode):
    import torch
    from sentence_transformers.sentence_transformer.modules import Pooling

    from storysearch.index.onnx_model import _pool

    rng = np.random.default_rng(7)
    lengths = [5, 2, 9]
    texts = [rng.standard_normal((length, 8)).astype(np.float32) for length in lengths]
    padded = np.zeros((len(texts), max(lengths), 8), dtype=np.float32)
    mask = np.zeros((len(texts), max(lengths)), dtype=np.int64)
    for row, embeddings in enumerate(texts):
        padded[row, :len(embeddings)], mask[row, :len(embeddings)] = embeddings, 1
    pooled = Pooling(8, pooling_mode=mode)({"token_embeddings": torch.from_numpy(padded),
                                            "attention_mask": torch.from_numpy(mask)})["sentence_embedding"]
    assert np.abs(np.stack([_pool(embeddings, mode) for embeddings in texts]) - pooled.numpy()).max() < 1e-6


def test_the_numpy_encoder_equals_sentence_transformers_on_onnx(int8_embedder, passages, queries):
    """e5 is run by OnnxSentenceEncoder; the SentenceTransformer whose first module is OnnxTransformer
    (other models' way) gives the same vectors."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize
    from sentence_transformers.sentence_transformer.modules import Pooling

    from storysearch.index.embedding import resolve_model_path
    from storysearch.index.onnx_model import OnnxSentenceEncoder, _onnx_transformer_class

    encoder = int8_embedder.model
    assert isinstance(encoder, OnnxSentenceEncoder)
    folder = ensure_exported(resolve_model_path(DEFAULT_MODEL))
    model = SentenceTransformer(modules=[_onnx_transformer_class()(encoder._run),
                                         Pooling.load(str(folder), subfolder="1_Pooling"), Normalize()], device="cpu")
    texts = passages + queries
    reference = model.encode(texts, prompt="passage: ", batch_size=7, normalize_embeddings=True)
    ours = encoder.encode(texts, prompt="passage: ", batch_size=7, normalize_embeddings=True)
    assert np.abs(ours - reference).max() < 1e-6


def test_a_serving_process_imports_neither_torch_nor_sentence_transformers(int8_embedder):
    """Importing them costs a server about 400 MB (issue 15: serving RSS <= 600 MB)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from storysearch.index.embedding import load_embedder\n"
            "assert load_embedder().query_vector('老旧小区停车').shape == (384,)\n"
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
