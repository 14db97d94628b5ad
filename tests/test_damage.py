"""Defects found by attacking the running product (issue 10): lost stories,
colliding ids, damaged and missing files, failed writes, odd corpus files.
Each test failed before its fix."""
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from storysearch.index import layout, settings, sparse
from storysearch.index.build import build_index
from storysearch.index.check import check_index
from storysearch.index.corpus import read_corpus
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.stories import StoryIdCollision, StoryStore, read_stories, story_id
from storysearch.searcher import SearchEngine
from storysearch.searcher.live import LiveEngine
from storysearch.cli import main

PAGE = "乡贤参与 基层治理\n\n张三\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。\n\n乡贤们还捐资修建了文化礼堂。\n"
OTHER = "电动自行车 安全整治\n\n李四\n\n某县开展电动自行车充电安全专项整治,清理飞线充电。\n"
THIRD = "老旧小区 停车改造\n\n王五\n\n某社区业委会协商增设停车位,解决老旧小区停车难。\n"


@pytest.fixture()
def built(tmp_path, embedder):
    """A two-file corpus indexed twice (so a previous generation exists) with its own embedding cache."""
    corpus, folder, cache = tmp_path / "corpus", tmp_path / "index", tmp_path / "cache"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PAGE, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    (corpus / "b.txt").write_text(OTHER, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    return corpus, folder, cache


def cli(*args, cache=None, **popen):
    env = {**os.environ, "STORYSEARCH_CACHE": str(cache)} if cache else dict(os.environ)
    return subprocess.run([sys.executable, "-m", "storysearch", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300, **popen)


def live_file(folder: Path, name: str) -> Path:
    return layout.current_generation(folder) / name


def newest_segment_file(generation: Path, suffix: str) -> Path:
    """A file of the vector segment the generation wrote itself (the older
    ones are hard-linked from the generation before: damaging one damages both)."""
    return sorted((generation / layout.VECTORS).glob("seg-*" + suffix))[-1]


# ------------------------------------------------------------ 1. nothing dropped silently
def test_index_output_lists_text_left_out_of_the_stories(tmp_path, embedder, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraph = "近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。"
    (corpus / "dup.txt").write_text(f"标题\n\n{paragraph}\n\n{paragraph}\n", encoding="utf-8")
    (corpus / "furniture.txt").write_text("来源:萧山党建\n2024-12-10 07:03:12\n", encoding="utf-8")
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 0
    err = capsys.readouterr().err
    assert "left out of the stories: 1 lines" in err
    assert "dup.txt:5 (paragraph printed twice in 标题)" in err
    assert "no story found in furniture.txt" in err


# ------------------------------------------------------------ 2. repair from the corpus
def test_a_cut_stories_file_is_reported_and_repaired_from_the_corpus(built, capsys):
    corpus, folder, cache = built
    path = live_file(folder, layout.STORIES)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:1]), encoding="utf-8")
    report = check_index(folder)
    assert not report.ok and any("stories" in p and "meta.json records 2" in p for p in report.problems)
    assert main(["check", "--index", str(folder)]) == 1
    assert main(["check", "--index", str(folder), "--repair"]) == 0
    out = capsys.readouterr().out
    assert f"rebuilt from {corpus.resolve()}" in out
    assert len(SearchEngine(folder).stories) == 2 and check_index(folder).ok


def test_index_rebuilds_a_generation_that_disagrees_with_its_own_counts(built):
    corpus, folder, cache = built
    path = live_file(folder, layout.STORIES)
    first = path.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    path.write_text(first, encoding="utf-8")
    meta_path = live_file(folder, layout.META)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["stored_files"] = layout.stored_files(path.parent)  # sizes and hashes agree: only the counts tell
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    # its stories.index.json (where each file's records lie) no longer tiles it
    assert not report.up_to_date and "bytes where its index lists" in report.damaged
    assert len(SearchEngine(folder).stories) == 2 and check_index(folder).ok


def test_index_rebuilds_a_generation_whose_meta_counts_other_stories(built):
    corpus, folder, cache = built
    meta_path = live_file(folder, layout.META)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["files"]["b.txt"]["stories"] = 2
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert not report.up_to_date and "1 stories of b.txt where meta.json records 2" in report.damaged
    assert len(SearchEngine(folder).stories) == 2 and check_index(folder).ok


def test_a_same_size_edit_is_noticed_by_check_and_index(built):
    corpus, folder, cache = built
    path = live_file(folder, layout.STORIES)
    path.write_text(path.read_text(encoding="utf-8").replace("乡贤", "县长"), encoding="utf-8")  # same bytes count
    assert any("sha256 differs" in p for p in check_index(folder).problems)
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert not report.up_to_date and "sha256 differs" in report.damaged
    assert "县长" not in "".join(s.text for s in SearchEngine(folder).stories.values())


def test_opening_reads_the_files_changed_through_the_file_system_and_all_when_asked(built, monkeypatch):
    """Opening a generation (a server's start, its reload after each update)
    reads no file whose inode and modification time are those recorded:
    reading all of them took 7 s at 100,000 stories and left every page of
    the index mapped into the server. A file rewritten is read and refused;
    one whose bytes changed behind the file system's back is left to check
    unless check_on_open is all."""
    corpus, folder, cache = built
    read = []
    sha256_of = layout.sha256_of
    monkeypatch.setattr(layout, "sha256_of", lambda path: read.append(Path(path).name) or sha256_of(path))
    SearchEngine(folder)
    assert read == []
    path = live_file(folder, layout.STORIES)
    written = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("乡贤", "县长"), encoding="utf-8")  # same size
    with pytest.raises(layout.IndexDamaged, match="stories.jsonl.*sha256 differs"):
        SearchEngine(folder)
    assert read == [layout.STORIES]
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))  # as if the disk had changed the bytes
    read.clear()
    SearchEngine(folder)
    assert read == []
    replacement = path.with_name("replacement")  # another file, given the recorded time, renamed into place
    replacement.write_bytes(path.read_bytes())
    os.utime(replacement, ns=(written.st_atime_ns, written.st_mtime_ns))
    os.replace(replacement, path)
    with pytest.raises(layout.IndexDamaged, match="stories.jsonl.*sha256 differs"):
        SearchEngine(folder)
    assert read == [layout.STORIES]
    monkeypatch.setenv("STORYSEARCH_CHECK_ON_OPEN", "all")
    settings.use(settings.load())
    read.clear()
    with pytest.raises(layout.IndexDamaged, match="stories.jsonl.*sha256 differs"):
        SearchEngine(folder)
    assert set(read) == {Path(name).name for name in layout.read_meta(path.parent)["stored_files"]}
    assert any("sha256 differs" in problem for problem in check_index(folder).problems)


def test_a_story_id_given_twice_is_damage_the_server_and_check_name(built):
    corpus, folder, cache = built
    path = live_file(folder, layout.STORIES)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines + lines[:1]))
    assert any("1 story ids more than once" in p for p in check_index(folder).problems)
    with pytest.raises(layout.IndexDamaged, match="sha256 differs|bytes where"):  # the engine's check comes first
        SearchEngine(folder)
    with pytest.raises(layout.IndexDamaged, match="given twice or more"):
        len(StoryStore(path))  # (the store itself, were the sizes to agree)
    ids = [story.id for story in read_stories(path)[:-1]]
    with pytest.raises(layout.IndexDamaged, match="the rows it is opened with"):
        sparse.open_term_matrix(layout.current_generation(folder) / layout.SPARSE, ids + ids[:1])
    assert build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache).damaged  # repaired from the corpus
    assert len(SearchEngine(folder).stories) == len(ids)


def test_a_meta_without_file_records_or_unreadable_is_damage(built, capsys):
    corpus, folder, cache = built
    meta_path = live_file(folder, layout.META)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["stored_files"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert not build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache).up_to_date
    live_file(folder, layout.META).write_text("{not json", encoding="utf-8")
    assert main(["check", "--index", str(folder), "--repair"]) == 0  # the corpus from the intact generation
    assert check_index(folder).ok


# ------------------------------------------------------------ 3. ids
def test_paths_that_used_to_collide_give_distinct_ids(tmp_path, embedder):
    assert story_id("sub/x.txt", 0) != story_id("sub~x.txt", 0)
    assert len({story_id(p, 0) for p in ("a/b.txt", "a~b.txt", "a%7Eb.txt", "a/7Eb.txt", "a%b.txt")}) == 5
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "x.txt").write_text(PAGE, encoding="utf-8")
    (corpus / "sub~x.txt").write_text(OTHER, encoding="utf-8")
    build_index(corpus, tmp_path / "index", DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    engine = SearchEngine(tmp_path / "index")
    assert sorted(s.source for s in engine.stories.values()) == ["sub/x.txt", "sub~x.txt"]
    assert check_index(tmp_path / "index").ok


def test_a_collision_is_refused_before_anything_is_written(built, monkeypatch):
    import storysearch.index.build
    import storysearch.index.segment

    corpus, folder, cache = built
    before = layout.current_name(folder)
    (corpus / "c.txt").write_text(THIRD, encoding="utf-8")
    monkeypatch.setattr(storysearch.index.segment, "story_id", lambda source, order: f"same-{order:03d}")
    monkeypatch.setattr(storysearch.index.build, "SEGMENTER_VERSION", -1)  # every page is segmented again
    with pytest.raises(StoryIdCollision, match="give the same story id 'same-000'"):
        build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert layout.current_name(folder) == before
    assert not [p for p in folder.iterdir() if p.name.endswith(layout.BUILDING_SUFFIX)]


# ------------------------------------------------------------ 7. CURRENT's mode
def test_current_is_written_with_the_mode_of_the_other_files(built):
    corpus, folder, cache = built
    mode = stat.S_IMODE((folder / layout.CURRENT).stat().st_mode)
    assert mode == stat.S_IMODE(live_file(folder, layout.META).stat().st_mode)
    assert mode & stat.S_IROTH


# ------------------------------------------------------------ 8. damaged live generation
def truncate(path: Path, keep: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(keep)


def test_a_truncated_vector_file_is_named_repaired_and_served_around(built, capsys):
    corpus, folder, cache = built
    damaged = layout.current_name(folder)
    segment = newest_segment_file(layout.current_generation(folder), ".faiss")
    truncate(segment, 100)
    report = check_index(folder)
    assert any(segment.name in p for p in report.problems)
    assert main(["check", "--index", str(folder)]) == 1
    assert segment.name in capsys.readouterr().out
    live = LiveEngine(folder)  # serving falls back to the intact previous generation
    assert live.current.generation.name != damaged and live.current.search("乡贤", "semantic", 3)
    result = cli("search", "乡贤", "--index", folder, "--mode", "semantic", cache=cache)
    assert result.returncode == 2 and f"{segment.name} is damaged" in result.stderr
    assert "check --repair" in result.stderr and "Traceback" not in result.stderr
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)  # never "up to date"
    assert not report.up_to_date and layout.VECTORS in report.damaged and check_index(folder).ok


def test_a_stories_file_cut_mid_character_names_file_and_line(built, capsys):
    corpus, folder, cache = built
    path = live_file(folder, layout.STORIES)
    truncate(path, len(path.read_text(encoding="utf-8").splitlines()[0].encode("utf-8")) + 5)
    for command in (["search", "乡贤", "--mode", "keyword"], ["check"], ["similar", "--text", "乡贤"]):
        result = cli(*command, "--index", folder, cache=cache)
        assert "Traceback" not in result.stderr, command
        assert "stories.jsonl" in result.stdout + result.stderr, command
    result = cli("search", "乡贤", "--index", folder, "--mode", "keyword", cache=cache)
    assert "bytes where" in result.stderr and "check --repair" in result.stderr
    assert main(["check", "--index", str(folder)]) == 1  # (it said "0 stories")
    assert "its stories were not counted (below)" in capsys.readouterr().out
    result = cli("check", "--index", folder, "--repair", cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    path = live_file(folder, layout.STORIES)  # bytes changed in place: the size agrees, the record does not
    data = bytearray(path.read_bytes())
    start = data.index(b"\n") + 10
    data[start:start + 3] = b"\xff\xfe\xff"
    path.write_bytes(bytes(data))
    result = cli("search", "乡贤", "--index", folder, "--mode", "keyword", cache=cache)
    assert result.returncode == 2 and "stories.jsonl is damaged" in result.stderr and "sha256" in result.stderr
    with pytest.raises(layout.IndexDamaged, match="line 2 is not a story record"):
        read_stories(path)  # the reader names the line, whoever calls it
    result = cli("check", "--index", folder, "--repair", cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    path = live_file(folder, layout.STORIES)  # a line that is JSON, but not a record
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0] + b"[1]\n")
    with pytest.raises(layout.IndexDamaged, match="line 2 is not a story record: a JSON list, not an object"):
        len(StoryStore(path))


def test_an_empty_corpus_gives_an_empty_index_that_answers_and_grows(tmp_path, embedder, capsys):
    """An empty corpus folder (a new archive, every page removed): the index
    holds no story, and every search, count, check and page says so plainly."""
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = tmp_path / "corpus", tmp_path / "index", tmp_path / "cache"
    corpus.mkdir()
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    engine = SearchEngine(folder)
    assert [engine.search("乡贤", mode, 10) for mode in ("keyword", "semantic", "hybrid")] == [[], [], []]
    assert engine.search('“乡贤” 治理', "keyword", 10) == []  # (the Whoosh conditions too)
    assert check_index(folder).ok
    client = create_app(LiveEngine(folder, poll_seconds=3600), WebSettings()).test_client()
    answer = client.get("/api/search?q=乡贤")
    assert answer.status_code == 200 and answer.get_json()["total"] == 0
    assert "没有找到" in client.get("/?q=乡贤").get_data(as_text=True)
    (corpus / "a.txt").write_text(PAGE, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert SearchEngine(folder).search("乡贤", "hybrid", 10)
    (corpus / "a.txt").unlink()
    assert main(["index", "--corpus", str(corpus), "--index", str(folder)]) == 0
    assert "the index holds no story" in capsys.readouterr().err
    assert SearchEngine(folder).search("乡贤", "hybrid", 10) == [] and check_index(folder).ok


def test_passages_emptied_under_a_running_server(built):
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    client = create_app(live, WebSettings()).test_client()
    story = next(iter(live.current.stories))
    newest_segment_file(layout.current_generation(folder), ".jsonl").write_bytes(b"")
    response = client.get(f"/api/similar/{story}")
    assert response.status_code == 503
    assert response.get_json()["ok"] is False and "check --repair" in response.get_json()["error"]
    page = client.get(f"/story/{story}")
    assert page.status_code == 200 and "索引文件已损坏" in page.get_data(as_text=True)
    damaged = live.current.generation.name
    assert live.refresh() and live.current.generation.name != damaged  # the watcher serves an intact one
    assert client.get(f"/api/similar/{story}").status_code == 200


def test_a_file_cut_short_with_no_intact_generation_left_is_refused_not_served(built):
    """Generations share files (hard links), so a mapped file cut short can
    leave no intact one: the server then refuses every request (503) rather
    than reading past the file's end (SIGBUS killed it), and serves again
    once a repair writes a good generation."""
    from storysearch.index.check import repair_index
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    client = create_app(live, WebSettings()).test_client()
    assert client.get("/api/search?q=乡贤&mode=keyword").status_code == 200
    counts = live_file(folder, f"{layout.SPARSE}/seg-000001/counts.npy")
    assert counts.stat().st_nlink == 2  # (the generation before holds the same file)
    truncate(counts, 100)
    assert not live.refresh()
    answer = client.get("/api/search?q=党建&mode=keyword")
    assert answer.status_code == 503 and "check --repair" in answer.get_json()["error"]
    page = client.get("/?q=党建")
    assert page.status_code == 503 and "索引文件已损坏" in page.get_data(as_text=True)
    assert client.get("/static/style.css").status_code == 200  # (the 503 page keeps its styling)
    repair_index(folder, corpus)
    assert live.refresh() and client.get("/api/search?q=党建&mode=keyword").status_code == 200


def test_an_older_generation_served_for_a_damaged_one_says_so(built):
    """Falling back to the generation before brings back what an update
    removed and lacks what it added: the answers say so."""
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    client = create_app(live, WebSettings()).test_client()
    assert client.get("/api/search?q=乡贤").get_json()["warnings"] == []
    truncate(live_file(folder, layout.STORIES), 100)  # (written anew by each generation: not shared)
    assert live.refresh()
    warnings = client.get("/api/search?q=乡贤").get_json()["warnings"]
    assert len(warnings) == 1 and "an older one, gen-" in warnings[0] and "check --repair" in warnings[0]
    assert "索引的最新版本已损坏，现在查到的是较早的版本" in client.get("/?q=乡贤").get_data(as_text=True)


def test_a_served_generation_damaged_after_a_newer_one_went_live_gives_way_to_it_without_a_warning(built):
    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    (corpus / "c.txt").write_text(THIRD, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)  # the server has not looked yet
    served = live.current.generation
    truncate(served / layout.STORIES, 100)
    assert live.refresh() and live.current.generation.name == layout.current_name(folder)
    assert live.current.warnings == []  # the live generation answers: nothing older about it


def test_damaged_keyword_files_under_a_running_server_answer_503(built):
    from storysearch.web.app import create_app
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    client = create_app(live, WebSettings()).test_client()
    whoosh = layout.current_generation(folder) / layout.WHOOSH
    for segment_file in [*whoosh.glob("*.pst"), *whoosh.glob("*.trm")]:  # postings, terms
        truncate(segment_file, 100)
    response = client.get("/api/search", query_string={"q": '"乡贤"', "mode": "keyword"})
    assert response.status_code == 503 and "check --repair" in response.get_json()["error"]
    page = client.get("/", query_string={"q": '"乡贤"', "mode": "keyword"})
    assert page.status_code == 503 and "索引文件已损坏" in page.get_data(as_text=True)


def test_a_current_naming_nothing_does_not_make_the_server_reload(built, caplog):
    corpus, folder, cache = built
    live = LiveEngine(folder, poll_seconds=3600)
    serving = live.current
    for bad in ("gen-000009\n", "garbage\n", ""):
        (folder / layout.CURRENT).write_text(bad, encoding="utf-8")
        assert not live.refresh() and live.current is serving


def test_a_build_keeps_the_intact_generation_rather_than_a_damaged_one(built):
    corpus, folder, cache = built
    intact, damaged = [g.name for g in layout.generations(folder)]
    truncate(newest_segment_file(folder / damaged, ".faiss"), 100)
    (corpus / "c.txt").write_text(THIRD, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    names = [g.name for g in layout.generations(folder)]
    assert intact in names and damaged not in names and len(names) == layout.KEEP_GENERATIONS


# ------------------------------------------------------------ 9. write failures
def as_another_user():
    """Run a subprocess as an unprivileged user when we are root (root ignores file modes)."""
    if os.geteuid() != 0:
        return {}
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop privileges to test permissions")
    return {"prefix": ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]}


def test_a_read_only_index_folder_gives_one_plain_error(built):
    corpus, folder, cache = built
    (corpus / "c.txt").write_text(THIRD, encoding="utf-8")
    os.chmod(folder, 0o555)
    os.chmod(cache, 0o777)
    for path in cache.iterdir():
        os.chmod(path, 0o666)
    try:
        prefix = as_another_user().get("prefix", [])
        env = {**os.environ, "STORYSEARCH_CACHE": str(cache), "HOME": str(folder.parent)}
        result = subprocess.run([*prefix, sys.executable, "-m", "storysearch", "index", "--corpus", str(corpus),
                                 "--index", str(folder)], env=env, capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(folder, 0o755)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "cannot write" in result.stderr and str(folder) in result.stderr
    assert "Permission denied" in result.stderr or "Read-only" in result.stderr


def test_a_failed_write_leaves_nothing_behind_and_says_why(built):
    corpus, folder, cache = built
    before = layout.current_name(folder)
    body = "".join(f"第{i}条措施:社区推进第{i}项工作,成效明显。" for i in range(300))
    (corpus / "c.txt").write_text(f"老旧小区 停车改造\n\n王五\n\n{body}\n", encoding="utf-8")

    def small_files():  # writes past 16 KiB fail as on a full disk (EFBIG rather than ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    result = cli("index", "--corpus", corpus, "--index", folder, cache=cache, preexec_fn=small_files)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "cannot write" in result.stderr and "Nothing was changed" in result.stderr
    assert str(folder) in result.stderr and "File too large" in result.stderr  # the path and the reason
    assert layout.current_name(folder) == before
    assert not [p for p in folder.iterdir() if p.name.endswith(layout.BUILDING_SUFFIX)]


# ------------------------------------------------------------ 10. missing CURRENT
def test_a_missing_current_uses_the_newest_generation_and_says_so_once(built, caplog):
    corpus, folder, cache = built
    newest = layout.current_name(folder)
    (folder / layout.CURRENT).unlink()
    with caplog.at_level("WARNING", logger="storysearch.index.layout"):
        assert SearchEngine(folder).generation.name == newest
        assert LiveEngine(folder).current.generation.name == newest
    assert sum("no CURRENT file" in r.getMessage() for r in caplog.records) == 1
    result = cli("search", "乡贤", "--index", folder, "--mode", "keyword", cache=cache)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    (corpus / "c.txt").write_text(THIRD, encoding="utf-8")
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert layout.current_name(folder) and len(SearchEngine(folder).stories) == 3


# ------------------------------------------------------------ 12. odd corpus files
def test_whitespace_only_and_utf16_files(tmp_path):
    (tmp_path / "blank.txt").write_text(" \n\u3000\u3000\n\t\n", encoding="utf-8")
    (tmp_path / "utf16.txt").write_bytes(PAGE.encode("utf-16"))  # with its byte-order mark
    (tmp_path / "utf16be.txt").write_bytes(b"\xfe\xff" + PAGE.encode("utf-16-be"))
    (tmp_path / "nobom.txt").write_bytes(PAGE.encode("utf-16-le"))
    (tmp_path / "nobom-be.txt").write_bytes(("一开始" + PAGE).encode("utf-16-be"))  # 一 is 4E 00: NULs at both parities
    pages, skipped = read_corpus(tmp_path)
    assert {p.source: p.text for p in pages} == {"utf16.txt": PAGE, "utf16be.txt": PAGE}
    reasons = {s.source: s.reason for s in skipped}
    assert reasons["blank.txt"] == "the file is empty (it holds only whitespace)"
    assert "UTF-16 without a byte-order mark" in reasons["nobom.txt"]
    assert "UTF-16 without a byte-order mark" in reasons["nobom-be.txt"]


SEGMENT = st.text(alphabet="ab~%7E.", min_size=1, max_size=5).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(st.lists(SEGMENT, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + ".txt"),
                 min_size=2, max_size=6, unique=True)  # corpus paths: relative, normalised, ending in .txt


@hypothesis_settings(max_examples=300, deadline=None)
@given(PATHS)
def test_distinct_paths_never_share_a_story_id(paths):
    assert len({story_id(path, 0) for path in paths}) == len(paths)


@pytest.mark.parametrize("point", ["segmented", "vectors-written", "before-switch"])
def test_a_repair_killed_anywhere_leaves_an_intact_generation_serving(built, point):
    corpus, folder, cache = built
    damaged = layout.current_name(folder)
    truncate(live_file(folder, layout.STORIES), 10)
    marker = folder.parent / "reached"
    env = {**os.environ, "STORYSEARCH_CACHE": str(cache), "STORYSEARCH_FAILPOINT": point,
           "STORYSEARCH_FAILPOINT_FILE": str(marker)}
    process = subprocess.Popen([sys.executable, "-m", "storysearch", "check", "--repair", "--index", str(folder)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert marker.exists(), "the repair never reached its failpoint"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    live = LiveEngine(folder)
    assert live.current.generation.name != damaged and live.current.search("乡贤", "keyword", 3)
    result = cli("check", "--repair", "--index", folder, cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert check_index(folder).ok and len(SearchEngine(folder).stories) == 2
    assert not [p for p in folder.iterdir() if p.name.endswith(layout.BUILDING_SUFFIX)]


# ------------------------------------------------------------ conditions on a huge story
def test_conditions_on_a_huge_story_cost_what_a_long_one_does(tmp_path):
    from storysearch.index.keyword_store import write_keyword_index
    from storysearch.index.sparse import write_sparse_index
    from storysearch.index.stories import CONDITION_CHARS, Story
    from storysearch.searcher.lexical import KeywordSearcher
    from storysearch.searcher.table import StoryTable

    huge = Story("huge-000", "huge.txt", 0, "一行的整版", paragraphs=["乡贤参与基层治理" * 220_000 + "末尾的话。"])
    small = Story("small-000", "small.txt", 0, "乡贤", paragraphs=["乡贤参与基层治理。"])
    (tmp_path / layout.SPARSE).mkdir()
    write_keyword_index(tmp_path / layout.WHOOSH, [huge, small])
    write_sparse_index(tmp_path / layout.SPARSE, [huge, small])
    searcher = KeywordSearcher(tmp_path, StoryTable([huge, small]))
    reader = searcher._searcher().reader()
    assert max(reader.doc_field_length(n, "body_bigrams") for n in range(2)) <= 2 * CONDITION_CHARS
    query = " ".join(f'"{phrase}"' for phrase in ("乡贤参与", "基层治理", "参与基层", "贤参", "与基"))
    assert [h.docid for h in searcher.search(query, 10)] == ["huge-000", "small-000"]


def test_an_index_of_an_older_format_asks_for_a_rebuild_and_index_makes_it(built):
    corpus, folder, cache = built
    meta_path = live_file(folder, layout.META)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["format_version"], meta["stored_files"] = layout.FORMAT_VERSION - 1, {"stories.jsonl": 123}
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    result = cli("search", "乡贤", "--index", folder, "--mode", "keyword", cache=cache)
    assert result.returncode == 2 and "rebuild" in result.stderr and "Traceback" not in result.stderr
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert not report.incremental and len(SearchEngine(folder).stories) == 2
