"""A story continued on another page of the same paper and date is one
record of both parts, both pages cited (issue 12)."""
from urllib.parse import unquote

import pytest

from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.jumps import jump_target, join_continuations, page_key
from storysearch.index.segment import segment_page
from storysearch.searcher import SearchEngine
from storysearch.web.records import search_response

FRONT = """基层治理有了新办法
本报记者 张三
本报杭州１月１日电 今年以来，某某街道推行网格化管理，把社区划成若干网格，每个网格配一名网格员，居民有事找网格员。
网格员每天走访居民，收集问题，能当场解决的当场解决，不能解决的上报街道，街道限时办理，办理结果向居民反馈，这一做法
（下转第二版）

冬季农田水利建设进展顺利
本报记者 李四
本报北京１月１日电 全国冬季农田水利建设进展顺利，各地加大投入，新修水渠数千公里，受益农田面积不断扩大。
"""
SECOND = """春运准备工作就绪
本报记者 王五
本报北京１月１日电 铁道部今天宣布，春运准备工作已经就绪，今年春运将增开临时旅客列车数百列。

（上接第一版）
已在全区推广。街道负责人说，网格化管理让干部走进居民家门，把问题解决在基层。
下一步，街道将把网格化管理与数字化平台结合起来，让居民在手机上就能反映问题。
"""


def write(corpus, pages):
    for relative, text in pages.items():
        path = corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("printed", "key"), [("2", "2"), ("02", "2"), ("A03", "A3"), ("第3版", "3"), ("第三版", "3"),
                                              ("第十二版", "12"), ("二十", "20"), ("１２", "12"), ("要闻", None)])
def test_pages_as_printed_compare_by_number(printed, key):
    assert page_key(printed) == key


def test_jump_lines_name_a_direction_and_a_page():
    assert jump_target("下转第二版") == ("onward", "2")
    assert jump_target("上接第一版") == ("from", "1")
    assert jump_target("转第A3版") == ("onward", "A3")
    assert jump_target("接第１２版") == ("from", "12")
    assert jump_target("转自新华网") is None


def stories_of(pages, paper="人民日报", date="1998-01-01"):
    found = []
    for page, text in pages.items():
        for story in segment_page(f"{paper}/{date}/{page}.txt", text).stories:
            story.paper, story.date, story.page = paper, date, page
            found.append(story)
    return found


def test_both_parts_become_one_record_citing_both_pages():
    stories = join_continuations(stories_of({"01": FRONT, "02": SECOND}))
    assert len(stories) == 3
    joined = next(s for s in stories if s.headline == "基层治理有了新办法")
    assert [part["page"] for part in joined.parts] == ["01", "02"]
    assert joined.id == joined.parts[0]["id"] and joined.parts[1]["id"].startswith("人民日报~1998-01-01~02-")
    # the sentence cut at the jump is whole again, the later page's paragraphs follow
    assert joined.paragraphs[1].endswith("这一做法已在全区推广。街道负责人说，网格化管理让干部走进居民家门，把问题解决在基层。")
    assert joined.paragraphs[2].startswith("下一步") and joined.parts[1]["paragraph"] == 2
    assert not joined.flags.truncated and joined.sources == ["人民日报/1998-01-01/01.txt", "人民日报/1998-01-01/02.txt"]


def test_only_the_same_paper_and_date_are_joined():
    front = stories_of({"01": FRONT})
    other_day = stories_of({"02": SECOND}, date="1998-01-02")
    other_paper = stories_of({"02": SECOND}, paper="光明日报")
    assert join_continuations(front + other_day + other_paper) == front + other_day + other_paper
    undated = stories_of({"01": FRONT, "02": SECOND}, date="")
    assert join_continuations(undated) == undated


def test_one_side_said_is_enough_when_the_other_is_cut_off():
    lost = FRONT.replace("（下转第二版）\n", "")
    joined = join_continuations(stories_of({"01": lost, "02": SECOND}))
    assert [len(s.parts) for s in joined if s.headline == "基层治理有了新办法"] == [2]
    # unmarked, a continuation is known only where it opens the page, headline-less and mid-sentence
    top, bottom = SECOND.split("\n\n（上接第一版）\n")
    joined = join_continuations(stories_of({"01": FRONT, "02": bottom + "\n\n" + top}))
    assert [len(s.parts) for s in joined if s.headline == "基层治理有了新办法"] == [2]


def test_pages_that_point_at_each_other_lose_nothing():
    back = SECOND.replace("（上接第一版）", "（下转第一版）")
    front = FRONT.replace("本报记者 张三\n", "（上接第二版）\n本报记者 张三\n")
    stories = stories_of({"01": front, "02": back})
    joined = join_continuations(stories)
    texts = "".join(s.text for s in joined)
    assert all(paragraph[:20] in texts for s in stories for paragraph in s.paragraphs)


@pytest.fixture(scope="module")
def edition(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("edition")
    corpus = root / "corpus"
    write(corpus, {"人民日报/1998-01-01/01.txt": FRONT, "人民日报/1998-01-01/02.txt": SECOND,
                   "人民日报/1998-01-02/01.txt": FRONT.replace("基层治理", "社区治理")})
    build_index(corpus, root / "index", DEFAULT_MODEL, cache_dir=root / "cache")
    return root, corpus


def test_the_index_serves_one_record_and_redirects_the_later_part(edition, embedder):
    from storysearch.web.app import create_app

    root, _ = edition
    engine = SearchEngine(root / "index", embedder)
    hits = search_response(engine, "已在全区推广", "keyword", 10)["hits"]
    assert [hit["headline"] for hit in hits] == ["基层治理有了新办法"]
    assert [part["page"] for part in hits[0]["parts"]] == ["01", "02"]
    client = create_app(engine).test_client()
    page = client.get(f"/story/{hits[0]['id']}").get_data(as_text=True)
    assert "《人民日报》1998年1月1日 第1版、第2版" in page and "（以下接第2版）" in page
    later = engine.stories[hits[0]["id"]].parts[1]["id"]
    moved = client.get(f"/api/story/{later}")
    assert moved.status_code == 301 and unquote(moved.headers["Location"]).endswith(f"/api/story/{hits[0]['id']}")
    # the other day's front page promises a continuation the archive does not hold: it stays as printed
    alone = search_response(engine, "社区治理有了新办法", "keyword", 10)["hits"][0]
    assert alone["parts"] == [] and engine.stories[alone["id"]].jumps == ["下转第二版"]


def test_a_changed_page_reads_its_whole_edition_again(edition, embedder):
    root, corpus = edition
    write(corpus, {"人民日报/1998-01-02/02.txt": SECOND.replace("推广", "试行")})
    report = build_index(corpus, root / "index", DEFAULT_MODEL, cache_dir=root / "cache")
    assert report.added == ["人民日报/1998-01-02/02.txt"] and report.rejoined == ["人民日报/1998-01-02/01.txt"]
    engine = SearchEngine(root / "index", embedder)
    assert search_response(engine, "已在全区试行", "keyword", 10)["hits"][0]["headline"] == "社区治理有了新办法"
    (corpus / "人民日报/1998-01-01/02.txt").unlink()
    report = build_index(corpus, root / "index", DEFAULT_MODEL, cache_dir=root / "cache")
    assert report.rejoined == ["人民日报/1998-01-01/01.txt"]
    engine = SearchEngine(root / "index", embedder)
    front = search_response(engine, "基层治理有了新办法", "keyword", 10)["hits"][0]
    assert front["parts"] == [] and "已在全区推广" not in engine.stories[front["id"]].text
    assert not [story for story in engine.stories.values() if "已在全区推广" in story.text]
