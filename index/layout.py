"""The files of an index folder, shared by the write and the read path.

An index folder holds generations. Each generation is a directory of plain
files: ``meta.json`` (versions, settings, the corpus files' hashes),
``stories.jsonl`` (one clean story a line), ``whoosh/`` (lexical index),
``bm25s/`` (the same tokens as a BM25 term matrix, for fast plain queries),
``passages.jsonl`` and ``vectors.faiss`` (semantic index; faiss ids are the
passage ids). The text file ``CURRENT`` names the live generation; a build
writes the next generation beside it and switches by replacing ``CURRENT``
atomically, so readers always see a complete generation.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

FORMAT_VERSION = 3
CURRENT = "CURRENT"
LOCK = "write.lock"
META = "meta.json"
STORIES = "stories.jsonl"
WHOOSH = "whoosh"
SPARSE = "bm25s"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.faiss"
GENERATION = re.compile(r"^gen-(\d{6})$")
BUILDING_SUFFIX = ".building"
KEEP_GENERATIONS = 2  # the live one and the one before, for requests still reading it
DEFAULT_INDEX = Path("var/index")
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


class IndexNotFound(FileNotFoundError):
    def __init__(self, folder: Path, detail: str = "no index"):
        super().__init__(
            f"{detail} at {folder}. Build it with `storysearch index` "
            f"(add --corpus DIR and --index DIR to choose the folders).")
        self.folder = folder


def index_dir(value: str | os.PathLike | None = None) -> Path:
    return Path(value or os.environ.get("STORYSEARCH_INDEX") or DEFAULT_INDEX)


def corpus_dir(value: str | os.PathLike | None = None) -> Path:
    return Path(value or os.environ.get("STORYSEARCH_CORPUS") or DEFAULT_CORPUS)


def current_generation(folder: Path) -> Path:
    """The live generation's directory; IndexNotFound when there is none."""
    folder = Path(folder)
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFound(folder) from None
    if not GENERATION.match(name) or not (folder / name / META).is_file():
        raise IndexNotFound(folder, f"a damaged index (CURRENT names {name!r}, which is not a complete generation)")
    return folder / name


def current_name(folder: Path) -> str | None:
    try:
        return (Path(folder) / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def generations(folder: Path) -> list[Path]:
    folder = Path(folder)
    found = [p for p in folder.iterdir() if GENERATION.match(p.name) and p.is_dir()] if folder.is_dir() else []
    return sorted(found, key=lambda p: p.name)


def next_generation_name(folder: Path) -> str:
    numbers = [int(GENERATION.match(p.name).group(1)) for p in generations(folder)]
    current = current_name(folder)
    if current and GENERATION.match(current):
        numbers.append(int(GENERATION.match(current).group(1)))
    return f"gen-{max(numbers, default=0) + 1:06d}"


def switch_to(folder: Path, generation: Path) -> None:
    """Make ``generation`` live: write CURRENT beside itself and rename it into
    place (atomic on POSIX), then make the change durable."""
    folder = Path(folder)
    fd, temporary = tempfile.mkstemp(prefix=".CURRENT.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(generation.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / CURRENT)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_stale(folder: Path) -> list[str]:
    """Delete unfinished builds and generations older than the ones kept.
    Only call this while holding the write lock."""
    folder = Path(folder)
    removed = []
    live = current_name(folder)
    for path in folder.iterdir() if folder.is_dir() else []:
        if path.name.endswith(BUILDING_SUFFIX) or path.name.startswith(".CURRENT."):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    old = [g for g in generations(folder) if g.name != live]
    for path in old[:max(len(old) - (KEEP_GENERATIONS - 1), 0)]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def read_meta(generation: Path) -> dict:
    path = Path(generation) / META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFound(Path(generation)) from None
    except ValueError as exc:
        raise IndexNotFound(Path(generation), f"a damaged meta.json ({exc})") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise IndexNotFound(Path(generation), f"an index of format {meta.get('format_version')!r} "
                                              f"(this version reads {FORMAT_VERSION}; rebuild with --rebuild)")
    return meta
