"""Joining a story continued on another page of the same edition.

A story ending in a jump line (``（下转第二版）``) goes on, on the page named,
in a story that opens with ``（上接第一版）``. When the archive holds both
pages of the same paper and date, the two parts become one record: the
first part's id and headline, the paragraphs of both, ``parts`` citing
each part's page, source and lines. A part that only says one side (the
jump line lost to a column break, say) is joined when the other side is a
story cut off mid-sentence (or begun mid-sentence) and it is the only such
story on that page, or the one whose headline shares most with it.

This is an enrichment step between segmentation and places (index/build.py
runs it on every page of an edition whenever one of them changes);
``JOINS_VERSION`` is recorded in the index.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import replace

from .cohesion import bigrams
from .stories import Story
from .textpatterns import is_complete

JOINS_VERSION = 1

# 下转第二版, 转第4版, 下转A3版 / 上接第一版, 接第1版, 转自第一版 (the JUMP line, parentheses stripped).
_JUMP = re.compile(r"^(下转|转至|转到|转|上接|接|转自)\s*第?\s*([A-Za-zＡ-Ｚａ-ｚ]?)\s*([0-9０-９〇零一二三四五六七八九十两]+)\s*版")
_ONWARD = {"下转", "转至", "转到", "转"}
_NUMERALS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _number(text: str) -> int | None:
    """``12``, ``１２``, ``十二``, ``二十``: the page number, or None."""
    if all(char.isdigit() for char in text):
        return int("".join(str(unicodedata.digit(char)) for char in text))
    if "十" not in text:
        return int("".join(str(_NUMERALS[char]) for char in text)) if all(c in _NUMERALS for c in text) else None
    tens, _, units = text.partition("十")
    if (tens and tens not in _NUMERALS) or (units and units not in _NUMERALS):
        return None
    return (_NUMERALS[tens] if tens else 1) * 10 + (_NUMERALS[units] if units else 0)


def page_key(page: str) -> str | None:
    """A page as printed (``3``, ``03``, ``A03``, ``第3版``, ``第三版``) as
    a comparable key (``3``, ``A3``); None when it names no page number."""
    match = re.fullmatch(r"第?\s*([A-Za-zＡ-Ｚａ-ｚ]?)\s*([0-9０-９〇零一二三四五六七八九十两]+)\s*版?",
                         unicodedata.normalize("NFKC", page.strip()))
    if not match:
        return None
    number = _number(match.group(2))
    return None if number is None else f"{match.group(1).upper()}{number}"


def jump_target(note: str) -> tuple[str, str] | None:
    """``("onward", key)`` for 下转第二版, ``("from", key)`` for 上接第一版, else None."""
    match = _JUMP.match(unicodedata.normalize("NFKC", note.strip()))
    if not match:
        return None
    key = page_key(match.group(2) + match.group(3))
    if key is None:
        return None
    return ("onward" if match.group(1) in _ONWARD else "from"), key


def _notes(story: Story, direction: str) -> list[str]:
    return [target[1] for note in story.jumps if (target := jump_target(note)) and target[0] == direction]


def edition(paper: str, date: str, page: str) -> tuple[str, str] | None:
    """The edition (paper and date) a page belongs to; None when its date or
    page number is unknown (its stories are never joined)."""
    if not date or page_key(page) is None:
        return None
    return paper, date


def _likeness(one: Story, other: Story) -> float:
    """How much two parts' headlines share (character bigrams), for choosing between candidates."""
    a, b = set(bigrams(one.title)), set(bigrams(other.title))
    return len(a & b) / len(a | b) if a and b else 0.0


def _pick(part: Story, candidates: list[Story]) -> Story | None:
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return None
    best = max(candidates, key=lambda candidate: _likeness(part, candidate))
    return best if _likeness(part, best) > 0 else None


def _pairs(stories: list[Story]) -> dict[str, Story]:
    """Each first part's id -> its continuation, within one edition."""
    by_page: dict[str, list[Story]] = defaultdict(list)
    for story in stories:
        by_page[page_key(story.page)].append(story)
    pairs: dict[str, Story] = {}
    first_part: dict[str, str] = {}  # continuation id -> the id of the part before it

    def free(found) -> list[Story]:
        return [story for story in found if story.id not in first_part]

    def pair(first: Story, rest: Story) -> None:
        ancestor = first.id
        while ancestor in first_part:  # never a loop of pages pointing at each other
            ancestor = first_part[ancestor]
        if rest.id != first.id and rest.id != ancestor:
            pairs[first.id] = rest
            first_part[rest.id] = first.id

    # Both sides say it first; then one side says it and the other is cut off where it meets.
    for strict in (True, False):
        for story in stories:
            if story.id in pairs:
                continue
            here = page_key(story.page)
            for target in _notes(story, "onward"):
                said = [c for c in free(by_page.get(target, [])) if here in _notes(c, "from")]
                unsaid = [c for c in free(by_page.get(target, []))
                          if not _notes(c, "from") and c.flags.continued_from_earlier_page]
                found = _pick(story, said if strict else unsaid)
                if found is not None:
                    pair(story, found)
                    break
        if strict:
            continue
        for story in stories:  # continuations whose first part lost its jump line
            if story.id in first_part:
                continue
            for target in _notes(story, "from"):
                cut = [c for c in by_page.get(target, []) if c.id not in pairs and not _notes(c, "onward")
                       and c.flags.truncated and c.id != story.id]
                found = _pick(story, cut)
                if found is not None:
                    pair(found, story)
                    break
    return pairs


def _part(story: Story, paragraph: int) -> dict:
    return {"id": story.id, "source": story.source, "page": story.page, "page_name": story.page_name,
            "url": story.url, "lines": list(story.lines), "paragraph": paragraph}


def _join(first: Story, rest: Story) -> Story:
    """One record of two parts; a sentence cut at the jump is made whole again."""
    paragraphs, roles = list(first.paragraphs), [first.paragraph_role(i) for i in range(len(first.paragraphs))]
    more, more_roles = list(rest.paragraphs), [rest.paragraph_role(i) for i in range(len(rest.paragraphs))]
    start = len(paragraphs)  # the first paragraph that begins on the next page
    if paragraphs and more and not is_complete(paragraphs[-1]) and more_roles[0] == "body":
        paragraphs[-1] += more.pop(0)
        more_roles.pop(0)
    roles += more_roles
    parts = first.parts or [_part(first, 0)]
    return replace(
        first, paragraphs=paragraphs + more, paragraph_roles=roles if "crosshead" in roles else [],
        captions=first.captions + rest.captions, duplicates=first.duplicates + rest.duplicates,
        authors=first.authors + [name for name in rest.authors if name not in first.authors],
        jumps=first.jumps + rest.jumps, parts=parts + [_part(rest, start)],
        flags=replace(first.flags, truncated=rest.flags.truncated,
                      has_photo=first.flags.has_photo or rest.flags.has_photo))


def join_continuations(stories: list[Story]) -> list[Story]:
    """The stories with every continued story joined to its continuation
    (chains of more than two pages too), in the order given, the joined
    record where its first part was."""
    editions: dict[tuple[str, str], list[Story]] = defaultdict(list)
    for story in stories:
        if (key := edition(story.paper, story.date, story.page)) is not None:
            editions[key].append(story)
    pairs: dict[str, Story] = {}
    for members in editions.values():
        pairs.update(_pairs(members))
    if not pairs:
        return list(stories)
    continuations = {story.id for story in pairs.values()}
    joined = []
    for story in stories:
        if story.id in continuations:
            continue
        while (last := story.parts[-1]["id"] if story.parts else story.id) in pairs:
            story = _join(story, pairs[last])
        joined.append(story)
    return joined
