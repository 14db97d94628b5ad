"""CMRC 2018 as a retrieval task: each paragraph is a story, each question's
relevant story is its own paragraph (CC BY-SA 4.0, ../shared/data/cmrc2018)."""
from __future__ import annotations

import json
from pathlib import Path

from storysearch.index.stories import Story

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_dev.json"


def load(path: Path = DEFAULT) -> tuple[list[Story], list[tuple[str, str]], dict[str, dict[str, int]]]:
    """(stories, [(question id, question)], qrels)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    stories, questions, qrels = [], [], {}
    for article in data:
        for paragraph in article["paragraphs"]:
            story = Story(paragraph["id"], "cmrc2018_dev.json", len(stories), "", paragraphs=[paragraph["context"]])
            stories.append(story)
            for qa in paragraph["qas"]:
                questions.append((qa["id"], qa["question"]))
                qrels[qa["id"]] = {story.id: 1}
    return stories, questions, qrels
