"""Passage embeddings cached by content hash, one SQLite file per model.

Re-indexing text that was embedded before costs a lookup, not a forward pass.
The cache file is named after the model's identity (name, prompt, dimension
and precision), so vectors of two models, or of one model at two precisions,
can never be mixed.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import settings
from .onnx_model import quantization_identity

log = logging.getLogger(__name__)
CACHED_TOGETHER = 4096  # texts encoded, then kept, at a time: minutes of a machine's work, a few batches a worker


def default_cache_dir() -> Path:
    return Path(settings.current().cache) / "embeddings"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, folder: Path, model_name: str, document_prompt: str | None, dimension: int,
                 precision: str = "float32"):
        identity = f"{model_name}\n{document_prompt or ''}\n{dimension}"
        if precision != "float32":  # float32 keeps the identity it had before precisions, and its cache
            identity += f"\n{quantization_identity(precision)}"
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[-60:]
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}.sqlite"
        self.dimension = dimension
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS model (identity TEXT NOT NULL)")
        if self._db.execute("SELECT COUNT(*) FROM model").fetchone()[0] == 0:
            self._db.execute("INSERT INTO model VALUES (?)", (identity,))
            self._db.commit()

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[key] = vector
        return found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Remember vectors; a cache that cannot be written (a full disk) only
        costs the next run the embedding again, so it warns and goes on."""
        rows = [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in zip(keys, vectors)]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
        except sqlite3.Error as exc:
            log.warning("could not keep %d embeddings in the cache %s (%s); the next run embeds them again",
                        len(rows), self.path, exc)

    def close(self) -> None:
        self._db.close()


def embed_with_cache(texts: Sequence[str], encode, cache: EmbeddingCache | None,
                     progress: bool = False) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows in order) and how many had to be computed;
    ``encode`` maps a list of texts to a matrix. The texts missing from the
    cache are encoded and kept CACHED_TOGETHER at a time, so a build stopped
    midway (killed, out of memory) has not lost what it embedded: an
    archive's pass takes hours. ``progress``: a bar over them."""
    if cache is None:
        return encode(list(texts)), len(texts)
    if not texts:
        return np.zeros((0, cache.dimension), np.float32), 0
    keys = [text_key(t) for t in texts]
    known = cache.get(keys)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        from tqdm import tqdm

        text_of = dict(zip(keys, texts))
        with tqdm(total=len(missing), unit="passage", disable=not progress) as bar:
            for start in range(0, len(missing), CACHED_TOGETHER):
                part = missing[start:start + CACHED_TOGETHER]
                fresh = encode([text_of[k] for k in part])
                cache.put(part, fresh)
                known.update(zip(part, fresh))
                bar.update(len(part))
    return np.stack([known[k] for k in keys]).astype(np.float32), len(missing)
