"""Named practices a story reports: the methods, mechanisms, models, platforms,
teams, projects and campaigns that governance news gives a name to
(“六事工作法”, “1+X+N”推进机制, “四网三格五联”, 建立党组织议事前置机制).

The text is folded first (index/analysis.py: full-width to half-width,
traditional to simplified, lower case, one character for one), so the rules
read simplified text while names are cut from the text as printed. Every
candidate phrase gets a verdict with its reason (``explain_practices``); the
rules, each a general pattern of Chinese governance writing:

Candidates
* a quoted phrase (“…”, 「…」) of at most 40 characters;
* an unquoted name ending in 工作法/机制/模式/平台/工程/行动 or a team word
  (服务队, 宣讲团, 小分队 …) that a launching verb (建立, 推行, 探索, 实施 …)
  introduces in the same clause; items listed with 、 after the verb each count.

Taken when (positive rules)
* ``name-word``: the quote itself ends in a practice word (“六事工作法”,
  “社区物资保障车队”, “侨创空间”): the name says what kind of thing it is;
* ``head-word``: the words right after the quote, up to the next punctuation,
  hold a practice word (“1+X+N”推进机制, “双护航”行动, “一社一楼一站”议事服务载体):
  the Chinese pattern “名”+类名 names an instance of the kind; a list of quotes
  (“A”“B”等载体) shares the head;
* ``launched``: a launching verb stands right before the quote, at most four
  characters away (建立“为民服务兜底办”, 深化“项目担当制”, 设立公证行业“共享法庭”):
  news names the practice as the object of the verb that creates it;
* ``carrier``: 以“X”为载体/抓手/牵引/总载体: the practice a place's work hangs on;
* ``formula``: a coded formula (1+X+N, 3+1) or a number formula with two or more
  numbers (四网三格五联, 三抓三促, 一项目一专员一支部): the shorthand by which
  governance practices are named and remembered;
* ``unquoted``: an unquoted name with its practice word after a launching verb.

Not taken (exclusions, checked before the positive rules)
* ``speech``: a quote after 说/表示/道/称 or a colon, or one that holds sentence
  punctuation or a first/second person (“社工比子女还亲”): words said, not a name;
* ``problem``: a quote followed by 难题/问题/困境/痛点…, or after 破解/解决/化解
  (“小马拉大车”难题): the problem a practice solves;
* ``honour``: after 获评/评为/入选/争创/荣获, or followed by 称号/荣誉/获评/首创地,
  or a quote ending in 大王/标兵/能手 (“优秀红色工地”, “葡萄大王”): honours and titles;
* ``document``: inside 《…》, unless the title launches the practice
  (《关于开展“乡贤回归工程”的实施意见》 launches 乡贤回归工程);
* ``figure``: 把“小驿站”变成“大管家”: a figure of speech;
* ``target-group``: 一老一小(一残): the people a service is for;
* ``category``: a head preceded by 各项/各类/等多种 (“安全生产”等各项活动), or an
  unquoted name holding 的, 等 or a count (组建89支志愿服务队伍): a description or
  a category, not one named practice;
* ``routine-campaign``: an unquoted …整治行动/专项行动: the rectification every
  county runs on orders, not a practice of its own;
* ``organisation``: a quote ending in 公司/协会/委员会…: who does a practice;
* ``too-short``: one character, or only numbers (“九五”计划 is a period);
* ``not-its-head``: a practice word after 的 or a verb (“红色基因”注入工程建设,
  “持证上岗”是一个好制度), or more than eight characters away: it belongs to
  another phrase; and a launched quote followed by 的 (实施“有保有压”的信贷政策)
  describes the noun after it;
* unquoted names made of a generic word (服务平台, 激励机制, 精品工程) are types;
* anything else quoted (“有呼必应”, “最后一公里”) is a slogan, a term or an
  emphasis: no practice word after it, no launching verb before it.

The same practice printed slightly differently is one practice: its key is the
folded name without quotes, spaces and punctuation, and without a trailing
机制/模式/制度/体系 (“三方协同”共治机制 and “三方协同” are one). Its place is
the story's place named last before it in the same sentence, else the
story's main place; its definition the text after 即 in its sentence, else the
sentence that names it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .stories import Story

# Bump when the rules change: every story is read again at the next index run.
PRACTICES_VERSION = "2"
# "That is": 即 after a comma, not the first character of 即时, 即将, 即可 …
# (a slogan “千里责任即时签” after a name defines nothing).
_THAT_IS = re.compile(r"[,，]\s*即(?![时将可便使刻日])")

KINDS = ("工作法", "机制", "模式", "平台", "队伍", "工程", "行动", "其他")

# Practice words and their kinds, longest first within a kind where it matters.
_KIND_WORDS = (
    ("工作法", ("工作法", "管理法", "工作方法")),
    ("机制", ("工作机制", "机制", "制度", "体制")),
    ("模式", ("新模式", "模式")),
    ("平台", ("平台", "空间", "之家", "中心")),
    ("队伍", ("队伍", "服务队", "先锋队", "小分队", "车队", "宣讲团", "助力团", "帮帮团", "团队")),
    ("工程", ("工程", "项目", "计划")),
    ("行动", ("行动计划", "行动", "主题活动", "活动")),
    ("其他", ("体系", "载体", "课堂", "学院", "驿站", "服务角", "直通车", "工坊", "议事会", "会议",
              "法庭", "绿色通道", "治理共同体")),
)
_WORD_KIND = {word: kind for kind, words in _KIND_WORDS for word in words}
_WORDS = sorted(_WORD_KIND, key=len, reverse=True)
# Words after a quote that name a practice only as the whole head (制 of “大党委”制).
_BARE_HEADS = {"制": "机制", "法": "工作法"}
# Unquoted names: only the plainest kind words, which never end an ordinary phrase.
_UNQUOTED_WORDS = ("工作法", "机制", "模式", "平台", "工程", "行动", "服务队", "宣讲团", "小分队", "帮帮团")

# Verbs that create or carry out a practice: its name is their object.
# (Not 创新, which mostly stands in 创新创业, nor 建设, whose object is a city or a project, nor 成立,
# whose object is an organisation.)
LAUNCH_VERBS = ("探索实行", "探索建立", "推行", "建立", "构建", "打造", "探索", "实施", "开展", "推出",
                "形成", "深化", "启动", "首创", "创设", "创办", "搭建", "组建", "实行", "推广", "开通", "设立",
                "承接", "召开", "制定", "落实", "引入", "出台")
_LAUNCH = re.compile("(?:" + "|".join(sorted(LAUNCH_VERBS, key=len, reverse=True)) + ")(?:了|起|出)?")
# A quoted platform or practice is also what the work relies on: 依托“滨好办”.
_QUOTE_LAUNCH = re.compile(f"(?:{_LAUNCH.pattern}|依托)")
_SPEECH_BEFORE = re.compile(r"(?:说|表示|道|称|介绍|认为|说道|坦言|笑言)[,:]?$|[:]$")
_PROBLEM_AFTER = re.compile(r"^(?:等)?(?:难题|问题|困境|痛点|难点|堵点|顽疾|现象)")
_PROBLEM_BEFORE = re.compile(r"(?:破解|解决|化解|缓解|破除|治理)[^,。;“”]{0,6}$")
_PROBLEM_NAME = re.compile(r"^(?:[^、]{1,6}难、)*[^、]{1,6}难$")  # 停车难, 主题聚焦难、力量统合难
_HONOUR_BEFORE = re.compile(r"(?:获评|评为|入选|争创|荣获|授予|命名为|被评|成为)[^,。;]{0,12}$")
_HONOUR_AFTER = re.compile(r"^[^,。;]{0,8}(?:称号|荣誉|获评|评为|一等奖|二等奖|首创地|发源地|示范点)")
_TITLE_END = re.compile(r"(?:大王|标兵|能手|达人|之星|模范|明星|奖|奖项|奖金)$")
# Organisations are who does a practice, not the practice.
_ORGANISATION_END = re.compile(r"(?:公司|集团|协会|商会|学会|委员会|剧团|银行|大学|医院)$")
_TARGET_GROUP = re.compile(r"^一老一小(?:一残)?$")
_CARRIER = re.compile(r"^(?:为(?:总)?(?:载体|抓手|牵引|平台|路径)|促|形式)")
# How something is done, not what: 一对一 联系, 零距离 服务.
MANNER = frozenset("一对一 点对点 面对面 零距离 全覆盖 一站式 全天候 心贴心 手把手 全链条 全方位".split())
# Words that make a kind word a type of thing, not a name: 服务平台, 精品工程.
GENERIC_MODIFIERS = frozenset("服务 成长 工作 活动 交流 精品 民生 重点 示范 样板 品牌 管理 培养 培育 长效 约束 激励 监督 "
                              "考核 协调 运行 保障 联动 协作 共享 沟通 议事".split())
_EVENT = re.compile(r"(?:仪式|签约|大会|座谈会|联欢会|发布会|推介会|恳谈会)")
_VERB_FIRST = re.compile(r"^(?:注入|深入|融入|作为|走进|进入|引领|助力|推动|带动|成为|是|被|来|用|为(?=[^企]))")
_LEVELS = re.compile(f"(?:[{'一二三四五六七八九十两多'}]级|多层次|层级)")
_COUNT = re.compile(f"^[{'一二三四五六七八九十两'}](?:大|项|场|个(?!一))")
_CATEGORY = re.compile(r"(?:各项|各类|多种|一系列|系列)")
_ROUTINE = re.compile(r"(?:整治行动|专项行动)$")
_CODE_FORMULA = re.compile(r"^[0-9a-z]+(?:\+[0-9a-z]+)+$")
_NUMERALS = "一二三四五六七八九十两百千"
_NUMBER_FORMULA = re.compile(f"^(?:[{_NUMERALS}][^{_NUMERALS}\\W]{{1,2}}){{2,4}}$")
_ONLY_NUMERALS = re.compile(f"^[{_NUMERALS}0-9]+$")  # “九五”计划: a period or a count
_PUNCT = ",,。;;!!??::、()()《》“”「」\"\n "
_SENTENCE_END = "。!?;!?;\n"
_QUOTE = re.compile(r"[“「]([^“”「」\n]{1,40})[”」]")
_ANY_QUOTE = re.compile(r"[“「][^“”「」\n]*[”」]")
_DOC = re.compile(r"《[^《》\n]{1,80}》")
_PERSON = re.compile("[我你咱]")


@dataclass
class Verdict:
    """One candidate phrase and why it was or was not taken."""
    phrase: str  # as printed
    start: int  # offset in the story's text
    taken: bool
    rule: str  # the rule that decided
    reason: str
    kind: str = "其他"
    key: str = ""


@dataclass
class Practice:
    name: str  # as printed, without quotes
    key: str  # normalised: one practice however printed
    kind: str
    place: str  # a name from the story's places, "" when it has none
    definition: str
    evidence: list[Verdict] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return self.evidence[0].reason


def _fold(text: str) -> str:
    from .analysis import text_analysis

    return text_analysis().fold(text)


def practice_key(name: str) -> str:
    """One key for one practice: folded, without quotes, spaces and punctuation
    (+ stays: 1+X+N), 加 between formula parts as +, and without a trailing
    机制/模式/制度/体系 when a name is left."""
    key = _fold(name)
    key = re.sub(r"[\s“”「」‘’\"'《》()()·・,,、.。:;—\-_/]", "", key)
    key = re.sub(r"(?<=[0-9a-z])加(?=[0-9a-z])", "+", key)
    for suffix in ("工作机制", "机制", "新模式", "模式", "制度", "体系"):
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            key = key[:-len(suffix)]
            break
    return key


def _head(run: str) -> tuple[str, str] | None:
    """The practice word in the words after a quote, and its kind."""
    if run in _BARE_HEADS:
        return run, _BARE_HEADS[run]
    for word in _WORDS:
        if word in run:
            return word, _WORD_KIND[word]
    return None


def _name_word(name: str) -> tuple[str, str] | None:
    for word in _WORDS:
        if name.endswith(word) and len(name) > len(word):
            return word, _WORD_KIND[word]
    return None


def _run_after(folded: str, end: int) -> str:
    """The words after a quote up to the next punctuation or quote (12 characters at most)."""
    run = []
    for char in folded[end:end + 12]:
        if char in _PUNCT:
            break
        run.append(char)
    return "".join(run)


def _chained_run(folded: str, end: int) -> tuple[str, bool]:
    """The head of a list of quotes (“A”“B”等载体, “A”、“B”活动): the run after the
    last quote of the chain, and whether the chain was followed to reach it."""
    position, chained = end, False
    while True:
        match = re.match(r"[、]?[“「][^“”「」\n]{1,40}[”」]", folded[position:])
        if not match:
            break
        position += match.end()
        chained = True
    run = _run_after(folded, position)
    if run.startswith("等"):  # the end of a list: “A”“B”等载体
        run, chained = run[1:], True
    return run, chained


def _in_span(spans: list[tuple[int, int]], start: int) -> tuple[int, int] | None:
    for span in spans:
        if span[0] <= start < span[1]:
            return span
    return None


def _sentence_bounds(folded: str, start: int) -> tuple[int, int]:
    left = max(folded.rfind(c, 0, start) for c in _SENTENCE_END) + 1
    rights = [i for i in (folded.find(c, start) for c in _SENTENCE_END) if i >= 0]
    return left, (min(rights) + 1 if rights else len(folded))


def _judge_quote(folded: str, match: re.Match, docs: list[tuple[int, int]]) -> Verdict:
    inner = match.group(1)
    start, end = match.start(), match.end()
    before = folded[max(0, start - 16):start]
    run = _run_after(folded, end)

    def verdict(taken: bool, rule: str, reason: str, kind: str = "其他") -> Verdict:
        return Verdict(inner, start + 1, taken, rule, reason, kind)

    doc = _in_span(docs, start)
    if doc is not None:
        title = folded[doc[0]:start]
        named = _name_word(inner)
        if named and _LAUNCH.search(title[-6:]):
            return verdict(True, "document-launch", f"the document 《…》 launches it ({title[-6:].strip('《')}…"
                           f"{named[0]})", named[1])
        return verdict(False, "document", "inside a document's title 《…》, which does not launch it")
    if len(inner) < 2 or _ONLY_NUMERALS.match(inner):
        return verdict(False, "too-short", "one character or only numbers (“九五”): not a name")
    if _ORGANISATION_END.search(inner):
        return verdict(False, "organisation", "an organisation (…公司, …协会), who does a practice, not one")
    head_run, chained = _chained_run(folded, end)
    head = _head(head_run)
    if _SPEECH_BEFORE.search(before) or re.search(r"[,,。!?;!?]", inner) or (_PERSON.search(inner) and not head):
        return verdict(False, "speech", "words said or a sentence quoted, not a name")
    if re.search("[‘’]", inner):
        return verdict(False, "nested", "a quote inside a quote: a title within a name")
    if _PROBLEM_AFTER.search(run) or _PROBLEM_BEFORE.search(before) or _PROBLEM_NAME.match(inner):
        return verdict(False, "problem", "a problem being solved (破解/解决 before it, 难题/问题 after it, …难)")
    if _HONOUR_BEFORE.search(before) or _HONOUR_AFTER.search(folded[end:end + 12]) or _TITLE_END.search(inner):
        return verdict(False, "honour", "an honour, title or award (获评/入选/争创, 称号/首创地, …大王)")
    if before.endswith("把") and re.match(r"^(?:变成|做成|链成|建成|打造成|转化为)", run):
        return verdict(False, "figure", "a figure of speech (把“…”变成“…”), not a name")
    if _TARGET_GROUP.match(inner):
        return verdict(False, "target-group", "the people a service is for (一老一小), not a practice")
    if inner in MANNER:
        return verdict(False, "manner", "how something is done (一对一, 零距离), not what")
    event = _EVENT.search(run)
    if event and not (head and head_run.find(head[0]) < event.start()):
        return verdict(False, "event", f"the theme of an event (“…”{run}), not a practice")
    if _LAUNCH.match(inner):
        return verdict(False, "action", "a description of an action (it starts with a verb), not a name")
    named = _name_word(inner)
    if named:
        # “政企服务直通车”活动: the word after the quote says the kind when the name's own does not.
        kind = head[1] if named[1] == "其他" and head and head_run.startswith(head[0]) else named[1]
        return verdict(True, "name-word", f"the name ends in the practice word {named[0]}", kind)
    loose_kind = "机制" if inner.endswith("制") else "其他"
    if _CARRIER.match(run) and folded[max(0, start - 1):start] == "以":
        return verdict(True, "carrier", f"以“…”{run[:4]}: the practice the work is carried by", loose_kind)
    if head:
        cut = head_run.index(head[0])
        modifier = head_run[:cut]
        if _CATEGORY.search(modifier) or "等" in modifier:
            return verdict(False, "category", f"“…”{head_run[:cut + len(head[0])]}: one of a category of "
                           "things, not a named practice")
        if _LEVELS.search(modifier):
            return verdict(False, "levels", f"“…”{modifier}: the levels or items of a system, not its name")
        if "的" in modifier or _VERB_FIRST.match(modifier) or len(modifier) > 8:
            return verdict(False, "not-its-head", f"“…”{head_run[:cut + len(head[0])]}: the practice word "
                           "belongs to another phrase (的 or a verb between)")
        return verdict(True, "head-word", f"followed by the practice word {head[0]} "
                       f"(“…”{head_run[:cut + len(head[0])]})", head[1])
    launch = re.search(f"(?:{_QUOTE_LAUNCH.pattern})[^,。;、“”]{{0,4}}$", before)
    if "—" in inner:
        return verdict(False, "levels", "a chain of levels (A—B—C): an organisation chart, not a named practice")
    if "、" in inner:
        return verdict(False, "slogan", "a list of aims or steps (A、B) with no practice word after it: a slogan")
    if _COUNT.match(inner):
        return verdict(False, "category", "a count of things (六项举措, 三大…), not a name")
    if launch and run.startswith("的"):
        launch = None  # 实施“有保有压”的信贷政策: the quote describes the noun after 的
    if launch:
        return verdict(True, "launched", f"the object of the launching verb {launch.group(0)}", loose_kind)
    if _CODE_FORMULA.match(inner) or _NUMBER_FORMULA.match(inner):
        return verdict(True, "formula", "a formula name (numbers or codes joined) such as practices are named by")
    return verdict(False, "slogan", "no practice word after it and no launching verb before it: "
                   "a slogan, a term or an emphasis")


def _unquoted(folded: str, masked: str) -> list[Verdict]:
    """Unquoted names after a launching verb, each item of a 、 list after it too."""
    verdicts = []
    for clause_match in re.finditer(r"[^,,。;;!?!?\n]+", masked):
        clause = clause_match.group(0)
        launch = _LAUNCH.search(clause)
        if not launch:
            continue
        offset = clause_match.start() + launch.end()
        for item in re.finditer(r"[^、]+", clause[launch.end():]):
            text = item.group(0)
            word = next((w for w in _UNQUOTED_WORDS if text.endswith(w)), None)
            if word is None or len(text) - len(word) < 2 or "\0" in text:
                continue
            # 探索实行双向考核评价机制, 建立和健全了…机制: the name starts after the verbs.
            while True:
                lead = _LAUNCH.match(text) or re.match(r"(?:和|与|及|并|健全|完善|了)+", text)
                if not lead:
                    break
                text = text[lead.end():]
            if len(text) - len(word) < 2:
                continue
            start = offset + item.start() + (len(item.group(0)) - len(text))
            if re.search(r"[的等—]|^[0-9一二三四五六七八九十两多]+[支个名项条家人种套]", text) or \
                    text[:-len(word)] in GENERIC_MODIFIERS:
                verdicts.append(Verdict(text, start, False, "category",
                                        "an unquoted description (的, 等, a count or a generic word), not a name"))
            elif _ROUTINE.search(text):
                verdicts.append(Verdict(text, start, False, "routine-campaign",
                                        "a rectification campaign run on orders (…整治行动), not a practice"))
            elif len(text) > 20:
                verdicts.append(Verdict(text, start, False, "category", "too long to be a name"))
            else:
                verdicts.append(Verdict(text, start, True, "unquoted",
                                        f"after the launching verb {launch.group(0)}, ends in {word}",
                                        _WORD_KIND.get(word, "其他")))
    return verdicts


def _story_text(story: Story) -> str:
    return "\n".join(part for part in (story.headline, story.subheadline, *story.paragraphs, *story.captions)
                     if part)


def explain_practices(story: Story) -> list[Verdict]:
    """Every candidate phrase of the story, in text order, with its verdict."""
    text = _story_text(story)
    folded = _fold(text)
    docs = [(m.start(), m.end()) for m in _DOC.finditer(folded)]
    verdicts = []
    quoted_spans = []
    for match in _QUOTE.finditer(folded):
        verdict = _judge_quote(folded, match, docs)
        verdict.phrase = text[match.start(1):match.end(1)]
        verdicts.append(verdict)
        quoted_spans.append((match.start(), match.end()))
    masked = list(folded)
    for start, end in [*docs, *quoted_spans, *((m.start(), m.end()) for m in _ANY_QUOTE.finditer(folded))]:
        masked[start:end] = "\0" * (end - start)
    # A quote inside a longer quote of speech is masked with it; unquoted names are read outside both.
    for verdict in _unquoted(folded, "".join(masked)):
        verdict.phrase = text[verdict.start:verdict.start + len(verdict.phrase)]
        verdicts.append(verdict)
    for verdict in verdicts:
        verdict.key = practice_key(verdict.phrase)
    return sorted(verdicts, key=lambda v: v.start)


def _place_for(folded: str, start: int, places: list[str]) -> str:
    """The story's place named last before the practice in its sentence, else the main place."""
    if not places:
        return ""
    left, _ = _sentence_bounds(folded, start)
    sentence = folded[left:start]
    best, best_at = places[0], -1
    for place in places:
        short = re.sub(r"(?:省|市|区|县|镇|乡|街道)$", "", place)
        for name in {place, short} if len(short) >= 2 else {place}:
            at = sentence.rfind(_fold(name))
            if at > best_at:
                best, best_at = place, at
    return best


def _definition(text: str, folded: str, start: int) -> str:
    """The text after 即 in the practice's sentence, else its sentence, from the
    clause that names it when the sentence is long; 150 characters at most,
    cut at a clause."""
    left, right = _sentence_bounds(folded, start)
    that_is = _THAT_IS.search(folded, start, right)
    if that_is:
        left = that_is.end()
    elif right - left > 80:
        left = max(left, max(folded.rfind(c, left, start) for c in ",,;;") + 1)
    sentence = text[left:right].lstrip("”」’ …\t").strip()
    if len(sentence) > 150:
        cut = max(sentence.rfind(c, 0, 149) for c in ",,;;")
        sentence = sentence[:cut if cut > 40 else 149] + "…"
    return sentence


def _best_definition(text: str, folded: str, evidence: list[Verdict], body_from: int) -> str:
    """A definition with 即 first, then one where a description ends in 的 right
    before the name (推行大事有人抓…的“六事工作法”), then one from the body (not
    the headline), then the first."""
    def described(v: Verdict) -> bool:
        before = folded[_sentence_bounds(folded, v.start)[0]:v.start]
        return len(before) > 12 and before[-2:].startswith("的")

    ranked = sorted(evidence, key=lambda v: (not _THAT_IS.search(folded, v.start, _sentence_bounds(folded, v.start)[1]),
                                             not described(v), v.start < body_from, v.start))
    return _definition(text, folded, ranked[0].start)


def extract_practices(story: Story, places: list[str] | None = None) -> list[Practice]:
    """The named practices of a story, in order of first mention; ``places``
    (names, the main place first) defaults to the story's own places."""
    if places is None:
        places = [place["name"] for place in story.places]
    text = _story_text(story)
    folded = _fold(text)
    found: dict[str, Practice] = {}
    for verdict in explain_practices(story):
        if not verdict.taken or not verdict.key:
            continue
        practice = found.get(verdict.key)
        if practice is None:
            found[verdict.key] = Practice(verdict.phrase, verdict.key, verdict.kind,
                                          _place_for(folded, verdict.start, places), "", [verdict])
            continue
        practice.evidence.append(verdict)
        if practice.kind == "其他" and verdict.kind != "其他":
            practice.kind = verdict.kind
    body_from = len(story.headline) + 1 + (len(story.subheadline) + 1 if story.subheadline else 0)
    for practice in found.values():
        practice.definition = _best_definition(text, folded, practice.evidence, body_from)
    return list(found.values())


def practice_records(story: Story) -> list[dict]:
    """The practices of a story as its record keeps them (its places must be set first)."""
    return [{"name": p.name, "key": p.key, "kind": p.kind, "place": p.place, "definition": p.definition,
             "rule": p.evidence[0].rule, "reason": p.reason} for p in extract_practices(story)]
