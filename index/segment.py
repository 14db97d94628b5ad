"""Splitting a raw newspaper page into clean stories.

The page is read line by line and every non-empty line becomes part of exactly
one story (headline, subheadline, byline, paragraph, caption, credit or a
removed duplicate) or is named as debris. In order:

1. classify lines: web debris, page title, headline (a second headline line is
   the subheadline), byline (names or an organisation), credit ``(names)``,
   photo caption, body; a headline printed again continues its story, and in
   reporter stories (``■记者`` bylines) headline-like lines are crossheads;
2. move interleaved fragments: a run of lines that follows a line broken
   mid-sentence, and reads like another story on the page far more than like
   its own, goes to that story;
3. drop paragraphs printed twice (verbatim, truncated, or with a place changed),
   keeping the fuller text;
4. join lines broken mid-sentence or mid-word;
5. set the flags.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from .analysis import jieba_tokenizer
from .stories import Story, StoryFlags, story_id
from .textsim import near_duplicate

# Recorded in the index: when it changes, the next `storysearch index`
# segments every page again. Bump it whenever a page gives other stories
# (or other story ids) than before.
SEGMENTER_VERSION = 2
MAX_HEADLINE_CHARS = 40
MAX_BYLINE_CHARS = 24
SENTENCE_PUNCTUATION = set(",，。;；!！?？、")
# A sentence is complete when it ends in one of these, closing quotes aside.
TERMINAL = "。！？!?…"
CLOSERS = "”’」』)）》\"'"
PAIRS = ("“”", "‘’", "《》", "()", "（）", "「」")

DEBRIS = re.compile(r"^(?:来源[:：].*|\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|目录\s*返回|返回\s*目录"
                    r"|首页|上一[页篇]|下一[页篇]|◎?欢迎参与讨论.*|[【\[]?打印[】\]]?|[【\[]?关闭[】\]]?)$")
SOURCE_LINE = re.compile(r"^来源[:：]")
PHOTO_CREDIT = re.compile(r"(?:图片由.{1,30}提供|供图|\s摄)$")
CAPTION = re.compile(r"(?:^图为|。图为|" + PHOTO_CREDIT.pattern + ")")
NAME = r"[\u4e00-\u9fff]{1,4}"
NAMES = rf"{NAME}(?:\s+{NAME})*"
BYLINE = re.compile(rf"^(?:■\s*)?(?:记者\s*)?({NAMES})$")
REPORTER_BYLINE = re.compile(r"^■|^记者")
ORGANISATION = re.compile(r"^[\u4e00-\u9fff()（）]{2,24}(?:委|部|党委|党工委|党组|局|办|办公室|中心|政府|协会|联合会)$")
CREDIT = re.compile(rf"^[(（]\s*({NAMES})\s*[)）]$")
TRAILING_CREDIT = re.compile(rf"(?<=[{TERMINAL}”’])\s*[(（]\s*({NAMES})\s*[)）]$")
SHORT_CAPTION_CHARS = 30
SHORT_LEAD_CHARS = 40
LEAD_OPENING = re.compile(r"^(?:近日|日前|近期|近年|今年|去年|连日来|目前|当前|据|随着|为了?|在|\d{1,4}[年月日])")
# Moving a fragment: the other story must be this much more similar than its
# own. On the bundled pages the fragments that belong elsewhere score 7.5 to
# 10 times higher there; true continuations at most 1.9 times.
MOVE_RATIO = 4.0
MOVE_MIN_SIMILARITY = 0.08
DUPLICATE_CONTAINMENT = 0.8


@dataclass
class Line:
    no: int
    text: str
    kind: str = "body"  # body, caption, credit, crosshead
    credit: str = ""  # names credited at the end of this line


@dataclass
class Debris:
    no: int
    text: str
    reason: str


@dataclass
class _Draft:
    headline: str
    lines: list[int] = field(default_factory=list)
    subheadline: str = ""
    authors: list[str] = field(default_factory=list)
    reporter: bool = False
    blocks: list[list[Line]] = field(default_factory=list)  # body runs between headlines

    def items(self) -> list[Line]:
        return [line for block in self.blocks for line in block]


@dataclass
class PageSegmentation:
    stories: list[Story]
    debris: list[Debris]
    # Story text left out of the stories (duplicates, headlines without text):
    # what an index run reports, so that nothing is lost silently.
    removed: list[Debris] = field(default_factory=list)


def is_complete(text: str) -> bool:
    """Does the text end a sentence?"""
    return text.rstrip(CLOSERS + " ")[-1:] in TERMINAL


def is_balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in PAIRS)


def breaks_word(left: str, right: str) -> bool:
    """Do the end of ``left`` and the start of ``right`` form one word, as in
    ``推进机`` / ``制``? Then the two lines are one sentence broken apart."""
    tail, head = left[-3:], right[:3]
    for word, start, end in jieba_tokenizer().tokenize(tail + head):
        if start < len(tail) < end and len(word) >= 2:
            return True
    return False


def _headline_like(text: str) -> bool:
    return (len(text) <= MAX_HEADLINE_CHARS
            and not SENTENCE_PUNCTUATION.intersection(text)
            and is_balanced(text)
            and not text.startswith(("(", "（", "■"))
            and not CAPTION.search(text) and not CREDIT.match(text) and not DEBRIS.match(text))


def split_names(names: str) -> list[str]:
    """``吴丽珍 陈金金`` → two names; ``孟 航`` is one name printed with a space."""
    result: list[str] = []
    for part in names.split():
        if result and len(result[-1]) == 1:
            result[-1] += part
        else:
            result.append(part)
    return result


def _add_authors(draft: _Draft, names: list[str]) -> None:
    draft.authors.extend(name for name in names if name not in draft.authors)


# ---------------------------------------------------------------- 1. classify
def _classify(numbered: list[tuple[int, str]]) -> tuple[list[_Draft], list[Debris]]:
    drafts: list[_Draft] = []
    debris: list[Debris] = []
    by_headline: dict[str, _Draft] = {}
    current: _Draft | None = None
    expecting = "none"  # after a headline: "subheadline", "byline", then "none"
    body_seen = False

    def next_text(i: int) -> str | None:
        for _, text in numbered[i + 1:]:
            if not DEBRIS.match(text) and not CAPTION.search(text):
                return text
        return None

    def start_block(draft: _Draft) -> None:
        draft.blocks.append([])

    for i, (no, text) in enumerate(numbered):
        if DEBRIS.match(text):
            debris.append(Debris(no, text, "web page debris"))
            continue
        if not body_seen and current is None and any(SOURCE_LINE.match(t) for _, t in numbered[i + 1:i + 2]):
            debris.append(Debris(no, text, "page title"))
            continue
        if current is not None and expecting in ("subheadline", "byline"):
            match = BYLINE.match(text)
            if len(text) <= MAX_BYLINE_CHARS and match:
                _add_authors(current, split_names(match.group(1)))
                current.reporter = bool(REPORTER_BYLINE.match(text))
                current.lines.append(no)
                expecting = "none"
                continue
            if ORGANISATION.match(text):
                _add_authors(current, [text])
                current.lines.append(no)
                expecting = "none"
                continue
        following = next_text(i)
        has_more = any(not DEBRIS.match(t) for _, t in numbered[i + 1:])
        if _headline_like(text) and has_more and (following is None or not breaks_word(text, following)):
            if expecting == "subheadline" and current is not None:
                current.subheadline = text
                current.lines.append(no)
                expecting = "byline"
                continue
            if current is not None and current.reporter and not (
                    following and BYLINE.match(following) and len(following) <= MAX_BYLINE_CHARS):
                current.blocks[-1].append(Line(no, text, "crosshead"))
                continue
            if text in by_headline:  # the same headline printed again: the story continues
                current = by_headline[text]
                current.lines.append(no)
                start_block(current)
                expecting = "none"
                continue
            current = _Draft(text, [no])
            start_block(current)
            drafts.append(current)
            by_headline[text] = current
            expecting = "subheadline"
            continue
        body_seen = True
        expecting = "none"
        if current is None:  # text before the first headline continues an earlier page
            current = _Draft("", [])
            start_block(current)
            drafts.append(current)
        credit = CREDIT.match(text)
        if credit:
            current.blocks[-1].append(Line(no, text, "credit", credit.group(1)))
            continue
        trailing = TRAILING_CREDIT.search(text)
        names = trailing.group(1) if trailing else ""
        body = text[:trailing.start()].rstrip() if trailing else text
        kind = "caption" if CAPTION.search(body) else "body"
        current.blocks[-1].append(Line(no, body, kind, names))
    return drafts, debris


# ------------------------------------------------------------ 2. fragments
def _bigrams(text: str) -> Counter:
    chars = [c for c in text if c.isalnum()]
    return Counter(a + b for a, b in zip(chars, chars[1:]))


class _Similarity:
    """Cosine similarity of TF-IDF weighted character bigrams, IDF over the page's lines."""

    def __init__(self, texts: list[str]):
        df = Counter(gram for text in texts for gram in set(_bigrams(text)))
        n = max(len(texts), 1)
        self.idf = {gram: math.log(1 + n / count) for gram, count in df.items()}

    def vector(self, text: str) -> dict[str, float]:
        return {g: c * self.idf.get(g, 1.0) for g, c in _bigrams(text).items()}

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        dot = sum(v * b.get(g, 0.0) for g, v in a.items())
        norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
        return dot / norm if norm else 0.0


def _draft_text(draft: _Draft, skip: set[int] = frozenset()) -> str:
    return "\n".join([draft.headline] + [line.text for line in draft.items() if line.no not in skip])


def _move_fragments(drafts: list[_Draft]) -> None:
    texts = [line.text for d in drafts for line in d.items()]
    sim = _Similarity(texts)
    moves: list[tuple[_Draft, list[Line], _Draft]] = []
    for draft in drafts:
        for block in draft.blocks:
            body = [line for line in block if line.kind == "body"]
            for prev, start in zip(body, body[1:]):
                if is_complete(prev.text):
                    continue
                run = block[block.index(start):]
                skip = {line.no for line in run}
                fragment = sim.vector("\n".join(line.text for line in run))
                own = sim.cosine(fragment, sim.vector(_draft_text(draft, skip)))
                scored = [(sim.cosine(fragment, sim.vector(_draft_text(other))), i)
                          for i, other in enumerate(drafts) if other is not draft]
                if not scored:
                    continue
                best, index = max(scored)
                if best >= MOVE_MIN_SIMILARITY and best >= MOVE_RATIO * own:
                    moves.append((draft, run, drafts[index]))
                    break
    for source, run, target in moves:
        for block in source.blocks:
            if run and run[0] in block:
                del block[block.index(run[0]):]
        target.blocks.append(run)


# ----------------------------------------------------------- 3. duplicates
def _remove_duplicates(drafts: list[_Draft]) -> dict[int, list[str]]:
    """Drop every body line that repeats an earlier line of the same story
    (page order); the fuller of the two texts stays at the earlier place.
    Two stories that say similar things are two stories: lines are compared
    only within one story, after fragments went back to their stories."""
    removed: dict[int, list[str]] = {}
    for index, draft in enumerate(drafts):
        kept: list[Line] = []
        for line in sorted((line for line in draft.items() if line.kind == "body"), key=lambda x: x.no):
            twin = next((k for k in kept if near_duplicate(k.text, line.text, DUPLICATE_CONTAINMENT)), None)
            if twin is None:
                kept.append(line)
                continue
            if len(line.text) > len(twin.text):
                twin.text, line.text = line.text, twin.text
            twin.credit = twin.credit or line.credit
            line.kind = "duplicate"
            removed.setdefault(index, []).append(line.text)
    return removed


# ------------------------------------------------------ 4-5. join and flag
def _is_short_sentence(text: str) -> bool:
    return len(text) <= SHORT_CAPTION_CHARS and is_complete(text) and not {",", "，"} & set(text)


def _starts_mid_sentence(paragraphs: list[str]) -> bool:
    """Does the story's text begin with the tail of a sentence from an earlier
    page? Either a closing quote comes before any opening one, or the first
    paragraph is a short complete sentence, much shorter than the story's
    other paragraphs, that does not open the way leads do."""
    if not paragraphs:
        return False
    first = paragraphs[0]
    close, open_ = first.find("”"), first.find("“")
    if close != -1 and (open_ == -1 or close < open_):
        return True
    rest = sorted(len(p) for p in paragraphs[1:])
    return (len(first) < SHORT_LEAD_CHARS and is_complete(first) and not LEAD_OPENING.match(first)
            and bool(rest) and len(first) < rest[len(rest) // 2] / 2)


def _assemble(draft: _Draft, source: str, order: int, duplicates: list[str]) -> Story:
    items = draft.items()
    has_photo_credit = any(line.kind == "caption" and PHOTO_CREDIT.search(line.text) for line in items)
    body = [line for line in items if line.kind in ("body", "crosshead")]
    # A short complete sentence inside a broken sentence of a story with a photo is the photo's caption.
    if has_photo_credit:
        for prev, line, _following in zip(body, body[1:], body[2:]):
            if line.kind == "body" and _is_short_sentence(line.text) and not is_complete(prev.text):
                line.kind = "caption"
    paragraphs: list[str] = []
    captions: list[str] = []
    open_sentence = False
    for line in items:
        if line.kind == "caption":
            captions.append(line.text)
        elif line.kind == "body" and line.text:
            if open_sentence and paragraphs:
                paragraphs[-1] += line.text
            else:
                paragraphs.append(line.text)
            open_sentence = not is_complete(line.text)
        elif line.kind == "crosshead":
            paragraphs.append(line.text)
            open_sentence = False
        if line.credit:
            _add_authors(draft, split_names(line.credit))
    flags = StoryFlags(
        continued_from_earlier_page=not draft.headline or _starts_mid_sentence(paragraphs),
        truncated=bool(paragraphs) and not is_complete(paragraphs[-1]),
        has_photo=bool(captions),
    )
    lines = sorted(set(draft.lines) | {line.no for line in items})
    return Story(story_id(source, order), source, order, draft.headline, draft.subheadline,
                 list(draft.authors), paragraphs, captions, flags, duplicates, lines)


def segment_page(source: str, text: str) -> PageSegmentation:
    numbered = [(no, line.strip()) for no, line in enumerate(text.split("\n"), 1) if line.strip()]
    page_lines = dict(numbered)
    drafts, debris = _classify(numbered)
    _move_fragments(drafts)
    removed = _remove_duplicates(drafts)
    stories: list[Story] = []
    reported: list[Debris] = []
    for index, draft in enumerate(drafts):
        if not any(line.kind in ("body", "caption") for line in draft.items()):
            numbers = sorted(set(draft.lines) | {line.no for line in draft.items()})
            dropped = [Debris(no, page_lines[no], "no story text with it") for no in numbers]
            debris.extend(dropped)
            reported.extend(dropped)
            continue
        reported.extend(Debris(line.no, page_lines[line.no], f"paragraph printed twice in {draft.headline or '(无标题)'}")
                        for line in draft.items() if line.kind == "duplicate")
        stories.append(_assemble(draft, source, len(stories), removed.get(index, [])))
    debris.sort(key=lambda d: d.no)
    reported.sort(key=lambda d: d.no)
    return PageSegmentation(stories, debris, reported)


def split_stories(source: str, text: str) -> list[Story]:
    return segment_page(source, text).stories
