"""Scoring the segmenter against a folder of pages with a ``gold.json``
(the format of ``../shared/data/peoples-daily-1998-dev/``, see
``../shared/README.md``): one article per gold record, with its page lines.

Each article is matched to the story that holds its headline line. Lines are
compared as sets of 1-based page line numbers, texts with whitespace removed.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .segment import segment_page

GOLD = "gold.json"
SPACE = re.compile(r"\s+")
TRAILING_CREDIT = re.compile(r"（[^（）]{1,30}）$")
GOLD_ROLES = ("headline", "deck", "byline", "body")


def _plain(text: str) -> str:
    return SPACE.sub("", text)


@dataclass
class Score:
    pages: int = 0
    articles: int = 0
    stories: int = 0
    headline_exact: int = 0
    boundary_exact: int = 0
    begins: int = 0
    ends: int = 0
    over_split: int = 0  # articles whose lines went to more than one story (or debris)
    under_split: int = 0  # stories holding lines of more than one article
    tails: int = 0
    tails_reattached: int = 0
    broken: int = 0
    broken_rejoined: int = 0
    seconds: float = 0.0
    roles: Counter = field(default_factory=Counter)  # (gold role, produced role) -> lines
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, page, example)

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    @property
    def figures(self) -> dict[str, float]:
        return {
            "stories per article": self.rate(self.stories, self.articles),
            "headline exact": self.rate(self.headline_exact, self.articles),
            "boundary exact": self.rate(self.boundary_exact, self.articles),
            "begins": self.rate(self.begins, self.articles),
            "ends": self.rate(self.ends, self.articles),
            "tails reattached": self.rate(self.tails_reattached, self.tails),
            "broken paragraphs rejoined": self.rate(self.broken_rejoined, self.broken),
        }


def gold_roles(lines: list[str], article: dict) -> dict[int, str]:
    """Page line → gold role: the headline line, deck lines and the byline
    line found by their text right after the headline, everything else body."""
    roles = {no: "body" for no in article["lines"]}
    roles[article["headline_line"]] = "headline"
    following = [no for no in sorted(article["lines"]) if no > article["headline_line"]]
    decks = [_plain(d) for d in article["deck"]]
    for no in following[:len(decks) + 1]:
        text = _plain(lines[no - 1])
        if text in decks:
            roles[no] = "deck"
        elif article["byline"] and text == _plain(article["byline"]):
            roles[no] = "byline"
            break
        else:
            break
    return roles


def score_page(score: Score, name: str, text: str, articles: list[dict]) -> None:
    lines = text.split("\n")
    started = time.perf_counter()
    result = segment_page(name, text)
    score.seconds += time.perf_counter() - started
    story_of: dict[int, int] = {}
    for index, story in enumerate(result.stories):
        for no in story.lines:
            story_of[no] = index
    score.pages += 1
    score.articles += len(articles)
    score.stories += len(result.stories)
    owner: dict[int, int] = {}
    for index, article in enumerate(articles):
        for no in article["lines"]:
            owner[no] = index
        for no, role in gold_roles(lines, article).items():
            score.roles[role, result.roles[no].role if no in result.roles else "missing"] += 1
    for story in result.stories:
        if len({owner.get(no) for no in story.lines}) > 1:
            score.under_split += 1
            score.errors.append(("under-split", name, story.headline or story.paragraphs[0][:20]))
    for article in articles:
        want = set(article["lines"])
        index = story_of.get(article["headline_line"])
        story = result.stories[index] if index is not None else None
        if len({story_of.get(no) for no in want}) > 1:
            score.over_split += 1
            score.errors.append(("over-split", name, article["headline"]))
        if story is not None and _plain(story.headline) == _plain(article["headline"]):
            score.headline_exact += 1
        else:
            score.errors.append(("headline", name, f"{article['headline']} → {story.headline if story else None}"))
        if story is not None and set(story.lines) == want:
            score.boundary_exact += 1
        body = _plain("".join(story.paragraphs or story.captions)) if story else ""
        score.begins += body.startswith(article["begins"]) or _plain(" ".join(
            f"（{a}）" for a in story.authors) if story else "") == article["begins"]
        score.ends += TRAILING_CREDIT.sub("", body).endswith(TRAILING_CREDIT.sub("", article["ends"])) or (
            not body and story is not None and bool(story.authors))
        if article["tail_lines"]:
            score.tails += 1
            reattached = all(story_of.get(no) == index for no in article["tail_lines"]) and index is not None
            score.tails_reattached += reattached
            if not reattached:
                score.errors.append(("tail", name, lines[article["tail_lines"][0] - 1][:30]))
        for first, second in article["broken"]:
            # Rejoined: one paragraph (or caption) of the story holding the
            # first half goes on with the second half; in which story that
            # is, boundary exact measures.
            score.broken += 1
            joined = _plain(lines[first - 1])[-6:] + _plain(lines[second - 1])[:6]
            holder = result.stories[story_of[first]] if first in story_of else None
            rejoined = holder is not None and any(joined in _plain(p) for p in holder.paragraphs + holder.captions)
            score.broken_rejoined += rejoined
            if not rejoined:
                score.errors.append(("broken", name, joined))


def score_folder(folder: Path, files: list[str] | None = None) -> Score:
    """Segment every page of ``folder`` named in its gold.json (or only ``files``) and score it."""
    gold = json.loads((Path(folder) / GOLD).read_text(encoding="utf-8"))
    score = Score()
    for page in gold["pages"]:
        if files is not None and page["file"] not in files:
            continue
        text = (Path(folder) / page["file"]).read_text(encoding="utf-8")
        score_page(score, page["file"], text, page["articles"])
    return score
