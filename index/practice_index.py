"""The practices of a generation as something to search: ``practices/`` holds
``rows.jsonl`` (one row per practice of a story: id, story, key, name,
place), ``vectors.faiss`` (each row's vector under its id) and ``terms/`` (a
term matrix of each row's name and definition, updated with the rows). Written, opened and checked
here only.

A practice's vector is its name and definition embedded, plus the story
passage that names it (the passage says what problem it answers, the
definition what it is), normalised: on the judged questions of
tests/fixtures/similar_practices.json it ranks a little better than either
alone (scripts/bench_similar_practices.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import layout, sparse
from .embedding_cache import EmbeddingCache, embed_with_cache
from .passages import story_passages
from .stories import Story
from .vectors import open_faiss, save_faiss, write_jsonl

ROWS = "rows.jsonl"
VECTORS = "vectors.faiss"
MATRIX = "terms"


def practice_text(practice: dict) -> str:
    """What a practice is, in words: its name and its definition."""
    return f"{practice['name']}：{practice['definition']}" if practice.get("definition") else practice["name"]


def _rows(stories: list[Story]) -> list[tuple[dict, Story, dict]]:
    """The rows of ``stories`` (ids from 0), each with its story and practice record."""
    rows: list[tuple[dict, Story, dict]] = []
    for story in stories:
        for practice in story.practices:
            rows.append(({"id": len(rows), "story": story.id, "key": practice["key"], "name": practice["name"],
                          "place": practice.get("place", "")}, story, practice))
    return rows


def _described(rows: list[tuple[dict, Story, dict]]) -> tuple[list[str], list[str]]:
    """Each row's text and the passage of its story that names the practice
    (the story's first passage when none does); each story is cut into
    passages once."""
    texts, named = [], []
    passages: dict[str, list[str]] = {}
    for _, story, practice in rows:
        if story.id not in passages:
            passages[story.id] = story_passages(story.title, [*story.paragraphs, *story.captions])
        texts.append(practice_text(practice))
        named.append(next((passage for passage in passages[story.id] if practice["name"] in passage),
                          passages[story.id][0]))
    return texts, named


def _embed(texts: list[str], passages: list[str], embedder, cache: EmbeddingCache | None) -> tuple[np.ndarray, int]:
    """Name-and-definition vectors plus naming-passage vectors, normalised.
    The passages were embedded a moment ago for the passage index: with the
    cache they cost a lookup."""
    if not texts:
        return np.zeros((0, embedder.dimension), np.float32), 0
    encode = embedder.encode_documents
    described, computed = embed_with_cache(texts, encode, cache)
    named, computed_too = embed_with_cache(passages, encode, cache)
    summed = described + named
    return summed / np.linalg.norm(summed, axis=1, keepdims=True), computed + computed_too


def write_practice_index(generation: Path, stories: list[Story], embedder, cache: EmbeddingCache | None) -> dict:
    """Write ``practices/`` for every practice of ``stories``. Returns what
    meta.json records about it."""
    return _write(generation, _rows(stories), {}, embedder, cache)


def update_practice_index(generation: Path, order: list[str], fresh: list[Story], embedder,
                          cache: EmbeddingCache | None, previous: Path, drop_stories: set[str]) -> dict:
    """Write ``practices/`` for the stories ``order`` lists (ids, in the
    order of stories.jsonl): the rows, vectors and term-matrix rows of
    ``previous`` (a generation written by the same model) are kept for its
    stories not in ``drop_stories``; only the practices of ``fresh`` stories
    (those read now) are described, embedded and tokenized."""
    stored, position = _stored_vectors(open_practice_vectors(previous))
    kept: dict[str, list[dict]] = {}
    known: dict[tuple[str, str], np.ndarray] = {}
    dropped: set[str] = set()
    for row in read_rows(previous):
        if row["story"] in drop_stories:
            dropped.add(matrix_id(row))
        elif row["id"] in position:
            kept.setdefault(row["story"], []).append(row)
            known[row["story"], row["key"]] = stored[position[row["id"]]]
    read_now = {story.id: story for story in fresh}
    entries: list[tuple[dict, Story | None, dict | None]] = []
    for story_id in order:
        if story_id in read_now:
            entries += [(row, story, practice) for row, story, practice in _rows([read_now[story_id]])]
        else:
            entries += [(row, None, None) for row in kept.get(story_id, ())]
    entries = [({**row, "id": number}, story, practice) for number, (row, story, practice) in enumerate(entries)]
    return _write(generation, entries, known, embedder, cache, previous, dropped)


def _write(generation: Path, entries: list[tuple[dict, Story | None, dict | None]],
           known: dict[tuple[str, str], np.ndarray], embedder, cache: EmbeddingCache | None,
           previous: Path | None = None, dropped: set[str] = frozenset()) -> dict:
    """``practices/`` of ``entries`` (each row with its story and practice
    record, read now, or None for a row kept with its vector in ``known``)."""
    folder = Path(generation) / layout.PRACTICE_INDEX
    folder.mkdir()
    rows = [row for row, _, _ in entries]
    todo = [row["id"] for row in rows if (row["story"], row["key"]) not in known]
    texts, passages = _described([entries[i] for i in todo])
    fresh, computed = _embed(texts, passages, embedder, cache)
    vectors = np.zeros((len(rows), embedder.dimension), np.float32)
    for row in rows:
        if (row["story"], row["key"]) in known:
            vectors[row["id"]] = known[row["story"], row["key"]]
    if todo:
        vectors[todo] = fresh
    save_faiss(folder / VECTORS, rows, vectors, embedder.dimension)
    write_jsonl(folder / ROWS, rows)
    matrix_rows = [matrix_id(rows[i]) for i in todo]
    matrix_tokens = [sparse.text_tokens(text) for text in texts]
    if previous is not None:  # only the rows of the stories read again are tokenized
        sparse.update_term_matrix(folder / MATRIX, matrix_folder(previous), dropped, matrix_rows, matrix_tokens)
    else:
        sparse.write_term_matrix(folder / MATRIX, matrix_rows, matrix_tokens)
    return {"rows": len(rows), "embedded": len(todo), "computed": computed}


def _stored_vectors(index) -> tuple[np.ndarray, dict[int, int]]:
    """Every vector of a faiss IndexIDMap2 at once, and the row of each id."""
    import faiss

    if not index.ntotal:
        return np.zeros((0, index.d), np.float32), {}
    ids = faiss.vector_to_array(index.id_map)
    return index.index.reconstruct_n(0, index.ntotal), {int(i): row for row, i in enumerate(ids)}


def matrix_id(row: dict) -> str:
    """What the term matrix calls a practice row: its story and key (row ids change at each update)."""
    return f"{row['story']}\t{row['key']}"


def _row(line: bytes, path: Path, number: int) -> dict:
    try:
        row = json.loads(line.decode("utf-8"))
        return {"id": int(row["id"]), "story": str(row["story"]), "key": str(row["key"]),
                "name": str(row["name"]), "place": str(row["place"])}
    except (ValueError, TypeError, KeyError) as exc:
        raise layout.IndexDamaged(path, f"line {number} is not a practice row: {exc}") from None


def read_rows(generation: Path) -> list[dict]:
    """Every practice row, in id order; IndexDamaged naming a line that cannot be read."""
    path = Path(generation) / layout.PRACTICE_INDEX / ROWS
    if not path.is_file():
        raise layout.IndexDamaged(path, "missing")
    with open(path, "rb") as handle:
        rows = [_row(line, path, number) for number, line in enumerate(handle, 1)]
    if [row["id"] for row in rows] != list(range(len(rows))):
        raise layout.IndexDamaged(path, "the rows are not numbered 0, 1, 2, … in order")
    return rows


def open_practice_vectors(generation: Path):
    return open_faiss(Path(generation) / layout.PRACTICE_INDEX / VECTORS)


def matrix_folder(generation: Path) -> Path:
    return Path(generation) / layout.PRACTICE_INDEX / MATRIX


def check_practice_index(generation: Path, stories: dict[str, Story]) -> list[str]:
    """What is wrong with ``practices/`` against the generation's stories (empty: nothing)."""
    rows = read_rows(generation)
    problems = []
    expected = [(story.id, practice["key"]) for story in stories.values() for practice in story.practices]
    if sorted((row["story"], row["key"]) for row in rows) != sorted(expected):
        problems.append(f"{len(rows)} practice rows where the stories name {len(expected)} practices")
    vectors = open_practice_vectors(generation)
    if vectors.ntotal != len(rows):
        problems.append(f"{vectors.ntotal} practice vectors for {len(rows)} rows")
    if sorted(sparse.matrix_ids(matrix_folder(generation))) != sorted(matrix_id(row) for row in rows):
        problems.append("the practice term matrix lists other rows")
    return problems
