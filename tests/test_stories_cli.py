"""`storysearch stories` and bad files in a corpus."""
import json
import os

from storysearch.index import layout
from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.cli import main
from storysearch.searcher import SearchEngine

REQUIRED = {"id", "source", "headline", "subheadline", "authors", "paragraphs", "captions", "flags"}
PAGE = "乡贤参与 基层治理\r\n\r\n张三 李四\r\n\r\n近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。\r\n"


def test_stories_json_prints_one_object_per_line(capsys):
    assert main(["stories", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 38
    records = [json.loads(line) for line in lines]
    for record in records:
        assert REQUIRED <= set(record)
        assert set(record["flags"]) == {"continued_from_earlier_page", "truncated", "has_photo"}
    assert records[0]["headline"] == "推行“六事工作法” 提升社区治理效能"
    assert records[0]["authors"] == ["吴丽珍", "陈金金"]


def test_gbk_crlf_page_is_read_and_bad_files_are_reported_by_name(tmp_path, capsys):
    (tmp_path / "gbk.txt").write_bytes(PAGE.encode("gbk"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 \x81\x82\xff".encode("latin-1"))
    assert main(["stories", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    story = json.loads(out)
    assert story["headline"] == "乡贤参与 基层治理" and story["authors"] == ["张三", "李四"]
    assert story["paragraphs"] == ["近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。"]
    assert "skipped empty.txt: the file is empty" in err
    assert "skipped image.txt: the file is binary" in err
    assert "skipped latin1.txt: the file is neither UTF-8 nor GB18030/GBK text" in err
    page = PAGE.encode("utf-8")
    (tmp_path / "stray.txt").write_bytes(page[:-8] + b"\xff" + page[-8:])
    assert main(["stories", str(tmp_path), "--json"]) == 0
    assert "read stray.txt in part: 1 run of bytes that are not UTF-8 text" in capsys.readouterr().err


def test_build_skips_bad_files_and_indexes_the_rest(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_bytes(PAGE.encode("gb18030"))
    (corpus / "empty.txt").write_text("  \n\n", encoding="utf-8")
    skipped = [("empty.txt", "the file is empty")]
    try:
        (corpus / os.fsdecode("乡贤.txt".encode("gbk"))).write_bytes(PAGE.encode("utf-8"))  # a name in GBK
        skipped.append(("\\xcf\\xe7\\xcf\\xcd.txt", "its name is not UTF-8 text (rename the file)"))
    except OSError:  # a file system that takes UTF-8 names only (APFS, ZFS with utf8only)
        pass
    stray = PAGE.replace("\r\n", "\n").replace("乡贤", "老旧小区", 1).encode("utf-8")  # a byte flipped on its way
    at = stray.index("近日".encode("utf-8")) + 4
    (corpus / "stray.txt").write_bytes(stray[:at] + b"\xff" + stray[at:])
    report = build_index(corpus, tmp_path / "index", DEFAULT_MODEL)
    assert report.stories == 2  # the page with a stray byte is read, the byte replaced, not lost whole
    assert report.partly_read == [("stray.txt", "1 run of bytes that are not UTF-8 text, each byte replaced with "
                                                "\ufffd (the first on line 5)")]  # (日 cut by the byte: 4 bytes)
    assert SearchEngine(tmp_path / "index").search("老旧小区", "keyword", 3)
    again = build_index(corpus, tmp_path / "index", DEFAULT_MODEL)  # the page is not read again, and still said
    assert again.up_to_date and again.partly_read == report.partly_read
    assert [(s.source, s.reason) for s in report.skipped] == skipped
    meta = json.loads((layout.current_generation(tmp_path / "index") / "meta.json").read_text(encoding="utf-8"))
    assert meta["skipped"] == [{"source": source, "reason": reason} for source, reason in skipped]


def test_stories_explain_gives_every_line_a_role_and_a_reason(tmp_path, capsys):
    (tmp_path / "p.txt").write_text("乡贤参与 基层治理\n\n本报记者 张三\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理。\n\n"
                                    "（下转第二版）\n", encoding="utf-8")
    assert main(["stories", str(tmp_path), "--explain"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[0] for row in rows] == ["p.txt:1", "p.txt:3", "p.txt:5", "p.txt:7"]
    assert [row.split()[1] for row in rows] == ["headline", "byline", "body", "jump"]
    assert all("← " in row and row.split("← ")[1] for row in rows)
    assert "story-start model p=" in rows[0] or "story start:" in rows[0]
