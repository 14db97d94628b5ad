"""The embedding model run by ONNX Runtime, behind the sentence-transformers
interface; this module owns the exported folder (written, opened, checked
here only).

sentence-transformers' own ONNX backend needs optimum-onnx, which pins a
transformers older than sentence-transformers 6 accepts, so the transformer
is exported here with ``torch.onnx`` once per model (seconds, then cached)
and run by ``onnxruntime`` inside ``OnnxTransformer``, an input module that
takes the place of the first module; pooling and normalisation stay
sentence-transformers' own. Serving then never loads the torch weights: the
process holds the ONNX graph only (a quarter of the float32 weights at int8).

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


def _export(model_path: str, out: Path, fingerprint: str) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer

    model = SentenceTransformer(model_path, device="cpu")
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


def _onnx_transformer_class():
    """OnnxTransformer, defined on first use so importing this module does not import torch."""
    import onnxruntime as ort
    import torch
    from sentence_transformers.base.modules import InputModule

    class OnnxTransformer(InputModule):
        """The first module of a sentence-transformers model: tokenizes with the
        model's tokenizer (run by sentencepiece where it converts: the same ids
        in an eighth of the memory) and computes token embeddings with
        onnxruntime."""

        def __init__(self, folder: Path, precision: str, max_seq_length: int, dimension: int, threads: int):
            super().__init__()
            self.folder, self.precision = Path(folder), precision
            self.max_seq_length, self.dimension = max_seq_length, dimension
            if (self.folder / SENTENCEPIECE_FILE).is_file():
                self.tokenizer = SentencePieceTokenizer((self.folder / SENTENCEPIECE_FILE).read_bytes(),
                                                        threads=threads)
            else:
                from transformers import AutoTokenizer

                self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            self.session = _session(self.folder / GRAPH_FILES[precision])
            # texts run side by side, each on one thread (42 passages/s on 2 cores against 26 with the
            # two threads inside each run); onnxruntime sessions may be run from several threads at once
            self.workers = ThreadPoolExecutor(threads or os.cpu_count() or 1,
                                              thread_name_prefix="storysearch-onnx")
            # The memory arena grows to the largest batch (1.2 GB more after 16 passages of 512
            # tokens) and would keep it; shrinking it after each run costs no measurable time.
            self.run_options = ort.RunOptions()
            self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

        def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, Any]:
            texts = [prompt + text for text in inputs] if prompt else list(inputs)
            if isinstance(self.tokenizer, SentencePieceTokenizer):
                return {name: torch.from_numpy(array)
                        for name, array in self.tokenizer(texts, self.max_seq_length).items()}
            return dict(self.tokenizer(texts, padding=True, truncation="longest_first",
                                       max_length=self.max_seq_length, return_tensors="pt"))

        def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
            """Each text alone, without its padding: int8's activations are
            quantized with one scale per input, so in a batch a text's vector
            would depend on the texts beside it (cosine 0.997 to its vector
            alone). Alone and unpadded is also faster here: 11 against 6
            bundled passages/s in padded batches of 16."""
            input_ids = features["input_ids"].numpy().astype(np.int64)
            lengths = features["attention_mask"].numpy().sum(axis=1)
            hidden = np.zeros((*input_ids.shape, self.dimension), dtype=np.float32)

            def run(row: int) -> None:
                length = lengths[row]
                feeds = {"input_ids": input_ids[row:row + 1, :length],
                         "attention_mask": np.ones((1, length), dtype=np.int64)}
                hidden[row, :length] = self.session.run(None, feeds, self.run_options)[0][0]

            list(self.workers.map(run, range(len(lengths))))
            features["token_embeddings"] = torch.from_numpy(hidden)
            return features

        def get_embedding_dimension(self) -> int:
            return self.dimension

        def get_word_embedding_dimension(self) -> int:
            return self.dimension

        def save(self, output_path: str, *args, **kwargs) -> None:
            raise NotImplementedError("an ONNX-run model is saved by exporting its sentence-transformers folder")

    return OnnxTransformer


def load_onnx_model(model_path: str, precision: str, threads: int = 0):
    """A SentenceTransformer whose transformer runs in onnxruntime at
    ``precision`` (exported first if needed); OnnxExportError if the model
    cannot be exported."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import import_from_string

    folder = ensure_exported(model_path)
    marker = _read_marker(folder)
    first = _onnx_transformer_class()(folder, precision, marker["max_seq_length"], marker["dimension"], threads)
    rest = [import_from_string(module["type"]).load(str(folder), subfolder=module["path"])
            for module in marker["modules"]]
    model = SentenceTransformer(modules=[first, *rest], device="cpu", prompts=marker["prompts"] or None)
    model.max_seq_length = marker["max_seq_length"]
    return model
