"""Cutting a story into passages for embedding.

The model reads at most 512 tokens; about 300 Chinese characters stay well
under that. Each passage starts with the headline so that it carries the
story's topic; paragraphs are packed whole where they fit and cut at sentence
ends where they do not.
"""
from __future__ import annotations

import re

PASSAGE_CHARS = 300
SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])")


def _pieces(paragraph: str, limit: int):
    """Sentences of a paragraph, each at most ``limit`` characters."""
    for sentence in SENTENCE_END.split(paragraph):
        while len(sentence) > limit:
            yield sentence[:limit]
            sentence = sentence[limit:]
        if sentence:
            yield sentence


def story_passages(headline: str, paragraphs: list[str], max_chars: int = PASSAGE_CHARS) -> list[str]:
    prefix = f"{headline}\n" if headline else ""
    budget = max(max_chars - len(prefix), max_chars // 2)
    passages: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for i, piece in enumerate(_pieces(paragraph, budget)):
            joiner = "\n" if current and i == 0 else ""
            if current and len(current) + len(joiner) + len(piece) > budget:
                passages.append(prefix + current)
                current, joiner = "", ""
            current += joiner + piece
    if current or not passages:
        passages.append(prefix + current)
    return passages
