"""The full build's keyword side (issue 15): each story tokenized once for
Whoosh and the term matrix, Whoosh's postings written a term at a time.
Every new path is compared with the one it replaced: the same grams, the
same term matrix row, the same matrix files, the same Whoosh files."""
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from storysearch.index import layout, sparse, stories as stories_module
from storysearch.index.analysis import text_analysis
from storysearch.index.corpus import read_corpus
from storysearch.index.keyword_store import (TWO_PROCESSES_FROM, WRITER_OPTIONS, _add_documents, idle_cores,
                                             keyword_processes, open_keyword_index, update_keyword_index,
                                             usable_cores, whoosh_schema, write_keyword_index,
                                             write_keyword_side)
from storysearch.index.segment import split_stories
from storysearch.index.stories import Story

TEXTS = [
    "", "乡", "乡贤", "推進鄉賢參與基層治理，ＡＢＣ２０２４年", "网格连心 组团服务\t孟 航\u00a0同志", "1+3+N 模式，COVID-19 和 AT&T",
    "e锦红聚的 2.6 万元", "第一行\n第二行 三\n\n", "  前后空格  ", "「引号」里的《书名》——破折号…", "ㄅㄆ한국어 日本語テキスト", "哈" * 300,
    "乡贤参与基层治理乡贤参与基层治理", "A", "a b c", "𠀀𠀁汉字扩展B", "ﾊﾝｶｸ半角片假名", "İstanbul ǅ ß 的大小写",
]


def old_story_tokens(story: Story) -> list[str]:
    """sparse.story_tokens as it was: every text analysed on its own."""
    analysis = text_analysis()
    title = [w for w, *_ in analysis.words(story.title)]
    byline = "\n".join(story.authors)
    names = [w for w, *_ in analysis.words(byline)]
    body = [w for w, *_ in analysis.words(story.body)]
    grams = [sparse.gram_token(g) for text in (story.text, byline) for g, *_ in analysis.grams(text)]
    return (title + names) * sparse.HEADLINE_REPEAT + body + grams


def old_from_tokens(ids, tokens) -> sparse.Segment:
    """Segment.from_tokens as it was."""
    vocabulary: dict[str, int] = {}
    columns, rows, counts = [], [], []
    for row, row_tokens in enumerate(tokens):
        unique, times = np.unique(np.array([vocabulary.setdefault(t, len(vocabulary)) for t in row_tokens],
                                           dtype=np.int64), return_counts=True)
        columns.append(unique)
        rows.append(np.full(len(unique), row, dtype=np.int32))
        counts.append(times.astype(np.float32))
    return sparse.Segment._from_entries(list(vocabulary), sparse._concat(columns, np.int64),
                                        sparse._concat(rows, np.int32), sparse._concat(counts, np.float32),
                                        np.array([len(t) for t in tokens], dtype=np.float32), list(ids))


@pytest.fixture(scope="module")
def archive() -> list[Story]:
    """The bundled corpus's stories, stories recombining their paragraphs (so
    that common grams have postings in several of Whoosh's 128-posting
    blocks), and odd ones: no headline, no body, no byline, spaces, other scripts."""
    bundled = [s for page in read_corpus(layout.DEFAULT_CORPUS)[0] for s in split_stories(page.source, page.text)]
    paragraphs = [p for s in bundled for p in s.paragraphs]
    headlines = [s.headline for s in bundled if s.headline]
    rng = random.Random(15)
    made = [Story(f"mix-{i:04d}", f"mix-{i // 20:03d}.txt", i % 20, rng.choice(headlines),
                  authors=rng.sample(["张一", "李 二", "王三三", "Smith"], rng.randint(0, 2)),
                  paragraphs=rng.sample(paragraphs, rng.randint(1, 4))) for i in range(300)]
    odd = [Story(f"odd-{i:03d}", "odd.txt", i, title, authors=authors, paragraphs=paragraphs)
           for i, (title, authors, paragraphs) in enumerate([
               ("", [], ["只有正文，没有标题。"]), ("只有标题", ["记者 张三"], []), ("", [], []),
               ("鄉賢參與", ["孟 航"], ["推進鄉賢參與基層治理", "ＡＢＣ２０２４年"]),
               *((text, [], [text, TEXTS[-1 - i]]) for i, text in enumerate(TEXTS))])]
    return bundled + made + odd


@pytest.mark.parametrize("text", TEXTS)
def test_gram_lists_are_the_grams_of_the_analyzer(text):
    analysis = text_analysis()
    grams, positions = analysis.gram_lists(analysis.fold(text))
    assert list(zip(grams, positions)) == [(g, pos) for g, _, _, pos in analysis.grams(text)]


@pytest.mark.parametrize("text", TEXTS + ["中国农业发展银行推进乡贤工作的力量", "人民代表大会常务委员会 人民代表大会常务委员会"])
def test_word_lists_are_the_words_of_the_analyzer(text):
    analysis = text_analysis()
    for _ in range(2):  # (the second time, the sub-words are known)
        assert analysis.word_list(analysis.fold(text)) == [w for w, *_ in analysis.words(text)]


def test_a_story_analysed_once_gives_the_tokens_each_field_had(archive, monkeypatch):
    monkeypatch.setattr(stories_module, "CONDITION_CHARS", 40)  # some bodies longer than the condition body
    analysis = text_analysis()
    for story in archive:
        analysed = sparse.analyse_story(story)
        assert analysed.tokens == old_story_tokens(story), story.id
        for (grams, positions), text in ((analysed.headline_grams, story.title),
                                         (analysed.body_grams, story.condition_body)):
            assert list(zip(grams, positions)) == [(g, pos) for g, _, _, pos in analysis.grams(text)], story.id


def test_a_story_whose_text_folds_otherwise_than_its_parts_is_analysed_whole(monkeypatch):
    """Where folding the title and body joined differs from folding them apart
    (an OpenCC phrase across the line break), the grams are the whole text's."""
    analysis = text_analysis()
    story = Story("s", "s.txt", 0, "乡贤", paragraphs=["参与治理"])
    fold = type(analysis).fold
    monkeypatch.setattr(type(analysis), "fold",
                        lambda self, text: fold(self, text).replace("\n参", "\n叁") if "\n" in text else fold(self, text))
    tokens = sparse.analyse_story(story).tokens
    assert sparse.gram_token("叁与") in tokens and sparse.gram_token("参与") not in tokens


def matrix_files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_same_matrix(folder: Path, expected: Path) -> None:
    """The same files, but for the token trie's bytes (marisa keeps how often
    a key was given in its cache, and the parts' merge gives a token once
    a part): the same tokens under the same key ids."""
    found, wanted = matrix_files(folder), matrix_files(expected)
    trie = "seg-000001/tokens.marisa"
    assert {name: data for name, data in found.items() if name != trie} == {
        name: data for name, data in wanted.items() if name != trie}
    tables = [sparse._mapped_trie(path / trie) for path in (folder, expected)]
    assert list(tables[0]) == list(tables[1])


def test_the_segment_builder_makes_the_segment_from_tokens_made(archive, tmp_path):
    ids = [story.id for story in archive]
    tokens = [old_story_tokens(story) for story in archive] + [[]]
    old_from_tokens(ids + ["empty"], tokens).write(tmp_path / "old")
    sparse.Segment.from_tokens(ids + ["empty"], tokens).write(tmp_path / "new")
    assert matrix_files(tmp_path / "old") == matrix_files(tmp_path / "new")


def whoosh_files(folder: Path) -> dict[str, bytes]:
    """The files of a one-segment Whoosh index with the segment's random name
    taken out."""
    (segment,) = {path.name.split(".")[0].split("_", 1)[1] for path in folder.iterdir()
                  if path.suffix not in (".toc", "")}
    return {path.name.replace(segment, "SEGMENT"): path.read_bytes().replace(segment.encode(), b"SEGMENT")
            for path in folder.iterdir() if not path.name.endswith("WRITELOCK")}


def whoosh_writer_index(folder: Path, stories: list[Story]) -> None:
    """The index as Whoosh's own writer made it before (kept for updates)."""
    from whoosh import index as whoosh_index

    folder.mkdir()
    with whoosh_index.create_in(str(folder), whoosh_schema()).writer(**WRITER_OPTIONS) as writer:
        _add_documents(writer, stories)


def test_the_bulk_writer_writes_the_files_whoosh_writes(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(stories_module, "CONDITION_CHARS", 200)
    whoosh_writer_index(tmp_path / "whoosh", archive)
    write_keyword_index(tmp_path / "bulk", archive)
    expected = whoosh_files(tmp_path / "whoosh")
    assert sorted(expected) == sorted(whoosh_files(tmp_path / "bulk"))
    assert expected == whoosh_files(tmp_path / "bulk")
    # and postings in more than one block were written
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(str(tmp_path / "bulk")).searcher() as searcher:
        assert searcher.doc_frequency("body_bigrams", "的") > 2 * 128


@pytest.mark.parametrize("processes", [1, 2])
def test_the_keyword_side_is_what_the_two_writers_write(archive, tmp_path, processes):
    write_keyword_index(tmp_path / "whoosh", archive)
    sparse.write_sparse_index(tmp_path / "terms", archive)
    spent = write_keyword_side(tmp_path / "whoosh2", tmp_path / "terms2", archive, processes)
    assert set(spent) == {"tokenize_s", "whoosh_s", "term_matrix_s", "processes"} and spent["processes"] == processes
    assert whoosh_files(tmp_path / "whoosh") == whoosh_files(tmp_path / "whoosh2")
    assert matrix_files(tmp_path / "terms") == matrix_files(tmp_path / "terms2")


@pytest.mark.parametrize("processes", [1, 2])
def test_an_empty_archive(tmp_path, processes):
    whoosh_writer_index(tmp_path / "whoosh", [])
    write_keyword_side(tmp_path / "bulk", tmp_path / "terms", [], processes)
    assert sorted(p.name for p in (tmp_path / "bulk").iterdir()) == sorted(
        p.name for p in (tmp_path / "whoosh").iterdir())
    assert sparse.matrix_ids(tmp_path / "terms") == []


def test_a_second_process_is_chosen_where_two_cores_are_idle_and_the_archive_is_large():
    sampled = []

    def idle(cores: float):
        return lambda: sampled.append(cores) or cores

    def choose(setting, stories, idle_now, usable=2.0, threads=1):
        return keyword_processes(setting, stories, idle_now, lambda: usable, lambda: threads)

    assert [choose(setting, 100_000, idle(2.0)) for setting in (1, 2, 3)] == [1, 2, 2]
    assert choose(0, TWO_PROCESSES_FROM, idle(1.9)) == 2
    assert choose(0, 100_000, idle(1.2)) == 1  # another job holds a core: one process
    assert sampled == [1.9, 1.2]  # (a setting other than 0 is obeyed without looking)
    assert choose(0, TWO_PROCESSES_FROM - 1, idle(2.0)) == 1
    assert choose(0, 100_000, idle(2.0), usable=1.0) == 1  # pinned to one core, or a cgroup quota of one
    assert sampled == [1.9, 1.2]
    assert choose(0, 100_000, idle(2.0), threads=2) == 1  # a thread besides this one: a fork would not copy it
    assert sampled == [1.9, 1.2]
    assert 0.0 <= idle_cores(0.05) <= len(Path("/proc/stat").read_text().splitlines())
    assert 0 < usable_cores() <= len(Path("/proc/stat").read_text().splitlines())


def test_an_error_writing_the_term_matrix_in_the_second_process_is_raised(archive, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError):
        write_keyword_side(tmp_path / "whoosh", tmp_path / "file" / "terms", archive[:5], 2)


def test_segments_are_written_as_separate_files_after_a_build_and_an_update(archive, tmp_path):
    """Whoosh reads a compound segment file through a copy in each searcher
    (one a server thread); separate files are read where they lie."""
    write_keyword_index(tmp_path / layout.WHOOSH, archive[:10])
    update_keyword_index(tmp_path / layout.WHOOSH, {archive[0].source}, archive[10:20])
    assert not list((tmp_path / layout.WHOOSH).glob("*.seg"))
    with open_keyword_index(tmp_path).searcher() as searcher:
        ids = searcher.reader().column_reader("id")
        held = {ids[docnum] for docnum in searcher.document_numbers()}
    kept = {story.id for story in archive[:10] if story.source != archive[0].source}
    assert held == kept | {story.id for story in archive[10:20]}


@pytest.mark.parametrize("processes", [1, 2])
def test_a_build_in_parts_finds_and_scores_what_a_build_in_one_part_does(archive, tmp_path, processes):
    """A full build writes a part's postings before it reads the next part
    (its memory is one part's): Whoosh gets a segment a part and answers
    every query as from one; the term matrix's parts are merged on disk into
    the very files a build in one part writes."""
    (tmp_path / "whole").mkdir()
    (tmp_path / "parts").mkdir()
    write_keyword_side(tmp_path / "whole" / "whoosh", tmp_path / "whole" / "terms", archive, processes, 0)
    write_keyword_side(tmp_path / "parts" / "whoosh", tmp_path / "parts" / "terms", archive, processes, 100)
    parts = -(-len(archive) // 100)
    assert parts >= 3
    assert_same_matrix(tmp_path / "parts" / "terms", tmp_path / "whole" / "terms")
    from whoosh.query import Phrase, Term

    with open_keyword_index(tmp_path / "whole").searcher() as one, \
            open_keyword_index(tmp_path / "parts").searcher() as several:
        assert len(several.reader().leaf_readers()) == parts
        assert several.doc_count() == one.doc_count() == len(archive)
        for query in (Term("body_bigrams", "乡贤"), Phrase("body_bigrams", ["基层", "层治", "治理"]),
                      Term("headline_bigrams", "治理"), Term("source", archive[-1].source)):
            def found(searcher):
                ids = searcher.reader().column_reader("id")
                return sorted(ids[docnum] for docnum in searcher.search(query, limit=None).docs())
            assert found(several) == found(one) and found(one), query
        assert (several.doc_frequency("body_bigrams", "的") == one.doc_frequency("body_bigrams", "的") > 128)


def test_storysearch_index_in_parts_serves_as_a_build_in_one(engine, embedder, tmp_path, monkeypatch):
    """`storysearch index` with small parts (the bundled corpus in parts of 8
    stories): the index checks clean and keyword searches rank as the
    session's one-part index does; an update on it checks clean and finds
    the added story."""
    from storysearch.index import settings
    from storysearch.index.build import build_index
    from storysearch.index.check import check_index
    from storysearch.index.embedding import DEFAULT_MODEL
    from storysearch.searcher import SearchEngine

    monkeypatch.setenv("STORYSEARCH_BUILD_PART_STORIES", "8")
    settings.use(settings.load())
    corpus = tmp_path / "corpus"
    shutil.copytree(layout.DEFAULT_CORPUS, corpus)
    report = build_index(corpus, tmp_path / "index", DEFAULT_MODEL)
    assert report.stories > 16
    generation = layout.current_generation(tmp_path / "index")
    with open_keyword_index(generation).searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) == -(-report.stories // 8)
    assert check_index(tmp_path / "index").ok
    parted = SearchEngine(tmp_path / "index", embedder)
    for query in ("乡贤", "社区治理 停车", "垃圾分类"):
        assert ([(h.docid, round(h.score, 5)) for h in parted.search(query, "keyword", 10)]
                == [(h.docid, round(h.score, 5)) for h in engine.search(query, "keyword", 10)]), query
    (corpus / "added.txt").write_text("老旧小区停车难题破解\n\n本报记者 张三\n\n社区通过错峰共享车位，缓解了老旧小区停车难。\n",
                                      encoding="utf-8")
    update = build_index(corpus, tmp_path / "index", DEFAULT_MODEL)
    assert update.incremental and update.added
    assert check_index(tmp_path / "index").ok
    hits = SearchEngine(tmp_path / "index", embedder).search("错峰共享车位", "keyword", 3)
    assert hits and hits[0].docid.startswith("added-")
