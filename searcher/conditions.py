"""The text conditions of a query that a story must meet whatever the mode:
phrases, headline conditions and text exclusions, checked on the story
record (folded like the index folds text). Filters (author, source, paper,
date) are masks over the story table (searcher/table.py)."""
from __future__ import annotations

from collections.abc import Callable
from functools import cache

from storysearch.index.analysis import text_analysis
from storysearch.index.stories import Story

from .filters import FILTER_FIELDS
from .query import ParsedQuery


def _holds(value: str, part: str, folded: Callable[[str], str]) -> bool:
    return text_analysis().fold(value.strip()) in folded(part)


def has_text_conditions(parsed: ParsedQuery) -> bool:
    return bool(parsed.phrases or any(name == "headline" for name, _ in parsed.fields)
                or any(name not in FILTER_FIELDS for name, _ in parsed.excluded))


def story_matches(story: Story, parsed: ParsedQuery) -> bool:
    @cache
    def folded(part: str) -> str:  # each part folded once, whatever the number of conditions
        return text_analysis().fold(story.title if part == "title" else f"{story.title}\n{story.condition_body}")

    return (all(_holds(phrase, "text", folded) for phrase in parsed.phrases)
            and all(_holds(value, "title", folded) for name, value in parsed.fields if name == "headline")
            and not any(_holds(value, "title" if name == "headline" else "text", folded)
                        for name, value in parsed.excluded if name not in FILTER_FIELDS))
