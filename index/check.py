"""Do the keyword and the vector index hold the same stories as stories.jsonl?

``check_index`` reports; ``repair_index`` writes a new generation in which
the keyword index and the vectors agree with the stories again (re-adding
what is missing, dropping what has no story) and switches to it.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import layout, sparse
from .build import update_keyword_index, write_semantic_index
from .embedding import load_embedder
from .embedding_cache import EmbeddingCache, default_cache_dir
from .locking import writer_lock
from .sparse import write_sparse_index
from .stories import Story


@dataclass
class CheckReport:
    generation: str
    stories: int
    missing_keyword: list[str] = field(default_factory=list)  # stories the keyword index lacks
    extra_keyword: list[str] = field(default_factory=list)  # keyword documents with no story
    missing_vectors: list[str] = field(default_factory=list)  # stories without passages or vectors
    extra_vectors: list[str] = field(default_factory=list)  # passages of no story
    broken_passages: int = 0  # passage records and faiss ids that do not match
    term_matrix_differs: bool = False  # the BM25 term matrix is missing or holds other stories

    @property
    def ok(self) -> bool:
        return not (self.missing_keyword or self.extra_keyword or self.missing_vectors
                    or self.extra_vectors or self.broken_passages or self.term_matrix_differs)


def _stories(generation: Path) -> dict[str, Story]:
    with open(generation / layout.STORIES, encoding="utf-8") as handle:
        return {s.id: s for s in (Story.from_dict(json.loads(line)) for line in handle)}


def check_index(folder: Path) -> CheckReport:
    import faiss
    from whoosh import index as whoosh_index

    generation = layout.current_generation(folder)
    stories = _stories(generation)
    ix = whoosh_index.open_dir(str(generation / layout.WHOOSH))
    with ix.searcher() as searcher:
        keyword_ids = {fields["id"] for fields in searcher.all_stored_fields()}
    with open(generation / layout.PASSAGES, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    vectors = faiss.read_index(str(generation / layout.VECTORS))
    faiss_ids = set(faiss.vector_to_array(vectors.id_map).tolist()) if vectors.ntotal else set()
    row_ids = {row["id"] for row in rows}
    vector_story_ids = {row["story"] for row in rows if row["id"] in faiss_ids}
    report = CheckReport(generation.name, len(stories))
    report.missing_keyword = sorted(set(stories) - keyword_ids)
    report.extra_keyword = sorted(keyword_ids - set(stories))
    report.missing_vectors = sorted(set(stories) - vector_story_ids)
    report.extra_vectors = sorted({row["story"] for row in rows} - set(stories))
    report.broken_passages = len(faiss_ids ^ row_ids) + (len(rows) - len(row_ids))
    try:
        matrix_ids = json.loads((generation / layout.SPARSE / sparse.IDS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        matrix_ids = None
    report.term_matrix_differs = matrix_ids != list(stories)
    return report


def repair_index(folder: Path, cache_dir: Path | None = None, wait: float = 0) -> CheckReport:
    """Rebuild what disagrees into a new generation; returns the check after."""
    folder = Path(folder)
    with writer_lock(folder, wait):
        layout.remove_stale(folder)
        report = check_index(folder)
        if report.ok:
            return report
        generation = layout.current_generation(folder)
        stories = _stories(generation)
        meta = layout.read_meta(generation)
        name = layout.next_generation_name(folder)
        staging = folder / (name + layout.BUILDING_SUFFIX)
        staging.mkdir()
        shutil.copy2(generation / layout.STORIES, staging / layout.STORIES)
        shutil.copytree(generation / layout.WHOOSH, staging / layout.WHOOSH)
        write_sparse_index(staging / layout.SPARSE, list(stories.values()))
        redo_keyword = set(report.missing_keyword) | set(report.extra_keyword)
        _drop_ids(staging / layout.WHOOSH, redo_keyword)
        update_keyword_index(staging / layout.WHOOSH, set(), [stories[i] for i in report.missing_keyword])
        embedder = load_embedder(meta["model"]["name"])
        cache = EmbeddingCache(cache_dir or default_cache_dir(), embedder.name, embedder.document_prompt,
                               embedder.dimension)
        redo_vectors = set(report.missing_vectors) | set(report.extra_vectors)
        base = _without_broken(generation, staging)
        try:
            meta["model"] = write_semantic_index(staging, [stories[i] for i in report.missing_vectors], embedder,
                                                 cache, previous=base, drop_stories=redo_vectors)
        finally:
            cache.close()
            shutil.rmtree(base)
        meta["generation"] = name
        meta["counts"]["passages"] = meta["model"]["passages"]
        (staging / layout.META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(staging, folder / name)
        layout.switch_to(folder, folder / name)
        layout.remove_stale(folder)
    return check_index(folder)


def _drop_ids(whoosh_dir: Path, ids: set[str]) -> None:
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(whoosh_dir))
    with ix.writer() as writer:
        for story_id in sorted(ids):
            writer.delete_by_term("id", story_id)


def _without_broken(generation: Path, staging: Path) -> Path:
    """A copy of the generation's passages and vectors that keeps only the
    passages present in both, for the semantic update to start from."""
    import faiss
    import numpy as np

    vectors = faiss.read_index(str(generation / layout.VECTORS))
    faiss_ids = set(faiss.vector_to_array(vectors.id_map).tolist()) if vectors.ntotal else set()
    with open(generation / layout.PASSAGES, encoding="utf-8") as handle:
        rows = [row for row in map(json.loads, handle) if row["id"] in faiss_ids]
    base = staging / ".repair-base"
    base.mkdir()
    keep = np.array([row["id"] for row in rows], dtype=np.int64)
    clean = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.d))
    if len(keep):
        clean.add_with_ids(np.stack([vectors.reconstruct(int(i)) for i in keep]), keep)
    faiss.write_index(clean, str(base / layout.VECTORS))
    with open(base / layout.PASSAGES, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return base
