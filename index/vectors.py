"""The passage vectors of a generation (``vectors/``), written, updated,
opened and checked here only.

Like the term matrix (index/sparse.py) they are kept in segments: a build
writes one; an update hard-links the previous generation's segments, writes
a small one for the new passages and lists the passages it drops as
deleted, so it costs what changed (rebuilding an HNSW index of an archive's
230,000 passages took minutes). A segment is ``seg-NNNNNN.faiss`` (its
vectors under their passage ids: exact inner product up to ``ann_threshold``
passages, HNSW above), ``seg-NNNNNN.jsonl`` (its passage records: id, story,
text) and ``seg-NNNNNN.stories.json`` (which passage ids each story has, so
that an update finds the rows it drops without reading any text);
``segments.json`` lists the segments in order, each one's deleted passage
ids, and the next free passage id. A search asks every segment, leaving its
deleted passages out (a faiss IDSelector), and keeps the best: on exact
segments the same scores and order as one index of the live passages. Too
many segments are merged, and too many deleted passages compacted away, from
the stored vectors (no text is embedded again).
"""
from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping, Sequence
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
    so faiss ids are the passage ids we assign. HNSW keeps its vectors in
    half precision: an archive's vectors are most of a server's memory, and
    on CMRC 2018 recall@10 against exact search was 0.9980 so against
    0.9988 with float32 (scores within about 1e-3; 8-bit codes lost 0.012)."""
    import faiss

    ann_threshold = settings.current().ann_threshold if ann_threshold is None else ann_threshold
    kind = "hnsw" if count > ann_threshold else "flat"
    if kind == "hnsw":
        inner = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_fp16, HNSW_NEIGHBOURS,
                                  faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        inner = faiss.IndexFlatIP(dimension)
    return faiss.IndexIDMap2(inner), _kind_name(kind)


def _embed(rows: list[dict], embedder, cache: EmbeddingCache | None, progress: bool) -> tuple[np.ndarray, int]:
    log.info("embedding %d passages with %s", len(rows), embedder.name)
    encode = functools.partial(embedder.encode_documents, progress=progress and cache is None)  # (else one bar here)
    return embed_with_cache([row["text"] for row in rows], encode, cache, progress)


MANIFEST = "segments.json"
MAX_SEGMENTS = 8  # more: all but the largest are merged into one
MAX_DELETED_SHARE = 0.2  # more of the stored passages deleted: every segment is compacted into one


def write_semantic_index(folder: Path, stories: list[Story], embedder, cache: EmbeddingCache | None,
                         ann_threshold: int | None = None, previous: Path | None = None,
                         drop_stories: set[str] = frozenset(), progress: bool = False) -> dict:
    """Write ``vectors/`` for ``stories``: all of them, or (with ``previous``,
    a generation written by the same model) the previous generation's
    passages less those of ``drop_stories``, plus the passages of
    ``stories``. Returns what meta.json records about it."""
    target = Path(folder) / layout.VECTORS
    manifest = _read_manifest(Path(previous) / layout.VECTORS) if previous is not None else None
    rows = story_passage_rows(stories, manifest["next_id"] if manifest else 0)
    vectors, computed = _embed(rows, embedder, cache, progress)
    if manifest is None:
        kinds = save_vectors(folder, rows, vectors, embedder.dimension, ann_threshold)
    else:
        kinds = update_vectors(folder, previous, drop_stories, rows, vectors, embedder.dimension, ann_threshold)
    return {"name": embedder.name, "precision": embedder.precision, "runtime": embedder.runtime,
            "dimension": embedder.dimension, "query_prompt": embedder.query_prompt,
            "document_prompt": embedder.document_prompt, "vector_index": kinds,
            "passages": _live_count(_read_manifest(target)), "embedded": computed}


def _kind_name(kind: str) -> str:
    return (f"hnsw (M={HNSW_NEIGHBOURS}, efConstruction={HNSW_EF_CONSTRUCTION}, fp16 vectors)" if kind == "hnsw"
            else "flat (exact inner product)")


def _describe(manifest: dict) -> str:
    """The kind of vector index, as meta.json records it: the largest segment's, and how many more segments."""
    segments = sorted(manifest["segments"], key=lambda segment: -segment["rows"])
    if not segments:
        return _kind_name("flat")
    more = len(segments) - 1
    return _kind_name(segments[0]["kind"]) + (f" + {more} smaller segment{'s' * (more > 1)}" if more else "")


def save_vectors(folder: Path, rows: list[dict], vectors: np.ndarray, dimension: int,
                 ann_threshold: int | None = None) -> str:
    """Write ``vectors/`` of one segment: passage records and their vectors
    (row i is rows[i]'s); returns the kind of vector index written."""
    target = Path(folder) / layout.VECTORS
    target.mkdir()
    segment = _write_segment(target, "seg-000001", rows, vectors, dimension, ann_threshold)
    manifest = {"segments": [segment], "deleted": {},
                "next_id": max((row["id"] for row in rows), default=-1) + 1, "dimension": dimension}
    _write_manifest(target, manifest)
    return _describe(manifest)


def update_vectors(folder: Path, previous: Path, drop_stories: set[str], rows: list[dict], vectors: np.ndarray,
                   dimension: int, ann_threshold: int | None = None) -> str:
    """``vectors/`` of ``previous`` less the passages of ``drop_stories``,
    plus ``rows`` (ids from the previous ``next_id`` on) with ``vectors``:
    the previous segments linked, one new segment; merged past MAX_SEGMENTS,
    compacted past MAX_DELETED_SHARE deleted passages."""
    source, target = Path(previous) / layout.VECTORS, Path(folder) / layout.VECTORS
    target.mkdir()
    manifest = _read_manifest(source)
    segments = list(manifest["segments"])
    deleted = {segment["name"]: set(manifest["deleted"].get(segment["name"], ())) for segment in segments}
    if drop_stories:
        for segment in segments:
            for story, ids in _read_story_ids(source, segment["name"]):
                if story in drop_stories:
                    deleted[segment["name"]].update(ids)
    number = max((int(segment["name"].rsplit("-", 1)[1]) for segment in segments), default=0)
    next_id = max([manifest["next_id"], *(row["id"] + 1 for row in rows)])
    fresh = {}
    if rows:
        number += 1
        name = f"seg-{number:06d}"
        segments.append(_write_segment(target, name, rows, vectors, dimension, ann_threshold))
        deleted[name], fresh[name] = set(), True
    total = sum(segment["rows"] for segment in segments)
    if total and sum(map(len, deleted.values())) > MAX_DELETED_SHARE * total:
        merging = [segment["name"] for segment in segments]
    elif len(segments) > MAX_SEGMENTS:
        merging = [segment["name"] for segment in sorted(segments, key=lambda s: s["rows"])[:len(segments) - 1]]
    else:
        merging = []
    if merging:
        merged_rows, merged_vectors = [], []
        for segment in segments:
            if segment["name"] in merging:
                where = target if segment["name"] in fresh else source
                kept, kept_vectors = _live_rows(where, segment["name"], deleted[segment["name"]])
                merged_rows += kept
                merged_vectors.append(kept_vectors)
        number += 1
        name = f"seg-{number:06d}"
        for old in merging:
            if old in fresh:
                for path in target.glob(old + ".*"):
                    path.unlink()
        merged = _write_segment(target, name, merged_rows,
                                np.vstack(merged_vectors) if merged_vectors else np.zeros((0, dimension)),
                                dimension, ann_threshold)
        segments = [segment for segment in segments if segment["name"] not in merging] + [merged]
        deleted[name] = set()
    for segment in segments:
        for suffix in SEGMENT_FILES:
            if not (target / (segment["name"] + suffix)).exists():
                layout.link_or_copy(source / (segment["name"] + suffix), target / (segment["name"] + suffix))
    manifest = {"segments": segments,
                "deleted": {segment["name"]: sorted(deleted[segment["name"]]) for segment in segments
                            if deleted.get(segment["name"])},
                "next_id": next_id, "dimension": dimension}
    _write_manifest(target, manifest)
    return _describe(manifest)


SEGMENT_FILES = (".faiss", ".jsonl", ".lines.npy", ".stories.json")


def _write_segment(folder: Path, name: str, rows: list[dict], vectors: np.ndarray, dimension: int,
                   ann_threshold: int | None) -> dict:
    kind = save_faiss(folder / f"{name}.faiss", rows, vectors, dimension, ann_threshold).split(" ")[0]
    lengths = write_jsonl(folder / f"{name}.jsonl", rows)
    lines = np.zeros((len(rows), 3), dtype=np.int64)  # each line's passage id, byte offset and length
    if rows:
        lines[:, 0] = [row["id"] for row in rows]
        lines[1:, 1] = np.cumsum(lengths)[:-1]
        lines[:, 2] = lengths
    np.save(folder / f"{name}.lines.npy", lines)
    by_story: dict[str, list[int]] = {}
    for row in rows:
        by_story.setdefault(row["story"], []).append(row["id"])
    (folder / f"{name}.stories.json").write_text(json.dumps(list(by_story.items()), ensure_ascii=False),
                                                 encoding="utf-8")
    return {"name": name, "kind": kind, "rows": len(rows)}


def _live_rows(folder: Path, name: str, deleted: set[int]) -> tuple[list[dict], np.ndarray]:
    """A segment's passage records and vectors, less ``deleted``, in its order."""
    import faiss

    index = open_faiss(folder / f"{name}.faiss")
    ids = faiss.vector_to_array(index.id_map) if index.ntotal else np.zeros(0, np.int64)
    stored = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
    position = {int(pid): i for i, pid in enumerate(ids)}
    rows = _segment_rows(folder, name, deleted)
    if any(row["id"] not in position for row in rows):
        raise layout.IndexDamaged(folder / f"{name}.jsonl", "it lists passages its faiss index lacks")
    return rows, stored[[position[row["id"]] for row in rows]].reshape(len(rows), index.d)


def _read_story_ids(folder: Path, name: str) -> list[tuple[str, list[int]]]:
    path = folder / f"{name}.stories.json"
    try:
        return [(str(story), [int(i) for i in ids]) for story, ids in json.loads(path.read_text(encoding="utf-8"))]
    except FileNotFoundError:
        raise layout.IndexDamaged(path, "missing") from None
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise layout.IndexDamaged(path, f"not a list of stories' passages: {exc}") from None


def _read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not Path(folder).is_dir():
            raise layout.IndexNotFound(Path(folder).parent, "no semantic index") from None
        raise layout.IndexDamaged(path, "missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise layout.IndexDamaged(path, f"not a vector segments manifest: {exc}") from None
    if not (isinstance(manifest, dict) and isinstance(manifest.get("segments"), list)
            and isinstance(manifest.get("deleted"), dict) and isinstance(manifest.get("next_id"), int)
            and all(isinstance(s, dict) and {"name", "kind", "rows"} <= set(s) for s in manifest["segments"])):
        raise layout.IndexDamaged(path, "not a vector segments manifest")
    return manifest


def _write_manifest(folder: Path, manifest: dict) -> None:
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _live_count(manifest: dict) -> int:
    return sum(segment["rows"] - len(manifest["deleted"].get(segment["name"], ())) for segment in manifest["segments"])


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


def write_jsonl(path: Path, rows) -> list[int]:
    """One JSON record a line; returns each line's length in bytes."""
    lengths = []
    with open(path, "wb") as handle:
        for row in rows:
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
            handle.write(line)
            lengths.append(len(line))
    return lengths


def _passage_record(line: bytes, path: Path, where: str) -> dict:
    try:
        row = json.loads(line.decode("utf-8"))
        return {"id": int(row["id"]), "story": str(row["story"]), "text": str(row["text"])}
    except (ValueError, TypeError, KeyError) as exc:
        raise layout.IndexDamaged(path, f"{where} is not a passage record: {exc}") from None


def read_passages(generation: Path) -> list[dict]:
    """Every live passage record, in segment order; IndexDamaged naming the line that cannot be read."""
    folder = Path(generation) / layout.VECTORS
    manifest = _read_manifest(folder)
    return [row for segment in manifest["segments"]
            for row in _segment_rows(folder, segment["name"], set(manifest["deleted"].get(segment["name"], ())))]


def _segment_rows(folder: Path, name: str, deleted: set[int]) -> list[dict]:
    """A segment's passage records less ``deleted``, in its order;
    IndexDamaged naming the line that cannot be read."""
    path = folder / f"{name}.jsonl"
    try:
        with open(path, "rb") as handle:
            return [row for row in (_passage_record(line, path, f"line {number}")
                                    for number, line in enumerate(handle, 1)) if row["id"] not in deleted]
    except FileNotFoundError:
        raise layout.IndexDamaged(path, "missing") from None


def search_on_one_thread() -> None:
    """Each vector search on one OpenMP thread, process-wide: for a server,
    whose request threads already search side by side. With more, OpenMP's
    other threads spin idle after every search (a semantic request cost 23
    instead of 18 ms of CPU on 2 cores, taken from the other requests)."""
    import faiss

    faiss.omp_set_num_threads(1)


def open_vectors(generation: Path) -> "VectorStore":
    """The generation's passage vectors (a VectorStore); IndexNotFound without
    them, IndexDamaged when a segment cannot be read."""
    return VectorStore(Path(generation) / layout.VECTORS)


def open_faiss(path: Path):
    """A faiss index (HNSW searched with efSearch HNSW_EF_SEARCH), read-only;
    IndexDamaged when it is missing or faiss cannot read it. Its vectors (and
    HNSW graph) are mapped from the file, not copied onto the heap: the pages
    are the file's, shared by every process serving it and given back by the
    kernel under pressure (a generation's files are never written again)."""
    import faiss

    if not Path(path).is_file():
        raise layout.IndexDamaged(Path(path), "missing")
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError as exc:  # faiss says what it could not read, in C++ terms
        raise layout.IndexDamaged(Path(path), str(exc).strip().splitlines()[-1]) from None
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def vector_ids(generation: Path) -> set[int]:
    """The live passage ids the faiss segments hold (for check_index; what
    else disagrees with segments.json, open_vectors says)."""
    import faiss

    folder = Path(generation) / layout.VECTORS
    manifest = _read_manifest(folder)
    found: set[int] = set()
    for segment in manifest["segments"]:
        index = open_faiss(folder / f"{segment['name']}.faiss")
        if index.ntotal:
            found.update(faiss.vector_to_array(index.id_map).tolist())
        found.difference_update(manifest["deleted"].get(segment["name"], ()))
    return found


class VectorStore:
    """The live passage vectors of a generation's segments, searched as one
    faiss index: ``d``, ``ntotal`` (live passages), ``search`` (best first
    over every segment, deleted passages left out; ids -1 where fewer were
    found) and ``reconstruct``."""

    def __init__(self, folder: Path):
        import faiss

        self.folder = Path(folder)
        manifest = _read_manifest(self.folder)
        self.d = int(manifest.get("dimension", 0))
        self.segments = []  # (faiss index, its passage ids sorted, search parameters or None, live count)
        self.ntotal = 0
        self._keep = []  # the selectors the search parameters point to (faiss holds raw pointers)
        for segment in manifest["segments"]:
            index = open_faiss(self.folder / f"{segment['name']}.faiss")
            self.d = index.d
            ids = np.sort(faiss.vector_to_array(index.id_map)) if index.ntotal else np.zeros(0, np.int64)
            deleted = np.array(sorted(manifest["deleted"].get(segment["name"], ())), dtype=np.int64)
            if index.ntotal != segment["rows"] or not np.isin(deleted, ids).all():
                raise layout.IndexDamaged(self.folder / f"{segment['name']}.faiss",
                                          f"{index.ntotal} vectors where {MANIFEST} records {segment['rows']}")
            live = index.ntotal - len(deleted)
            if live == 0:
                continue
            hnsw = isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW)
            params = None
            if len(deleted):
                batch = faiss.IDSelectorBatch(deleted)
                selector = faiss.IDSelectorNot(batch)
                self._keep.append((batch, selector))
                params = (faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH) if hnsw
                          else faiss.SearchParameters(sel=selector))
                live_ids = ids[~np.isin(ids, deleted)]
            else:
                live_ids = ids
            self.segments.append((index, ids, params, live, live_ids))
            self.ntotal += live

    def ids(self) -> np.ndarray:
        """The live passage ids."""
        return np.concatenate([live_ids for *_, live_ids in self.segments]) if self.segments else np.zeros(0, np.int64)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if k <= 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if len(self.segments) == 1 and self.segments[0][2] is None:
            return self.segments[0][0].search(queries, k)
        found_scores, found_ids = [], []
        for index, _, params, live, _ in self.segments:
            depth = min(k, live)
            scores, ids = index.search(queries, depth, params=params) if params is not None else index.search(
                queries, depth)
            found_scores.append(scores)
            found_ids.append(ids)
        scores = np.hstack(found_scores) if found_scores else np.zeros((len(queries), 0), np.float32)
        ids = np.hstack(found_ids) if found_ids else np.zeros((len(queries), 0), np.int64)
        scores = np.where(ids < 0, -np.inf, scores)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        scores, ids = np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)
        if scores.shape[1] < k:
            pad = k - scores.shape[1]
            scores = np.hstack([scores, np.full((len(queries), pad), -np.inf, np.float32)])
            ids = np.hstack([ids, np.full((len(queries), pad), -1, np.int64)])
        return scores.astype(np.float32), ids

    def reconstruct(self, pid: int) -> np.ndarray:
        for index, ids, *_ in self.segments:
            at = np.searchsorted(ids, pid)
            if at < len(ids) and ids[at] == pid:
                return index.reconstruct(int(pid))
        raise KeyError(pid)


def _positions(keys: np.ndarray, wanted: np.ndarray, sorter: np.ndarray | None = None) -> np.ndarray | None:
    """Where each of ``wanted`` is in ``keys`` (sorted, or in ``sorter``'s
    order); None when one of them is not there."""
    if not len(wanted):
        return np.zeros(0, dtype=np.int64)
    if not len(keys):
        return None
    at = np.minimum(np.searchsorted(keys, wanted, sorter=sorter), len(keys) - 1)
    if sorter is not None:
        at = sorter[at]
    return at if (keys[at] == wanted).all() else None


class PassageStore:
    """Which story each live passage belongs to, a story's passages, and a
    passage's text read from disk when asked for. All of it is kept in
    arrays, not dicts of Python objects (an archive's 230,000 passages took
    80 MB of a server's memory so): the passage ids sorted, each one's story
    (its number in ``story_ids``, the order the engine's story table has)
    and where its line lies (the segment's ``.lines.npy``, memory-mapped).
    The files stay open, so a generation removed while a request reads it
    still reads."""

    def __init__(self, generation: Path, story_ids: Sequence[str], story_row: Mapping[str, int]):
        folder = Path(generation) / layout.VECTORS
        manifest = _read_manifest(folder)
        self.story_ids = story_ids
        self._story_row = story_row
        self._files, self._lines = [], []
        pids, stories, segments, lines = [], [], [], []
        for number, segment in enumerate(manifest["segments"]):
            name = segment["name"]
            deleted = set(manifest["deleted"].get(name, ()))
            path = folder / f"{name}.jsonl"
            try:
                self._files.append((open(path, "rb"), path))
                self._lines.append(layout.map_array(folder / f"{name}.lines.npy"))
            except FileNotFoundError as exc:
                raise layout.IndexDamaged(Path(exc.filename or path), "missing") from None
            except ValueError as exc:
                raise layout.IndexDamaged(folder / f"{name}.lines.npy", f"not an array of lines: {exc}") from None
            at = self._lines[-1]
            if at.ndim != 2 or at.shape[1] != 3 or len(at) != segment["rows"]:
                raise layout.IndexDamaged(folder / f"{name}.lines.npy", f"it does not list the segment's "
                                                                       f"{segment['rows']} passages")
            listed = _read_story_ids(folder, name)
            ids = np.array([pid for _, story_pids in listed for pid in story_pids], dtype=np.int64)
            rows = np.repeat([story_row.get(story, -1) for story, _ in listed],
                             [len(story_pids) for _, story_pids in listed]).astype(np.int32)
            live = ~np.isin(ids, np.array(sorted(deleted), dtype=np.int64))
            ids, rows = ids[live], rows[live]
            line = _positions(at[:, 0], ids, np.argsort(at[:, 0]))
            if (rows < 0).any() or line is None:
                raise layout.IndexDamaged(folder / f"{name}.stories.json", "it lists passages of stories or lines "
                                                                           "the index around it lacks")
            pids.append(ids)
            stories.append(rows)
            segments.append(np.full(len(ids), number, dtype=np.int16))
            lines.append(line.astype(np.int32))
        pids, stories, segments, lines = (np.concatenate(parts) if parts else np.zeros(0, np.int64)
                                          for parts in (pids, stories, segments, lines))
        order = np.argsort(pids, kind="stable")
        self._pids, self._story, self._segment, self._line = pids[order], stories[order], segments[order], lines[order]
        by_story = np.argsort(self._story, kind="stable")  # passages in id order within each story
        self._by_story = self._pids[by_story]
        self._story_starts = np.searchsorted(self._story[by_story], np.arange(len(story_ids) + 1))

    def __len__(self) -> int:
        return len(self._pids)

    def _at(self, pids: np.ndarray) -> np.ndarray:
        """Where each of ``pids`` is in the sorted ids; KeyError for one the store lacks."""
        at = _positions(self._pids, pids)
        if at is None:
            raise KeyError(next(int(p) for p in pids if p not in self._pids))
        return at

    def stories(self, pids: Sequence[int]) -> list[str]:
        """The id of the story each passage belongs to; KeyError for a passage the store lacks."""
        return [self.story_ids[row] for row in self._story[self._at(np.asarray(pids, dtype=np.int64))].tolist()]

    def passage_ids(self, story_id: str) -> list[int]:
        """The ids of a story's passages, in order; none for an unknown story."""
        row = self._story_row.get(story_id)
        if row is None:
            return []
        return self._by_story[self._story_starts[row]:self._story_starts[row + 1]].tolist()

    def text(self, pid: int) -> str:
        """A passage's text, read now; IndexDamaged if the file changed under us."""
        at = int(self._at(np.array([pid], dtype=np.int64))[0])
        handle, path = self._files[self._segment[at]]
        _pid, offset, length = self._lines[self._segment[at]][self._line[at]]
        record = _passage_record(os.pread(handle.fileno(), int(length), int(offset)), path, f"passage {pid}")
        if record["id"] != pid:
            raise layout.IndexDamaged(path, f"the line of passage {pid} holds passage {record['id']}")
        return record["text"]
