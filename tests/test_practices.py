"""Named practices: the rules on made-up sentences, the expected list for the
38 bundled stories, and the field on story records, the API and the story page.

The expected practices (fixtures/practices.json) were written by reading each
story before the rules were tuned: every method, mechanism, model, platform,
team, project or campaign the story gives a name to (quoted, a formula, or a
…机制/…模式/…行动 name introduced by a verb that creates it), with its kind and
the place it belongs to. Not counted: speech and slogans, problems, honours and
titles, documents, brands that are only being built (“马上清廉”品牌 is not
counted either way), events, and ordinary services (专属停车位).
"""
from __future__ import annotations

from pathlib import Path

from storysearch.index import layout
from storysearch.index.practices import (KINDS, PRACTICES_VERSION, explain_practices, extract_practices,
                                         practice_key)
from storysearch.index.practices_eval import corpus_stories, extract_all, load_expected, score, same
from storysearch.index.stories import Story

EXPECTED = Path(__file__).parent / "fixtures" / "practices.json"


def story(*paragraphs: str, headline: str = "标题") -> Story:
    return Story(id="t-000", source="t.txt", order=0, headline=headline, paragraphs=list(paragraphs))


def names(*paragraphs: str, places: list[str] | None = None) -> dict[str, str]:
    return {p.name: p.kind for p in extract_practices(story(*paragraphs), places or [])}


def verdict(text: str, phrase: str):
    return next(v for v in explain_practices(story(text)) if v.phrase == phrase)


# The rules that take a phrase.

def test_a_quoted_name_ending_in_a_practice_word():
    assert names("某县推行“三事工作法”,提升治理效能。") == {"三事工作法": "工作法"}
    assert names("组建了一支“社区物资保障车队”。") == {"社区物资保障车队": "队伍"}


def test_a_quote_followed_by_its_practice_word():
    assert names("某镇建立“2+Y+M”推进机制,推动工作。") == {"2+Y+M": "机制"}
    assert names("该镇开展“随手查”行动。") == {"随手查": "行动"}
    assert names("引入“调解+公证”模式。") == {"调解+公证": "模式"}


def test_a_list_of_quotes_shares_its_practice_word():
    assert names("创设“早餐会”“青年沙龙”等载体。") == {"早餐会": "其他", "青年沙龙": "其他"}


def test_the_object_of_a_launching_verb():
    found = verdict("某街道建立“为民兜底办”,解决难事。", "为民兜底办")
    assert found.taken and found.rule == "launched"
    assert names("深化“项目负责制”。") == {"项目负责制": "机制"}


def test_a_practice_the_work_is_carried_by():
    found = verdict("以“议事日”为载体开展协商。", "议事日")
    assert found.taken and found.rule == "carrier"


def test_formula_names():
    assert verdict("探索“五网四格三联”治理。", "五网四格三联").rule in ("formula", "launched")
    assert verdict("该镇“三抓三促”成效明显。", "三抓三促").taken
    assert verdict("推广“一楼一群”。", "一楼一群").taken


def test_unquoted_names_after_a_launching_verb():
    assert names("建立党组织议事前置机制,提升议事效能。") == {"党组织议事前置机制": "机制"}
    assert names("建立双向沟通协商机制、双向服务联动机制。") == {"双向沟通协商机制": "机制", "双向服务联动机制": "机制"}


def test_a_name_inside_a_document_that_launches_it():
    assert names("出台《关于开展“乡贤回归工程”的实施意见》。") == {"乡贤回归工程": "工程"}


# The exclusions.

def test_quoted_speech_is_not_a_practice():
    assert verdict("老人总说“社工比子女还亲”。", "社工比子女还亲").rule == "speech"
    assert names("他说:“我们建立了议事机制,效果很好。”") == {}


def test_slogans_are_not_practices():
    found = verdict("确保急事“有呼必应”。", "有呼必应")
    assert not found.taken and found.rule == "slogan"
    assert not verdict("打造“共建、共治、共享、共富”格局。", "共建、共治、共享、共富").taken


def test_problems_are_not_practices():
    assert verdict("破解“小马拉大车”难题。", "小马拉大车").rule == "problem"
    assert verdict("把破解“停车难、充电难”作为重点项目。", "停车难、充电难").rule == "problem"


def test_honours_and_titles_are_not_practices():
    assert verdict("争创省级“优秀红色工地”。", "优秀红色工地").rule == "honour"
    assert verdict("成功入选“示范工作创新实践项目”。", "示范工作创新实践项目").rule == "honour"
    assert verdict("被称为“葡萄大王”的他。", "葡萄大王").rule == "honour"


def test_documents_are_not_practices_unless_they_launch_one():
    assert verdict("响应《人大助推“三个一号工程”行动方案》。", "三个一号工程").rule == "document"
    assert names("出台《社会救助服务规范》。") == {}


def test_target_groups_manners_events_and_categories_are_not_practices():
    assert verdict("聚焦“一老一小”服务。", "一老一小").rule == "target-group"
    assert verdict("落实“一对一”联系制度。", "一对一").rule == "manner"
    assert verdict("举行“党建联建 共建优质工程”签约仪式。", "党建联建 共建优质工程").rule == "event"
    assert verdict("开展“安全生产”“产业链协作”等各项活动。", "安全生产").rule == "category"
    assert names("组建89支志愿服务队伍。") == {}
    assert names("开展电动自行车安全专项整治行动。") == {}


def test_organisation_charts_and_levels_are_not_practices():
    assert verdict("构建“镇党委—社区党组织—网格”组织架构。", "镇党委—社区党组织—网格").rule == "levels"
    assert verdict("明确“安全”“宜居”“宜养”三级需求体系。", "安全").rule == "levels"


# One practice however printed.

def test_the_same_practice_printed_differently_is_one():
    assert practice_key("“三方协同”") == practice_key("三方协同机制") == practice_key("三方協同")
    assert practice_key("1+X+N") == practice_key("1加X加N") == practice_key("“1+x+n”")
    found = extract_practices(story("深化“三方协同”共治,形成“三方协同”机制,推广“三方協同”模式。"), [])
    assert len(found) == 1 and found[0].kind == "机制" and len(found[0].evidence) == 3


def test_place_definition_and_kind():
    text = "甲县建立“1+X+N”推进机制,即1名县领导领衔、X个部门组团、N名党员参与。乙镇推行“五事工作法”。"
    found = {p.name: p for p in extract_practices(story(text), ["甲县", "乙镇"])}
    assert found["1+X+N"].place == "甲县" and found["五事工作法"].place == "乙镇"
    assert found["1+X+N"].definition.startswith("1名县领导领衔")
    assert all(p.kind in KINDS for p in found.values())
    assert extract_practices(story("推行“五事工作法”。"), [])[0].place == ""


# The bundled corpus.

def test_bundled_stories_against_the_expected_list():
    result = score(load_expected(EXPECTED), extract_all(corpus_stories(layout.DEFAULT_CORPUS)))
    assert result.expected >= 130
    assert result.precision >= 0.90, result.false_hits
    assert result.recall >= 0.86, result.misses
    assert result.kind_agree >= 0.9 * result.correct
    assert result.place_agree >= 0.9 * result.correct


def test_the_scorer_matches_keys_and_qualified_names():
    assert same("部门审管衔接", "区内部门审管衔接") and not same("三联", "五融三联")


# The index, the records, the API and the story page.

def test_the_build_records_practices_with_their_version(corpus_index, engine):
    meta = layout.read_meta(layout.current_generation(corpus_index))
    assert meta["enrichment"]["practices"] == PRACTICES_VERSION
    first = engine.stories["000_472abf4c9f81a632-000"]
    assert [p["name"] for p in first.practices][:2] == ["六事工作法", "1+X+N"]
    assert first.practices[0]["place"] == "庆元县" and first.practices[0]["reason"]


def test_story_records_and_the_api_carry_practices(client):
    record = client.get("/api/story/000_472abf4c9f81a632-000").get_json()
    assert record["practices"][0]["name"] == "六事工作法"
    hits = client.get("/api/search?q=六事工作法&k=3").get_json()["hits"]
    first = next(hit for hit in hits if hit["id"] == "000_472abf4c9f81a632-000")
    assert set(first["practices"][0]) == {"name", "kind", "place", "definition"}
    spec = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    assert "practices" in spec["StoryRef"]["properties"] and "practices" in spec["Story"]["properties"]


def test_the_story_page_lists_its_practices(client):
    page = client.get("/story/000_472abf4c9f81a632-000").get_data(as_text=True)
    assert "做法：" in page and "1+X+N" in page and "工作法" in page


def test_figures_of_speech_are_not_practices():
    assert verdict("把“小驿站”变成“大管家”,服务企业。", "小驿站").rule == "figure"


def test_organisations_numbers_and_descriptions_are_not_practices():
    assert verdict("成立了“邮发服务有限公司”。", "邮发服务有限公司").rule == "organisation"
    assert verdict("完成“九五”计划。", "九五").rule == "too-short"
    assert not verdict("实施“有保有压”的信贷政策。", "有保有压").taken
    assert not verdict("“持证上岗”是一个好制度。", "持证上岗").taken
    assert names("企业建立了激励机制,搭建服务平台。") == {}
    assert names("建立和健全了干部下乡考核监督约束机制。") == {"干部下乡考核监督约束机制": "机制"}


def test_traditional_characters_and_corner_quotes_give_the_same_practice():
    found = extract_practices(story("某縣建立「三方協同」機制。", "推廣“三方协同”模式。"), [])
    assert len(found) == 1 and found[0].name == "三方協同" and found[0].key == practice_key("三方协同")


def test_stories_explain_says_why_each_candidate_was_or_was_not_taken(tmp_path, capsys):
    from storysearch.cli import main

    (tmp_path / "p.txt").write_text("某县推行“六事工作法”\n\n本报记者 张三\n\n近日,某县推行“六事工作法”,"
                                    "确保急事“有呼必应”,破解“小马拉大车”难题。\n", encoding="utf-8")
    assert main(["stories", str(tmp_path), "--explain"]) == 0
    rows = [row for row in capsys.readouterr().out.splitlines() if " practice " in row]
    assert any("practice taken 六事工作法" in row and "← name-word" in row for row in rows)
    assert any("有呼必应" in row and "← slogan" in row for row in rows)
    assert any("小马拉大车" in row and "← problem" in row for row in rows)
