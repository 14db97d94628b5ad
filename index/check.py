"""Is the live generation whole, and do its stores hold the same stories?

``check_index`` reads every store of the live generation and reports what
it finds: files missing or cut short, records that cannot be read back,
counts that disagree with meta.json, and stories that the keyword index, the
BM25 term matrix, the vectors or the practice index lack or hold in excess. It never fails on a
damaged file: it names it. ``repair_index`` rebuilds the index from its
corpus, the source of truth, whatever store is damaged (embeddings come from
the cache, so that costs segmenting and the keyword index).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import layout
from .build import build_index
from .embedding import DEFAULT_MODEL
from .keyword_store import keyword_ids
from .practice_index import check_practice_index
from .sparse import matrix_ids
from .stories import read_stories, read_story_index
from .vectors import open_vectors, read_passages, vector_ids


@dataclass
class CheckReport:
    generation: str
    stories: int | None  # None: the stories file cannot be read (see problems)
    problems: list[str] = field(default_factory=list)  # damaged files, counts that disagree with meta.json
    missing_keyword: list[str] = field(default_factory=list)  # stories the keyword index lacks
    extra_keyword: list[str] = field(default_factory=list)  # keyword documents with no story
    missing_vectors: list[str] = field(default_factory=list)  # stories without passages or vectors
    extra_vectors: list[str] = field(default_factory=list)  # passages of no story
    broken_passages: int = 0  # passage records and faiss ids that do not match
    term_matrix_differs: bool = False  # the BM25 term matrix holds other stories
    repaired_from: str = ""  # the corpus the index was rebuilt from, after a repair

    @property
    def ok(self) -> bool:
        return not (self.problems or self.missing_keyword or self.extra_keyword or self.missing_vectors
                    or self.extra_vectors or self.broken_passages or self.term_matrix_differs)


def _attempt(report: CheckReport, name: str, read):
    """``read()``, or None with the damage noted under the file's name."""
    try:
        return read()
    except layout.IndexDamaged as exc:
        report.problems.append(exc.what)
    except Exception as exc:  # noqa: BLE001 - any failure to read a store is damage to report
        report.problems.append(f"{name} cannot be read ({type(exc).__name__}: {exc})")
    return None


def _check_counts(report: CheckReport, meta: dict, stories: list) -> None:
    per_source: dict[str, int] = {}
    for story in stories:
        per_source[story.source] = per_source.get(story.source, 0) + 1
    repeated = len(stories) - len({story.id for story in stories})
    if repeated:
        report.problems.append(f"{layout.STORIES} holds {repeated} story ids more than once")
    if len(stories) != meta.get("counts", {}).get("stories"):
        report.problems.append(f"{layout.STORIES} holds {len(stories)} stories where meta.json records "
                               f"{meta.get('counts', {}).get('stories')}")
    files = meta.get("files", {})
    wrong = [source for source in sorted(set(files) | set(per_source))
             if files.get(source, {}).get("stories") != per_source.get(source, 0)]
    if wrong:
        report.problems.append(f"{layout.STORIES} holds another number of stories than meta.json records for "
                               f"{len(wrong)} corpus files ({', '.join(wrong[:3])}{', …' if len(wrong) > 3 else ''})")


def check_index(folder: Path) -> CheckReport:
    folder = Path(folder)
    generation = layout.current_generation(folder)
    report = CheckReport(generation.name, None)
    if layout.current_name(folder) != generation.name:
        report.problems.append(f"{layout.CURRENT} is missing or names no complete generation")
    meta = _attempt(report, layout.META, lambda: layout.read_meta(generation))
    if meta is None:
        return report
    report.problems += [f"{generation / name} is damaged ({detail})" for name, detail in
                        layout.damaged_files(generation, meta, deep=True)]
    stories = _attempt(report, layout.STORIES, lambda: read_stories(generation / layout.STORIES))
    if stories is None:
        return report
    report.stories = len(stories)
    _check_counts(report, meta, stories)
    blocks = _attempt(report, layout.STORY_INDEX, lambda: read_story_index(generation / layout.STORIES,
                                                                          generation / layout.STORY_INDEX))
    if blocks is not None and [entry.id for block in blocks.values() for entry in block.entries] != [
            story.id for story in stories]:
        report.problems.append(f"{layout.STORY_INDEX} lists other stories than {layout.STORIES} holds")
    ids = {story.id for story in stories}
    in_keyword = _attempt(report, layout.WHOOSH + "/", lambda: keyword_ids(generation))
    if in_keyword is not None:
        report.missing_keyword = sorted(ids - in_keyword)
        report.extra_keyword = sorted(in_keyword - ids)
    in_matrix = _attempt(report, f"{layout.SPARSE}/", lambda: matrix_ids(generation / layout.SPARSE))
    if in_matrix is not None:
        report.term_matrix_differs = sorted(in_matrix) != sorted(ids)
    rows = _attempt(report, layout.VECTORS + "/", lambda: read_passages(generation))
    faiss_ids = _attempt(report, layout.VECTORS + "/", lambda: vector_ids(generation))
    _attempt(report, layout.VECTORS + "/", lambda: open_vectors(generation))  # its segments agree with their list
    if rows is not None and faiss_ids is not None:
        row_ids = {row["id"] for row in rows}
        report.missing_vectors = sorted(ids - {row["story"] for row in rows if row["id"] in faiss_ids})
        report.extra_vectors = sorted({row["story"] for row in rows} - ids)
        report.broken_passages = len(faiss_ids ^ row_ids) + (len(rows) - len(row_ids))
    practice_problems = _attempt(report, layout.PRACTICE_INDEX + "/",
                                 lambda: check_practice_index(generation, {story.id: story for story in stories}))
    report.problems += practice_problems or []
    return report


def repair_index(folder: Path, corpus: Path | None = None, cache_dir: Path | None = None,
                 wait: float = 0) -> CheckReport:
    """Rebuild the index from its corpus into a new generation when the check
    finds anything wrong; returns the check after. The corpus is the one
    meta.json records unless ``corpus`` is given."""
    folder = Path(folder)
    before = check_index(folder)
    if before.ok:
        return before
    meta = {}
    for generation in (layout.current_generation(folder), layout.newest_intact_generation(folder)):
        try:  # the live generation's meta.json, or if it is unreadable the newest intact one's
            meta = layout.read_meta(generation) if generation is not None else {}
            break
        except layout.IndexNotFound:
            continue
    recorded = corpus or meta.get("corpus")
    source = Path(recorded) if recorded else None
    if source is None or not source.is_dir():
        raise FileNotFoundError(f"the corpus this index was built from ({source or 'not recorded'}) is not "
                                f"there, and the index is repaired from its corpus; pass --corpus DIR")
    model_name, precision = layout.recorded_model(meta)
    build_index(source, folder, model_name or DEFAULT_MODEL, cache_dir, rebuild=True, wait=wait, precision=precision)
    after = check_index(folder)
    after.repaired_from = str(source)
    return after
