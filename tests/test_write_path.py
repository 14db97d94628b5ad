"""Corpus reading, analysis and passages."""
from storysearch.index.corpus import read_corpus
from storysearch.index.passages import PASSAGE_CHARS, story_passages


def test_gbk_empty_and_binary_files(tmp_path):
    (tmp_path / "utf8.txt").write_text("标题\n\n正文。\n", encoding="utf-8")
    (tmp_path / "bom.txt").write_bytes("\ufeff标题\r\n正文。\r\n".encode("utf-8"))
    (tmp_path / "gbk.txt").write_bytes("乡贤参与治理\n正文。\n".encode("gbk"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    pages, skipped = read_corpus(tmp_path)
    texts = {p.source: p.text for p in pages}
    assert texts == {"bom.txt": "标题\n正文。\n", "gbk.txt": "乡贤参与治理\n正文。\n", "utf8.txt": "标题\n\n正文。\n"}
    assert {p.source: p.encoding for p in pages}["gbk.txt"] == "gb18030"
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "binary.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["binary.txt"]


def test_passages_repeat_the_headline_and_stay_short():
    paragraphs = ["第一句话很长。" * 60, "短段落。", "另一段。" * 40, "无句号的超长段落" * 50]
    passages = story_passages("标题", paragraphs)
    assert len(passages) > 2
    assert all(p.startswith("标题\n") for p in passages)
    assert all(len(p) <= PASSAGE_CHARS for p in passages)
    assert "".join(p[len("标题\n"):].replace("\n", "") for p in passages) == "".join(paragraphs)
