"""Building and updating an index folder from a corpus folder.

``build_index`` is incremental: corpus files are compared by content hash
with those of the live generation; unchanged files cost nothing, changed
files are segmented again and their stories replaced, new files added,
removed files' stories deleted. An update costs what changed, not the
archive: the unchanged files' story records are copied byte for byte (their
ids and editions come from stories.index.json, not from reading them); the
Whoosh folder, the term matrix's segments and the vector segments are
hard-linked from the live generation (none of them is ever written into
again) and updated by new files beside them; a linked file keeps the sha256
recorded for it. A change of model or of its precision rebuilds the
vectors, an analyzer change the keyword index, ``rebuild=True`` both.

Crash safety: one writer at a time (an OS file lock, released by the kernel
when a writer dies); the next generation is written into
``gen-NNNNNN.building`` and switched to by replacing ``CURRENT``; unfinished
builds left by a killed writer are removed by the next one.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from . import layout, settings
from .analysis import analyzer_differences, analyzer_settings
from .corpus import SkippedFile, read_corpus, read_page
from .embedding import DEFAULT_MODEL, load_embedder
from .embedding_cache import EmbeddingCache, default_cache_dir
from .failpoints import failpoint
from .jumps import JOINS_VERSION, edition, join_continuations
from .keyword_store import link_keyword_index, update_keyword_index, write_keyword_side
from .locking import writer_lock
from .metadata import METADATA_VERSION, Manifest
from .places import PLACES_VERSION, extract_places
from .practice_index import update_practice_index, write_practice_index
from .practices import PRACTICES_VERSION, practice_records
from .segment import SEGMENTER_VERSION, Debris, segment_page
from .sparse import update_sparse_index
from .stories import Story, StoryBlock, StoryEntry, check_unique_ids, read_stories, read_story_index, write_story_file
from .vectors import write_semantic_index

if TYPE_CHECKING:
    from .cluster import Cluster

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    index: Path
    stories: int
    passages: int
    seconds: float
    skipped: list[SkippedFile] = field(default_factory=list)
    partly_read: list[tuple[str, str]] = field(default_factory=list)  # (source, what of it is not text): read now
    embedded: int = 0  # passages embedded now; the others came from the cache or the last generation
    added: list[str] = field(default_factory=list)  # corpus files new, changed or removed since
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    generation: str = ""
    incremental: bool = False
    up_to_date: bool = False  # nothing changed: no new generation was written
    left_out: list[tuple[str, Debris]] = field(default_factory=list)  # (source, line) of story text removed now
    without_stories: list[str] = field(default_factory=list)  # pages read now in which no story was found
    # unchanged pages read again because another page of their edition changed (continued stories are joined)
    rejoined: list[str] = field(default_factory=list)
    damaged: str = ""  # why the live generation could not be built on (it was rebuilt from the corpus)
    manifest_warnings: list[str] = field(default_factory=list)
    # seconds per step (corpus, previous, segmenting, stories, keyword, term_matrix, vectors, practices, commit)
    timings: dict[str, float] = field(default_factory=dict)


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


@dataclass
class _Previous:
    """The live generation, when a build can start from it. Its stories are
    not read: ``blocks`` says where each corpus file's records lie in its
    stories.jsonl and what they are (ids, sources, editions)."""

    path: Path
    meta: dict
    blocks: dict[str, StoryBlock]  # by source file

    @classmethod
    def load(cls, folder: Path) -> "_Previous":
        """The live generation, checked: its files as written, its stories as
        many per corpus file as meta.json says. IndexNotFound without one,
        IndexDamaged when it cannot be trusted."""
        path = layout.current_generation(folder)
        meta = layout.verify_generation(path, deep=True, always=(layout.STORIES, layout.STORY_INDEX))
        blocks = read_story_index(path / layout.STORIES, path / layout.STORY_INDEX)
        files = meta.get("files", {})
        for source in sorted(set(files) | set(blocks)):
            expected = files.get(source, {}).get("stories")
            found = len(blocks[source].entries) if source in blocks else 0
            if expected != found:  # (the records themselves match the index: stories.jsonl's sha256 is checked)
                raise layout.IndexDamaged(path / layout.STORIES, f"{found} stories of {source} where meta.json "
                                                                 f"records {expected}")
        return cls(path, meta, blocks)

    def entries(self, source: str) -> tuple[StoryEntry, ...]:
        block = self.blocks.get(source)
        return block.entries if block else ()

    def editions(self, sources: set[str]) -> set[tuple[str, str] | None]:
        """The editions that had stories from these files."""
        return {entry.edition for block in self.blocks.values() for entry in block.entries
                if sources.intersection(entry.sources)}

    def fingerprint(self, source: str) -> tuple | None:
        """What the page was built from: its bytes' hash and its metadata's."""
        recorded = self.meta.get("files", {}).get(source)
        return (recorded["sha256"], recorded.get("metadata")) if recorded else None


class GenerationWriter:
    """Writes one generation: a ``gen-NNNNNN.building`` folder that becomes
    live only by ``commit`` (files flushed, the folder renamed, CURRENT
    replaced atomically). Any failure before that removes the folder and, for
    an OS error, raises IndexWriteError naming the path and the reason; what
    served before still serves. The one way the build, repair and the
    benchmarks write a generation."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.name = layout.next_generation_name(self.folder)
        self.path = self.folder / (self.name + layout.BUILDING_SUFFIX)

    def __enter__(self) -> "GenerationWriter":
        try:
            self.path.mkdir()
        except OSError as exc:
            raise layout.IndexWriteError(exc, self.path) from exc
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        if isinstance(error, OSError):
            raise layout.IndexWriteError(error, self.path) from error

    def commit(self, meta: dict, previous: Path | None = None) -> Path:
        """Record the files' sizes and hashes in meta.json, flush, make the
        generation live. ``previous``: the generation it was built on (the
        files linked from it keep the hashes recorded there)."""
        meta = {**meta, "format_version": layout.FORMAT_VERSION, "generation": self.name,
                "stored_files": layout.stored_files(self.path, previous)}
        (self.path / layout.META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_tree(self.path)
        failpoint("before-switch")
        final = self.folder / self.name
        os.replace(self.path, final)
        layout.switch_to(self.folder, final)
        failpoint("after-switch")
        layout.remove_stale(self.folder)
        return final


def build_index(corpus: Path, folder: Path, model_name: str = DEFAULT_MODEL, cache_dir: Path | None = None,
                ann_threshold: int | None = None, rebuild: bool = False, wait: float = 0,
                progress: bool | None = None, precision: str | None = None,
                cluster: Cluster | None = None) -> BuildReport:
    """Bring the index in ``folder`` up to date with the corpus; see the module
    docstring. ``precision``: the model's (the setting ``model_precision`` unless given).
    ``cluster``: a Ray cluster (index/cluster.py) that segments, enriches and
    embeds; the generation written is the one this process would write."""
    started = time.perf_counter()
    precision = precision or settings.current().model_precision
    corpus, folder = Path(corpus), Path(folder)
    progress = sys.stderr.isatty() if progress is None else progress
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise layout.IndexWriteError(exc, folder) from exc
    with writer_lock(folder, wait):
        failpoint("locked")
        for name in layout.remove_stale(folder):
            log.info("removed %s (left by an earlier run)", name)
        report = _build(corpus, folder, model_name, precision, cache_dir, ann_threshold, rebuild, progress, cluster)
    report.seconds = time.perf_counter() - started
    return report


def _load_previous(folder: Path, report: "BuildReport") -> _Previous | None:
    try:
        return _Previous.load(folder)
    except layout.IndexNotFound:
        return None
    except layout.IndexDamaged as exc:
        report.damaged = exc.what
        log.warning("the live generation cannot be built on: %s; rebuilding everything from the corpus",
                    report.damaged)
        return None


def place_records(story: Story) -> list[dict]:
    """The places a story is about, as its record keeps them."""
    return [{"name": place.name, "level": place.level, "path": list(place.path),
             "from": place.evidence[0].field, "reason": place.reason} for place in extract_places(story)]


def _segment(work: tuple) -> tuple[list[Story], list[Debris], list[Debris]]:
    """A page's stories with the page's metadata, the story text left out,
    and the page furniture (``work``: the page and its metadata; run here or
    by a Ray task)."""
    page, metadata = work
    result = segment_page(page.source, page.text)
    return [story.with_metadata(metadata) for story in result.stories], result.removed, result.debris


def _kept(source: str, segmented: tuple, report: BuildReport) -> list[Story]:
    """A segmented page's stories; what it left out goes into the report."""
    stories, removed, debris = segmented
    report.left_out.extend((source, item) for item in removed)
    if not stories:
        report.without_stories.append(source)
        log.warning("no story found in %s: its %d lines are all page furniture (%s)", source,
                    len(debris), "; ".join(sorted({d.reason for d in debris})))
    return stories


def _enrich(story: Story) -> tuple[list[dict], list[dict]]:
    """A story's places, then its practices (a practice belongs to one of its places)."""
    story.places = place_records(story)
    return story.places, practice_records(story)


class _Clock:
    """Seconds per step of a build, into ``report.timings``."""

    def __init__(self, timings: dict[str, float]):
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - self.last
        self.last = now


def _build(corpus, folder, model_name, precision, cache_dir, ann_threshold, rebuild, progress,
           cluster) -> BuildReport:
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    report = BuildReport(folder, 0, 0, 0.0, timings=timings)
    previous = None if rebuild else _load_previous(folder, report)
    clock.lap("previous")
    report.incremental = previous is not None
    analyzer = analyzer_settings()
    manifest = Manifest.read(corpus)
    report.manifest_warnings = manifest.warnings
    for warning in manifest.warnings:
        log.warning("%s", warning)
    enrichment = {"segmentation": SEGMENTER_VERSION, "metadata": METADATA_VERSION, "joins": JOINS_VERSION,
                  "places": PLACES_VERSION, "practices": PRACTICES_VERSION}
    resegment = previous is not None and previous.meta.get("enrichment") != enrichment
    manifest_hash = layout.sha256_of(Path(corpus) / manifest.name) if manifest.name else None
    # Files whose size, time and inode are as recorded are not read, when what
    # else makes a page's metadata (the manifest, the reader) is unchanged too.
    trusted = previous is not None and not resegment and previous.meta.get("manifest_sha256") == manifest_hash
    pages, skipped = read_corpus(corpus, previous.meta.get("files") if trusted else None)
    report.skipped = skipped
    for item in skipped:
        log.warning("skipped %s: %s", item.source, item.reason)
    report.partly_read = [(page.source, page.unreadable) for page in pages if page.unreadable]
    for source, unreadable in report.partly_read:
        log.warning("read %s in part: %s", source, unreadable)
    metadata = {page.source: manifest.metadata(page.source, page.text) for page in pages if page.read}
    fingerprints = {source: found.fingerprint() for source, found in metadata.items()}
    editions = {source: edition(found.paper, found.date, found.page) for source, found in metadata.items()}
    for page in pages:
        if not page.read:  # as recorded when it was read
            recorded = previous.meta["files"][page.source]
            fingerprints[page.source] = recorded.get("metadata")
            editions[page.source] = tuple(recorded["edition"]) if recorded.get("edition") else None
    clock.lap("corpus")
    keyword_incremental = previous is not None and not analyzer_differences(previous.meta.get("analyzer"), analyzer)
    vectors_incremental = previous is not None and layout.recorded_model(previous.meta) == (model_name, precision)
    if previous is not None and not keyword_incremental:
        log.info("the analyzer settings changed: the keyword index is rebuilt")
    if previous is not None and not vectors_incremental:
        log.info("the model or its precision changed: the vectors are rebuilt")
    if resegment:
        log.info("the segmenter or the metadata reader changed: every page is read again")

    current = {page.source for page in pages}
    stories_by_source: dict[str, list[Story]] = {}
    split: set[str] = set()
    for page in pages:
        built_from = previous.fingerprint(page.source) if previous else None
        if built_from != (page.sha256, fingerprints[page.source]) or resegment:
            (report.changed if built_from else report.added).append(page.source)
            split.add(page.source)
    if previous:
        report.removed = sorted(set(previous.meta.get("files", {})) - current)
    # A story may go on, on another page of its edition: an edition is read again as a whole.
    touched = {editions[source] for source in split} | (
        previous.editions(set(report.changed) | set(report.removed)) if previous else set())
    touched.discard(None)
    for page in pages:
        if page.source not in split and editions[page.source] in touched:
            report.rejoined.append(page.source)
            split.add(page.source)
    report.unchanged = len(pages) - len(split)
    work = []  # the pages read now, with their metadata
    for page in pages:
        if page.source in split:
            if not page.read:  # an unchanged page of an edition read again
                page = read_page(corpus, page.source)
                metadata[page.source] = manifest.metadata(page.source, page.text)
            work.append((page, metadata[page.source]))
    each = cluster.map if cluster is not None else map
    fresh: list[Story] = []  # stories of the pages read now
    for (page, _), segmented in zip(work, _progress(each(_segment, work), progress, "segmenting", len(work))):
        fresh.extend(_kept(page.source, segmented, report))
    fresh = join_continuations(fresh)
    for story, (places, practices) in zip(fresh, each(_enrich, fresh)):
        story.places, story.practices = places, practices
    for page in pages:
        stories_by_source[page.source] = []
    for story in fresh:
        stories_by_source[story.source].append(story)
    # each file's stories: read now, or kept as they are in the previous stories.jsonl
    kept = previous.blocks if previous else {}
    blocks: list[tuple[str, list[Story] | StoryBlock]] = [
        (page.source, kept[page.source] if page.source in kept and page.source not in split
         else stories_by_source[page.source]) for page in pages]
    # each file's story entries: a kept block's, or the stories read now
    by_file = {source: block.entries if isinstance(block, StoryBlock) else block for source, block in blocks}
    entries = [entry for found in by_file.values() for entry in found]
    check_unique_ids(entries)
    counts = {source: len(found) for source, found in by_file.items()}
    dropped_sources = set(report.changed) | set(report.removed) | set(report.rejoined)
    dropped_stories = {entry.id for src in dropped_sources for entry in (previous.entries(src) if previous else ())}
    log.info("%d files unchanged, %d new, %d changed, %d removed; %d stories",
             report.unchanged, len(report.added), len(report.changed), len(report.removed), len(entries))
    clock.lap("segmenting")
    failpoint("segmented")
    if previous is not None and keyword_incremental and vectors_incremental and not (
            report.added or report.changed or report.removed) and previous.meta.get("skipped") == [
            {"source": s.source, "reason": s.reason} for s in skipped]:
        report.stories, report.passages = len(entries), previous.meta["counts"]["passages"]
        report.generation, report.up_to_date = previous.path.name, True
        log.info("the index is up to date")
        return report

    with GenerationWriter(folder) as writer:
        staging = writer.path
        write_story_file(staging / layout.STORIES, staging / layout.STORY_INDEX, blocks)
        every: list[Story] = []

        def all_stories() -> list[Story]:
            """Every story, for what is built anew (read back when an update kept blocks unread)."""
            if not every:
                if any(isinstance(block, StoryBlock) for _, block in blocks):
                    every.extend(read_stories(staging / layout.STORIES))
                else:
                    every.extend(story for _, block in blocks for story in block)
            return every

        clock.lap("stories")
        if keyword_incremental:
            link_keyword_index(previous.path / layout.WHOOSH, staging / layout.WHOOSH)
            update_keyword_index(staging / layout.WHOOSH, dropped_sources, fresh)
            clock.lap("keyword")
            update_sparse_index(staging / layout.SPARSE, previous.path / layout.SPARSE, dropped_stories, fresh)
            clock.lap("term_matrix")
        else:  # the Whoosh index and the term matrix, each story tokenized once for both
            write_keyword_side(staging / layout.WHOOSH, staging / layout.SPARSE, all_stories())
            clock.lap("keyword")
        failpoint("keyword-written")
        if vectors_incremental and not fresh and not dropped_stories:  # the vectors stay as they are
            for name in (layout.VECTORS, layout.PRACTICE_INDEX):
                layout.link_tree(previous.path / name, staging / name)
            model_info = {**previous.meta["model"], "precision": precision, "embedded": 0}
        else:
            model_info = _write_vectors(staging, entries, fresh, all_stories,
                                        previous if vectors_incremental else None, dropped_stories, model_name,
                                        precision, cache_dir, ann_threshold, progress, clock, cluster)
        clock.lap("practices")
        failpoint("vectors-written")
        report.stories, report.passages, report.embedded = len(entries), model_info["passages"], model_info["embedded"]
        writer.commit({
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "corpus": str(Path(corpus).resolve()),
            "counts": {"pages": len(pages), "stories": len(entries), "passages": model_info["passages"]},
            "files": {page.source: {"sha256": page.sha256, "metadata": fingerprints[page.source],
                                    "stories": counts[page.source], "edition": editions[page.source],
                                    **page.stat_record()} for page in pages},
            "manifest": {"file": manifest.name, "warnings": manifest.warnings} if manifest.name else None,
            "manifest_sha256": manifest_hash,
            "skipped": [{"source": s.source, "reason": s.reason} for s in skipped],
            "update": {"incremental": report.incremental, "added": report.added, "changed": report.changed,
                       "removed": report.removed, "rejoined": report.rejoined, "unchanged": report.unchanged},
            "enrichment": enrichment,
            "model": model_info,
            "analyzer": analyzer,
            "versions": _versions(),
        }, previous.path if previous is not None else None)
    clock.lap("commit")
    report.generation = writer.name
    return report


def _write_vectors(staging, entries, fresh, all_stories, previous, dropped_stories, model_name, precision,
                   cache_dir, ann_threshold, progress, clock: _Clock | None = None,
                   cluster: Cluster | None = None) -> dict:
    """The passage vectors, then the practices' (index/practice_index.py),
    with one model and cache. With ``previous`` only ``fresh`` stories are
    read: ``entries`` say in what order every story comes; without it
    ``all_stories()`` gives them all. With ``cluster`` the texts missing
    from the cache are embedded by its workers."""
    with (cluster.embedder(model_name, precision) if cluster is not None
          else nullcontext(load_embedder(model_name, precision))) as embedder:
        cache = EmbeddingCache(cache_dir or default_cache_dir(), embedder.name, embedder.document_prompt,
                               embedder.dimension, embedder.precision)
        try:
            if previous is not None:
                info = write_semantic_index(staging, fresh, embedder, cache, ann_threshold, previous.path,
                                            dropped_stories, progress)
            else:
                info = write_semantic_index(staging, all_stories(), embedder, cache, ann_threshold,
                                            progress=progress)
            if clock is not None:
                clock.lap("vectors")
            if previous is not None:
                practices = update_practice_index(staging, [entry.id for entry in entries], fresh, embedder,
                                                  cache, previous.path, dropped_stories)
            else:
                practices = write_practice_index(staging, all_stories(), embedder, cache)
            return {**info, "practices": practices}
        finally:
            cache.close()


def _progress(items, enabled: bool, label: str, total: int):
    """A tqdm bar on a terminal, a log line every 100 of ``total`` items otherwise."""
    if enabled:
        from tqdm import tqdm

        yield from tqdm(items, desc=label, unit="file", total=total)
        return
    for number, item in enumerate(items, 1):
        if number % 100 == 0:
            log.info("%s: %d of %d files", label, number, total)
        yield item


def _fsync_tree(folder: Path) -> None:
    """Flush a finished generation to disk before it is made live (files
    linked from an earlier generation were flushed when it was written)."""
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_nlink == 1:
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
