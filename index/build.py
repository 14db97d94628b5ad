"""Building an index folder from a corpus folder.

The new index is written into a staging folder beside the target and moved
into place only when complete, so a failed or killed build never leaves a
half-written index where the searcher looks.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from . import layout
from .analysis import analyzer_settings, bigram_analyzer, word_analyzer
from .corpus import SkippedFile, read_corpus
from .embedding import DEFAULT_MODEL, load_embedder
from .embedding_cache import EmbeddingCache, default_cache_dir, embed_with_cache
from .passages import story_passages
from .segment import split_stories
from .stories import Story

log = logging.getLogger(__name__)
ANN_THRESHOLD = int(os.environ.get("STORYSEARCH_ANN_THRESHOLD", 200_000))
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80


@dataclass
class BuildReport:
    index: Path
    stories: int
    passages: int
    seconds: float
    skipped: list[SkippedFile] = field(default_factory=list)
    embedded: int = 0  # passages embedded now; the others came from the cache


def whoosh_schema():
    from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema

    return Schema(
        id=ID(stored=True, unique=True),
        source=ID(stored=True),
        order=NUMERIC(stored=True),
        headline=TEXT(analyzer=word_analyzer(), stored=True),
        body=TEXT(analyzer=word_analyzer(), stored=True),
        headline_bigrams=TEXT(analyzer=bigram_analyzer()),
        body_bigrams=TEXT(analyzer=bigram_analyzer()),
        authors=KEYWORD(stored=True, commas=True, scorable=True),
    )


def write_keyword_index(folder: Path, stories: list[Story]) -> None:
    from whoosh import index as whoosh_index

    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), whoosh_schema())
    with ix.writer(limitmb=256) as writer:
        for story in stories:
            writer.add_document(
                id=story.id, source=story.source, order=story.order,
                headline=story.title, body=story.body,
                headline_bigrams=story.title, body_bigrams=story.body,
                authors=",".join(story.authors),
            )


def story_passage_rows(stories: list[Story]) -> list[dict]:
    """Passage records: id (the faiss id), story id and text."""
    rows: list[dict] = []
    for story in stories:
        for text in story_passages(story.title, [*story.paragraphs, *story.captions]):
            rows.append({"id": len(rows), "story": story.id, "text": text})
    return rows


def vector_index(dimension: int, count: int, ann_threshold: int = ANN_THRESHOLD):
    """Exact inner product up to ``ann_threshold`` passages, HNSW above; both
    wrapped in IndexIDMap2 so faiss ids are the passage ids we assign."""
    import faiss

    if count > ann_threshold:
        inner = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        kind = f"hnsw (M={HNSW_NEIGHBOURS}, efConstruction={HNSW_EF_CONSTRUCTION})"
    else:
        inner, kind = faiss.IndexFlatIP(dimension), "flat (exact inner product)"
    return faiss.IndexIDMap2(inner), kind


def write_semantic_index(folder: Path, stories: list[Story], embedder, cache: EmbeddingCache | None,
                         ann_threshold: int = ANN_THRESHOLD) -> dict:
    """Embed every passage (reusing cached vectors) into ``vectors.faiss`` and
    ``passages.jsonl``; returns what meta.json records about it."""
    import faiss

    rows = story_passage_rows(stories)
    log.info("embedding %d passages of %d stories with %s", len(rows), len(stories), embedder.name)
    vectors, computed = embed_with_cache(
        [row["text"] for row in rows],
        lambda texts: embedder.encode_documents(texts, progress=log.isEnabledFor(logging.INFO)), cache)
    index, kind = vector_index(embedder.dimension, len(rows), ann_threshold)
    if rows:
        index.add_with_ids(vectors, np.arange(len(rows), dtype=np.int64))
    faiss.write_index(index, str(folder / layout.VECTORS))
    _write_jsonl(folder / layout.PASSAGES, rows)
    return {"name": embedder.name, "dimension": embedder.dimension, "query_prompt": embedder.query_prompt,
            "document_prompt": embedder.document_prompt, "vector_index": kind, "passages": len(rows),
            "embedded": computed, "from_cache": len(rows) - computed}


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _versions() -> dict:
    names = ["storysearch", "whoosh3", "faiss-cpu", "sentence-transformers", "transformers", "torch",
             "rjieba", "opencc"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_index(corpus: Path, target: Path, model_name: str = DEFAULT_MODEL, cache_dir: Path | None = None,
                ann_threshold: int = ANN_THRESHOLD) -> BuildReport:
    started = time.perf_counter()
    corpus, target = Path(corpus), Path(target)
    pages, skipped = read_corpus(corpus)
    for item in skipped:
        log.warning("skipped %s: %s", item.source, item.reason)
    stories = [story for page in pages for story in split_stories(page.source, page.text)]
    log.info("read %d pages (%d skipped), %d stories", len(pages), len(skipped), len(stories))

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        _write_jsonl(staging / layout.STORIES, (story.to_dict() for story in stories))
        write_keyword_index(staging / layout.WHOOSH, stories)
        embedder = load_embedder(model_name)
        cache = EmbeddingCache(cache_dir or default_cache_dir(), embedder.name, embedder.document_prompt,
                               embedder.dimension)
        try:
            model_info = write_semantic_index(staging, stories, embedder, cache, ann_threshold)
        finally:
            cache.close()
        n_passages = model_info["passages"]
        seconds = time.perf_counter() - started
        meta = {
            "format_version": layout.FORMAT_VERSION,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(seconds, 2),
            "corpus": str(corpus.resolve()),
            "counts": {"pages": len(pages), "stories": len(stories), "passages": n_passages},
            "skipped": [{"source": s.source, "reason": s.reason} for s in skipped],
            "model": model_info,
            "analyzer": analyzer_settings(),
            "versions": _versions(),
        }
        (staging / layout.META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildReport(target, len(stories), n_passages, seconds, skipped, model_info["embedded"])


def _swap_into_place(staging: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
