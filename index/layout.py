"""The files of an index folder, shared by the write and the read path.

An index folder holds generations. Each generation is a directory of plain
files: ``meta.json`` (versions, settings, the corpus files' hashes),
``stories.jsonl`` (one clean story a line) and ``stories.index.json`` (where
each corpus file's records lie in it, and their ids, for an update), ``whoosh/`` (lexical index),
``terms/`` (the same tokens as a BM25 term matrix in segments, for fast
plain queries),
``vectors/`` (semantic index: passage records and their faiss vectors in
segments, index/vectors.py; faiss ids are the passage ids), ``practices/`` (the named practices' vectors and term matrix). The text file ``CURRENT`` names the live generation; a build
writes the next generation beside it and switches by replacing ``CURRENT``
atomically, so readers always see a complete generation.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Collection
from pathlib import Path

from . import settings

log = logging.getLogger(__name__)
FORMAT_VERSION = 8
CURRENT = "CURRENT"
TEMPORARY_CURRENT = ".CURRENT."
LOCK = "write.lock"
META = "meta.json"
STORIES = "stories.jsonl"
STORY_INDEX = "stories.index.json"  # where each corpus file's stories lie in stories.jsonl (index/stories.py)
WHOOSH = "whoosh"
SPARSE = "terms"
VECTORS = "vectors"
PRACTICE_INDEX = "practices"
GENERATION = re.compile(r"^gen-(\d{6})$")
BUILDING_SUFFIX = ".building"
KEEP_GENERATIONS = 2  # the live one and the one before, for requests still reading it
DEFAULT_CORPUS = settings.BUNDLED_CORPUS


class IndexNotFound(FileNotFoundError):
    def __init__(self, folder: Path, detail: str = "no index"):
        super().__init__(
            f"{detail} at {folder}. Build it with `storysearch index` "
            f"(add --corpus DIR and --index DIR to choose the folders).")
        self.folder = folder


class IndexWriteError(RuntimeError):
    """Writing the index failed (permissions, a full disk); the message names
    the path and the OS's reason. Nothing was switched: what served still does."""

    def __init__(self, error: OSError, path: Path | None = None):
        where, reason = error.filename or path or "the index folder", error.strerror
        if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
            source, target, why = error.args[0][0]  # copytree's first failure of many
            where, reason = target, why
        if not reason:  # a short write says only how many bytes it wrote
            reason = str(error)
            folder = Path(path or where)
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            free = shutil.disk_usage(folder).free
            if free < 64 * 2 ** 20:
                reason += f"; the disk has {free // 1024:,} KB free: it is probably full"
        hint = {28: "free some disk space and run it again", 27: "the file size limit (ulimit -f) was reached",
                13: "run it as the index folder's owner, or choose another folder with --index",
                30: "the file system is read-only; choose another folder with --index",
                1: "run it as the index folder's owner, or choose another folder with --index"}.get(
            error.errno, "fix that and run it again")
        super().__init__(f"cannot write {where}: {reason}. Nothing was changed; {hint}.")
        self.errno = error.errno


class IndexDamaged(RuntimeError):
    """A file of a generation cannot be read as written; the message names
    the file and the fix."""

    def __init__(self, path: Path, detail: str):
        super().__init__(f"{path} is damaged ({detail}). Run `storysearch check --repair` to rebuild the "
                         f"index from its corpus, or `storysearch index --rebuild`.")
        self.path, self.detail = Path(path), detail

    @property
    def what(self) -> str:
        """What is damaged and how, without the advice (for a log line that goes on)."""
        return f"{self.path} is damaged ({self.detail})"


def index_dir(value: str | os.PathLike | None = None) -> Path:
    return Path(value or settings.current().index)


def corpus_dir(value: str | os.PathLike | None = None) -> Path:
    return Path(value or settings.current().corpus)


_announced: set[tuple[str, str]] = set()


def _say_once(folder: Path, message: str) -> None:
    key = (str(Path(folder).resolve()), message)
    if key not in _announced:
        _announced.add(key)
        log.warning(message)


def current_generation(folder: Path) -> Path:
    """The live generation's directory. Without a usable ``CURRENT`` (missing,
    or naming no complete generation) the newest complete generation serves,
    and a warning says so once; IndexNotFound when there is none."""
    folder = Path(folder)
    name = current_name(folder)
    if name is not None and GENERATION.match(name) and (folder / name / META).is_file():
        return folder / name
    complete = [g for g in generations(folder) if (g / META).is_file()]
    if not complete:
        if name is None:
            raise IndexNotFound(folder)
        raise IndexNotFound(folder, f"a damaged index (CURRENT names {name!r}, which is not a complete generation)")
    problem = "has no CURRENT file" if name is None else f"has a CURRENT that names {name!r}, not a complete generation"
    _say_once(folder, f"{folder} {problem}; using the newest complete generation, {complete[-1].name} "
                      f"(the next `storysearch index` writes CURRENT again)")
    return complete[-1]


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
    place (atomic on POSIX), then make the change durable. The file is created
    like every other index file (mode 0666 less the umask), so a server running
    as another user can read it."""
    folder = Path(folder)
    temporary = folder / f"{TEMPORARY_CURRENT}{os.getpid()}.{uuid.uuid4().hex[:8]}"
    with open(temporary, "x", encoding="utf-8") as handle:
        handle.write(generation.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / CURRENT)
    fsync_directory(folder)


def fsync_directory(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_stale(folder: Path) -> list[str]:
    """Delete unfinished builds and generations older than the ones kept: the
    live one and the newest intact one before it (what a server falls back
    to), never a damaged one in its place. Only call this while holding the
    write lock."""
    folder = Path(folder)
    removed = []
    live = current_name(folder)
    for path in folder.iterdir() if folder.is_dir() else []:
        if path.name.endswith(BUILDING_SUFFIX) or path.name.startswith(TEMPORARY_CURRENT):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    old = [g for g in generations(folder) if g.name != live]
    kept = [g for g in old if _intact(g)][-(KEEP_GENERATIONS - 1):] if KEEP_GENERATIONS > 1 else []
    for path in old:
        if path not in kept:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _intact(generation: Path) -> bool:
    try:
        verify_generation(generation)
    except (IndexNotFound, IndexDamaged):
        return False
    return True


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


def recorded_model(meta: dict) -> tuple[str | None, str]:
    """The model an index's vectors were computed with, and its precision
    (float32 for an index built before precisions were recorded)."""
    model = meta.get("model", {})
    return model.get("name"), model.get("precision", "float32")


def replace_folder(built: Path, folder: Path) -> None:
    """Put a folder written beside its final place into it, the old one
    removed first (so a killed writer never leaves a half-written one there)."""
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(built, folder)


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_files(generation: Path, previous: Path | None = None) -> dict[str, dict]:
    """The size and sha256 of every file of a generation but meta.json, by
    path inside it: recorded in meta.json when the generation is written, so
    that a file cut short, removed or changed later is noticed. A file
    hard-linked from the ``previous`` generation (the same file, at the same
    path) keeps the sha256 recorded there rather than being read again: an
    update costs what it wrote, and a linked file damaged since still
    disagrees with what is recorded."""
    generation = Path(generation)
    recorded = {}
    if previous is not None:
        try:
            recorded = json.loads((Path(previous) / META).read_text(encoding="utf-8")).get("stored_files") or {}
        except (OSError, ValueError):
            recorded = {}
    files = {}
    for path in sorted(generation.rglob("*")):
        if not path.is_file() or path.name == META:
            continue
        name, status = path.relative_to(generation).as_posix(), path.stat()
        before = recorded.get(name)
        if isinstance(before, dict) and before.get("size") == status.st_size and _same_file(
                Path(previous) / name, status):
            digest = before["sha256"]
        else:
            digest = sha256_of(path)
        files[name] = {"size": status.st_size, "sha256": digest, "mtime_ns": status.st_mtime_ns,
                       "inode": status.st_ino}
    return files


def _same_file(path: Path, status: os.stat_result) -> bool:
    try:
        other = path.stat()
    except OSError:
        return False
    return (other.st_ino, other.st_dev) == (status.st_ino, status.st_dev)


def map_array(path: Path):
    """A ``.npy`` file memory-mapped read-only for lookups: its pages are
    shared and reclaimable, and a lookup maps only the pages it touches
    (MADV_RANDOM: by default each fault maps 64 KB around it; a term matrix
    column of 1,600 rows then made 64 KB resident, 8 KB so). Pages the
    page cache already holds in large folios (a file just written) are
    mapped whole all the same. FileNotFoundError when missing, ValueError
    when not an array file."""
    import mmap

    import numpy as np

    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
        offset = handle.tell()
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if fortran or dtype.hasobject or os.fstat(handle.fileno()).st_size < offset + size:
            raise ValueError(f"{Path(path).name}: not a whole array of plain numbers")
        if size == 0:
            return np.zeros(shape, dtype=dtype)
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    mapped.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(mapped, dtype=dtype, count=size // dtype.itemsize, offset=offset).reshape(shape)


def link_or_copy(source: Path, target: Path) -> None:
    """A file of the previous generation in the next one: hard-linked (only
    for files that nobody writes into again), copied where links cannot be made."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def link_tree(source: Path, target: Path) -> None:
    """A folder of the previous generation, its files hard-linked (see link_or_copy)."""
    Path(target).mkdir()
    for path in Path(source).iterdir():
        if path.is_dir():
            link_tree(path, Path(target) / path.name)
        else:
            link_or_copy(path, Path(target) / path.name)


def damaged_files(generation: Path, meta: dict, deep: bool = False,
                  always: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(file, what is wrong) for each recorded file that is missing or no
    longer has the size it was written with; with ``deep``, also each whose
    bytes changed (every file is read: 7 s at 100,000 stories, a minute at
    a million). With ``always`` (what an update and opening a generation do;
    ``()`` for none), only those files and the ones whose inode or
    modification time is no longer the one recorded are read: a change made
    through the file system is noticed, a file changed behind its back (bit
    rot) only by a full check."""
    recorded = meta.get("stored_files")
    if not isinstance(recorded, dict) or not recorded or not all(
            isinstance(w, dict) and {"size", "sha256"} <= set(w) for w in recorded.values()):
        return [(META, "it records no stored files, or records them in another form")]
    problems = []
    for name, written in recorded.items():
        path = Path(generation) / name
        try:
            status = path.stat()
        except OSError:
            problems.append((name, "missing"))
            continue
        if status.st_size != written["size"]:
            problems.append((name, f"{status.st_size:,} bytes where {written['size']:,} were written"))
        elif deep and (always is None or name in always or (written.get("mtime_ns"), written.get("inode")) != (
                status.st_mtime_ns, status.st_ino)) and sha256_of(path) != written["sha256"]:
            problems.append((name, "its bytes changed since it was written (sha256 differs)"))
    return problems


def verify_generation(generation: Path, deep: bool = False, always: tuple[str, ...] | None = None) -> dict:
    """The generation's meta, after checking that each stored file is there
    with its size (and, with ``deep``, its bytes: see damaged_files) as
    written; IndexDamaged naming the first bad file otherwise."""
    meta = read_meta(generation)
    problems = damaged_files(generation, meta, deep, always)
    if problems:
        name, detail = problems[0]
        raise IndexDamaged(Path(generation) / name, detail)
    return meta


def newest_intact_generation(folder: Path, skip: Collection[str | None] = ()) -> Path | None:
    """The newest generation (other than those named in ``skip``) that passes verify_generation."""
    for generation in reversed(generations(folder)):
        if generation.name in skip:
            continue
        try:
            verify_generation(generation)
        except (IndexNotFound, IndexDamaged):
            continue
        return generation
    return None
