"""The conditions of a query that a story must meet whatever the mode:
phrases, field conditions, exclusions and filters, checked on the story
record (folded like the index folds text)."""
from __future__ import annotations

from collections.abc import Mapping

from index.analysis import text_analysis
from index.stories import Story

from .query import ParsedQuery


def _contains(haystack: str, needle: str) -> bool:
    fold = text_analysis().fold
    return fold(needle.strip()) in fold(haystack)


def _field_holds(story: Story, name: str, value: str) -> bool:
    if name == "headline":
        return _contains(story.title, value)
    if name == "author":
        return value in story.authors
    if name == "source":
        return story.source.startswith(value)
    return _contains(story.text, value)


def has_conditions(parsed: ParsedQuery, filters: Mapping[str, str] | None = None) -> bool:
    return bool(parsed.phrases or parsed.fields or parsed.excluded or any((filters or {}).values()))


def story_matches(story: Story, parsed: ParsedQuery, filters: Mapping[str, str] | None = None) -> bool:
    filters = filters or {}
    if filters.get("source") and story.source != filters["source"]:
        return False
    if filters.get("author") and filters["author"] not in story.authors:
        return False
    return (all(_contains(story.text, phrase) for phrase in parsed.phrases)
            and all(_field_holds(story, name, value) for name, value in parsed.fields)
            and not any(_field_holds(story, name, value) for name, value in parsed.excluded))
