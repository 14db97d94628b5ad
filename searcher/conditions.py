"""The conditions of a query that a story must meet whatever the mode:
phrases, field conditions, exclusions and filters, checked on the story
record (folded like the index folds text)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from index.analysis import text_analysis
from index.stories import Story

from .query import ParsedQuery


def _field_holds(story: Story, name: str, value: str, folded: Callable[[str], str]) -> bool:
    if name == "author":
        return value in story.authors
    if name == "source":
        return story.source.startswith(value)
    return text_analysis().fold(value.strip()) in folded("title" if name == "headline" else "text")


def has_conditions(parsed: ParsedQuery, filters: Mapping[str, str] | None = None) -> bool:
    return bool(parsed.phrases or parsed.fields or parsed.excluded or any((filters or {}).values()))


def story_matches(story: Story, parsed: ParsedQuery, filters: Mapping[str, str] | None = None) -> bool:
    filters = filters or {}
    if filters.get("source") and story.source != filters["source"]:
        return False
    if filters.get("author") and filters["author"] not in story.authors:
        return False

    @cache
    def folded(part: str) -> str:  # each part folded once, whatever the number of conditions
        return text_analysis().fold(story.title if part == "title" else story.text)

    return (all(_field_holds(story, "", phrase, folded) for phrase in parsed.phrases)
            and all(_field_holds(story, name, value, folded) for name, value in parsed.fields)
            and not any(_field_holds(story, name, value, folded) for name, value in parsed.excluded))
