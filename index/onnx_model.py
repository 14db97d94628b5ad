"""The embedding model run by ONNX Runtime, behind the sentence-transformers
interface; this module owns the exported folder (written, opened, checked
here only).

sentence-transformers' own ONNX backend needs optimum-onnx, which pins a
transformers older than sentence-transformers 6 accepts, so the transformer
is exported here with ``torch.onnx`` once per model (seconds, then cached;
sentence-transformers loads the model and saves its modules and prompts).
The exported graph runs in ``onnxruntime``. Where the modules after the
transformer are a pooling and a normalisation (e5's), numpy runs them
(``OnnxSentenceEncoder``): a serving process then imports neither torch nor
sentence-transformers (about 400 MB) and never loads the torch weights.
Other models run as a SentenceTransformer whose first module is
``OnnxTransformer``.

Precisions: ``float32`` is the exported graph as it is (vectors within 1e-5 of
torch's); ``int8`` is onnxruntime's dynamic quantization of it: 8-bit weights
per output channel in every matrix product, activations quantized on the fly.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from . import settings
from .layout import replace_folder
from .sp_tokenizer import SentencePieceTokenizer, sentencepiece_model

log = logging.getLogger(__name__)

# Bump when what is exported changes: cached folders are made again.
EXPORT_VERSION = 2
# Bump when how int8 vectors are computed changes: caches know int8 vectors by it.
QUANTIZATION_VERSION = 2
MARKER = "storysearch-onnx.json"
GRAPH_FILES = {"float32": "model.onnx", "int8": "model.int8.onnx"}
# The tokenizer for sentencepiece (index/sp_tokenizer.py), where the model's converts.
SENTENCEPIECE_FILE = "tokenizer.spm.model"
OPSET = 17
# Pooling modes numpy runs (OnnxSentenceEncoder); others go through sentence-transformers.
POOLING_MODES = ("mean", "cls", "max", "lasttoken")


def quantization_identity(precision: str) -> str:
    """How vectors at ``precision`` were computed, for caches (int8's first
    quantization was torch's)."""
    return f"{precision} onnxruntime quantization {QUANTIZATION_VERSION}" if precision == "int8" else precision


class OnnxExportError(RuntimeError):
    """The model could not be exported to, or opened from, ONNX."""


def _source_fingerprint(model_path: str) -> str:
    """What the export was made from: a local folder's config and weight
    files (name, size, time), or a hub name as it is."""
    folder = Path(model_path)
    if not folder.is_dir():
        return model_path
    parts = [str(folder.resolve())]
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix in {".json", ".safetensors", ".bin"}):
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def export_folder(model_path: str) -> Path:
    """Where the exported graphs of ``model_path`` are cached (the setting
    ``model_cache``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model_path).name or model_path)[-60:]
    digest = hashlib.sha256(str(Path(model_path).resolve() if Path(model_path).is_dir() else model_path)
                            .encode()).hexdigest()[:12]
    return Path(settings.current().model_cache) / "onnx" / f"{slug}-{digest}-v{EXPORT_VERSION}"


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _is_current(folder: Path, fingerprint: str) -> bool:
    marker = _read_marker(folder)
    return bool(marker and marker.get("source") == fingerprint
                and all((folder / name).is_file() for name in GRAPH_FILES.values()))


def ensure_exported(model_path: str) -> Path:
    """The exported folder of ``model_path``, exporting it once if it is
    missing or was made from other weights. One process exports at a time;
    the folder is written beside its final place and renamed into it, so a
    killed export leaves nothing half-written."""
    from filelock import FileLock

    folder = export_folder(model_path)
    fingerprint = _source_fingerprint(model_path)
    if _is_current(folder, fingerprint):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _is_current(folder, fingerprint):  # another process exported it meanwhile
            return folder
        staging = Path(tempfile.mkdtemp(prefix=".exporting-", dir=folder.parent))
        staging.chmod(0o755)
        try:
            try:
                _export(model_path, staging, fingerprint)
            except OnnxExportError:
                raise
            except Exception as exc:  # noqa: BLE001 - torch.onnx raises many kinds; the message names the model
                raise OnnxExportError(f"cannot export {model_path!r} to ONNX: {exc}; "
                                      f"use STORYSEARCH_MODEL_RUNTIME=torch") from exc
            replace_folder(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_sentence_transformer(model_path: str):
    """The SentenceTransformer of ``model_path`` on the CPU, loaded without
    transformers' progress bars."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(model_path, device="cpu")


def _export(model_path: str, out: Path, fingerprint: str) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers.base.modules import Transformer

    model = load_sentence_transformer(model_path)
    first = model[0]
    if not isinstance(first, Transformer):
        raise OnnxExportError(f"{model_path}: the first module is {type(first).__name__}, not a Transformer; "
                              f"use STORYSEARCH_MODEL_RUNTIME=torch")
    first.tokenizer.save_pretrained(str(out))
    try:
        (out / SENTENCEPIECE_FILE).write_bytes(sentencepiece_model(out / "tokenizer.json"))
    except (OSError, ValueError) as exc:
        log.info("the tokenizer of %s stays the transformers one: %s", model_path, exc)
    modules = []
    for index, module in enumerate(list(model)[1:], start=1):
        path = f"{index}_{type(module).__name__}"
        (out / path).mkdir()
        module.save(str(out / path))
        modules.append({"type": f"{type(module).__module__}.{type(module).__name__}", "path": path})

    class LastHiddenState(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = first.tokenizer(["query: 例子", "passage: 一个稍长一些的例子"], padding=True, return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(LastHiddenState(first.auto_model.eval()),
                          (example["input_ids"], example["attention_mask"]), str(out / GRAPH_FILES["float32"]),
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic,
                                        "last_hidden_state": dynamic},
                          opset_version=OPSET, dynamo=False)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process, given at each call
    try:
        quantize_dynamic(str(out / GRAPH_FILES["float32"]), str(out / GRAPH_FILES["int8"]),
                         weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    (out / MARKER).write_text(json.dumps({
        "source": fingerprint, "export_version": EXPORT_VERSION, "max_seq_length": int(model.max_seq_length or 512),
        "dimension": int(model.get_embedding_dimension()), "prompts": dict(model.prompts or {}),
        "modules": modules, "torch": torch.__version__,
    }, indent=2, ensure_ascii=False))


def _session(path: Path):
    """One thread per run: texts run alone are too small to share out (a
    query took 5.4 ms on one thread, 6.7 ms on two); parallelism comes from
    running texts side by side (OnnxTransformer.forward)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class _OnnxRun:
    """An exported folder's tokenizer and graph, run without torch."""

    def __init__(self, folder: Path, precision: str, max_seq_length: int, dimension: int, threads: int):
        import onnxruntime as ort

        self.max_seq_length, self.dimension = max_seq_length, dimension
        if (folder / SENTENCEPIECE_FILE).is_file():
            self.tokenizer = SentencePieceTokenizer((folder / SENTENCEPIECE_FILE).read_bytes(), threads=threads)
        else:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.session = _session(folder / GRAPH_FILES[precision])
        # texts run side by side, each on one thread (42 passages/s on 2 cores against 26 with the
        # two threads inside each run); onnxruntime sessions may be run from several threads at once
        self.threads = threads or os.cpu_count() or 1
        self._workers: tuple[int, ThreadPoolExecutor] | None = None
        self._workers_made = threading.Lock()
        # The memory arena grows to the largest batch (1.2 GB more after 16 passages of 512
        # tokens) and would keep it; shrinking it after each run costs no measurable time.
        self.run_options = ort.RunOptions()
        self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64, padded to the longest)."""
        if isinstance(self.tokenizer, SentencePieceTokenizer):
            return self.tokenizer.encode_batch(texts, self.max_seq_length)
        encoded = self.tokenizer(texts, padding=True, truncation="longest_first",
                                 max_length=self.max_seq_length, return_tensors="np")
        return encoded["input_ids"].astype(np.int64), encoded["attention_mask"].astype(np.int64)

    def token_embeddings(self, input_ids: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Each text's token embeddings (its length x dimension), each text run
        alone and without its padding: int8's activations are quantized with
        one scale per input, so in a batch a text's vector would depend on the
        texts beside it (cosine 0.997 to its vector alone). Alone and unpadded
        is also faster here: 11 against 6 bundled passages/s in padded batches
        of 16."""
        def run(row: int) -> np.ndarray:
            length = int(lengths[row])
            feeds = {"input_ids": np.ascontiguousarray(input_ids[row:row + 1, :length], dtype=np.int64),
                     "attention_mask": np.ones((1, length), dtype=np.int64)}
            return self.session.run(None, feeds, self.run_options)[0][0]

        return list(self.workers().map(run, range(len(lengths))))

    def workers(self) -> ThreadPoolExecutor:
        """This process's pool (made on first use; a process forked from
        this one, as a pre-fork server's are, has none of its threads)."""
        with self._workers_made:
            if self._workers is None or self._workers[0] != os.getpid():
                self._workers = (os.getpid(), ThreadPoolExecutor(self.threads, thread_name_prefix="storysearch-onnx"))
            return self._workers[1]


def _numpy_pooling(folder: Path, modules: list[dict]) -> str | None:
    """The pooling mode when the modules after the transformer are one
    sentence-transformers Pooling that numpy runs here, optionally followed by
    Normalize (e5's); None for anything else."""
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Pooling"], ["Pooling", "Normalize"]):
        return None
    try:
        config = json.loads((folder / modules[0]["path"] / "config.json").read_text())
    except (OSError, ValueError):
        return None
    mode = config.get("pooling_mode")
    if mode not in POOLING_MODES or not config.get("include_prompt", True):
        return None
    return mode


def _pool(embeddings: np.ndarray, mode: str) -> np.ndarray:
    if mode == "mean":
        return embeddings.sum(axis=0, dtype=np.float32) / np.float32(len(embeddings))
    if mode == "cls":
        return embeddings[0]
    if mode == "max":
        return embeddings.max(axis=0)
    return embeddings[-1]  # "lasttoken"


class OnnxSentenceEncoder:
    """An exported model whose modules after the transformer numpy can run
    (``_numpy_pooling``), encoded with onnxruntime and numpy alone: the
    same vectors as the SentenceTransformer built on OnnxTransformer
    (tests/test_precision.py), without importing torch and
    sentence-transformers, which would add about 400 MB to a serving
    process. It answers the part of SentenceTransformer's interface that
    index/embedding.py uses."""

    def __init__(self, run: _OnnxRun, pooling: str, prompts: dict, max_seq_length: int, dimension: int):
        self._run, self._pooling = run, pooling
        self.prompts, self.max_seq_length, self._dimension = prompts, max_seq_length, dimension

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], prompt: str | None = None, batch_size: int = 32,
               normalize_embeddings: bool = False, convert_to_numpy: bool = True,
               show_progress_bar: bool = False) -> np.ndarray:
        """Vectors of ``texts`` (float32, one row each); ``batch_size`` texts
        are tokenized at a time (it bounds memory, not the vectors)."""
        texts = [prompt + text for text in texts] if prompt else list(texts)
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        if show_progress_bar:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches")
        for start in starts:
            input_ids, attention_mask = self._run.tokenize(texts[start:start + batch_size])
            for offset, embeddings in enumerate(self._run.token_embeddings(input_ids, attention_mask.sum(axis=1))):
                vectors[start + offset] = _pool(embeddings, self._pooling)
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        return vectors


def _onnx_transformer_class():
    """OnnxTransformer, defined on first use so importing this module does not import torch."""
    import torch
    from sentence_transformers.base.modules import InputModule

    class OnnxTransformer(InputModule):
        """The first module of a sentence-transformers model whose later
        modules numpy does not run: tokenizes and computes token embeddings
        with ``_OnnxRun``."""

        def __init__(self, run: _OnnxRun):
            super().__init__()
            self.run = run

        def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, Any]:
            texts = [prompt + text for text in inputs] if prompt else list(inputs)
            input_ids, attention_mask = self.run.tokenize(texts)
            return {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention_mask)}

        def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
            input_ids = features["input_ids"].numpy()
            lengths = features["attention_mask"].numpy().sum(axis=1)
            hidden = np.zeros((*input_ids.shape, self.run.dimension), dtype=np.float32)
            for row, embeddings in enumerate(self.run.token_embeddings(input_ids, lengths)):
                hidden[row, :len(embeddings)] = embeddings
            features["token_embeddings"] = torch.from_numpy(hidden)
            return features

        def get_embedding_dimension(self) -> int:
            return self.run.dimension

        def get_word_embedding_dimension(self) -> int:
            return self.run.dimension

        def save(self, output_path: str, *args, **kwargs) -> None:
            raise NotImplementedError("an ONNX-run model is saved by exporting its sentence-transformers folder")

    return OnnxTransformer


def load_onnx_model(model_path: str, precision: str, threads: int = 0):
    """The model of ``model_path`` with its transformer run in onnxruntime at
    ``precision`` (exported first if needed): an OnnxSentenceEncoder where
    numpy runs the rest of the model, else a SentenceTransformer;
    OnnxExportError if the model cannot be exported."""
    folder = ensure_exported(model_path)
    marker = _read_marker(folder)
    run = _OnnxRun(folder, precision, marker["max_seq_length"], marker["dimension"], threads)
    pooling = _numpy_pooling(folder, marker["modules"])
    if pooling:
        return OnnxSentenceEncoder(run, pooling, marker["prompts"], marker["max_seq_length"], marker["dimension"])
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import import_from_string

    rest = [import_from_string(module["type"]).load(str(folder), subfolder=module["path"])
            for module in marker["modules"]]
    model = SentenceTransformer(modules=[_onnx_transformer_class()(run), *rest], device="cpu",
                                prompts=marker["prompts"] or None)
    model.max_seq_length = marker["max_seq_length"]
    return model
