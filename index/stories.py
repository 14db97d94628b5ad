"""The story record: what segmentation produces and everything downstream reads."""
from __future__ import annotations

import json
import os
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .idtable import IdTable
from .layout import IndexDamaged


CONDITION_CHARS = 100_000


@dataclass
class StoryFlags:
    continued_from_earlier_page: bool = False  # the text starts mid-sentence
    truncated: bool = False  # the text stops mid-sentence
    has_photo: bool = False


@dataclass
class Story:
    id: str
    source: str
    order: int
    headline: str
    subheadline: str = ""
    authors: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    flags: StoryFlags = field(default_factory=StoryFlags)
    duplicates: list[str] = field(default_factory=list)  # paragraphs printed again, removed
    lines: list[int] = field(default_factory=list)  # 1-based page lines this story was made from
    kicker: str = ""  # 引题, the headline line above the main headline
    # Role of each paragraph ("body" or "crosshead"); empty when all are body.
    paragraph_roles: list[str] = field(default_factory=list)
    jumps: list[str] = field(default_factory=list)  # jump lines such as 下转第二版

    # Where and when its page was printed (index/metadata.py), empty where no source says.
    paper: str = ""
    date: str = ""  # YYYY-MM-DD
    page: str = ""  # 版次 as printed
    page_name: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)  # other columns of the corpus manifest
    origin: dict = field(default_factory=dict)  # which source gave each of the values above
    # The places it is about (index/places.py), the main place first:
    # {"name", "level", "path": [province, …, name], "from": where first named, "reason"}.
    places: list[dict] = field(default_factory=list)
    # The named practices it reports (index/practices.py), in order of first mention:
    # {"name" as printed, "key" (one practice however printed), "kind" (工作法/机制/模式/
    # 平台/队伍/工程/行动/其他), "place" (one of its places, "" when none), "definition",
    # "rule" and "reason" (why it was taken)}.
    practices: list[dict] = field(default_factory=list)
    # A story continued on another page of its edition (index/jumps.py) is one
    # record of its parts, each {"id", "source", "page", "page_name", "url",
    # "lines", "paragraph": where its text starts}; empty for a one-page story.
    parts: list[dict] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        """The corpus files its text comes from."""
        return [part["source"] for part in self.parts] or [self.source]

    def paragraph_role(self, index: int) -> str:
        return self.paragraph_roles[index] if index < len(self.paragraph_roles) else "body"

    @property
    def body(self) -> str:
        """Paragraphs and captions: the searchable text under the headline."""
        return "\n".join([*self.paragraphs, *self.captions])

    @property
    def title(self) -> str:
        return " ".join(part for part in (self.kicker, self.headline, self.subheadline) if part)

    @property
    def text(self) -> str:
        """Everything a reader sees of the story: what is indexed."""
        return "\n".join(part for part in (self.title, self.body) if part)

    @property
    def condition_body(self) -> str:
        """What phrases and text conditions are checked in, with the title: the
        first CONDITION_CHARS of the body (all of any real story's), so that a
        page dumped as one huge "story" costs a condition no more than a long one."""
        return self.body[:CONDITION_CHARS]

    def to_dict(self) -> dict:
        return asdict(self)

    def with_metadata(self, metadata) -> "Story":
        """This story with its page's metadata (an index.metadata.PageMetadata)."""
        return replace(self, paper=metadata.paper, date=metadata.date, page=metadata.page,
                       page_name=metadata.page_name, url=metadata.url, extra=dict(metadata.extra),
                       origin=dict(metadata.origin))

    @classmethod
    def from_dict(cls, data: dict) -> "Story":
        values = {k: v for k, v in data.items() if k in _STORY_FIELDS}
        values["flags"] = StoryFlags(**data.get("flags", {}))
        return cls(**values)


_STORY_FIELDS = frozenset(f.name for f in fields(Story))
# What an outline leaves out of a story: its text and what is said of the text.
OUTLINE_LEFT_OUT = ("paragraphs", "captions", "duplicates", "lines", "paragraph_roles", "practices")


def story_parts(stories: Sequence[Story], size: int) -> list[Sequence[Story]]:
    """``stories`` in consecutive parts of ``size`` (one part when size is 0 or they are fewer)."""
    if size <= 0 or len(stories) <= size:
        return [stories]
    return [stories[first:first + size] for first in range(0, len(stories), size)]


def read_stories(path: Path) -> list[Story]:
    """The records of ``stories.jsonl``; IndexDamaged naming the file and line
    when one cannot be read back (a file cut mid-line, bytes changed)."""
    try:
        with open(path, "rb") as handle:
            return [_record(line, Path(path), f"line {number}") for number, line in enumerate(handle, 1)]
    except FileNotFoundError:
        raise IndexDamaged(path, "missing") from None


def _record(line: bytes, path: Path, where: str, outline: bool = False) -> Story:
    """The story of a line; with ``outline``, without what OUTLINE_LEFT_OUT names."""
    try:
        data = json.loads(line.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
        if outline:
            data.update((name, []) for name in OUTLINE_LEFT_OUT)
        return Story.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexDamaged(path, f"{where} is not a story record: {exc}") from None


class RecordStore(Mapping):
    """Story records by id, read from their store when asked for, the last
    STORIES_CACHED kept; ``take_outline()`` gives once the outline (every
    story without its text: headline, byline, where and when, places,
    parts), one story at a time as it is read, so an archive's outline never
    sits in memory whole (100,000 stories' took 250 MB, which the process
    kept). A subclass numbers the records (``_where``: id -> its row in the
    store, in outline order; complete once the outline is read) and reads
    one (``_read_now``); ``ids``, where it numbers them with an IdTable
    once the outline is read, is that table (a story table over the
    outline takes it rather than numbering the same ids again)."""

    STORIES_CACHED = 4096
    ids: IdTable | None = None

    def __init__(self, where: Mapping[str, int], outline: Iterator[Story]):
        self._where = where
        self._outline: Iterator[Story] | None = outline
        self._read = lru_cache(maxsize=self.STORIES_CACHED)(self._read_now)

    def _read_now(self, story_id: str) -> Story:
        raise NotImplementedError

    def take_outline(self) -> Iterator[Story]:
        """The outline, once, in the store's order."""
        outline, self._outline = self._outline, None
        return outline

    def _numbered(self) -> Mapping[str, int]:
        """Every record's row (the outline read to its end if nobody has)."""
        if self._outline is not None:
            for _ in self.take_outline():
                pass
        return self._where

    def __getitem__(self, story_id: str) -> Story:
        if story_id not in self._numbered():
            raise KeyError(story_id)
        return self._read(story_id)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._numbered()

    def __iter__(self) -> Iterator[str]:
        return iter(self._numbered())

    def __len__(self) -> int:
        return len(self._numbered())


class StoryStore(RecordStore):
    """The stories of a ``stories.jsonl`` by id, read from disk when asked
    for: the store keeps each record's line number (by id) and where each
    line starts (an array), and the last STORIES_CACHED it read, so an
    archive's stories need not all sit in memory. The file stays open, so a
    generation removed while a request reads it still reads. The outline is
    read by the one pass that numbers the lines."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._file = open(self.path, "rb")
        except FileNotFoundError:
            raise IndexDamaged(self.path, "missing") from None
        self._offsets = np.zeros(1, dtype=np.int64)
        super().__init__({}, self._outline_read())

    def _outline_read(self) -> Iterator[Story]:
        offsets, ids = array("q", [0]), []
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                story = _record(line, self.path, f"line {number}", outline=True)
                ids.append(story.id)
                offsets.append(offsets[-1] + len(line))
                yield story
        try:
            self.ids = IdTable(ids)
        except ValueError as exc:  # (DuplicateIds, or an id marisa cannot hold)
            raise IndexDamaged(self.path, str(exc)) from None
        self._where = self.ids.row
        self._offsets = np.frombuffer(offsets, dtype=np.int64)  # where each line starts, and the file's end

    def _read_now(self, story_id: str) -> Story:
        row = self._where[story_id]
        offset, end = self._offsets[row:row + 2]
        return _record(os.pread(self._file.fileno(), int(end - offset), int(offset)), self.path,
                       f"the record of {story_id}")

    def values(self) -> Iterator[Story]:
        """Every story, read in file order (a pass over the file, not the cache)."""
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                yield _record(line, self.path, f"line {number}")


def _escape_path(path: str) -> str:
    """A path as one URL segment, reversibly: ``%`` and ``~`` are escaped
    (``%25``, ``%7E``) before ``/`` becomes ``~``, so two distinct paths never
    give the same text (``sub/x`` is ``sub~x``, ``sub~x`` is ``sub%7Ex``)."""
    return path.replace("%", "%25").replace("~", "%7E").replace("/", "~")


def story_id(source: str, order: int) -> str:
    """Stable for the same file: the file's path without ``.txt``, escaped
    into one URL segment, and the story's order on the page."""
    stem = source[:-len(".txt")] if source.endswith(".txt") else source
    return f"{_escape_path(stem)}-{order:03d}"


class StoryIdCollision(ValueError):
    """Two stories got the same id; the build refuses to index either."""


def check_unique_ids(stories) -> None:
    """Raise StoryIdCollision, naming both sources, if two stories share an id."""
    seen: dict[str, str] = {}
    for story in stories:
        if story.id in seen:
            raise StoryIdCollision(f"the files {seen[story.id]} and {story.source} give the same story id "
                                   f"{story.id!r}; rename one of them")
        seen[story.id] = story.source


# ------------------------------------------------------------ what an update needs of stories.jsonl
# ``stories.index.json`` lists, for each corpus file in the order of
# ``stories.jsonl``, where its block of records lies (byte offset, length)
# and, for each story of it, its id, the corpus files its text comes from
# and its edition. An update builds on it without reading a story: the
# blocks of the files that did not change are copied byte for byte into
# the next ``stories.jsonl`` (serialising an archive's stories again cost
# 0.4 ms a story), the new files' stories are written after theirs.


@dataclass(frozen=True)
class StoryEntry:
    """What an update needs to know of a story it does not read."""

    id: str
    sources: tuple[str, ...]
    edition: tuple[str, str] | None

    @property
    def source(self) -> str:
        return self.sources[0]


@dataclass(frozen=True)
class StoryBlock:
    """The records of one corpus file's stories in a ``stories.jsonl``."""

    path: Path
    offset: int
    length: int
    entries: tuple[StoryEntry, ...]


def story_entry(story: Story) -> StoryEntry:
    from .jumps import edition

    return StoryEntry(story.id, tuple(story.sources), edition(story.paper, story.date, story.page))


def write_story_file(path: Path, index_path: Path, blocks: list[tuple[str, "list[Story] | StoryBlock"]]) -> None:
    """``stories.jsonl`` and its ``stories.index.json`` of ``blocks``: for each
    corpus file in order, its stories, or a block of a previous
    ``stories.jsonl`` copied as it is."""
    listed = []
    sources: dict[Path, object] = {}
    run: list = []  # [path, offset, length]: blocks that follow each other in one file, copied at once

    def copy_run(handle) -> None:
        if run:
            if run[0] not in sources:
                sources[run[0]] = open(run[0], "rb")
            _copy(sources[run[0]], handle, run[1], run[2])
            run.clear()

    try:
        with open(path, "wb") as handle:
            written = 0
            for source, block in blocks:
                if isinstance(block, StoryBlock):
                    if run and (run[0], run[1] + run[2]) != (block.path, block.offset):
                        copy_run(handle)
                    if run:
                        run[2] += block.length
                    else:
                        run.extend([block.path, block.offset, block.length])
                    entries, length = block.entries, block.length
                else:
                    copy_run(handle)
                    data = b"".join((json.dumps(story.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
                                    for story in block)
                    handle.write(data)
                    entries, length = tuple(story_entry(story) for story in block), len(data)
                listed.append([source, written, length,
                               [[entry.id, list(entry.sources), list(entry.edition) if entry.edition else None]
                                for entry in entries]])
                written += length
            copy_run(handle)
    finally:
        for handle in sources.values():
            handle.close()
    Path(index_path).write_text(json.dumps({"sources": listed}, ensure_ascii=False), encoding="utf-8")


def _copy(source, target, offset: int, length: int) -> None:
    target.flush()
    while length > 0:
        try:
            done = os.copy_file_range(source.fileno(), target.fileno(), length, offset)
        except (AttributeError, OSError):  # another file system, an older kernel
            source.seek(offset)
            done = target.write(source.read(min(length, 1 << 24)))
            target.flush()
        if done <= 0:
            raise OSError(f"{source.name} ends before the story records meta.json lists")
        offset, length = offset + done, length - done
    target.seek(0, os.SEEK_END)


def read_story_index(path: Path, index_path: Path) -> dict[str, StoryBlock]:
    """The blocks of ``stories.jsonl`` by corpus file, from its
    ``stories.index.json``; IndexDamaged when that cannot be read or does not
    tile the file."""
    try:
        listed = json.loads(Path(index_path).read_text(encoding="utf-8"))["sources"]
        blocks = {str(source): StoryBlock(Path(path), int(offset), int(length), tuple(
            StoryEntry(str(story), tuple(map(str, sources)), tuple(where) if where else None)
            for story, sources, where in entries)) for source, offset, length, entries in listed}
    except FileNotFoundError:
        raise IndexDamaged(Path(index_path), "missing") from None
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise IndexDamaged(Path(index_path), f"not an index of {Path(path).name}: {exc}") from None
    end = 0
    for block in blocks.values():
        if block.offset != end:
            raise IndexDamaged(Path(index_path), f"its blocks do not follow each other at byte {end:,}")
        end += block.length
    size = Path(path).stat().st_size if Path(path).exists() else 0
    if end != size:
        raise IndexDamaged(Path(path), f"{size:,} bytes where its index lists {end:,}")
    return blocks

