"""Paper, date and page of every story: from a manifest, the path, or the page."""
import json

import pytest

from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.metadata import Manifest, from_page, from_path
from storysearch.searcher import SearchEngine
from storysearch.web.records import search_response

PAGE = "乡贤参与 基层治理\n\n张三\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。\n"
WEB_PAGE = "标题一行\n来源:萧山党建\n乡贤参与 基层治理\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理。\n2024-12-10 07:03:12\n"


@pytest.mark.parametrize("path, expected", [
    ("人民日报/1998-01-03/04.txt", {"paper": "人民日报", "date": "1998-01-03", "page": "04"}),
    ("archive/浙江日报/2024/03/05/A03.txt", {"paper": "浙江日报", "date": "2024-03-05", "page": "A03"}),
    ("2024-03-05_7.txt", {"date": "2024-03-05", "page": "7"}),
    ("deep/er/19980101-02.txt", {"date": "1998-01-01", "page": "02"}),
    ("19981301-02.txt", {}),  # month 13: no date is invented
    ("003_168c443595a6d6d6.txt", {}),
])
def test_metadata_from_the_path(path, expected):
    assert from_path(path) == expected


def test_metadata_from_the_page_lines():
    assert from_page(WEB_PAGE) == {"paper": "萧山党建", "date": "2024-12-10"}
    assert from_page(PAGE) == {}


def write_corpus(root, manifest_name=None, manifest=None, **pages):
    root.mkdir()
    for name, text in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if manifest_name:
        (root / manifest_name).write_text(manifest, encoding="utf-8")
    return root


def test_a_csv_manifest_wins_and_warns_row_by_row(tmp_path):
    corpus = write_corpus(tmp_path / "c", "manifest.csv",
                          "file,paper,date,page,page_name,url,editor\n"
                          "人民日报/1998-01-03/04.txt,人民日报海外版,,第4版,要闻,https://example.org/4,张编辑\n"
                          "gone.txt,某报,2024-01-01,1,,,\n"
                          "web.txt,,2024-02-30,,,javascript:alert(1),\n",
                          **{"人民日报/1998-01-03/04.txt": PAGE, "web.txt": WEB_PAGE})
    manifest = Manifest.read(corpus)
    assert manifest.warnings == [
        "manifest.csv row 2: unknown columns editor (not file/paper/date/page/page_name/url); "
        "they are kept and shown on the story page",
        "manifest.csv row 3: gone.txt is not in the corpus",
        "manifest.csv row 4: date '2024-02-30' is not a YYYY-MM-DD date; the date is left out",
        "manifest.csv row 4: url 'javascript:alert(1)' is not an http(s) address; the url is left out",
    ]
    first = manifest.metadata("人民日报/1998-01-03/04.txt", PAGE)
    assert (first.paper, first.date, first.page, first.page_name, first.url) == (
        "人民日报海外版", "1998-01-03", "第4版", "要闻", "https://example.org/4")
    assert first.origin == {"paper": "manifest", "page": "manifest", "page_name": "manifest", "url": "manifest",
                            "date": "path"}
    assert first.extra == {"editor": "张编辑"}
    web = manifest.metadata("web.txt", WEB_PAGE)
    assert (web.paper, web.date, web.origin) == ("萧山党建", "2024-12-10", {"paper": "page", "date": "page"})


def test_a_jsonl_manifest_and_a_damaged_row(tmp_path):
    corpus = write_corpus(tmp_path / "c", "manifest.jsonl",
                          '{"file": "a.txt", "paper": "浙江日报", "date": "2024-05-06", "page": "3"}\nnot json\n',
                          **{"a.txt": PAGE})
    manifest = Manifest.read(corpus)
    assert manifest.warnings == ["manifest.jsonl row 2: not an object with columns; skipped"]
    assert manifest.metadata("a.txt", PAGE).date == "2024-05-06"


def test_stories_carry_their_metadata_and_a_new_manifest_reindexes(tmp_path, embedder):
    corpus = write_corpus(tmp_path / "c", **{"浙江日报/2024-05-06/03.txt": PAGE, "web.txt": WEB_PAGE})
    folder, cache = tmp_path / "index", tmp_path / "cache"
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    stories = {s.source: s for s in SearchEngine(folder).stories.values()}
    dated = stories["浙江日报/2024-05-06/03.txt"]
    assert (dated.paper, dated.date, dated.page, dated.origin["date"]) == ("浙江日报", "2024-05-06", "03", "path")
    assert stories["web.txt"].paper == "萧山党建"
    (corpus / "manifest.jsonl").write_text(json.dumps({"file": "web.txt", "paper": "萧山日报", "page": "2"},
                                                      ensure_ascii=False), encoding="utf-8")
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert report.changed == ["web.txt"] and report.unchanged == 1
    engine = SearchEngine(folder)
    web = next(s for s in engine.stories.values() if s.source == "web.txt")
    assert (web.paper, web.page, web.date) == ("萧山日报", "2", "2024-12-10")
    hit = search_response(engine, "乡贤", "keyword", 5)["hits"][0]
    assert {"paper", "date", "page", "page_name", "url", "origin"} <= set(hit)


def test_bundled_pages_show_only_what_they_say(engine):
    papers = {(s.source, s.paper, s.date) for s in engine.stories.values() if s.paper or s.date}
    assert papers == {("002_c8562de4c054cf3d.txt", "萧山党建", "2024-12-10")}
