"""Story segmentation: the five bundled pages against their expected
segmentation (tests/fixtures/segmentation.json, written from reading the
pages), and each rule on small made-up pages."""
import json
from pathlib import Path

import pytest

from storysearch.index import layout
from storysearch.index.corpus import read_corpus
from storysearch.index.segment import TRAILING_CREDIT, segment_page, split_stories

EXPECTED = json.loads((Path(__file__).parent / "fixtures" / "segmentation.json").read_text(encoding="utf-8"))
PAGES = {page.source: page for page in read_corpus(layout.DEFAULT_CORPUS)[0]}


def flags_of(story):
    return [name for name, value in vars(story.flags).items() if value]


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_bundled_page_matches_expected_segmentation(source):
    page = PAGES[source]
    result = segment_page(source, page.text)
    expected = EXPECTED[source]["stories"]
    assert [s.headline for s in result.stories] == [e["headline"] for e in expected]
    for story, want in zip(result.stories, expected):
        assert story.subheadline == want["subheadline"], story.headline
        assert story.authors == want["authors"], story.headline
        assert [[p[:6], p[-6:]] for p in story.paragraphs] == want["paragraphs"], story.headline
        assert [c[:10] for c in story.captions] == want["captions"], story.headline
        assert [d[:10] for d in story.duplicates] == want["duplicates"], story.headline
        assert flags_of(story) == want["flags"], story.headline
    assert [d.no for d in result.debris] == EXPECTED[source]["debris"]


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_every_line_is_in_exactly_one_story_or_named_debris(source):
    page = PAGES[source]
    result = segment_page(source, page.text)
    nonempty = {no for no, line in enumerate(page.text.split("\n"), 1) if line.strip()}
    used = [no for story in result.stories for no in story.lines] + [d.no for d in result.debris]
    assert sorted(used) == sorted(nonempty)
    assert len(used) == len(set(used))


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_clean_bodies(source):
    page = PAGES[source]
    for story in split_stories(source, page.text):
        paragraphs = story.paragraphs
        assert len(paragraphs) == len(set(paragraphs)), story.headline
        for paragraph in paragraphs:
            assert "图为" not in paragraph and not paragraph.endswith(("供图", " 摄"))
            assert "来源:" not in paragraph and "目录 返回" not in paragraph
            assert not TRAILING_CREDIT.search(paragraph), paragraph[-20:]


def test_bundled_counts():
    stories = [s for source in sorted(PAGES) for s in split_stories(source, PAGES[source].text)]
    assert len(stories) == 38
    assert sum(len(s.duplicates) for s in stories) == 4
    assert sum(s.flags.continued_from_earlier_page for s in stories) == 4
    assert sum(s.flags.truncated for s in stories) == 2
    assert sum(s.flags.has_photo for s in stories) == 4


def test_ids_are_stable_across_runs():
    source = "001_b59fd8846a464d7b.txt"
    first = [s.id for s in split_stories(source, PAGES[source].text)]
    again = [s.id for s in split_stories(source, PAGES[source].text)]
    assert first == again
    assert first[0] == "001_b59fd8846a464d7b-000" and len(set(first)) == len(first)


# ---------------------------------------------------------------- rules
def one(text, source="t.txt"):
    stories = split_stories(source, text)
    assert len(stories) == 1, [s.headline for s in stories]
    return stories[0]


def test_headline_byline_and_paragraphs():
    story = one("标题一行\n\n张三 李四\n\n第一段完整。\n\n第二段也完整。\n")
    assert (story.headline, story.authors, story.paragraphs) == ("标题一行", ["张三", "李四"], ["第一段完整。", "第二段也完整。"])


def test_reporter_byline_with_a_spaced_name():
    story = one("某市：社区治理添动力\n\n■记者 孟 航 李彤彤\n\n正文一句。\n")
    assert story.headline == "某市：社区治理添动力" and story.authors == ["孟航", "李彤彤"]


def test_two_line_headline_and_organisation_byline():
    story = one("做强街道做优社区\n全面提升基层治理效能\n杭州市临平区委\n作为首创地,临平区牢记嘱托。\n")
    assert story.headline == "做强街道做优社区"
    assert story.subheadline == "全面提升基层治理效能"
    assert story.authors == ["杭州市临平区委"]
    assert story.paragraphs == ["作为首创地,临平区牢记嘱托。"]


def test_credit_line_and_inline_credit():
    story = one("标题\n\n第一段。\n\n第二段说完了。(王五)\n\n(赵六 钱七)\n")
    assert story.authors == ["王五", "赵六", "钱七"]
    assert story.paragraphs == ["第一段。", "第二段说完了。"]


def test_parentheses_inside_text_are_not_credits():
    story = one("标题\n\n秀洲区委统战部(区侨联)打造平台。\n")
    assert story.authors == [] and story.paragraphs == ["秀洲区委统战部(区侨联)打造平台。"]


def test_words_and_sentences_broken_across_blank_lines_are_joined():
    story = one("标题\n\n庆元县建立推进机\n\n制,即联系县领导领衔。\n\n这样的场景已持续三\n\n年有余,老人总说好。\n")
    assert story.paragraphs == ["庆元县建立推进机制,即联系县领导领衔。", "这样的场景已持续三年有余,老人总说好。"]


def test_a_short_line_that_breaks_a_word_is_not_a_headline():
    story = one("标题\n\n第一段完整。\n\n营商环境优化提升是一项综\n\n合集成的系统工程。\n")
    assert story.paragraphs == ["第一段完整。", "营商环境优化提升是一项综合集成的系统工程。"]


def test_duplicates_verbatim_truncated_and_with_a_place_changed():
    verbatim = "在经济企业上做到有温度,组建一支队伍,搭建两组架构,创新一门多窗模式。"
    place = "为预防火灾,温州市苍南县桥墩镇全面开展电动自行车消防安全管理,新建充电桩350个。"
    moved = "嘉兴港区桥墩镇全面开展电动自行车消防安全管理,新建充电桩350个。"
    longer = "同属苍南县的藻溪镇也开展了专项整治行动,工作人员在辖区安装多处电动自行车充电桩。"
    text = "\n\n".join(["标题", verbatim, place, longer, verbatim, moved, longer[:30]])
    story = one(text)
    assert story.paragraphs == [verbatim, place, longer]
    assert story.duplicates == [verbatim, moved, longer[:30]]


def test_a_truncated_first_copy_is_replaced_by_the_fuller_one():
    full = "同属苍南县的藻溪镇也开展了专项整治行动,工作人员在辖区安装多处电动自行车充电桩。"
    story = one("\n\n".join(["标题", "开头一段。", full[:25] + "。", full]))
    assert story.paragraphs == ["开头一段。", full]


def test_captions_are_taken_out_of_the_body():
    story = one("标题\n\n正文一段。\n\n4月29日晚,志愿者开展义卖活动。 计静静 摄\n\n"
                "图为社区议事现场。\n\n张掖市社区开展宣传活动。市委组织部供图\n\n正文二段。\n")
    assert story.paragraphs == ["正文一段。", "正文二段。"]
    assert len(story.captions) == 3 and story.flags.has_photo


def test_a_caption_inside_a_broken_sentence_of_a_photo_story():
    story = one("标题\n\n以崇贤街道为例,该街道不断深化\n\n曹家浜社区议事会议。\n\n"
                "图片由崇贤街道提供\n\n推进三方协同共治。\n")
    assert story.paragraphs == ["以崇贤街道为例,该街道不断深化推进三方协同共治。"]
    assert story.captions == ["曹家浜社区议事会议。", "图片由崇贤街道提供"]


def test_without_a_photo_a_short_line_continues_the_sentence():
    story = one("标题\n\n尖山社区坚持把党建工作融入网格,探索了一条党建引领新居民\n\n集中治理新路径。\n")
    assert story.paragraphs == ["尖山社区坚持把党建工作融入网格,探索了一条党建引领新居民集中治理新路径。"]


def test_photo_only_item():
    story = one("监督助力 优化营商环境\n\n街道开展专项监督。图为干部走访企业。(沈菲)\n")
    assert story.paragraphs == [] and story.captions == ["街道开展专项监督。图为干部走访企业。"]
    assert story.authors == ["沈菲"] and story.flags.has_photo


def test_story_continued_from_an_earlier_page():
    long = "乡贤是招商引资的主力军,今年出台了一系列新政策,鼓励引导在外乡贤回乡创业发展,带动村民就业增收。"
    assert one(f"标题\n\n实现突围发展。\n\n{long}\n").flags.continued_from_earlier_page
    assert one("标题\n\n效双提升。”负责人表示,将带动增收。\n").flags.continued_from_earlier_page
    assert not one(f"标题\n\n近日,某县出台新政策。\n\n{long}\n").flags.continued_from_earlier_page
    assert not one("标题\n\n一段很短的导语。\n").flags.continued_from_earlier_page


def test_text_before_the_first_headline_is_an_untitled_continuation():
    stories = split_stories("t.txt", "上页延续的一段文字。\n\n新标题\n\n正文。\n")
    assert [(s.headline, s.paragraphs) for s in stories] == [("", ["上页延续的一段文字。"]), ("新标题", ["正文。"])]
    assert stories[0].flags.continued_from_earlier_page


def test_truncated_story():
    story = one("标题\n\n第一段完整。\n\n文新街道阳光社区在\n")
    assert story.flags.truncated


INTERLEAVED = """人大助力 城乡风貌美

新安镇人大代表讲解全域土地综合整治搬迁政策,组建人大代表服务队。

社工学院 培训接地气

锦城街道横潭社区成立社工学院,为社工们送上学习大礼包。

社工学院学制1年,设立社区书记头雁班和关爱赋能暖心

凝聚人大力量,新安镇人大代表推进全域土地整治,提升人居环境。(沈璐璐)

三管齐下 保工程质量

浙江交工路建推动公路项目建设事项公开。(范慧聪)
"""


def test_an_interleaved_fragment_goes_back_to_its_story():
    stories = split_stories("t.txt", INTERLEAVED)
    by_headline = {s.headline: s for s in stories}
    assert by_headline["人大助力 城乡风貌美"].paragraphs[-1].startswith("凝聚人大力量")
    assert by_headline["人大助力 城乡风貌美"].authors == ["沈璐璐"]
    assert by_headline["社工学院 培训接地气"].paragraphs[-1].endswith("关爱赋能暖心")
    assert by_headline["社工学院 培训接地气"].flags.truncated


def test_a_headline_printed_again_continues_its_story():
    text = ("楼宇服务 三度融合\n\n近年来,仓前街道坚持从实际出\n\n电车消防 时刻紧抓\n\n别的正文。\n\n"
            "楼宇服务 三度融合\n\n发,坚守亲清底线。\n")
    stories = split_stories("t.txt", text)
    assert [s.headline for s in stories] == ["楼宇服务 三度融合", "电车消防 时刻紧抓"]
    assert stories[0].paragraphs == ["近年来,仓前街道坚持从实际出发,坚守亲清底线。"]


def test_crossheads_stay_inside_a_reporter_story():
    text = ("张掖市：四方联动聚合力\n\n■记者 郭文治\n\n导语一段。\n\n汇聚四方力量 社区治理大家干\n\n正文一段。\n\n"
            "盘州市：新兴领域强党建\n\n■记者 李彤彤\n\n另一篇正文。\n")
    stories = split_stories("t.txt", text)
    assert [s.headline for s in stories] == ["张掖市：四方联动聚合力", "盘州市：新兴领域强党建"]
    assert stories[0].paragraphs == ["导语一段。", "汇聚四方力量 社区治理大家干", "正文一段。"]


def test_web_debris_and_page_title_are_named():
    text = "某某工作推进会发言摘登\n来源:萧山党建\n标题\n正文。\n2024-12-10 07:03:12\n目录 返回\n首页\n"
    result = segment_page("t.txt", text)
    assert [s.headline for s in result.stories] == ["标题"]
    assert [(d.no, d.reason) for d in result.debris] == [
        (1, "page title"), (2, "web page debris"), (5, "web page debris"), (6, "web page debris"), (7, "web page debris")]


def test_fullwidth_and_halfwidth_punctuation_both_end_sentences():
    story = one("标题\n\n第一句，没有完\n\n结束了．还有！\n\n第二段?\n\n第三段。\n")
    assert story.paragraphs[0] == "第一句，没有完结束了．还有！"
    assert story.paragraphs[1:] == ["第二段?", "第三段。"]


def formulaic_story(district: str, name: str) -> str:
    return (f"{district}垃圾分类宣传进社区\n\n{name}\n\n近日,{district}组织志愿者走进社区,"
            f"向居民讲解垃圾分类知识,发放宣传资料200余份,现场指导居民正确投放。\n")


def test_two_stories_that_say_similar_things_are_two_stories():
    text = formulaic_story("西湖区", "张三") + "\n" + formulaic_story("鄞州区", "李四")
    result = segment_page("t.txt", text)
    assert [s.headline for s in result.stories] == ["西湖区垃圾分类宣传进社区", "鄞州区垃圾分类宣传进社区"]
    assert all(len(s.paragraphs) == 1 and not s.duplicates for s in result.stories)
    assert result.removed == []


def test_a_page_of_500_formulaic_stories_keeps_all_500():
    districts = [f"第{n}区" for n in range(500)]
    text = "\n".join(formulaic_story(d, "王五") for d in districts)
    assert len(split_stories("t.txt", text)) == 500


def test_removed_text_is_reported_with_its_line():
    text = "标题\n\n第一段说了一件事,内容完整。\n\n第一段说了一件事,内容完整。\n\n孤立的标题\n"
    result = segment_page("t.txt", text)
    assert [(d.no, d.reason) for d in result.removed] == [(5, "paragraph printed twice in 标题")]


def generated_page(megabytes: float) -> tuple[str, int]:
    """Formulaic stories, each with a sentence broken at a column break, until the page is this big."""
    parts, size = [], 0
    while size < megabytes * 1_000_000:
        n = len(parts)
        place = chr(0x4E00 + n * 7919 % 20000) + chr(0x4E00 + n // 20000)  # no two alike
        part = (f"{place}区垃圾分类宣传进社区\n\n王五\n\n近日,{place}区组织志愿者走进社区,向居民讲解垃圾分类\n\n"
                f"知识,发放宣传资料200余份。\n\n居民纷纷表示受益匪浅,将坚持做好垃圾分类。\n")
        parts.append(part)
        size += len(part.encode("utf-8"))
    return "\n".join(parts), len(parts)


def test_work_on_a_big_page_grows_with_its_stories_not_their_square():
    # Work is counted (text comparisons), not timed: a page of 1 MB, twenty
    # times the small one, shows any growth with the square of the stories
    # and keeps the test fast (bench_segmentation --big-page 5 times 5 MB).
    text, count = generated_page(1)
    result = segment_page("big.txt", text)
    assert len(result.stories) >= 0.99 * count
    nonempty = sum(1 for line in text.split("\n") if line.strip())
    assert sum(len(s.lines) for s in result.stories) + len(result.debris) == nonempty
    small = segment_page("small.txt", generated_page(0.05)[0])
    per_story = small.comparisons / len(small.stories)
    assert 0 < per_story <= 10
    assert result.comparisons <= 1.1 * per_story * count


def test_three_headline_lines_are_kicker_headline_and_subheadline():
    story = one("跨越千里送温暖\n\n抗震救灾物资运抵张北\n\n各地支援源源不断\n\n本报记者 王慧敏\n\n"
                "本报张北１月１５日电 今天,又一批救灾物资运抵灾区,受到灾民欢迎。\n")
    assert (story.kicker, story.headline, story.subheadline) == ("跨越千里送温暖", "抗震救灾物资运抵张北", "各地支援源源不断")
    assert story.authors == ["王慧敏"] and story.title == "跨越千里送温暖 抗震救灾物资运抵张北 各地支援源源不断"
    assert story.paragraphs[0].startswith("本报张北１月１５日电")


def test_numbered_crossheads_and_jump_lines_are_kept_apart():
    second = "第二段说了另一件事:各级党组织要把这项工作摆上重要议事日程,主要负责同志亲自抓,内容也完整。"
    story = one(f"标题\n\n第一段说了一件事,内容完整。\n\n一、加强组织领导\n\n{second}\n\n（下转第二版）\n")
    assert story.paragraphs == ["第一段说了一件事,内容完整。", "一、加强组织领导", second]
    assert story.paragraph_roles == ["body", "crosshead", "body"] and story.jumps == ["下转第二版"]


def test_old_story_records_are_read():
    from storysearch.index.stories import Story
    old = {"id": "a-000", "source": "a.txt", "order": 0, "headline": "标题", "subheadline": "副题",
           "authors": [], "paragraphs": ["一段。"], "captions": [], "flags": {"truncated": False}}
    story = Story.from_dict(old)
    assert (story.kicker, story.jumps, story.paragraph_role(0)) == ("", [], "body")


def test_stories_under_one_headline_stay_apart_unless_the_first_stops_mid_sentence():
    briefs = "\n".join(f"垃圾分类宣传进社区\n\n{name}\n\n近日,{district}组织志愿者走进社区,讲解垃圾分类知识,发放资料。\n"
                       for name, district in (("张三", "西湖区"), ("李四", "鄞州区"), ("王五", "上城区")))
    assert [s.authors for s in split_stories("t.txt", briefs)] == [["张三"], ["李四"], ["王五"]]


def test_a_line_ending_as_an_earlier_subhead_of_its_story_is_a_crosshead():
    p = ["在已经过去的一年中，几年前曾经使个别艺术家心烦意躁的假画，在不少艺术品拍卖中大行其道，说来说去是两个字",
         "中国艺术品作伪从何时起步，尚无准确考稽。从已知的文献记载看，作伪最为猖獗的时期大约有北宋中后期、南宋和明清几个时期。",
         "作伪技术，除了传统的挖款、改款、添款、移动画跋、拼凑画芯以外，一些新的技术手段也被运用于作伪，如激光照排等。",
         "赝品横行，都是因为一个“钱”字。卖家以假充真，是为了一个“钱”字；买家不怕赝品，也是为了一个“钱”字。",
         "只有这样，才能在艺术品拍卖、经营领域逐步建立起明确、完善的秩序，以法打“假”，以法管“钱”。",
         "著名声乐教育家周小燕教授从教五十年，培养了一大批在国内外声乐比赛中获奖的优秀歌唱家，桃李满天下。"]
    for subhead in ("“钱”字了得", "“钱”字\n\n了得"):  # (the second broken at a column break)
        text = (f"痛说赝品\n\n南宫 品\n\n{p[0]}\n\n“假”字了得\n\n{p[1]}\n\n{p[2]}\n\n{subhead}\n\n{p[3]}\n\n{p[4]}\n\n"
                f"周小燕老师，您辛苦了！\n\n李 明\n\n{p[5]}\n")
        result = segment_page("t.txt", text)
        assert [s.headline for s in result.stories] == ["痛说赝品", "周小燕老师，您辛苦了！"], subhead
        story = result.stories[0]
        assert story.paragraph_roles[story.paragraphs.index("“钱”字了得")] == "crosshead"
        assert "earlier subhead" in result.roles[13].reason


def test_a_word_broken_before_a_name_shaped_line_starts_no_story():
    p = ["自１７年前我国第一台仿制的“登月火箭”游艺机问世以来，游乐业在神州大地蓬勃兴起，游客踊跃，效益可观。",
         "中国游艺机游乐园协会的陈守维副秘书长指出，按照世界各国的发展经验，理想的游乐园结构应当是金字塔形的。",
         "国外的游乐设备厂家，为了占据市场，大多悉心研究产品输入国的风俗习惯、文化背景，游客乐于接受。"]
    result = segment_page("t.txt", f"游乐业现状透视\n\n罗旭辉\n\n{p[0]}\n\n{p[1]}\n\n玩出民\n\n族特色\n\n{p[2]}\n")
    assert [s.headline for s in result.stories] == ["游乐业现状透视"]
    assert result.roles[9].role == "body" and "which is no name" in result.roles[9].reason


def test_a_photo_title_over_a_bare_photo_credit_starts_a_story():
    p = ["本报北京１月１５日讯记者汪大昭报道：第八届全运会落幕不久，国家体委便对２００１年九运会的竞赛框架作了初步设计。",
         "今天，国家体委副主任徐寅生就九运会竞赛规程总则的征求意见稿作了说明，各省区市体委的负责人参加了会议。"]
    text = f"九运会竞赛框架初拟\n\n{p[0]}\n\n{p[1]}\n\n为备战冬奥会，我国健儿正全力投入训练\n\n（新华社记者兰红光摄）\n"
    result = segment_page("t.txt", text)
    assert [s.headline for s in result.stories] == ["九运会竞赛框架初拟", "为备战冬奥会，我国健儿正全力投入训练"]
    assert "bare photo credit" in result.roles[7].reason


def test_a_story_end_that_goes_on_with_the_count_of_the_story_before_goes_back():
    a = ["如果说，多年来对于艺术形式的探索已经导致不同程度的精神性贫血，那么１９９７年，这种探索终于开始摆脱困窘。",
         "我们已经进入１９９８年，摆在中国美术家面前的重要课题之一，就是如何把主题性创作中的这种精神发扬光大。"]
    b = ["曾受业于徐悲鸿门下，又在砚田笔耕墨耘半个多世纪的孙其峰先生，以其书画和艺术理论的精深，享誉当代画坛。",
         "孙其峰先生现任天津美术学院教授，中国美术家协会理事。他画论并重，尤以画名馨著，作品多次在海内外展出。"]
    listed = (f"主题性美术创作点评\n\n剑武\n\n{a[0]}\n\n{a[1]}\n\n图片：\n\n１、本版标题书法（朱乃正）\n\n"
              "２、世纪之声（中国画）（张彦）\n\n３、归航（油画）（张敏杰）\n\n４、京九世纪之梦（油画）（贾励）\n\n"
              f"待到山花烂漫时\n\n毛同恺\n\n{b[0]}\n\n{b[1]}\n\n５、我们的队伍向太阳（中国画）（苗再新）\n\n"
              "一元复始（篆刻）\n\n（李明）\n")
    result = segment_page("t.txt", listed)
    assert [s.headline for s in result.stories][:2] == ["主题性美术创作点评", "待到山花烂漫时"]
    assert result.stories[0].paragraphs[-1].endswith("５、我们的队伍向太阳（中国画）（苗再新）")
    assert "going on with the count (list number or ordinal) of 主题性美术创作点评" in result.roles[27].reason
    c = ["我家有一个不大的书柜，祖父的医书都在里面。我一套一套地翻，觉得没啥味道儿，就随手扔了。此其一。",
         "后来我又迷上了书里的人儿和图儿，横着看几遍，再竖着看几遍，一点点地就认得了许多字。此其二。"]
    d = ["在老家湘西隆回，正月里，晚辈要给长辈拜年，出嫁的女儿带着姑爷回娘家拜年，亲戚间互相走动。",
         "那时我们家没有多少亲戚，只有叔叔在很远很远的北方当兵，所以正月里大部分时间都在家里过。"]
    counted = (f"五岁读医书\n\n周凡恺\n\n{c[0]}\n\n{c[1]}\n\n拜年\n\n刘跃清\n\n{d[0]}\n\n{d[1]}\n\n"
               "要说其三，就有点复杂。我没上小学之前，就把本应上大学时才念的医书给念了，且已能给别人看病。\n\n"
               "文关公\n\n俞律\n\n关公是武圣，也有人说他是文人。\n")
    result = segment_page("t.txt", counted)
    assert [s.headline for s in result.stories] == ["五岁读医书", "拜年", "文关公"]
    assert result.stories[0].paragraphs[-1].startswith("要说其三")
    assert result.stories[1].paragraphs[-1].startswith("那时我们家")


def test_headline_byline_and_lead_after_a_caption_line_start_a_story():
    p = ["《小老鼠漂流记》是一部优秀的童话，讲述了一只小老鼠在大海上漂流的故事，孩子们读来爱不释手，大人也喜欢。",
         "身后是非谁管得，任人评说。其实，身后是非是自己身前决定的，秦桧未尝不知将被后世唾骂，但他顾不得了。"]
    text = (f"当代儿童文学的璀璨明珠\n\n李 明\n\n{p[0]}\n\n图片：\n\n《小老鼠漂流记》封面设计：牟淼\n\n"
            f"生命的风景——关于传记\n\n吴冠中\n\n{p[1]}\n")
    result = segment_page("t.txt", text)
    assert [s.headline for s in result.stories] == ["当代儿童文学的璀璨明珠", "生命的风景——关于传记"]
    assert result.stories[1].authors == ["吴冠中"]
    assert "does not run on into it" in result.roles[11].reason


def test_a_byline_shaped_half_of_a_broken_line_is_no_byline():
    lead = "目前状况１９９６年１２月退休后忙于搞宣传作报告，三进西藏的老气象工作者退而不休，比在职时还忙。"
    result = segment_page("t.txt", f"陈金水\n\n荣誉全国五一劳动奖章获得者\n\n工作单\n\n位浙江省临安市气象局\n\n{lead}\n")
    (story,) = result.stories
    assert story.authors == [] and story.subheadline == ""
    assert result.roles[5].role == "body" and result.roles[7].role == "body"
    assert "工作单位浙江省临安市气象局" in story.paragraphs[0]
