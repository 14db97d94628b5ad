"""What lines of a Chinese newspaper page look like: sentence ends, bylines,
datelines, captions, credits, numbered crossheads, jump lines. Shared by the
segmenter's rules and its story-start features."""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from .analysis import jieba_tokenizer

# A sentence is complete when it ends in one of these, closing quotes aside.
TERMINAL = "。！？!?…"
CLOSERS = "”’」』)）》\"'"
PAIRS = ("“”", "‘’", "《》", "()", "（）", "「」")
BRACKET = re.compile("[" + re.escape("".join(PAIRS)) + "]")
SENTENCE_PUNCTUATION = set(",，。;；!！?？、")
NO_BYLINE_PUNCTUATION = set(",，。;；!！?？、：:")
MAX_HEADLINE_CHARS = 40
MAX_BYLINE_CHARS = 30

NAME = r"[\u4e00-\u9fff]{1,3}(?:·[\u4e00-\u9fff]{1,6})?"
NAMES = rf"{NAME}(?:\s+{NAME})*"
# A byline of one name alone: two or three characters (180 of the 187
# one-word bylines of the development set; four-character words alone are
# far more often standing heads such as 大地书讯).
SINGLE_NAME = re.compile(r"(?:记者)?[\u4e00-\u9fff]{2,3}|[\u4e00-\u9fff]{1,4}·[\u4e00-\u9fff]{1,6}")
BYLINE_WORDS = ("记者", "通讯员", "评论员", "特约")
REPORTER_BYLINE = re.compile(r"^■|^记者")
# Characters no name starts with: particles, numerals, 据 (as in 据新华社).
NOT_NAME_START = set("之的了是在和与及对把被将而但并或等其就也都又还据每第一二三四五六七八九十")
# The bundled pages' forms: names, ``■记者 孟 航 李彤彤``.
SIMPLE_BYLINE = re.compile(rf"^(?:■\s*)?(?:记者\s*)?({NAMES})$")
ORGANISATION = re.compile(r"^[\u4e00-\u9fff()（）]{2,24}(?:委|部|党委|党工委|党组|局|办|办公室|中心|政府|协会|联合会)$")
DATELINE = re.compile(r"^[【\[]?据?(?:本报|新华社|中新社)[^，。：]{0,24}?(?:电|讯)")
NUMBERED = re.compile(r"^(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十\d０-９]+[)）]|[\d０-９]+[、．.]"
                      r"|第[一二三四五六七八九十百\d０-９]+[章条节部]|[●■▲◆△☆★□◇○])")
PHOTO_CREDIT = re.compile(r"(?:图片由.{1,30}提供|供图|\s摄|[（(][^（）()]{0,20}摄[^（）()]{0,6}[）)])$")
CAPTION = re.compile(r"(?:^图为|。图为|^图片[：:]?$|^[（(]附图片.{1,3}张[）)]$|" + PHOTO_CREDIT.pattern + ")")
CREDIT = re.compile(rf"^[(（]\s*({NAMES})\s*[)）]$")
TRAILING_CREDIT = re.compile(rf"(?<=[{TERMINAL}”’])\s*[(（]\s*({NAMES})\s*[)）]$")
JUMP = re.compile(r"^[(（]\s*(?:下转|上接|转自|接第|转第)[^（）()]{1,12}[)）]$")
END_MARK = re.compile(r"^[(（]\s*完\s*[)）]$")
DEBRIS = re.compile(r"^(?:来源[:：].*|\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|目录\s*返回|返回\s*目录"
                    r"|首页|上一[页篇]|下一[页篇]|◎?欢迎参与讨论.*|[【\[]?打印[】\]]?|[【\[]?关闭[】\]]?)$")
SOURCE_LINE = re.compile(r"^来源[:：]")
DIGIT = re.compile(r"[\d０-９]")
APOSTROPHE = re.compile(r"’(?=[\d０-９])")  # ’９７: 1997
# A sentence, then who wrote it or where from: ``…。（河南省新县公安局吕启超）``.
CLOSING_CREDIT = re.compile(r"(?:[(（][^（）()]{1,16}|^[^（）()]{1,16})[)）]$")
CREDIT_AFTER_SENTENCE = re.compile(r"[。！？!?…][”’」』]?\s*[（(][^（）()]{1,40}[)）]$")
# One word naming a post and a person: 社科院农发所副所长韩俊, 新华社高级编辑李长久.
POST_AND_NAME = re.compile(r"^\S{2,16}(?:所长|主任|编辑|记者|教授|研究员|局长|部长|书记|主席|院长|校长|经理|会长)"
                           r"(?P<name>[\u4e00-\u9fff]{2,3})$")
NUMBER_END = re.compile(r"[\d０-９]$")
NUMBER_GOES_ON = re.compile(r"^[\d０-９年月日时分秒号％%万亿千百个名人次岁元米倍户家项件座台辆吨斤公]")
# Standing heads: the same small heading over briefs or photos in every issue.
STANDING_HEAD = re.compile(r"^(?:图片新闻|新闻图片|图片报道|[\u4e00-\u9fff]{0,4}(?:简讯|快讯|短波|集锦|速递|一览)"
                           r"|[\u4e00-\u9fff]{0,6}(?:天气预报|气象预报)[^。，]{0,20})$")
# A line that opens with these cannot start anything: it continues a sentence.
CONTINUING = tuple("，,。.、；;：:！!？?）)」』”’》")
# Characters a broken-off line often ends with and a headline seldom does.
FUNCTION_CHARS = set("的了是在和与及对把被将为从向于而但并或等之其就也都又还")
# The tests of one line's text are asked many times per page (and pages
# repeat bylines, standing heads and formulaic paragraphs): remembered.
_REMEMBERED: list[Callable] = []  # every test made with per_text


def per_text(test: Callable) -> Callable:
    """``test`` remembering its answers for the last 65,536 texts."""
    remembered = lru_cache(maxsize=1 << 16)(test)
    _REMEMBERED.append(remembered)
    return remembered


def forget_texts() -> None:
    """Forget every remembered answer (to time a page as if never seen)."""
    for remembered in _REMEMBERED:
        remembered.cache_clear()


@per_text
def continues_sentence(text: str) -> bool:
    """Does the line open with punctuation that only follows other text
    (``’９７`` is an apostrophe, not a closing quote)?"""
    return text.startswith(CONTINUING) and not re.match(r"’[\d０-９]", text)


@per_text
def is_complete(text: str) -> bool:
    """Does the text end a sentence (a credit in parentheses after it aside)?"""
    return text.rstrip(CLOSERS + " ")[-1:] in TERMINAL or (text.endswith((")", "）"))
                                                            and bool(CREDIT_AFTER_SENTENCE.search(text)))


@per_text
def is_balanced(text: str) -> bool:
    if not BRACKET.search(text):
        return True
    text = APOSTROPHE.sub("", text)
    return all(text.count(a) == text.count(b) for a, b in PAIRS)


@per_text
def closes_credit(text: str) -> bool:
    """Does the line end with a short parenthesis, as credits and ``（完）``
    do (or with the end of one opened on the line before a column break)?"""
    return text.endswith((")", "）")) and bool(CLOSING_CREDIT.search(text))


@per_text
def caption_like(text: str) -> bool:
    # (every form of a caption or a photo credit has 图 or 摄: most lines are
    # ruled out without the search)
    return ("图" in text or "摄" in text) and bool(CAPTION.search(text))


def breaks_word(left: str, right: str) -> bool:
    """Do the end of ``left`` and the start of ``right`` form one word, as in
    ``推进机`` / ``制``? Then the two lines are one sentence broken apart."""
    return _breaks_at(left[-3:], right[:3])


@per_text
def _breaks_at(tail: str, head: str) -> bool:
    for word, start, end in jieba_tokenizer().tokenize(tail + head):
        if start < len(tail) < end and len(word) >= 2:
            return True
    return False


def runs_into(text: str, following: str | None) -> bool:
    """Does an unfinished line run on into the next: a word broken across
    them (datelines and bylines start afresh, whatever jieba makes of the
    join) or a number (``１９９７年１２`` / ``月…``)? Of 857 such lines of
    the development set, 2 start a story."""
    if following is None or is_complete(text):
        return False
    if NUMBER_END.search(text) and NUMBER_GOES_ON.match(following):
        return True
    return not DATELINE.match(following) and not byline_like(following) and breaks_word(text, following)


# The most common Chinese surnames (the first hundred or so of today's
# population counts): a byline that starts with one of them reads as a name.
COMMON_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
                      "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
                      "文常牛")


def dictionary_word_across(left: str, right: str) -> bool:
    """Does a dictionary word (jieba without guessing new words) run from
    the end of ``left`` into the start of ``right``, as 玩出民 / 族特色?"""
    return _dictionary_word_at(left[-3:], right[:3])


@per_text
def _dictionary_word_at(tail: str, head: str) -> bool:
    return any(start < len(tail) < end and len(word) >= 2
               for word, start, end in jieba_tokenizer().tokenize(tail + head, hmm=False))


@per_text
def byline_like(text: str) -> bool:
    """Names, optionally after an affiliation or a role (``本报记者 鲍洪俊``,
    ``本报记者 XXX 通讯员 YYY``, ``湖南郴州市 刘洪杰``, ``本报评论员``), or an
    organisation; no sentence punctuation."""
    if (len(text) > MAX_BYLINE_CHARS or not NO_BYLINE_PUNCTUATION.isdisjoint(text) or DIGIT.search(text)
            or DATELINE.match(text)):
        return False
    tokens = text.lstrip("■ ").split()
    if not tokens:
        return False
    if len(tokens) == 1 and SINGLE_NAME.fullmatch(tokens[0]):
        return tokens[0][0] not in NOT_NAME_START
    if (len(tokens) > 1 and SIMPLE_BYLINE.match(text)) or ORGANISATION.match(text):
        return True
    if len(tokens) == 1 and POST_AND_NAME.match(tokens[0]):
        return True
    if len(tokens) == 1:
        return tokens[0].endswith(BYLINE_WORDS[2]) or any(
            re.fullmatch(rf"\S{{0,16}}{word}{NAME}", tokens[0]) for word in BYLINE_WORDS[:2])
    name = re.compile(NAME)
    return bool(name.fullmatch(tokens[-1])) and all(
        name.fullmatch(token) or token.endswith(BYLINE_WORDS) or (position == 0 and len(token) <= 16)
        for position, token in enumerate(tokens))


@per_text
def byline_names(text: str) -> tuple[str, ...]:
    """The people a byline names: roles and affiliations left out, a name
    printed with a space (``孟 航``) read as one."""
    if ORGANISATION.match(text):
        return (text,)
    tokens = text.lstrip("■ ").split()
    if len(tokens) == 1 and tokens[0].endswith(BYLINE_WORDS[2]):
        return (tokens[0],)
    post = POST_AND_NAME.match(tokens[0]) if len(tokens) == 1 else None
    if post:
        return (post.group("name"),)
    names: list[str] = []
    for position, token in enumerate(tokens):
        for word in BYLINE_WORDS:
            if word in token:
                token = token.split(word, 1)[1]
        if not token or (position == 0 and len(tokens) > 1 and len(token) > 4 and "·" not in token):
            continue
        if names and len(names[-1]) == 1:
            names[-1] += token
        else:
            names.append(token)
    return tuple(names)


def split_names(names: str) -> list[str]:
    """``吴丽珍 陈金金`` → two names; ``孟 航`` is one name printed with a space."""
    result: list[str] = []
    for part in names.split():
        if result and len(result[-1]) == 1:
            result[-1] += part
        else:
            result.append(part)
    return result


@per_text
def headline_like(text: str) -> bool:
    """Short, no sentence punctuation, not a caption, credit or web debris."""
    return (len(text) <= MAX_HEADLINE_CHARS
            and SENTENCE_PUNCTUATION.isdisjoint(text)
            and is_balanced(text)
            and not text.startswith(("(", "（", "■"))
            and not caption_like(text) and not CREDIT.match(text) and not DEBRIS.match(text))
