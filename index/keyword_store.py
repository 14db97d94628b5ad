"""The keyword index (``whoosh/`` in a generation): written, opened and
checked here only.

Whoosh decides which stories meet a query's conditions (phrases, headline
conditions, exclusions); ranking is the term matrix's (index/sparse.py),
filters are the story table's. So it holds the headline and the body (its
first CONDITION_CHARS) as CJK bigrams with positions, the source for
deletes, and the story id, the only stored value, as a column for fast
docnum-to-story lookups.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import pickle
import threading
import time
import zlib
from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path

import numpy as np

from . import layout, settings, sparse
from .analysis import bigram_analyzer, text_analysis
from .stories import Story, story_parts

# A segment's files stay apart, not assembled into one compound file: Whoosh
# reads a compound file through a BytesIO, which copies the postings and term
# index into every searcher (one a server thread: 5 MB each on the 38 bundled
# stories, growing with the archive); apart, a searcher reads them by seeking.
WRITER_OPTIONS = {"limitmb": 256, "compound": False}
TEXT_FIELDS = ("body_bigrams", "headline_bigrams")  # in Whoosh's order (by name)
log = logging.getLogger(__name__)


def whoosh_schema():
    from whoosh.fields import ID, TEXT, Schema

    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        source=ID,
        headline_bigrams=TEXT(analyzer=bigram_analyzer()),
        body_bigrams=TEXT(analyzer=bigram_analyzer()),
    )


def _add_documents(writer, stories: list[Story]) -> None:
    for story in stories:
        writer.add_document(id=story.id, source=story.source, headline_bigrams=story.title,
                            body_bigrams=story.condition_body)


def write_keyword_index(folder: Path, stories: Sequence[Story], part_stories: int = 0) -> dict[str, float]:
    """A new Whoosh index of ``stories`` in ``folder`` (which must not
    exist), a segment a part of ``part_stories`` (stories.story_parts);
    seconds spent tokenizing and writing."""
    spent = {"tokenize_s": 0.0, "whoosh_s": 0.0}
    clock = time.perf_counter
    started = clock()
    for number, part in enumerate(story_parts(stories, part_stories)):
        with _BulkIndex(folder, new=number == 0) as index:
            for story in part:
                tokenizing = clock()
                grams = story_grams(story)
                spent["tokenize_s"] += clock() - tokenizing
                index.add(story, *grams)
    spent["whoosh_s"] = clock() - started - spent["tokenize_s"]
    return spent


def story_grams(story: Story) -> tuple[tuple[list[str], list[int]], tuple[list[str], list[int]]]:
    """The grams and positions of the headline_bigrams and body_bigrams fields
    (sparse.analyse_story's, without the term matrix's words)."""
    analysis = text_analysis()
    return (analysis.gram_lists(analysis.fold(story.title)),
            analysis.gram_lists(analysis.fold(story.condition_body)))


# Below this many stories a build's keyword side takes seconds: a second
# process (a fork, the text tokenized twice) is not worth choosing.
TWO_PROCESSES_FROM = 5_000
IDLE_SAMPLE_S = 0.25


def idle_cores(interval: float = IDLE_SAMPLE_S) -> float:
    """How many of the machine's cores sat idle over ``interval`` (this
    process sleeping meanwhile), from Linux's /proc/stat; 0 where it
    cannot be read."""
    def sample() -> tuple[int, int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            lines = stat.read().splitlines()
        ticks = [int(value) for value in lines[0].split()[1:9]]  # user … steal (guest time is in user)
        return ticks[3] + ticks[4], sum(ticks), sum(line.startswith("cpu") for line in lines[1:])
    try:
        idle, total, cores = sample()
        time.sleep(interval)
        idle_after, total_after, _ = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    return cores * (idle_after - idle) / max(total_after - total, 1)


def usable_cores() -> float:
    """The cores this process may run on: its CPU affinity, less where its
    cgroup's quota (``cpu.max``) allows less."""
    cores = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cores = min(cores, int(quota) / int(period))
    except (OSError, ValueError):
        pass
    return cores


def keyword_processes(setting: int, stories: int, idle: Callable[[], float] = idle_cores,
                      usable: Callable[[], float] = usable_cores,
                      threads: Callable[[], int] = threading.active_count) -> int:
    """How many processes write the keyword side: the setting
    build_processes, or for its 0 two where the archive is large enough to
    gain (TWO_PROCESSES_FROM), this process may use two cores and about
    two sit idle (1.5 or more) as the build reaches it, one for each
    process (on a busy machine two were slower than one), and this process
    runs no other thread (a fork copies only the calling thread: one
    holding a lock, as a Ray driver's or a server's may, would leave the
    child waiting on it for ever); else one."""
    if setting:
        return min(setting, 2)
    if stories < TWO_PROCESSES_FROM or threads() > 1 or usable() < 2:
        return 1
    return 2 if idle() >= 1.5 else 1


def write_keyword_side(whoosh_folder: Path, sparse_folder: Path, stories: Sequence[Story],
                       processes: int | None = None, part_stories: int | None = None) -> dict[str, float]:
    """The Whoosh index and the term matrix of a full build; seconds spent on
    each, and how many processes wrote them (``processes``). ``processes``
    (the setting build_processes unless given; keyword_processes): 1, one
    pass, each story tokenized once for both; 2, the term matrix written by a
    second process while this one writes the Whoosh index (where the
    platform can fork). Both are written in parts of ``part_stories`` stories
    (the setting build_part_stories unless given), a segment each: a part's
    postings are written out before the next part is read."""
    current = settings.current()
    processes = keyword_processes(current.build_processes if processes is None else processes, len(stories))
    part_stories = current.build_part_stories if part_stories is None else part_stories
    if processes > 1 and "fork" in multiprocessing.get_all_start_methods():
        log.info("keyword side: two processes (Whoosh, and the term matrix alongside)")
        return {**_write_in_two_processes(whoosh_folder, sparse_folder, stories, part_stories), "processes": 2}
    spent = {"tokenize_s": 0.0, "whoosh_s": 0.0, "term_matrix_s": 0.0, "processes": 1}
    clock = time.perf_counter

    def segments():
        for number, part in enumerate(story_parts(stories, part_stories)):
            matrix = sparse.SegmentBuilder()
            with _BulkIndex(whoosh_folder, new=number == 0) as index:
                for story in part:
                    started = clock()
                    analysed = sparse.analyse_story(story)
                    tokenized = clock()
                    index.add(story, analysed.headline_grams, analysed.body_grams)
                    spent["tokenize_s"] += tokenized - started
                    spent["whoosh_s"] += clock() - tokenized
                    matrix.add(story.id, analysed.tokens)
                started = clock()
            spent["whoosh_s"] += clock() - started  # the postings written at commit
            yield matrix.segment()

    started = clock()
    sparse.write_segments(sparse_folder, segments())
    spent["term_matrix_s"] = clock() - started - spent["tokenize_s"] - spent["whoosh_s"]
    return spent


def _write_in_two_processes(whoosh_folder: Path, sparse_folder: Path, stories: Sequence[Story],
                            part_stories: int) -> dict[str, float]:
    """The term matrix written by a forked process (it inherits the stories:
    nothing is sent to it), the Whoosh index here; an error in either is raised here."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_matrix_process, args=(sparse_folder, stories, part_stories, send), daemon=True)
    child.start()
    send.close()
    try:
        spent = write_keyword_index(whoosh_folder, stories, part_stories)
        try:
            outcome = receive.recv()
        except EOFError:
            child.join()
            raise RuntimeError(f"the process writing the term matrix ended with exit code {child.exitcode}") from None
    except BaseException:
        child.terminate()
        raise
    finally:
        child.join()
        receive.close()
    if isinstance(outcome, BaseException):
        raise outcome
    return {**spent, "term_matrix_s": outcome}


def _matrix_process(folder: Path, stories: Sequence[Story], part_stories: int, send) -> None:
    """(In the forked process.) Write the term matrix; send the seconds it took, or the error."""
    try:
        started = time.perf_counter()
        sparse.write_sparse_index(folder, stories, part_stories)
        send.send(time.perf_counter() - started)
    except BaseException as exc:  # noqa: BLE001 - every error goes back to the build
        try:
            send.send(exc)
        except Exception:  # noqa: BLE001 - one that cannot be pickled
            send.send(RuntimeError(f"writing the term matrix: {type(exc).__name__}: {exc}"))
    finally:
        send.close()


class _BulkIndex:
    """A new Whoosh index written as Whoosh's own writer writes it (the same
    files: tests/test_keyword_build.py compares them), faster: the bigram
    fields take the grams analyse_story made (no analyzer run again) and
    keep their postings in flat arrays, written at commit a term at a time
    instead of going one by one through Whoosh's posting pool, its sort and
    its per-posting writer calls. The story id and source go Whoosh's way.

    Memory: about 30 bytes a posting (some 500 postings a story)."""

    def __init__(self, folder: Path, new: bool = True):
        """``new``: a new index in ``folder`` (which must not exist); else
        one more segment of the index there."""
        from whoosh import index as whoosh_index
        from whoosh.codec.whoosh3 import W3FieldWriter
        from whoosh.writing import SegmentWriter

        if new:
            folder.mkdir()
        ix = whoosh_index.create_in(str(folder), whoosh_schema()) if new else whoosh_index.open_dir(str(folder))
        self.writer = SegmentWriter(ix, **WRITER_OPTIONS)
        if type(self.writer.fieldwriter) is not W3FieldWriter:  # _TermWriter writes that codec's blocks
            self.writer.cancel()
            raise TypeError(f"the keyword build writes Whoosh's W3 codec, not {type(self.writer.codec).__name__}")
        self.writer._flush_segment = self._flush_segment  # (the pool then holds the ID fields' postings only)
        self.fields = {name: _FieldPostings(self.writer.schema[name]) for name in TEXT_FIELDS}

    def __enter__(self) -> "_BulkIndex":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            self.writer.commit(merge=False)  # (the segments of earlier parts stay as they are)
        else:
            self.writer.cancel()

    def add(self, story: Story, headline_grams, body_grams) -> None:
        """What ``writer.add_document(id=…, source=…, headline_bigrams=story.title,
        body_bigrams=story.condition_body)`` adds, the bigram fields from their grams."""
        writer = self.writer
        writer._check_state()
        docnum, perdoc, schema = writer.docnum, writer.perdocwriter, writer.schema
        perdoc.start_doc(docnum)
        for name, grams in zip(TEXT_FIELDS, (body_grams, headline_grams)):
            perdoc.add_field(name, schema[name], None, self.fields[name].add(docnum, *grams))
        for name, value in (("id", story.id), ("source", story.source)):
            field = schema[name]
            for tbytes, _freq, weight, vbytes in field.index(value):
                writer.pool.add((name, tbytes, docnum, weight * 1.0, vbytes))
            perdoc.add_field(name, field, value if field.stored else None, 0)
            if field.column_type:
                perdoc.add_column_value(name, field.column_type, field.to_column_value(value))
        perdoc.finish_doc()
        writer._added = True
        writer.docnum += 1

    def _flush_segment(self) -> None:
        writer = self.writer
        writer.perdocwriter.close()
        lengths = writer.per_document_reader()
        for name in TEXT_FIELDS:
            self.fields[name].write(writer.fieldwriter, name)
        writer.fieldwriter.add_postings(writer.schema, lengths, writer.pool.iter_postings())
        writer.fieldwriter.close()
        lengths.close()


class _FieldPostings:
    """One bigram field's postings in the order added: term number, document,
    frequency and encoded positions (as the field's format encodes them)."""

    def __init__(self, field):
        from whoosh.formats import Positions
        from whoosh.system import pack_uint
        from whoosh.util.numeric import byte_to_length, length_to_byte

        self.field = field
        self.encode = field.format.encode
        self.positions_format, self.pack_uint = type(field.format) is Positions, pack_uint
        self.terms: dict[str, int] = {}
        self.numbers = itertools.count()  # (one is used up per gram a document holds: they fit in 32 bits
        # up to some 4,000 million postings, 10 million stories)
        self.term_numbers, self.docs, self.freqs, self.value_sizes = (array("I") for _ in range(4))
        self.values = bytearray()
        self.single: list[bytes] = []  # the encoding of one position, by position
        # A document's field length as the writer reads it back for block
        # statistics: through the length byte, None where the byte is 0.
        self.doc_lengths = array("I")
        self._length = lambda n: byte_to_length(b) if (b := length_to_byte(n)) else 0

    def add(self, docnum: int, grams: list[str], positions: list[int]) -> int:
        """Add a document's grams and their positions (ascending, as
        gram_lists gives them); its field length."""
        held: defaultdict[str, list[int]] = defaultdict(list)  # each gram's positions, in order
        deque(map(list.append, map(held.__getitem__, grams), positions), maxlen=0)
        single, encode = self.single, self.encode
        if grams and positions[-1] >= len(single):  # (positions grow along a text)
            single.extend(encode([position]) for position in range(len(single), positions[-1] + 1))
        every = list(held.values())
        freqs = list(map(len, every))
        values = list(map(single.__getitem__, map(itemgetter(0), every)))  # as if each gram occurred once
        if len(held) != freqs.count(1):
            if self.positions_format:  # Positions.encode: the count, then the pickled gaps
                for i in np.flatnonzero(np.array(freqs) > 1).tolist():
                    at = every[i]
                    values[i] = self.pack_uint(len(at)) + pickle.dumps([at[0], *map(int.__sub__, at[1:], at[:-1])], 2)
            else:
                for i in np.flatnonzero(np.array(freqs) > 1).tolist():
                    values[i] = encode(every[i])
        # a number for each gram: the first it was given (numbers grow as grams are first seen)
        self.term_numbers.extend(map(self.terms.setdefault, held, self.numbers))
        self.docs.extend([docnum] * len(held))
        self.freqs.extend(freqs)
        self.value_sizes.extend(map(len, values))
        self.values += b"".join(values)
        self.doc_lengths.append(self._length(len(grams)))
        return len(grams)

    def write(self, fieldwriter, name: str, batch: int = 1 << 20) -> None:
        """The field's terms in order, each with its postings by document, in
        Whoosh's blocks (_TermWriter)."""
        if not self.terms:
            return
        terms = list(self.terms)  # in the order first seen, which is the order of their numbers
        by_text = sorted(range(len(terms)), key=terms.__getitem__)  # code point order is UTF-8 byte order
        ordered = [terms[i] for i in by_text]
        rank = np.empty(len(terms), dtype=np.int64)
        rank[by_text] = np.arange(len(terms))
        first_numbers = np.fromiter(self.terms.values(), dtype=np.int64, count=len(terms))  # ascending
        numbers = rank[np.searchsorted(first_numbers, np.frombuffer(self.term_numbers, dtype=np.uint32))]
        order = np.argsort(numbers, kind="stable")  # by term, then as added (by document)
        per_term = np.bincount(numbers, minlength=len(ordered))
        del numbers
        docs = np.frombuffer(self.docs, dtype=np.uint32)
        freqs = np.frombuffer(self.freqs, dtype=np.uint32)
        sizes = np.frombuffer(self.value_sizes, dtype=np.uint32)
        starts = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        lengths = np.frombuffer(self.doc_lengths, dtype=np.uint32)
        values = bytes(self.values)
        self.values = bytearray()
        fieldwriter.start_field(name, self.field)
        write_term = _TermWriter(fieldwriter)
        ends = np.cumsum(per_term)  # where each term's postings end in ``order``
        term, first = 0, 0
        while term < len(ordered):  # a batch of terms, about ``batch`` postings
            last_term = min(max(int(np.searchsorted(ends, first + batch, side="right")), term + 1), len(ordered))
            end = int(ends[last_term - 1])
            picked = order[first:end]
            batch_docs = docs[picked].tolist()
            batch_weights = freqs[picked].astype(np.float64).tolist()
            batch_lengths = lengths[docs[picked]].tolist()
            begin = starts[picked]
            batch_values = list(map(values.__getitem__, map(slice, begin.tolist(), (begin + sizes[picked]).tolist())))
            i = 0
            for t, n in zip(range(term, last_term), per_term[term:last_term].tolist()):
                write_term(ordered[t].encode("utf-8"), batch_docs[i:i + n], batch_weights[i:i + n],
                           batch_values[i:i + n], batch_lengths[i:i + n])
                i += n
            term, first = last_term, end
        fieldwriter.finish_field()


class _TermWriter:
    """Writes one term's postings as Whoosh's W3 codec does for
    ``start_term``, ``add`` of each posting and ``finish_term``
    (W3PostingsWriter's blocks of ``blocklimit`` postings, each with its
    info, the term's W3TermInfo in the terms table), without the calls per
    posting. For postings whose values are not empty (the bigram fields')."""

    def __init__(self, fieldwriter):
        from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC, W3TermInfo
        from whoosh.system import pack_int, pack_ushort
        from whoosh.util.numeric import length_to_byte

        postwriter = fieldwriter._postwriter
        self.postfile = postwriter._postfile.file  # (the StructFile's own file: the same bytes, fewer calls)
        self.offset = self.postfile.tell()
        self.terms = fieldwriter._tindex
        self.limit, self.compression = postwriter._blocklimit, postwriter._compression
        self.key = pack_ushort(fieldwriter._fieldid)
        self.magic, self.min_size, self.info_class = WHOOSH3_HEADER_MAGIC, COMPRESSION_MIN_SIZE, W3TermInfo
        self.pack_int, self.length_to_byte = pack_int, length_to_byte

    def __call__(self, btext: bytes, docs: list[int], weights: list[float], values: list[bytes],
                 lengths: list[int]) -> None:
        length_to_byte, pack_int = self.length_to_byte, self.pack_int
        written = [self.magic]
        info = self.info_class()
        total = len(docs)
        for first in range(0, total, self.limit):
            end = min(first + self.limit, total)
            ids, block_weights, known = docs[first:end], weights[first:end], lengths[first:end]
            if 0 in known:  # (a document's length 0 counts for nothing; a posting's document has a length)
                known = [length for length in known if length]
            minlength = min(known) if known else None
            maxlength = max(known) if known else 0
            maxweight = max(block_weights)
            maxweight = maxweight if maxweight > 0 else 0
            # W3TermInfo.add_block
            info._weight += sum(block_weights)
            info._df += len(ids)
            info._minlength = minlength if info._minlength is None else min(info._minlength, minlength)
            info._maxlength = max(info._maxlength, maxlength)
            info._maxweight = max(info._maxweight, maxweight)
            if info._minid is None:
                info._minid = ids[0]
            info._maxid = ids[-1]
            # W3PostingsWriter._write_block
            deltas = tuple(map(int.__sub__, ids, [0, *ids[:-1]]))
            if block_weights.count(1.0) == len(block_weights):
                mini_weights = None
            elif block_weights.count(block_weights[0]) == len(block_weights):
                mini_weights = block_weights[0]
            else:
                mini_weights = tuple(block_weights)
            data = pickle.dumps((deltas, mini_weights, tuple(values[first:end])), 2)
            compression = self.compression if len(data) >= self.min_size else 0
            if compression:
                data = zlib.compress(data, compression)
            infobytes = pickle.dumps((len(ids), ids[-1], maxweight, compression, length_to_byte(minlength),
                                      length_to_byte(maxlength)), 2)
            size = len(infobytes) + len(data)
            written += (pack_int(-size if end == total else size), infobytes, data)
        written = b"".join(written)
        self.postfile.write(written)
        info.set_extent(self.offset, len(written))
        self.offset += len(written)
        self.terms.add(self.key + btext, info.to_bytes())


def link_keyword_index(previous: Path, folder: Path) -> None:
    """The previous generation's Whoosh folder in ``folder``, to be updated
    there: its files hard-linked, not copied (layout.link_or_copy). Safe
    because Whoosh never writes into a file it wrote before: a segment's files
    are created once under a new random name (FileStorage.create_file) and
    only read after; deletions are kept in the segment records of the TOC,
    and a commit writes a new ``_MAIN_<n+1>.toc`` (a temporary file renamed
    into place) and removes the old TOC and merged segments, which unlinks
    only this folder's names. The lock file is not carried over (Whoosh
    makes its own)."""
    folder.mkdir()
    for path in Path(previous).iterdir():
        if path.is_file() and not path.name.endswith("WRITELOCK"):
            layout.link_or_copy(path, folder / path.name)


def update_keyword_index(folder: Path, drop_sources: set[str], stories: list[Story]) -> None:
    """Delete the stories of ``drop_sources`` and add ``stories`` (in place)."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(folder))
    with ix.writer(**WRITER_OPTIONS) as writer:
        for source in sorted(drop_sources):
            writer.delete_by_term("source", source)
        _add_documents(writer, stories)


def open_keyword_index(generation: Path):
    """The generation's Whoosh index; IndexNotFound without one."""
    from whoosh import index as whoosh_index

    path = Path(generation) / layout.WHOOSH
    if not whoosh_index.exists_in(str(path)):
        raise layout.IndexNotFound(Path(generation), "no keyword index")
    return whoosh_index.open_dir(str(path))


def id_column(reader) -> Sequence[str]:
    """The story id of each Whoosh document, by document number (none for an
    empty archive's index, whose reader has no columns)."""
    return reader.column_reader("id") if reader.doc_count_all() else []


def keyword_ids(generation: Path) -> set[str]:
    """The story ids the keyword index holds (for check_index)."""
    with open_keyword_index(generation).searcher() as searcher:
        ids = id_column(searcher.reader())
        return {ids[docnum] for docnum in searcher.document_numbers()}
