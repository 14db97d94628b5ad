"""The story record: what segmentation produces and everything downstream reads."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import PurePosixPath


@dataclass
class StoryFlags:
    continued_from_earlier_page: bool = False  # the text starts mid-sentence
    truncated: bool = False  # the text stops mid-sentence
    has_photo: bool = False


@dataclass
class Story:
    id: str
    source: str
    order: int
    headline: str
    subheadline: str = ""
    authors: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    flags: StoryFlags = field(default_factory=StoryFlags)
    duplicates: list[str] = field(default_factory=list)  # paragraphs printed again, removed
    lines: list[int] = field(default_factory=list)  # 1-based page lines this story was made from
    kicker: str = ""  # 引题, the headline line above the main headline
    # Role of each paragraph ("body" or "crosshead"); empty when all are body.
    paragraph_roles: list[str] = field(default_factory=list)
    jumps: list[str] = field(default_factory=list)  # jump lines such as 下转第二版

    def paragraph_role(self, index: int) -> str:
        return self.paragraph_roles[index] if index < len(self.paragraph_roles) else "body"

    @property
    def body(self) -> str:
        """Paragraphs and captions: the searchable text under the headline."""
        return "\n".join([*self.paragraphs, *self.captions])

    @property
    def title(self) -> str:
        return " ".join(part for part in (self.kicker, self.headline, self.subheadline) if part)

    @property
    def text(self) -> str:
        """Everything a reader sees of the story: what is indexed."""
        return "\n".join(part for part in (self.title, self.body) if part)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Story":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["flags"] = StoryFlags(**data.get("flags", {}))
        return cls(**values)


def story_id(source: str, order: int) -> str:
    """Stable for the same file: the file's path without ``.txt`` and the
    story's order on the page (``/`` becomes ``~`` so the id is one URL segment)."""
    stem = str(PurePosixPath(source).with_suffix("")).replace("/", "~")
    return f"{stem}-{order:03d}"
