"""The passage vectors of a generation: ``passages.jsonl`` (each passage's
id, story and text) and ``vectors.faiss`` (its vector under the same id),
written, opened and checked here only."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from . import layout, settings
from .embedding_cache import EmbeddingCache, embed_with_cache
from .passages import story_passages
from .stories import Story

log = logging.getLogger(__name__)
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def story_passage_rows(stories: list[Story], first_id: int = 0) -> list[dict]:
    """Passage records: id (the faiss id), story id and text."""
    rows: list[dict] = []
    for story in stories:
        for text in story_passages(story.title, [*story.paragraphs, *story.captions]):
            rows.append({"id": first_id + len(rows), "story": story.id, "text": text})
    return rows


def vector_index(dimension: int, count: int, ann_threshold: int | None = None):
    """Exact inner product up to ``ann_threshold`` passages (the setting
    ``ann_threshold`` unless given), HNSW above; both wrapped in IndexIDMap2
    so faiss ids are the passage ids we assign."""
    import faiss

    ann_threshold = settings.current().ann_threshold if ann_threshold is None else ann_threshold
    if count > ann_threshold:
        inner = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        kind = f"hnsw (M={HNSW_NEIGHBOURS}, efConstruction={HNSW_EF_CONSTRUCTION})"
    else:
        inner, kind = faiss.IndexFlatIP(dimension), "flat (exact inner product)"
    return faiss.IndexIDMap2(inner), kind


def _embed(rows: list[dict], embedder, cache: EmbeddingCache | None, progress: bool) -> tuple[np.ndarray, int]:
    log.info("embedding %d passages with %s", len(rows), embedder.name)
    return embed_with_cache([row["text"] for row in rows],
                            lambda texts: embedder.encode_documents(texts, progress=progress), cache)


def write_semantic_index(folder: Path, stories: list[Story], embedder, cache: EmbeddingCache | None,
                         ann_threshold: int | None = None, previous: Path | None = None,
                         drop_stories: set[str] = frozenset(), progress: bool = False) -> dict:
    """Write ``vectors.faiss`` and ``passages.jsonl`` for ``stories``: all of
    them, or (with ``previous``) the previous generation's passages less those
    of ``drop_stories``, plus the passages of ``stories``. Returns what
    meta.json records about it."""
    kept: list[dict] = []
    next_id = 0
    if previous is not None:
        old = read_passages(previous)
        kept = [row for row in old if row["story"] not in drop_stories]
        next_id = max((row["id"] for row in old), default=-1) + 1
    rows = story_passage_rows(stories, next_id)
    vectors, computed = _embed(rows, embedder, cache, progress)
    if kept:
        old_index = open_vectors(previous)
        vectors = np.vstack([np.stack([old_index.reconstruct(row["id"]) for row in kept]), vectors])
    kind = save_vectors(folder, kept + rows, vectors, embedder.dimension, ann_threshold)
    return {"name": embedder.name, "precision": embedder.precision, "dimension": embedder.dimension,
            "query_prompt": embedder.query_prompt,
            "document_prompt": embedder.document_prompt, "vector_index": kind, "passages": len(kept) + len(rows),
            "embedded": computed}


def save_vectors(folder: Path, rows: list[dict], vectors: np.ndarray, dimension: int,
                 ann_threshold: int | None = None) -> str:
    """Write passage records and their vectors (row i is rows[i]'s); returns
    the kind of vector index written."""
    kind = save_faiss(folder / layout.VECTORS, rows, vectors, dimension, ann_threshold)
    write_jsonl(folder / layout.PASSAGES, rows)
    return kind


def save_faiss(path: Path, rows: list[dict], vectors: np.ndarray, dimension: int,
               ann_threshold: int | None = None) -> str:
    """Write a faiss index holding row i's vector under rows[i]["id"]; returns its kind."""
    import faiss

    index, kind = vector_index(dimension, len(rows), ann_threshold)
    if rows:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                           np.array([row["id"] for row in rows], dtype=np.int64))
    faiss.write_index(index, str(path))
    return kind


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _passage_record(line: bytes, path: Path, where: str) -> dict:
    try:
        row = json.loads(line.decode("utf-8"))
        return {"id": int(row["id"]), "story": str(row["story"]), "text": str(row["text"])}
    except (ValueError, TypeError, KeyError) as exc:
        raise layout.IndexDamaged(path, f"{where} is not a passage record: {exc}") from None


def read_passages(generation: Path) -> list[dict]:
    """Every passage record; IndexDamaged naming the line that cannot be read."""
    path = Path(generation) / layout.PASSAGES
    with open(path, "rb") as handle:
        return [_passage_record(line, path, f"line {number}") for number, line in enumerate(handle, 1)]


def open_vectors(generation: Path):
    """The generation's passage vectors (see open_faiss); IndexNotFound without them."""
    path = Path(generation) / layout.VECTORS
    if not path.is_file():
        raise layout.IndexNotFound(Path(generation), "no semantic index")
    return open_faiss(path)


def open_faiss(path: Path):
    """A faiss index (HNSW searched with efSearch HNSW_EF_SEARCH);
    IndexDamaged when it is missing or faiss cannot read it."""
    import faiss

    if not Path(path).is_file():
        raise layout.IndexDamaged(Path(path), "missing")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:  # faiss says what it could not read, in C++ terms
        raise layout.IndexDamaged(Path(path), str(exc).strip().splitlines()[-1]) from None
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def vector_ids(generation: Path) -> set[int]:
    """The passage ids the faiss index holds (for check_index)."""
    import faiss

    vectors = open_vectors(generation)
    return set(faiss.vector_to_array(vectors.id_map).tolist()) if vectors.ntotal else set()


class PassageStore:
    """Which story each passage belongs to, and its text read from disk when
    asked for (an archive's passage texts need not sit in memory). The file
    stays open, so a generation removed while a request reads it still reads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.story_of: dict[int, str] = {}
        self.of_story: dict[str, list[int]] = {}
        self._spans: dict[int, tuple[int, int]] = {}  # passage id -> (byte offset, length) of its line
        self._file = open(path, "rb")
        offset = 0
        for number, line in enumerate(self._file, 1):
            row = _passage_record(line, self.path, f"line {number}")
            self.story_of[row["id"]] = row["story"]
            self.of_story.setdefault(row["story"], []).append(row["id"])
            self._spans[row["id"]] = (offset, len(line))
            offset += len(line)

    def text(self, pid: int) -> str:
        """A passage's text, read now; IndexDamaged if the file changed under us."""
        offset, length = self._spans[pid]
        return _passage_record(os.pread(self._file.fileno(), length, offset), self.path, f"passage {pid}")["text"]
