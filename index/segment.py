"""Splitting a raw newspaper page into clean stories.

Every non-empty line gets one role, and a reason for it (``segment_page(...)
.roles``, shown by ``storysearch stories --explain``), and lands in exactly
one story or in the page's debris. In order:

1. debris: web page debris and the title of a web page;
2. story starts: a line starts a story when the story-start model
   (``story_start``: layout and cohesion features, a linear model) says so,
   unless a rule says otherwise (captions, credits, jump lines and ``（完）``
   never start a story; in a reporter story, ``■记者``, a headline-like line
   that no byline follows is a crosshead; a headline printed again continues
   its story);
3. the headline group: after the headline, a line that a byline follows is
   the subheadline (or deck), and with two such lines the first headline
   line is the kicker; then the byline (names, ``本报记者 XXX``, an
   organisation);
4. the body: credits ``（names）``, captions (``图为…``, ``… 摄``), jump
   lines (``（下转第二版）``, kept on the story), ``（完）``, numbered and
   lead-in crossheads (``一、…``, ``原因之一：``), paragraphs;
5. interleaved continuations: a story's last paragraphs that read far more
   like the story before it go back to that story; a run after a sentence
   broken off mid-way that reads like a nearby story goes there;
6. paragraphs printed twice within one story are dropped, keeping the fuller
   text; lines broken mid-sentence are joined; flags are set.
"""
from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from . import story_start
from .cohesion import Similarity
from .jumps import jump_target
from .segment_features import SPACED_PHRASES, PageLines, line_features, start_scores
from .stories import Story, StoryFlags, story_id
from .textpatterns import (BYLINE_WORDS, COMMON_SURNAMES, CLOSERS, CREDIT, DATELINE, DEBRIS, END_MARK, JUMP, MAX_HEADLINE_CHARS, NUMBERED,
                           PHOTO_CREDIT, REPORTER_BYLINE, SENTENCE_PUNCTUATION, SOURCE_LINE, STANDING_HEAD, TRAILING_CREDIT,
                           breaks_word, byline_like, byline_names, caption_like, continues_sentence, dictionary_word_across,
                           headline_like,
                           is_balanced, is_complete, runs_into, split_names)
from .textsim import char_grams, near_duplicate

# Recorded in the index: when it changes, the next `storysearch index`
# segments every page again. Bump it whenever a page gives other stories
# (or other story ids) than before.
SEGMENTER_VERSION = 7
OPENING_PARENTHESES = ("(", "（")
ALNUM = re.compile(r"[^\W_]")  # what str.isalnum() accepts
SECTION_NUMBER = re.compile(r"^[一二三四五六七八九十]+、")
SHORT_CAPTION_CHARS = 30
SHORT_LEAD_CHARS = 40
LEAD_CHARS = 40
MAX_CROSSHEAD_CHARS = 30
MAX_LEAD_IN_CHARS = 16
LEAD_OPENING = re.compile(r"^(?:近日|日前|近期|近年|今年|去年|连日来|目前|当前|据|随着|为了?|在|\d{1,4}[年月日])")
# Moving a run after a broken sentence: the other story must be this much
# more similar than its own. On the bundled pages the fragments that belong
# elsewhere score 7.5 to 10 times higher there; true continuations at most 1.9.
MOVE_RATIO = 4.0
MOVE_MIN_SIMILARITY = 0.08
# Stories compared with a fragment: this many before and after its own, so
# the work grows with the page, not with its square.
NEIGHBOURS = 2
# Interleaved tails: a story's last one or two paragraphs go to the story
# before it when they are at least TAIL_RATIO times as similar to it as to
# the rest of their own story (see README, "interleaved continuations").
TAIL_RATIO = 4.0
TAIL_MIN_SIMILARITY = 0.05
TAIL_MAX_PARAGRAPHS = 2
# PHOTO_TAIL: the one paragraph after a photo story's caption is a tail
# candidate too. Its own story is then only a headline and a caption, too
# little text for TAIL_RATIO: it goes back when it reads more like the story
# before than like its own caption (PHOTO_TAIL_RATIO), above
# TAIL_MIN_SIMILARITY. Of the 19 such paragraphs of the development set
# (clean and messy), 2 belong to the story before (similarity 0.16 and 0.19
# there), and both move; none of the other 17 does (their similarity to the
# story before is at most 0.045, under TAIL_MIN_SIMILARITY).
PHOTO_TAIL_RATIO = 1.0
DUPLICATE_CONTAINMENT = 0.8
COMMON_GRAM = 50
DUPLICATE_CANDIDATES = 5
# Up to this many paragraphs kept, a paragraph is compared with each by one
# set operation before the 4-gram index is asked (work stays linear).
DIRECT_CHECK = 8
# A fragment that belongs to another story ends its block within this many lines.
FRAGMENT_MAX_LINES = 4
# Parallel subheads: lines of at most MAX_SUBHEAD_CHARS that end in the same
# SUBHEAD_ENDING characters (numbers read as one sign).
MAX_SUBHEAD_CHARS = 20
SUBHEAD_ENDING = 3
DIGITS = re.compile(r"[\d０-９]+")
# Story-start probabilities this near the threshold are worked out again as the model does (see _verdicts).
VERDICT_MARGIN = 1e-9
# A photo credit alone on its line: ``（新华社记者兰红光摄）``.
BARE_PHOTO_CREDIT = re.compile(r"^[（(][^（）()]{1,20}摄[^（）()]{0,6}[）)]$")


@dataclass
class Role:
    role: str  # debris, kicker, headline, subheadline, byline, body, crosshead, caption, credit, jump, end, duplicate
    reason: str


@dataclass
class Line:
    no: int
    text: str
    kind: str = "body"  # body, caption, credit, crosshead, jump, end, duplicate
    credit: str = ""  # names credited at the end of this line
    joins: bool = False  # the rest of the line before (a crosshead broken at a column break)


@dataclass
class Debris:
    no: int
    text: str
    reason: str


@dataclass
class _Draft:
    headline: str
    lines: list[int] = field(default_factory=list)  # the headline group's lines
    kicker: str = ""
    subheadline: str = ""
    authors: list[str] = field(default_factory=list)
    reporter: bool = False
    blocks: list[list[Line]] = field(default_factory=list)  # body runs between headlines
    # how the story's short headline-like body lines (its subheads) end: see _subhead_ending
    subhead_endings: set[str] = field(default_factory=set)

    def items(self) -> list[Line]:
        return [line for block in self.blocks for line in block]


@dataclass
class PageSegmentation:
    stories: list[Story]
    debris: list[Debris]
    # Story text left out of the stories (duplicates, headlines without text):
    # what an index run reports, so that nothing is lost silently.
    removed: list[Debris] = field(default_factory=list)
    roles: dict[int, Role] = field(default_factory=dict)  # page line -> its role and why
    # Text similarities computed (interleaved tails and fragments): the work
    # that must grow with the page, never with its square.
    comparisons: int = 0


def _add_authors(draft: _Draft, names: Sequence[str]) -> None:
    draft.authors.extend(name for name in names if name not in draft.authors)


def _explain_start(model: story_start.StartModel, features: dict[str, float], explain: bool) -> str:
    """The model's verdict; with ``explain``, its probability and the three
    features that pushed hardest (working them out costs time on big pages)."""
    if not explain:
        return "story-start model"
    reasons = ", ".join(f"{name} {term:+.1f}" for name, term in model.reasons(features))
    return f"story-start model p={model.probability(features):.2f} ({reasons})"


# ------------------------------------------------------------ 1. debris
def _debris(numbered: list[tuple[int, str]], roles: dict[int, Role]) -> list[Debris]:
    found: list[Debris] = []
    for i, (no, text) in enumerate(numbered):
        if DEBRIS.match(text):
            found.append(Debris(no, text, "web page debris"))
        elif len(found) == i and i + 1 < len(numbered) and SOURCE_LINE.match(numbered[i + 1][1]):
            found.append(Debris(no, text, "page title"))
    for item in found:
        roles[item.no] = Role("debris", item.reason)
    return found


# ------------------------------------------------------- 2-4. classify
def _verdicts(model: story_start.StartModel, scores: np.ndarray) -> list[bool]:
    """``model.probability_of(score) >= model.threshold`` for every score:
    with numpy, and where numpy's probability comes near the threshold (its
    exp may differ from math.exp in the last bits), as the model says."""
    probability = 1.0 / (1.0 + np.exp(-scores))
    verdicts = probability >= model.threshold
    for i in np.flatnonzero(np.abs(probability - model.threshold) < VERDICT_MARGIN).tolist():
        verdicts[i] = model.probability_of(float(scores[i])) >= model.threshold
    return verdicts.tolist()


def _body_line(no: int, text: str, previous: str | None, following: str | None) -> tuple[Line, str]:
    """The role of a line inside a story's body, and the rule that gave it."""
    if text[:1] in OPENING_PARENTHESES:  # (end marks, jump lines and credits open with one)
        if END_MARK.match(text):
            return Line(no, text, "end"), "end mark （完）"
        if JUMP.match(text):
            return Line(no, text, "jump"), "jump line"
        credit = CREDIT.match(text)
        if credit and not caption_like(text):
            return Line(no, text, "credit", credit.group(1)), "credit: names in parentheses"
    trailing = TRAILING_CREDIT.search(text) if text.endswith((")", "）")) else None
    names = trailing.group(1) if trailing else ""
    body = text[:trailing.start()].rstrip() if trailing else text
    if caption_like(body):
        return Line(no, body, "caption", names), "photo caption or photo credit"
    if trailing:
        return Line(no, body, "body", names), "paragraph with a credit"
    # (the length first: paragraphs are longer than crossheads)
    if len(text) > MAX_CROSSHEAD_CHARS or following is None or not _finished(previous) or is_complete(text):
        return Line(no, text, "body"), "body"
    numbered = NUMBERED.match(text)
    # ``一、…`` heads a section; ``１、…`` numbers list items and photos
    heading = text[numbered.end():] if numbered and SECTION_NUMBER.match(text) else text
    if is_balanced(text) and not SENTENCE_PUNCTUATION & set(heading[:-1]) and not continues_sentence(following):
        if numbered and len(text) - numbered.end() >= 2 and len(following) > LEAD_CHARS and not runs_into(text, following):
            return Line(no, text, "crosshead"), "crosshead: numbered heading between paragraphs"
        if text.endswith(("：", ":")) and len(text) <= MAX_LEAD_IN_CHARS:
            return Line(no, text, "crosshead"), "crosshead: short lead-in ending in a colon"
    return Line(no, text, "body"), "body"


def _classify(items: list[tuple[int, str]], page: PageLines, roles: dict[int, Role], explain: bool) -> list[_Draft]:
    model = story_start.load()
    texts = page.texts
    # the model's scores for every line, without and with a story starting on the line before
    # and its verdicts, both ways, for every line at once
    verdicts = [_verdicts(model, column) for column in start_scores(page, model.weights)]
    # does line i run on into line i + 1 (runs_into, worked out once per page with the features)
    runs_on = [bool(value) for value in page.own["breaks next"].tolist()]
    drafts: list[_Draft] = []
    by_headline: dict[str, _Draft] = {}
    current: _Draft | None = None
    group: list[int] = []  # indexes of the current headline group while it is open
    previous_starts = False
    n = len(texts)
    broken_subhead = False  # the line before is a subhead that this line ends
    for i, (no, text) in enumerate(items):
        previous = texts[i - 1] if i else None
        following = texts[i + 1] if i + 1 < n else None
        if broken_subhead and current is not None:
            broken_subhead = False
            current.blocks[-1].append(Line(no, text, "crosshead", joins=True))
            roles[no] = Role("crosshead", "crosshead: the rest of a subhead broken at a column break")
            continue
        if current is not None and group:
            if _is_byline(text, following):
                _add_authors(current, byline_names(text))
                current.reporter = bool(REPORTER_BYLINE.match(text))
                current.lines.append(no)
                roles[no] = Role("byline", "byline: names, a reporter's role or an organisation after the headline")
                group.clear()
                previous_starts = False
                continue
            # a subheadline or deck (a byline under it), or the headline under a
            # kicker (a subheadline and a byline under them)
            second = texts[i + 2] if i + 2 < n else None
            if (following is not None and len(group) < 3 and not caption_like(text)
                    and (headline_like(text) or is_complete(text) or text.endswith(("—", "－")))
                    and not _broken_into_name_shape(text, following)
                    and (_is_byline(following, second) or (len(group) == 1 and headline_like(text) and headline_like(following)
                                                    and second is not None and not _broken_into_name_shape(following, second)
                                                    and _is_byline(second, texts[i + 3] if i + 3 < n else None)
                                                    and _is_lead(texts[i + 3] if i + 3 < n else None)))):
                group.append(i)
                current.lines.append(no)
                _name_group(current, [texts[j] for j in group], [items[j][0] for j in group], roles)
                previous_starts = False
                continue
        group.clear()
        starts = verdicts[previous_starts][i] and following is not None
        reason = _explain_start(model, line_features(page, i, previous_starts), explain) if explain \
            else "story-start model"
        if not starts and following is not None and len(text) <= MAX_HEADLINE_CHARS:
            rule = _rule_start(texts, i, current, runs_on[i])
            if rule:
                starts, reason = True, rule
        vetoed = _never_starts(text, following, runs_on[i]) if starts else ""
        if vetoed:
            starts, reason = False, vetoed
        if starts and current is not None and current.subhead_endings and not byline_like(following) and (
                _subhead_ending(text) in current.subhead_endings
                # (a subhead broken at a column break, “钱”字 / 了得, ends with the line after it)
                or (len(text) + len(following) <= MAX_SUBHEAD_CHARS and headline_like(following)
                    and not is_complete(text) and _subhead_ending(text + following) in current.subhead_endings)):
            reason = "crosshead: it ends as an earlier subhead of this story does (parallel subheads: “假”字了得, “钱”字了得)"
            current.blocks[-1].append(Line(no, text, "crosshead"))
            roles[no] = Role("crosshead", reason)
            previous_starts = False
            broken_subhead = _subhead_ending(text) not in current.subhead_endings
            continue
        if current is not None and current.reporter and headline_like(text) and following is not None and not (
                byline_like(following) or runs_on[i]):
            reason = "crosshead: headline-like line in a reporter story (■记者) without its own byline"
            current.blocks[-1].append(Line(no, text, "crosshead"))
            roles[no] = Role("crosshead", reason)
            previous_starts = False
            continue
        previous_starts = starts
        if starts:
            if text in by_headline and _has_open_sentence(by_headline[text]):
                current = by_headline[text]
                current.lines.append(no)
                current.blocks.append([])
                roles[no] = Role("headline", "the same headline printed again: its story continues")
                continue
            current = _Draft(text, [no], blocks=[[]])
            drafts.append(current)
            by_headline[text] = current
            group.append(i)
            roles[no] = Role("headline", reason)
            continue
        # text before the first headline continues an earlier page, and so does
        # the text under 上接第一版 (when no headline was printed over it)
        # (the jump line first: it is one pattern match, the story's text a walk over its lines)
        continued = current is not None and _continues_from(text) and _has_text(current)
        if current is None or continued:
            current = _Draft("", [], blocks=[[]])
            drafts.append(current)
        line, rule = _body_line(no, text, previous, following)
        if continued:
            rule = "jump line 上接…: the continuation of a story from another page starts here"
        current.blocks[-1].append(line)
        if SUBHEAD_ENDING < len(text) <= MAX_SUBHEAD_CHARS and headline_like(text) and not is_complete(text):
            current.subhead_endings.add(_subhead_ending(text))
        roles[no] = Role(line.kind, rule if rule != "body" else f"body: {reason}")
    return drafts


def _subhead_ending(text: str) -> str:
    """The last SUBHEAD_ENDING characters of a short line, numbers read as one
    sign: parallel subheads of one story end alike (“假”字了得 / “钱”字了得,
    九三学社（３５人） / 台盟（２０人）); a headline ending as a subhead of the
    story above is one of its subheads (the rule takes 15 lines of the
    development set, clean and messy, none a headline)."""
    return DIGITS.sub("#", text)[-SUBHEAD_ENDING:] if len(text) > SUBHEAD_ENDING else "-"


def _has_open_sentence(draft: "_Draft") -> bool:
    """Does a paragraph of the story so far stop mid-sentence (its rest printed
    elsewhere)? Only then does its headline printed again continue it;
    otherwise (a standing head such as 简讯, briefs under one headline) the
    headline heads another story."""
    return any(line.kind == "body" and not is_complete(line.text) for block in draft.blocks for line in block)


def _continues_from(text: str) -> bool:
    """A jump line such as （上接第一版）: what follows continues a story from another page."""
    if text[:1] not in OPENING_PARENTHESES or not JUMP.match(text):  # (the look at one character first)
        return False
    target = jump_target(text.strip("（）() "))
    return target is not None and target[0] == "from"


def _is_lead(text: str | None) -> bool:
    return text is not None and (len(text) > LEAD_CHARS or bool(DATELINE.match(text)))


def _finished(text: str | None) -> bool:
    return text is None or is_complete(text) or text.endswith(("）", ")"))


def _rule_start(texts: list[str], i: int, current: _Draft | None, runs_on: bool) -> str:
    """A rule that starts a story where the model did not, and its evidence
    (``runs_on``: runs_into(texts[i], texts[i + 1]))."""
    text = texts[i]
    if len(text) > MAX_HEADLINE_CHARS:  # every rule below wants a short line
        return ""
    previous = texts[i - 1] if i else None
    after = (texts[i + 1:i + 4] + [None, None, None])[:3]  # the three lines after, None past the page's end
    headline = headline_like(text) and not runs_on
    if STANDING_HEAD.match(text):
        return "story start: a standing head (图片新闻, 简讯, 天气预报; all 74 of the development set)"
    if (CREDIT.match(after[0]) and not CREDIT.match(text) and len(text) <= MAX_HEADLINE_CHARS
            and not is_complete(text) and not TRAILING_CREDIT.search(text)):
        return "story start: a title over a bare credit, as artworks are printed (all 38 of the development set)"
    if i == 0 and len(text) <= MAX_HEADLINE_CHARS and not is_complete(text) and not runs_on:
        return "story start: a short unfinished line opens the page"
    if headline and SPACED_PHRASES.fullmatch(text):
        return "story start: a two-part headline, its parts set apart by a space"
    if headline and current is not None and not current.headline and is_complete(previous):
        return "story start: the first headline-like line after text continued from an earlier page"
    if headline and _finished(previous) and byline_like(after[0]) and _is_lead(after[1]):
        return ("story start: headline, byline and lead after a finished paragraph "
                "(461 of 475 such lines of the development set start a story)")
    if (headline and not _finished(previous) and byline_like(after[0]) and _is_lead(after[1])
            and not byline_like(previous) and not breaks_word(previous, text) and not breaks_word(text, after[0])):
        return ("story start: headline, byline and lead after a line that does not run on into it "
                "(a caption, a table row, an artwork's title; 14 of 15 such lines of the development set start a story)")
    if (not is_complete(text) and after[0] is not None and BARE_PHOTO_CREDIT.match(after[0]) and _finished(previous)
            and is_balanced(text) and not caption_like(text) and not NUMBERED.match(text)
            and not text.startswith(OPENING_PARENTHESES) and not text.endswith(("—", "－", "，", ","))):
        return ("story start: a photo's title over a bare photo credit （…摄）, as artworks' titles over a bare credit "
                "(8 of 8 such lines of the development set start a story)")
    if (headline and _finished(previous) and after[1] is not None and not byline_like(after[0])
            and byline_like(after[1]) and _is_lead(after[2])
            and (is_complete(after[0]) or after[0].endswith(("—", "－")) or headline_like(after[0]))):
        return ("story start: headline, deck, byline and lead after a finished paragraph "
                "(29 of 36 such lines of the development set start a story)")
    return ""


def _is_byline(text: str | None, following: str | None) -> bool:
    """A byline where a headline group may have one: byline-shaped, and not
    a short line that a dateline runs on from (新华 / 社广州…电) nor the first
    half of a line broken at a column break (see _runs_on_from_name_shape)."""
    return (text is not None and byline_like(text)
            and not (following and " " not in text and DATELINE.match(text + following))
            and not _runs_on_from_name_shape(text, following))


def _names_nobody(text: str) -> bool:
    """A byline-shaped line with no surname first, no role and no space."""
    return (" " not in text and text.lstrip("■")[:1] not in COMMON_SURNAMES and not REPORTER_BYLINE.match(text)
            and not any(word in text for word in BYLINE_WORDS))


def _broken_into_name_shape(text: str, following: str | None) -> bool:
    """Do ``text`` and a byline-shaped line after it that names nobody make
    one line broken at a column break, a dictionary word running on from
    one into the other (玩出民 / 族特色, 更求长 / 篇精品)?"""
    return (following is not None and not is_complete(text) and byline_like(following) and _names_nobody(following)
            and dictionary_word_across(text, following))


def _runs_on_from_name_shape(text: str, following: str | None) -> bool:
    """Is a byline-shaped line the first half of a line broken at a column
    break: the next line opens with punctuation that goes on with its
    sentence (去年底 / ，安徽省…), or a dictionary word runs on into it and it
    names nobody (工作单 / 位浙江省…)? None of the 8 such lines of the
    development set is a byline; all are broken lines."""
    if following is None:
        return False
    return continues_sentence(following) or (_names_nobody(text) and dictionary_word_across(text, following))


def _never_starts(text: str, following: str | None, runs_on: bool) -> str:
    """The rule that keeps a line from starting a story, if one does
    (``runs_on``: runs_into(text, following))."""
    if runs_on:
        return ("a word or a number runs on into the next line "
                "(2 of 857 such lines of the development set start a story)")
    if _broken_into_name_shape(text, following):
        return ("a word runs on into the next line, which is no name: a line broken at a column break "
                "(no headline among the 26 such lines of the development set; 24 are paragraphs broken in two)")
    if caption_like(text) or (text[:1] in OPENING_PARENTHESES
                              and (CREDIT.match(text) or JUMP.match(text) or END_MARK.match(text))):
        return "caption, credit, jump line or end mark: never a headline"
    if continues_sentence(text):
        return "opens with punctuation: continues a sentence"
    if text.startswith(("—", "-")) or not ALNUM.search(text):
        return "a signature (———编者) or a separator (＊＊＊): never a headline"
    if text.rstrip(CLOSERS).endswith("。"):
        return "ends with 。: a sentence, never a headline (no headline of the development set does)"
    return ""


def _name_group(draft: _Draft, texts: list[str], numbers: list[int], roles: dict[int, Role]) -> None:
    """Headline group of two lines: headline, subheadline; of three: kicker,
    headline, subheadline (a byline follows the last)."""
    if len(texts) == 2:
        draft.headline, draft.subheadline = texts
        roles[numbers[1]] = Role("subheadline", "subheadline or deck: the line under the headline, a byline follows")
    else:
        draft.kicker, draft.headline, draft.subheadline = texts[0], texts[1], texts[2]
        roles[numbers[0]] = Role("kicker", "kicker: first of three headline lines before the byline")
        roles[numbers[1]] = Role("headline", "headline: the middle of three headline lines")
        roles[numbers[2]] = Role("subheadline", "subheadline: the last headline line, a byline follows")


# ----------------------------------------------------- 5. continuations
def _draft_text(draft: _Draft, skip: set[int] = frozenset()) -> str:
    return "\n".join([draft.headline] + [line.text for line in draft.items() if line.no not in skip])


def _paragraph_runs(lines: list[Line]) -> list[list[Line]]:
    """Body lines grouped into paragraphs: a line broken mid-sentence runs on."""
    runs: list[list[Line]] = []
    open_sentence = False
    for line in lines:
        if open_sentence and runs:
            runs[-1].append(line)
        else:
            runs.append([line])
        open_sentence = line.kind == "body" and not is_complete(line.text)
    return runs


def _repeats(lines: list[Line], draft: _Draft) -> bool:
    """Does the story already print these lines' text? Then they are a
    formulaic story's own words (two stories saying the same), not a lost
    continuation."""
    text = "".join([line.text for line in lines])
    body = [line.text for block in draft.blocks for line in block if line.kind == "body"]
    # (the same text or its start first: no 4-grams needed for those)
    return (any(other == text or other.startswith(text) or text.startswith(other) for other in body)
            or any(near_duplicate(other, text, DUPLICATE_CONTAINMENT) for other in body))


def _move_tails(drafts: list[_Draft], sim: Similarity, roles: dict[int, Role]) -> int:
    """A story's last paragraphs printed after the next story go back: the
    last one or two paragraphs of a story that read far more like the story
    before it than like the rest of their own."""
    moved = 0
    for before, draft in zip(drafts, drafts[1:]):
        if not before.headline or len(draft.blocks) != 1:
            continue
        runs = _paragraph_runs([line for line in draft.blocks[0] if line.kind in ("body", "credit", "end")])
        # A photo story (a caption, then one paragraph): its caption is the
        # rest of its own story (see PHOTO_TAIL).
        photo = len(runs) == 1 and any(line.kind == "caption"
                                       for line in draft.blocks[0][:draft.blocks[0].index(runs[0][0])])
        if len(runs) < 2 and not photo:
            continue
        target = None  # worked out when a tail needs it
        best = listed = _continued_list(before, runs)
        reason = "interleaved tail going on with the count (list number or ordinal) of" if listed else "interleaved tail of"
        for count in range(1, max(min(TAIL_MAX_PARAGRAPHS, len(runs) - 1), int(photo)) + 1):
            if listed:
                break
            tail = [line for run in runs[-count:] for line in run]
            # (the cheaper tests first: most tails fail them)
            if _repeats(tail, before):
                continue
            if target is None:
                target = sim.vector(_draft_text(before))
            skip = {line.no for line in tail}
            vector = sim.vector("\n".join(line.text for line in tail))
            there = sim.cosine(vector, target)
            if there < TAIL_MIN_SIMILARITY:
                continue
            own = sim.cosine(vector, sim.vector(_draft_text(draft, skip)))
            if there >= (PHOTO_TAIL_RATIO if photo else TAIL_RATIO) * own:
                best = tail
        if best:
            for line in best:
                roles[line.no].reason += f"; moved: {reason} {before.headline}"
            first = draft.blocks[0].index(best[0])
            before.blocks.append(draft.blocks[0][first:])
            del draft.blocks[0][first:]
            moved += 1
    return moved


CHINESE_DIGITS = "一二三四五六七八九"
ITEM_NUMBER = re.compile(r"^(?:(?P<arabic>[\d０-９]{1,2})[、．.]|(?P<chinese>[一二三四五六七八九十]{1,3})、"
                         r"|[（(](?P<paren>[\d０-９]{1,2}|[一二三四五六七八九十]{1,3})[)）])")


def _item_number(text: str) -> tuple[str, int] | None:
    """A list item's style and number: ``５、`` ("arabic", 5), ``三、``, ``（２）``."""
    match = ITEM_NUMBER.match(text)
    if not match:
        return None
    style = match.lastgroup
    digits = match.group(style)
    if digits[0] in "0123456789０１２３４５６７８９":
        return style, int(digits)
    tens, _, units = digits.rpartition("十")
    if "十" not in digits:
        return (style, CHINESE_DIGITS.index(digits) + 1) if len(digits) == 1 else None
    if len(tens) > 1 or len(units) > 1:
        return None
    return style, (CHINESE_DIGITS.index(tens) + 1 if tens else 1) * 10 + (CHINESE_DIGITS.index(units) + 1 if units else 0)


# Ordinals that count the points of an argument: 其一， 此其二。 要说其三，
ORDINAL = re.compile(r"其([一二三四五六七八九十])(?=[，,：:。；;])")
ORDINAL_OPENING = 8  # a paragraph that goes on with the count names it this early


def _markers(text: str, opening: bool = False) -> list[tuple[str, int]]:
    """The list numbers and ordinals of a line, in order (with ``opening``,
    only those it opens with)."""
    found = [number] if (number := _item_number(text)) else []
    found += [("ordinal", CHINESE_DIGITS.index(m.group(1)) + 1 if m.group(1) != "十" else 10)
              for m in ORDINAL.finditer(text, 0, ORDINAL_OPENING if opening else len(text))]
    return found


# What a line opening with a list number or an ordinal (``_markers``,
# ``opening``) can start with: ITEM_NUMBER's first characters, or 其 early on.
MARKER_OPENERS = set("一二三四五六七八九十(（")


def _may_open_with_marker(text: str) -> bool:
    # (str.isdecimal: the characters \d matches)
    return text[:1] in MARKER_OPENERS or text[:1].isdecimal() or "其" in text[:ORDINAL_OPENING]


def _continued_list(before: _Draft, runs: list[list[Line]]) -> list[Line] | None:
    """A story's last paragraphs that go on with the count the story before
    ends with: its numbered list (``４、…`` there, ``５、…`` here) or its
    ordinals (``此其二。`` there, ``要说其三，`` here), this story having no
    such item of its own: an interleaved tail whatever the words say."""
    # (lines, not paragraphs: the items of a list of works, ``５、归航（油画）（张敏杰）``, end no sentence)
    lines = [line for run in runs for line in run]
    first = sum(map(len, runs[:max(len(runs) - TAIL_MAX_PARAGRAPHS, 1)]))
    # (the story before is read only when a line here opens with a count: most lines do not)
    if not any(_may_open_with_marker(line.text) for line in lines[first:]):
        return None
    starts = {id(run[0]) for run in runs}
    candidates = [(position, marker) for position in range(first, len(lines))
                  for marker in _markers(lines[position].text, opening=True)
                  if marker[0] != "ordinal" or id(lines[position]) in starts]
    if not candidates:
        return None
    last: dict[str, int] = {}
    for line in before.items():
        if line.kind in ("body", "crosshead", "caption"):
            for style, number in _markers(line.text):
                last[style] = number
    for position, (style, number) in candidates:
        if last.get(style) != number - 1:
            continue
        if any((style, number - 1) in _markers(other.text) for other in lines[:position]):
            return None
        return lines[position:]
    return None


def _minus(whole: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    return {g: w - part.get(g, 0.0) for g, w in whole.items() if w - part.get(g, 0.0) > 1e-9}


def _move_fragments(drafts: list[_Draft], sim: Similarity, roles: dict[int, Role]) -> None:
    """A run of at most FRAGMENT_MAX_LINES lines that ends a block, follows a
    sentence broken off mid-way and reads far more like a neighbouring story
    than like its own goes to that story."""
    vectors: dict[int, dict[str, float]] = {}

    def vector(i: int) -> dict[str, float]:
        if i not in vectors:
            vectors[i] = sim.vector(_draft_text(drafts[i]))
        return vectors[i]

    moves: list[tuple[_Draft, list[Line], _Draft]] = []
    count = len(drafts)
    for index, draft in enumerate(drafts):
        neighbours = [i for i in range(max(index - NEIGHBOURS, 0), min(index + NEIGHBOURS + 1, count)) if i != index]
        if not neighbours:
            continue
        for block in draft.blocks:
            for position in range(max(len(block) - FRAGMENT_MAX_LINES, 1), len(block)):
                if block[position].kind != "body":
                    continue
                prev = next((line for line in reversed(block[:position]) if line.kind == "body"), None)
                if prev is None or is_complete(prev.text):
                    continue
                run = block[position:]
                fragment = sim.vector("\n".join(line.text for line in run))
                own = sim.cosine(fragment, _minus(vector(index), fragment))
                best, other = max((sim.cosine(fragment, vector(i)), i) for i in neighbours)
                if best >= MOVE_MIN_SIMILARITY and best >= MOVE_RATIO * own and not _repeats(run, drafts[other]):
                    moves.append((draft, run, drafts[other]))
                    break
    for source, run, target in moves:
        for line in run:
            roles[line.no].reason += f"; moved: fragment of {target.headline or '(无标题)'}"
        for block in source.blocks:
            if run and run[0] in block:
                del block[block.index(run[0]):]
        target.blocks.append(run)


# ----------------------------------------------------------- 6. duplicates
def _remove_duplicates(drafts: list[_Draft]) -> dict[int, list[str]]:
    """Drop every paragraph that repeats an earlier paragraph of the same
    story (page order); the fuller of the two texts stays at the earlier
    place. Paragraphs, not lines: the halves of a paragraph broken at a
    column break are no copies. Two stories that say similar things are two
    stories: paragraphs are compared only within one story, after fragments
    went back to their stories. Candidates come from an index of the
    paragraphs' 4-grams (looking at no more than COMMON_GRAM paragraphs per
    gram), so a long story is not compared paragraph by paragraph."""
    removed: dict[int, list[str]] = {}
    for index, draft in enumerate(drafts):
        body = [line for block in draft.blocks for line in block if line.kind == "body"]
        if len(body) < 2:  # a paragraph alone repeats nothing
            continue
        body.sort(key=attrgetter("no"))
        runs = _paragraph_runs(body)
        if len(runs) < 2:
            continue
        kept: list[tuple[str, list[Line], int]] = []
        kept_grams: list[frozenset[str]] = []
        postings: dict[str, list[int]] = {}
        indexed = 0  # kept[:indexed] are in postings: paragraphs are indexed when a later one is looked up
        for run in runs:
            text = run[0].text if len(run) == 1 else "".join(line.text for line in run)
            grams = char_grams(text)
            twin = None
            # (a copy shares at least DUPLICATE_CONTAINMENT of the shorter
            # text's grams: with a few paragraphs kept, one set operation each
            # rules most paragraphs out before any counting)
            if kept and (len(kept) > DIRECT_CHECK or any(
                    len(grams & other) >= DUPLICATE_CONTAINMENT * min(len(grams), len(other)) - 1
                    for other in kept_grams)):
                for position in range(indexed, len(kept)):
                    for gram in kept_grams[position]:
                        postings.setdefault(gram, []).append(position)
                indexed = len(kept)
                shared = Counter(k for g in grams for k in postings.get(g, ())[:COMMON_GRAM])
                twin = next((kept[k] for k, count in shared.most_common(DUPLICATE_CANDIDATES)
                             if count >= DUPLICATE_CONTAINMENT * min(len(grams), kept[k][2]) - 1
                             and near_duplicate(kept[k][0], text, DUPLICATE_CONTAINMENT)), None)
            if twin is None:
                kept.append((text, run, len(grams)))
                kept_grams.append(grams)
                continue
            twin_run = twin[1]
            if len(run) == 1 and len(twin_run) == 1 and len(run[0].text) > len(twin_run[0].text):
                twin_run[0].text, run[0].text = run[0].text, twin_run[0].text
            twin_run[-1].credit = twin_run[-1].credit or run[-1].credit
            for line in run:
                line.kind = "duplicate"
            removed.setdefault(index, []).append("".join(line.text for line in run))
    return removed


# ------------------------------------------------------ join and flag
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
    if len(first) >= SHORT_LEAD_CHARS or not is_complete(first) or LEAD_OPENING.match(first) or len(paragraphs) < 2:
        return False
    rest = sorted(map(len, paragraphs[1:]))
    return len(first) < rest[len(rest) // 2] / 2


def _join_broken_captions(items: list[Line]) -> None:
    """A caption broken at a column break: the open line before a caption
    that carries its own text and photo credit is the caption's start,
    unless the sentence goes on after the caption (the caption was printed
    inside it, as in ``社区治`` / caption / ``理共同体``)."""
    for first, second, after in zip(items, items[1:], [*items[2:], None]):
        if (first.kind == "body" and second.kind == "caption" and not is_complete(first.text)
                and not second.text.startswith("图") and PHOTO_CREDIT.search(second.text)
                and PHOTO_CREDIT.sub("", second.text).strip()
                and not (after is not None and after.kind == "body" and breaks_word(first.text, after.text))):
            first.kind = "caption"


def _assemble(draft: _Draft, source: str, order: int, duplicates: list[str]) -> Story:
    items = draft.items()
    # (both want a caption: most stories have none)
    has_photo_credit = False
    if any(line.kind == "caption" for line in items):
        _join_broken_captions(items)
        has_photo_credit = any(line.kind == "caption" and PHOTO_CREDIT.search(line.text) for line in items)
    # A short complete sentence inside a broken sentence of a story with a photo is the photo's caption.
    if has_photo_credit:
        body = [line for line in items if line.kind in ("body", "crosshead")]
        for prev, line, _following in zip(body, body[1:], body[2:]):
            if (line.kind == "body" and _is_short_sentence(line.text) and not is_complete(prev.text)
                    and not breaks_word(prev.text, line.text)):
                line.kind = "caption"
    paragraphs: list[str] = []
    kinds: list[str] = []
    captions: list[str] = []
    jumps: list[str] = []
    open_sentence = open_caption = False
    for line in items:
        if line.kind == "caption":
            if open_caption:
                captions[-1] += line.text
            else:
                captions.append(line.text)
            open_caption = not is_complete(line.text) and not PHOTO_CREDIT.search(line.text)
        elif line.kind == "jump":
            jumps.append(line.text.strip("（）() "))
        elif line.kind == "body" and line.text:
            if open_sentence and paragraphs:
                paragraphs[-1] += line.text
            else:
                paragraphs.append(line.text)
                kinds.append("body")
            open_sentence = not is_complete(line.text)
        elif line.kind == "crosshead":
            if line.joins and kinds and kinds[-1] == "crosshead":
                paragraphs[-1] += line.text
            else:
                paragraphs.append(line.text)
                kinds.append("crosshead")
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
                 list(draft.authors), paragraphs, captions, flags, duplicates, lines,
                 kicker=draft.kicker, paragraph_roles=kinds if "crosshead" in kinds else [], jumps=jumps)


def _has_text(draft: _Draft) -> bool:
    return any(line.kind in ("body", "caption", "credit", "crosshead") for block in draft.blocks for line in block)


def segment_page(source: str, text: str, explain: bool = False) -> PageSegmentation:
    """The page's stories, debris and removed text, and every line's role
    (with ``explain``, the model's probability and strongest features too).

    Segmenting makes many small objects and few reference cycles: the cyclic
    garbage collector waits until the page is done (on a 5 MB page it took
    over a tenth of the time scanning objects that reference counting frees
    anyway)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _segment_page(source, text, explain)
    finally:
        if enabled:
            gc.enable()


def _segment_page(source: str, text: str, explain: bool) -> PageSegmentation:
    numbered = [(no, line) for no, line in enumerate(map(str.strip, text.split("\n")), 1) if line]
    page_lines = dict(numbered)
    roles: dict[int, Role] = {}
    debris = _debris(numbered, roles)
    items = [(no, t) for no, t in numbered if no not in roles]
    page = PageLines([t for _, t in items])
    drafts = _classify(items, page, roles, explain)
    sim = Similarity(page)
    _move_tails(drafts, sim, roles)
    _move_fragments(drafts, sim, roles)
    removed = _remove_duplicates(drafts)
    stories: list[Story] = []
    reported: list[Debris] = []
    for index, draft in enumerate(drafts):
        if not _has_text(draft):
            numbers = sorted(set(draft.lines) | {line.no for line in draft.items()})
            dropped = [Debris(no, page_lines[no], "no story text with it") for no in numbers]
            debris.extend(dropped)
            reported.extend(dropped)
            for item in dropped:
                roles[item.no] = Role("debris", item.reason)
            continue
        if index in removed:  # (only the stories in removed have lines marked duplicate)
            for line in draft.items():
                if line.kind == "duplicate":
                    reason = f"paragraph printed twice in {draft.headline or '(无标题)'}"
                    reported.append(Debris(line.no, page_lines[line.no], reason))
                    roles[line.no] = Role("duplicate", reason)
        stories.append(_assemble(draft, source, len(stories), removed.get(index, [])))
    debris.sort(key=lambda d: d.no)
    reported.sort(key=lambda d: d.no)
    return PageSegmentation(stories, debris, reported, roles, sim.comparisons)


def split_stories(source: str, text: str) -> list[Story]:
    return segment_page(source, text).stories

