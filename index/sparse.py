"""The BM25 term matrix (bm25s, ``bm25s/`` in a generation) for fast
scoring of plain keyword queries: written, opened and checked here only.

Whoosh scores an OR of many terms by walking matcher trees document by
document in Python, which grows with the archive. bm25s keeps the same
tokens in a sparse matrix and scores every story with a few vector
operations. One field holds everything: the headline's and the byline's
words repeated (they weigh more), the body's words, and CJK characters and
bigrams (marked so they never collide with words).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import layout
from .analysis import text_analysis
from .stories import Story

HEADLINE_REPEAT = 3
GRAM_MARK = "\u241f"  # a symbol that no analysed word contains
IDS = "ids.json"


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
    analysis = text_analysis()
    title = [w for w, *_ in analysis.words(story.title)]
    byline = "\n".join(story.authors)
    names = [w for w, *_ in analysis.words(byline)]
    body = [w for w, *_ in analysis.words(story.body)]
    grams = [gram_token(g) for text in (story.text, byline) for g, *_ in analysis.grams(text)]
    return (title + names) * HEADLINE_REPEAT + body + grams


def write_term_matrix(folder: Path, ids: list[str], tokens: list[list[str]]) -> None:
    """A BM25 matrix whose row i holds ``tokens[i]`` and is called ``ids[i]``."""
    import bm25s

    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(tokens or [[]], show_progress=False)
    retriever.save(str(folder), show_progress=False)
    (Path(folder) / IDS).write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")


def write_sparse_index(folder: Path, stories: list[Story]) -> None:
    write_term_matrix(folder, [story.id for story in stories], [story_tokens(story) for story in stories])


def matrix_ids(folder: Path) -> list[str]:
    """What each row of the matrix in ``folder`` is, in row order; IndexDamaged when unreadable."""
    path = Path(folder) / IDS
    try:
        ids = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise layout.IndexDamaged(path, "missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise layout.IndexDamaged(path, f"not a list of ids: {exc}") from None
    if not isinstance(ids, list) or not all(isinstance(row_id, str) for row_id in ids):
        raise layout.IndexDamaged(path, "not a list of ids")
    return ids


def open_term_matrix(folder: Path, ids: list[str]):
    """The bm25s retriever in ``folder``, memory-mapped (a query reads only
    its tokens' columns, so a large archive's matrix need not be resident);
    IndexDamaged unless its rows are ``ids`` in that order."""
    import bm25s

    if matrix_ids(folder) != ids:
        raise layout.IndexDamaged(Path(folder) / IDS, "it lists other rows than the index around it")
    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
