"""A BM25 term matrix (bm25s) for fast scoring of plain keyword queries.

Whoosh scores an OR of many terms by walking matcher trees document by
document in Python, which grows with the archive. bm25s keeps the same
tokens in a sparse matrix and scores every story with a few vector
operations. One field holds everything: the headline's words repeated (the
headline weighs more), the body's words, and CJK characters and bigrams
(marked so they never collide with words).
"""
from __future__ import annotations

import json
from pathlib import Path

from .analysis import text_analysis
from .stories import Story

HEADLINE_REPEAT = 3
GRAM_MARK = "\u241f"  # a symbol that no analysed word contains
IDS = "ids.json"


def gram_token(gram: str) -> str:
    return GRAM_MARK + gram


def story_tokens(story: Story) -> list[str]:
    analysis = text_analysis()
    title = [w for w, *_ in analysis.words(story.title)]
    body = [w for w, *_ in analysis.words(story.body)]
    grams = [gram_token(g) for g, *_ in analysis.grams(story.text)]
    return title * HEADLINE_REPEAT + body + grams


def write_sparse_index(folder: Path, stories: list[Story]) -> None:
    import bm25s

    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index([story_tokens(story) for story in stories] or [[]], show_progress=False)
    retriever.save(str(folder), show_progress=False)
    (Path(folder) / IDS).write_text(json.dumps([story.id for story in stories]), encoding="utf-8")
