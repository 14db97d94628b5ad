"""The files of an index folder, shared by the write and the read path.

An index is a directory of plain files: ``meta.json`` (versions and settings),
``stories.jsonl`` (one clean story a line), ``whoosh/`` (lexical index),
``passages.jsonl`` and ``vectors.faiss`` (semantic index, faiss ids are the
passage numbers).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

FORMAT_VERSION = 1
META = "meta.json"
STORIES = "stories.jsonl"
WHOOSH = "whoosh"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.faiss"
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


def read_meta(folder: Path) -> dict:
    path = Path(folder) / META
    if not path.is_file():
        raise IndexNotFound(Path(folder))
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise IndexNotFound(Path(folder), f"a damaged meta.json ({exc})") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise IndexNotFound(Path(folder), f"an index of format {meta.get('format_version')!r} "
                                          f"(this version reads {FORMAT_VERSION})")
    return meta
