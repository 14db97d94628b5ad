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

from pathlib import Path

from . import layout
from .analysis import bigram_analyzer
from .stories import Story

WRITER_MEMORY_MB = 256


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


def write_keyword_index(folder: Path, stories: list[Story]) -> None:
    from whoosh import index as whoosh_index

    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), whoosh_schema())
    with ix.writer(limitmb=WRITER_MEMORY_MB) as writer:
        _add_documents(writer, stories)


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
    with ix.writer(limitmb=WRITER_MEMORY_MB) as writer:
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


def keyword_ids(generation: Path) -> set[str]:
    """The story ids the keyword index holds (for check_index)."""
    with open_keyword_index(generation).searcher() as searcher:
        ids = searcher.reader().column_reader("id")
        return {ids[docnum] for docnum in searcher.document_numbers()}
