"""The BM25 term matrix (``terms/`` in a generation) for fast scoring of
plain keyword queries: written, updated, opened and checked here only.

Whoosh scores an OR of many terms by walking matcher trees document by
document in Python, which grows with the archive. The term matrix keeps the
same tokens as sparse columns (which rows hold a token, how often) and
scores every row at once with a few vector operations. One field holds
everything: the headline's and the byline's words repeated (they weigh
more), the body's words, and CJK characters and bigrams (marked so they
never collide with words).

It is kept in segments, as Lucene keeps an index: a build writes one; an
update links the previous generation's segments, writes one for the new
rows, and lists the rows it drops as deleted. BM25 weights (idf, average
length) are worked out at query time over the live rows, so an update costs
what it adds, not a rebuild of the whole matrix (bm25s, which stored
precomputed weights, had to rebuild: 184 s at 100,000 stories). Too many
segments are merged, and too many deleted rows compacted away, from the
stored counts, without reading any text again. Scores are bm25s's "lucene"
variant, to the float (tests/test_term_matrix.py compares with bm25s).
"""
from __future__ import annotations

import itertools
import json
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import marisa_trie
import numpy as np

from . import layout
from .analysis import text_analysis
from .idtable import IdTable
from .stories import Story, story_parts

HEADLINE_REPEAT = 3
GRAM_MARK = "\u241f"  # a symbol that no analysed word contains
K1, B = 1.2, 0.75
MANIFEST = "segments.json"
MAX_SEGMENTS = 8  # more: the small ones are merged into one
# How often a row holds a token, stored in 16 bits (half of a segment's
# entries, and of what a server reads for every query's common tokens: at
# 100,000 stories 264 MB as float32). A row holding one token more than
# 65,535 times scores as if it held it 65,535 times, where BM25 has long
# saturated; segments written with float32 counts are read as they are.
COUNT_TYPE = np.uint16
MAX_DELETED_SHARE = 0.2  # more of the stored rows deleted: every segment is compacted into one


def gram_token(gram: str) -> str:
    return GRAM_MARK + gram


def text_tokens(text: str) -> list[str]:
    """A text's words and its grams (marked): the tokens of one plain field."""
    analysis = text_analysis()
    return [w for w, *_ in analysis.words(text)] + [gram_token(g) for g, *_ in analysis.grams(text)]


def story_tokens(story: Story) -> list[str]:
    """The headline's words (repeated), the byline's names (repeated as
    much, so a name typed in the box finds that author's stories first), the
    body's words, and the grams of all three."""
    return analyse_story(story).tokens


@dataclass
class AnalysedStory:
    """A story tokenized once for the whole keyword side: its term matrix
    row, and the grams and positions of Whoosh's two fields."""

    tokens: list[str]  # the term matrix row (story_tokens)
    headline_grams: tuple[list[str], list[int]]  # headline_bigrams: grams of the title, and their positions
    body_grams: tuple[list[str], list[int]]  # body_bigrams: of the condition body


def analyse_story(story: Story) -> AnalysedStory:
    """Each text folded once and cut into grams once: the story's text is its
    title and body joined by a line break, which no token crosses, so its
    grams are the title's then the body's (when folding the whole gives the
    parts folded, as it does unless OpenCC converts differently across them;
    else the text is analysed whole, as before)."""
    analysis = text_analysis()
    title, body, byline = story.title, story.body, "\n".join(story.authors)
    folded_title, folded_body, folded_byline = analysis.fold(title), analysis.fold(body), analysis.fold(byline)
    title_grams, body_grams = analysis.gram_lists(folded_title), analysis.gram_lists(folded_body)
    if title and body and analysis.fold(story.text) != folded_title + "\n" + folded_body:
        text_grams = analysis.gram_lists(analysis.fold(story.text))[0]
    else:  # (story.text is the title and the body joined, or whichever is not empty)
        text_grams = title_grams[0] + body_grams[0]
    words = [analysis.word_list(folded) for folded in (folded_title, folded_byline, folded_body)]
    marked = list(map(GRAM_MARK.__add__, text_grams)) + list(map(GRAM_MARK.__add__,
                                                                 analysis.gram_lists(folded_byline)[0]))
    tokens = (words[0] + words[1]) * HEADLINE_REPEAT + words[2] + marked
    condition_body = story.condition_body
    if len(condition_body) != len(body):
        body_grams = analysis.gram_lists(analysis.fold(condition_body))
    return AnalysedStory(tokens, title_grams, body_grams)


class TokenTable(Sequence):
    """A segment's tokens, column c being the token whose key id is c in a
    static trie (marisa-trie). It answers token -> column and column ->
    token without a Python dict, and is memory-mapped from the segment's
    ``tokens.marisa``: an archive's vocabulary is large (hundreds of
    thousands of tokens took tens of MB of a server's memory as a list and a
    dict)."""

    def __init__(self, trie: marisa_trie.Trie):
        self.trie = trie

    @classmethod
    def of(cls, tokens: Iterable[str]) -> "TokenTable":
        """The table of ``tokens`` (repeats allowed): its key ids are those of
        the set of tokens alone, whatever their order and repeats (the trie in
        label order: in marisa's default weight order a repeated token weighs
        more, which renumbers the keys; see merge_segments)."""
        return cls(marisa_trie.Trie(tokens, order=marisa_trie.LABEL_ORDER))

    def __len__(self) -> int:
        return len(self.trie)

    def __getitem__(self, column: int) -> str:
        return self.trie.restore_key(column)

    def __iter__(self) -> Iterator[str]:
        """The tokens in column order."""
        return map(self.trie.restore_key, range(len(self.trie)))

    def __contains__(self, token: object) -> bool:
        return token in self.trie

    def get(self, token: str) -> int | None:
        """The column of ``token``; None when the segment lacks it."""
        return self.trie.get(token)

    def columns(self, tokens: Sequence[str]) -> np.ndarray:
        """The column of each of ``tokens`` (all in the table)."""
        return np.fromiter(map(self.trie.__getitem__, tokens), dtype=np.int64, count=len(tokens))


@dataclass
class Segment:
    """One immutable segment: columns (token -> rows and counts) over its rows."""

    tokens: TokenTable
    indptr: np.ndarray  # column c's entries are [indptr[c], indptr[c + 1])
    rows: np.ndarray  # segment row of each entry
    counts: np.ndarray  # how often the row holds the column's token (COUNT_TYPE)
    lengths: np.ndarray  # tokens per row
    ids: list[str]  # what each row is (a story id, a practice row id)

    @classmethod
    def from_tokens(cls, ids: Sequence[str], tokens: Sequence[Sequence[str]]) -> "Segment":
        builder = SegmentBuilder()
        for row_id, row_tokens in zip(ids, tokens, strict=True):
            builder.add(row_id, row_tokens)
        return builder.segment()

    @classmethod
    def _from_entries(cls, tokens: Sequence[str], columns, rows, counts, lengths, ids,
                      by_row: bool = False) -> "Segment":
        """The segment of these entries, ``columns`` numbering ``tokens`` in
        their order (renumbered here as the segment's token table numbers
        them); ``by_row``: they come row by row (then sorting by column alone,
        keeping their order, sorts by row too)."""
        table = TokenTable.of(tokens)
        columns = table.columns(tokens)[columns] if len(columns) else columns
        order = np.argsort(columns, kind="stable") if by_row else np.lexsort((rows, columns))
        indptr = np.zeros(len(table) + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=len(table)), out=indptr[1:])
        return cls(table, indptr, rows[order], _stored_counts(counts)[order], lengths, ids)

    def write(self, folder: Path) -> None:
        folder.mkdir()
        for name in ("indptr", "rows", "counts", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        self.tokens.trie.save(str(folder / "tokens.marisa"))
        (folder / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path, tokens: bool = True) -> "Segment":
        """The segment in ``folder``, its arrays memory-mapped (a query reads
        only its tokens' columns); IndexDamaged when a file is missing or
        unreadable. ``tokens=False``: without its vocabulary (an archive's is
        large), for an update that only needs to know its rows."""
        try:
            arrays = {name: layout.map_array(folder / f"{name}.npy")
                      for name in ("indptr", "rows", "counts", "lengths")}
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            if not tokens:
                return cls(TokenTable.of([]), arrays["indptr"], arrays["rows"], arrays["counts"], arrays["lengths"],
                           ids)
            table = _mapped_trie(folder / "tokens.marisa")
        except FileNotFoundError as exc:
            raise layout.IndexDamaged(Path(exc.filename or folder), "missing") from None
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise layout.IndexDamaged(folder, f"a term matrix segment that cannot be read: {exc}") from None
        segment = cls(table, arrays["indptr"], arrays["rows"], arrays["counts"], arrays["lengths"], ids)
        if (len(segment.indptr) != len(table) + 1 or len(segment.lengths) != len(ids)
                or len(segment.rows) != len(segment.counts) or int(segment.indptr[-1]) != len(segment.rows)):
            raise layout.IndexDamaged(folder, "a term matrix segment whose parts do not agree")
        return segment


def _mapped_trie(path: Path) -> TokenTable:
    """The token table in ``path``, memory-mapped (its pages shared and
    reclaimable, read as queries need them)."""
    if not path.is_file():
        raise FileNotFoundError(2, "missing", str(path))
    trie = marisa_trie.Trie()
    try:
        trie.mmap(str(path))
    except RuntimeError as exc:  # marisa's (a file cut short, not a trie)
        raise ValueError(f"{path.name}: not a token table ({exc})") from None
    return TokenTable(trie)


class SegmentBuilder:
    """A segment made a row at a time (a build need not hold every row's
    tokens): tokens are numbered in the order they first occur, each row
    keeps its distinct tokens' numbers and how often it holds each (the
    entries are sorted by column once, at the end)."""

    def __init__(self):
        self.vocabulary: dict[str, int] = {}  # token -> the number it was first given
        self.numbers = itertools.count()  # (one used up per distinct token of a row: ascending, not consecutive)
        self.columns: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.lengths: list[int] = []
        self.ids: list[str] = []

    def add(self, row_id: str, tokens: Sequence[str]) -> None:
        held = Counter(tokens)  # distinct tokens in the order they first occur, with their counts
        self.columns.append(np.fromiter(map(self.vocabulary.setdefault, held, self.numbers), dtype=np.int64,
                                        count=len(held)))
        self.counts.append(np.fromiter(held.values(), dtype=np.float32, count=len(held)))
        self.lengths.append(len(tokens))
        self.ids.append(row_id)

    def segment(self) -> "Segment":
        first_numbers = np.fromiter(self.vocabulary.values(), dtype=np.int64, count=len(self.vocabulary))
        columns = np.searchsorted(first_numbers, _concat(self.columns, np.int64))  # numbered 0, 1, 2, … as first seen
        self.columns = []
        rows = np.repeat(np.arange(len(self.ids), dtype=np.int32), [len(c) for c in self.counts])
        return Segment._from_entries(list(self.vocabulary), columns, rows, _concat(self.counts, np.float32),
                                     np.array(self.lengths, dtype=np.float32), list(self.ids), by_row=True)


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _stored_counts(counts) -> np.ndarray:
    """Counts as a segment stores them (COUNT_TYPE, capped at its largest value)."""
    return np.minimum(counts, np.iinfo(COUNT_TYPE).max).astype(COUNT_TYPE)


def _live_rows(segment: Segment, deleted: set[str]) -> np.ndarray:
    """Which of the segment's rows are not among ``deleted`` (by segment row;
    a full build's segment, with none deleted, without a pass over its ids)."""
    if not deleted:
        return np.ones(len(segment.ids), dtype=bool)
    return np.fromiter((row_id not in deleted for row_id in segment.ids), dtype=bool, count=len(segment.ids))


def _live_per_column(segment: Segment, live: np.ndarray) -> np.ndarray:
    """How many of each column's entries belong to rows where ``live`` (by segment row) is true."""
    indptr = np.asarray(segment.indptr)
    if live.all():
        return np.diff(indptr)
    held = np.concatenate([[0], np.cumsum(live[np.asarray(segment.rows)])])  # live entries before each
    return held[indptr[1:]] - held[indptr[:-1]]


def _read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise layout.IndexDamaged(path, "missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise layout.IndexDamaged(path, f"not a term matrix manifest: {exc}") from None
    if not (isinstance(manifest, dict) and isinstance(manifest.get("segments"), list)
            and isinstance(manifest.get("deleted"), dict)):
        raise layout.IndexDamaged(path, "not a term matrix manifest")
    return manifest


def _deleted(manifest: dict, name: str) -> set[str]:
    """The rows of segment ``name`` that are deleted."""
    return set(manifest["deleted"].get(name, ()))


def _write_manifest(folder: Path, names: list[str], deleted: dict[str, set[str]]) -> None:
    """The segments in order and, for each, its deleted rows (a row may come back in a later segment)."""
    (Path(folder) / MANIFEST).write_text(json.dumps(
        {"segments": names, "deleted": {name: sorted(deleted[name]) for name in names if deleted.get(name)}},
        ensure_ascii=False), encoding="utf-8")


def write_term_matrix(folder: Path, ids: Sequence[str], tokens: Sequence[Sequence[str]]) -> None:
    """A matrix of one segment whose row i holds ``tokens[i]`` and is called ``ids[i]``."""
    write_segments(folder, [Segment.from_tokens(ids, tokens)])


def update_term_matrix(folder: Path, previous: Path, drop: set[str], ids: Sequence[str],
                       tokens: Sequence[Sequence[str]]) -> None:
    """The ``previous`` matrix less the rows called ``drop``, plus rows
    ``ids`` holding ``tokens``: its segments linked (not copied), one new
    segment; small segments merged past MAX_SEGMENTS, everything compacted
    past MAX_DELETED_SHARE deleted rows."""
    folder, previous = Path(folder), Path(previous)
    folder.mkdir(exist_ok=True)
    manifest = _read_manifest(previous)
    names = list(manifest["segments"])
    stored = {name: Segment.read(previous / name, tokens=False) for name in names}
    deleted = {name: _deleted(manifest, name) | (drop & set(stored[name].ids)) for name in names}
    number = max((int(name.rsplit("-", 1)[1]) for name in names), default=0)
    if ids:
        number += 1
        Segment.from_tokens(ids, tokens).write(folder / f"seg-{number:06d}")
        stored[f"seg-{number:06d}"] = Segment.read(folder / f"seg-{number:06d}", tokens=False)
        names.append(f"seg-{number:06d}")
        deleted[names[-1]] = set()
    total = sum(len(segment.ids) for segment in stored.values())
    if total and sum(map(len, deleted.values())) > MAX_DELETED_SHARE * total:
        merging = names
    elif len(names) > MAX_SEGMENTS:
        merging = sorted(names, key=lambda name: len(stored[name].ids))[:len(names) - 1]  # all but the largest
    else:
        merging = []
    if merging:
        number += 1
        merged = f"seg-{number:06d}"
        merge_segments([(Segment.read((folder if (folder / name).exists() else previous) / name), deleted[name])
                        for name in names if name in merging], folder / merged)
        deleted[merged] = set()
        for name in merging:  # the segment written a moment ago, if it was merged (the others are not linked yet)
            if (folder / name).exists():
                shutil.rmtree(folder / name)
        names = [name for name in names if name not in merging] + [merged]
    for name in names:
        if not (folder / name).exists():
            layout.link_tree(previous / name, folder / name)  # (segments never change once written)
    _write_manifest(folder, names, deleted)


def write_sparse_index(folder: Path, stories: Sequence[Story], part_stories: int = 0) -> None:
    """The matrix of ``stories``, a segment a part of ``part_stories`` (stories.story_parts)."""
    write_segments(folder, (story_segment(part) for part in story_parts(stories, part_stories)))


def story_segment(stories: Iterable[Story]) -> Segment:
    builder = SegmentBuilder()
    for story in stories:
        builder.add(story.id, story_tokens(story))
    return builder.segment()


def write_segments(folder: Path, segments: Iterable[Segment]) -> None:
    """A matrix of one segment holding the rows of ``segments`` in order,
    each written as it comes (a full build's parts: it need not hold them
    all) and, when there are several, merged on disk (merge_segments)."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    parts = []
    for number, segment in enumerate(segments, 1):
        parts.append(folder / f"part-{number:06d}")
        segment.write(parts[-1])
        del segment  # (not held while the next part is made)
    if len(parts) == 1:
        parts[0].rename(folder / "seg-000001")
    else:
        merge_segments([(Segment.read(part), set()) for part in parts], folder / "seg-000001")
        for part in parts:
            shutil.rmtree(part)
    _write_manifest(folder, ["seg-000001"], {})


def merge_segments(segments: list[tuple[Segment, set[str]]], target: Path) -> None:
    """One segment in ``target`` holding the live rows of ``segments`` (each
    with its deleted rows), one segment's after another, from their stored
    counts: the same segment Segment.from_tokens makes of those rows. Made on
    disk a segment at a time: the entries are written through memory maps,
    so a merge holds one segment's entries, not the whole's (a full build's
    parts, a compaction of an archive). Every segment keeps its entries by
    column, then row; so does the whole, as a segment's rows follow the
    earlier segments' (a column's entries are the segments' blocks of it)."""
    table = TokenTable.of(itertools.chain.from_iterable(segment.tokens for segment, _ in segments))
    columns = [table.columns(list(segment.tokens)) for segment, _ in segments]  # a segment's column -> the whole's
    new_rows, live_entries = [], []  # a segment's row -> the whole's (-1: deleted); its live entries by column
    sizes = np.zeros(len(table), dtype=np.int64)
    first = 0
    for (segment, deleted), to_whole in zip(segments, columns):
        live = _live_rows(segment, deleted)
        new_row = np.full(len(segment.ids), -1, dtype=np.int64)
        new_row[live] = first + np.arange(int(live.sum()))
        per_column = _live_per_column(segment, live)
        sizes[to_whole] += per_column  # (a segment holds each token once: no column repeats)
        new_rows.append(new_row)
        live_entries.append(per_column)
        first += int(live.sum())
    indptr = np.zeros(len(table) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    del sizes
    target.mkdir()
    entries = int(indptr[-1])
    rows = np.lib.format.open_memmap(target / "rows.npy", mode="w+", dtype=np.int32, shape=(entries,))
    counts = np.lib.format.open_memmap(target / "counts.npy", mode="w+", dtype=COUNT_TYPE, shape=(entries,))
    filled = indptr[:-1].copy()  # where each column's next block goes
    for (segment, _), to_whole, new_row, per_column in zip(segments, columns, new_rows, live_entries):
        segment_rows = new_row[np.asarray(segment.rows)]
        kept = segment_rows >= 0
        # each live entry, in order: its column's block in the whole, less where the column's live
        # entries start among the segment's, plus its place among them
        where = np.repeat(filled[to_whole] - (np.cumsum(per_column) - per_column), per_column)
        where += np.arange(len(where))
        rows[where] = segment_rows[kept]
        counts[where] = _stored_counts(np.asarray(segment.counts)[kept])
        filled[to_whole] += per_column
        del segment_rows, kept, where
    rows.flush()
    counts.flush()
    del rows, counts
    np.save(target / "indptr.npy", indptr)
    np.save(target / "lengths.npy", _concat([np.asarray(segment.lengths)[new_row >= 0] for (segment, _), new_row
                                             in zip(segments, new_rows)], np.float32))
    table.trie.save(str(target / "tokens.marisa"))
    (target / "ids.json").write_text(json.dumps([row_id for (segment, _), new_row in zip(segments, new_rows)
                                                 for row_id, row in zip(segment.ids, new_row.tolist()) if row >= 0],
                                                ensure_ascii=False), encoding="utf-8")


def update_sparse_index(folder: Path, previous: Path, drop: set[str], stories: list[Story]) -> None:
    update_term_matrix(folder, previous, drop, [story.id for story in stories],
                       [story_tokens(story) for story in stories])


def matrix_ids(folder: Path) -> list[str]:
    """The live rows of the matrix in ``folder``, in segment order; IndexDamaged when unreadable."""
    manifest = _read_manifest(folder)
    return [row_id for name in manifest["segments"] for row_id in Segment.read(Path(folder) / name).ids
            if row_id not in _deleted(manifest, name)]


class MatrixVocabulary(Mapping):
    """Every token of a matrix -> its number: the largest segment's token
    table (its columns) and, numbered after them, the tokens only other
    segments hold."""

    def __init__(self, first: TokenTable, added: dict[str, int]):
        self.first, self.added = first, added

    def __getitem__(self, token: str) -> int:
        number = self.first.get(token)
        return self.added[token] if number is None else number

    def get(self, token: str, default=None):
        number = self.first.get(token)
        return self.added.get(token, default) if number is None else number

    def __contains__(self, token: object) -> bool:
        return token in self.first or token in self.added

    def __iter__(self) -> Iterator[str]:
        return itertools.chain(self.first, self.added)

    def __len__(self) -> int:
        return len(self.first) + len(self.added)

    def numbers(self, tokens: Iterable[str]) -> np.ndarray:
        return np.array([self[token] for token in tokens], dtype=np.int64)


class TermMatrix:
    """The live rows of a matrix, answered in the order of ``ids`` (row i of
    every array is ``ids[i]``): which rows hold a token and how often, and
    BM25 scores over them."""

    def __init__(self, folder: Path, ids: Sequence[str]):
        manifest = _read_manifest(folder)
        try:
            ids = ids if isinstance(ids, IdTable) else IdTable(ids)
        except ValueError as exc:  # (the rows the index around it names, given twice)
            raise layout.IndexDamaged(Path(folder), f"the rows it is opened with: {exc}") from None
        self.size = len(ids)
        self.lengths = np.zeros(len(ids), dtype=np.float32)
        self.segments: list[tuple[Segment, np.ndarray]] = []  # each with its rows' positions (-1: deleted)
        found = 0
        for name in manifest["segments"]:
            segment = Segment.read(Path(folder) / name)
            deleted = _deleted(manifest, name)
            at = ids.rows(segment.ids, missing=-2)
            at[~_live_rows(segment, deleted)] = -1
            if (at == -2).any():
                raise layout.IndexDamaged(Path(folder) / name, "it holds rows the index around it does not")
            live = at >= 0
            found += int(live.sum())
            self.lengths[at[live]] = np.asarray(segment.lengths)[live]
            self.segments.append((replace(segment, ids=[]), at))  # (rows are known by position now)
        # Every token of the matrix, numbered: the largest segment's tokens as
        # its columns, then the few the others add (an archive's vocabulary is large).
        self.segments.sort(key=lambda item: -len(item[0].lengths))
        first = self.segments[0][0].tokens if self.segments else TokenTable.of([])
        added: dict[str, int] = {}
        for segment, _ in self.segments[1:]:
            for token in segment.tokens:
                if token not in first and token not in added:
                    added[token] = len(first) + len(added)
        self.vocabulary = MatrixVocabulary(first, added)
        if found != len(ids):
            raise layout.IndexDamaged(Path(folder) / MANIFEST, f"it holds {found} live rows where the index "
                                                               f"around it has {len(ids)}")
        self.average_length = float(self.lengths.mean()) if len(ids) else 0.0

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows that hold ``token`` and how often each does."""
        rows, counts = [], []
        for segment, at in self.segments:
            column = segment.tokens.get(token)
            if column is None:
                continue
            start, end = segment.indptr[column], segment.indptr[column + 1]
            positions = at[np.asarray(segment.rows[start:end])]
            live = positions >= 0
            rows.append(positions[live])
            counts.append(np.asarray(segment.counts[start:end])[live])
        return _concat(rows, np.int64), _concat(counts, np.float32)

    def scores(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 (lucene idf, k1 1.2, b 0.75) of every row for ``tokens``, and
        how many of the tokens each row holds."""
        scores = np.zeros(self.size, dtype=np.float32)
        held = np.zeros(self.size, dtype=np.float32)
        for token in tokens:
            rows, counts = self.postings(token)
            if not len(rows):
                continue
            idf = np.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = K1 * (1 - B + B * self.lengths[rows] / self.average_length)
            scores[rows] += (idf * counts / (counts + norm)).astype(np.float32)
            held[rows] += 1
        return scores, held

    def row_counts(self) -> np.ndarray:
        """How many live rows hold each token (by its number in ``vocabulary``): its document frequency."""
        counts = np.zeros(len(self.vocabulary), dtype=np.int64)
        for number, (segment, at) in enumerate(self.segments):
            per_column = _live_per_column(segment, at >= 0)
            if number == 0:  # the vocabulary numbers its tokens as its columns
                counts[:len(per_column)] += per_column
            else:
                counts[self.vocabulary.numbers(segment.tokens)] += per_column
        return counts


def open_term_matrix(folder: Path, ids: Sequence[str]) -> TermMatrix:
    """The matrix in ``folder`` answering in the order of ``ids``; IndexDamaged
    unless its live rows are exactly ``ids`` (each once)."""
    return TermMatrix(folder, ids)
