"""Splitting a newspaper page into stories.

A first, line-based splitter: a headline is a short line without sentence
punctuation; an optional byline of names follows it; names in parentheses at
the end of a column credit the story above; web-page debris is dropped.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

MAX_HEADLINE_CHARS = 40
MAX_BYLINE_CHARS = 24
SENTENCE_PUNCTUATION = set(",，。;；!！?？、")
CAPTION = re.compile(r"(^图为|图片由.*提供$|供图$|\s摄$)")
DEBRIS = re.compile(
    r"^(来源[:：].*|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(:\d{2})?|目录\s*返回|首页|◎欢迎参与讨论.*)$")
NAME = r"[\u4e00-\u9fff]{1,4}"
BYLINE = re.compile(rf"^(?:■?记者\s*)?{NAME}(?:\s+{NAME})*$")
TRAILING_CREDIT = re.compile(rf"^[(（]\s*({NAME}(?:\s+{NAME})*)\s*[)）]$")


@dataclass
class Story:
    id: str
    source: str
    order: int
    headline: str
    authors: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def text(self) -> str:
        """Headline and body, the text that is indexed."""
        return "\n".join([self.headline, *self.paragraphs])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Story":
        return cls(**{k: data[k] for k in ("id", "source", "order", "headline", "authors", "paragraphs")})


def story_id(source: str, order: int) -> str:
    """Stable for the same file: the file's path (without ``.txt``) and the order."""
    stem = str(PurePosixPath(source).with_suffix("")).replace("/", "~")
    return f"{stem}-{order:03d}"


def _is_headline(line: str) -> bool:
    return (len(line) <= MAX_HEADLINE_CHARS
            and not SENTENCE_PUNCTUATION.intersection(line)
            and not line.startswith(("(", "（", "■"))
            and not CAPTION.search(line))


def _split_names(names: str) -> list[str]:
    parts = re.sub(r"^■?记者\s*", "", names).split()
    result: list[str] = []
    for part in parts:
        # "孟 航": a two-character name printed with a space inside
        if result and len(result[-1]) == 1:
            result[-1] += part
        else:
            result.append(part)
    return result


def split_stories(source: str, text: str) -> list[Story]:
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line and not DEBRIS.match(line)]
    stories: list[Story] = []
    current: Story | None = None
    for i, line in enumerate(lines):
        credit = TRAILING_CREDIT.match(line)
        if credit and current is not None:
            current.authors.extend(n for n in _split_names(credit.group(1)) if n not in current.authors)
            continue
        if (current is not None and current.headline and not current.paragraphs
                and not current.authors and len(line) <= MAX_BYLINE_CHARS and BYLINE.match(line)):
            current.authors = _split_names(line)
            continue
        if _is_headline(line) and i + 1 < len(lines):
            if current is not None and current.headline and not current.paragraphs \
                    and not current.authors and " / " not in current.headline:
                current.headline += " / " + line  # a two-line headline
            else:
                current = Story("", source, 0, line)
                stories.append(current)
            continue
        if current is None:  # text before the first headline continues an earlier page
            current = Story("", source, 0, "")
            stories.append(current)
        if CAPTION.search(line):
            continue
        current.paragraphs.append(line)
    stories = [s for s in stories if s.paragraphs]
    for order, story in enumerate(stories):
        story.order, story.id = order, story_id(source, order)
    return stories
