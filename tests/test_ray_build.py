"""Indexing on a Ray cluster (index/cluster.py): a real local Ray of 2 CPUs,
started once for this file. A build on it writes the generation a build in
one process writes, and loses nothing when a worker is killed mid-run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from storysearch.cli import main
from storysearch.index import cluster as cluster_module
from storysearch.index import layout
from storysearch.index.build import build_index
from storysearch.index.practice_index import _stored_vectors, open_practice_vectors, read_rows
from storysearch.index.vectors import open_vectors, read_passages

PAGES = ("002_c8562de4c054cf3d.txt", "004_6dd7ce5d22c7d686.txt")  # 6 stories, 34 passages, 10 practices
# what meta.json says of the content (not when, where from, or with which versions)
CONTENT = ("counts", "skipped", "update", "enrichment", "model", "analyzer")
FILE_CONTENT = ("sha256", "metadata", "stories", "edition")  # (a file's mtime is not recorded while it is new)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray") / "corpus"
    folder.mkdir()
    for name in PAGES:
        shutil.copy(layout.DEFAULT_CORPUS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def reference(corpus):
    """The generation one process builds, and the cache folder (STORYSEARCH_CACHE) whose embeddings it filled."""
    root = corpus.parent / "reference"
    build_index(corpus, root / "index", cache_dir=root / "cache" / "embeddings", progress=False)
    return layout.current_generation(root / "index"), root / "cache"


@pytest.fixture(scope="module")
def cluster():
    with cluster_module.connect("auto", cpus=2) as connected:
        yield connected


@pytest.fixture()
def small_work(monkeypatch):
    """A task a page or story and a call a few passages, so that even this
    corpus is cut into many pieces and put back in order."""
    monkeypatch.setattr(cluster_module, "ITEMS_PER_TASK", 1)
    monkeypatch.setattr(cluster_module, "TEXTS_PER_CALL", 4)


def described(generation: Path) -> dict:
    """What meta.json says of a generation's content (not how much was embedded now)."""
    meta = layout.read_meta(generation)
    content = {key: meta[key] for key in CONTENT}
    content["files"] = {source: {key: record[key] for key in FILE_CONTENT} for source, record in meta["files"].items()}
    model = content["model"] = {key: value for key, value in meta["model"].items() if key != "embedded"}
    model["practices"] = {key: value for key, value in model["practices"].items() if key != "computed"}
    return content


def assert_same_generation(built: Path, expected: Path) -> None:
    assert (built / layout.STORIES).read_bytes() == (expected / layout.STORIES).read_bytes()
    assert described(built) == described(expected)
    passages = read_passages(built)
    assert passages == read_passages(expected)
    vectors, expected_vectors = open_vectors(built), open_vectors(expected)
    ids = [row["id"] for row in passages]
    assert np.abs(np.stack([vectors.reconstruct(i) for i in ids])
                  - np.stack([expected_vectors.reconstruct(i) for i in ids])).max() <= 1e-5
    assert read_rows(built) == read_rows(expected)
    practices, _ = _stored_vectors(open_practice_vectors(built))
    expected_practices, _ = _stored_vectors(open_practice_vectors(expected))
    assert len(practices) and np.abs(practices - expected_practices).max() <= 1e-5


def test_a_build_on_ray_writes_what_one_process_writes(corpus, reference, cluster, small_work, tmp_path):
    expected, _ = reference
    report = build_index(corpus, tmp_path / "index", cache_dir=tmp_path / "cache", progress=False,
                         cluster=cluster)
    assert report.embedded == report.passages == layout.read_meta(expected)["counts"]["passages"]
    assert_same_generation(layout.current_generation(tmp_path / "index"), expected)


def kill_at_failpoint(marker: Path, killed: list) -> None:
    """SIGKILL the process that stops at the failpoint (index/failpoints.py)."""
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    if marker.exists():
        name, pid = marker.read_text().split()
        os.kill(int(pid), signal.SIGKILL)
        killed.append(name)


@pytest.mark.parametrize("point", ["ray-task", "ray-embed"])
def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(corpus, reference, cluster, small_work,
                                                                 tmp_path, monkeypatch, point):
    """A task segmenting a page, or an actor embedding passages, is killed."""
    if point == "ray-task":  # nothing to embed: the embedding is killed in the other case
        shutil.copytree(reference[1] / "embeddings", tmp_path / "cache")
    marker, killed = tmp_path / "reached", []
    monkeypatch.setenv("STORYSEARCH_FAILPOINT", point)
    monkeypatch.setenv("STORYSEARCH_FAILPOINT_FILE", str(marker))
    killer = threading.Thread(target=kill_at_failpoint, args=(marker, killed), daemon=True)
    killer.start()
    build_index(corpus, tmp_path / "index", cache_dir=tmp_path / "cache", progress=False, cluster=cluster)
    killer.join(timeout=5)
    assert killed == [point], "no worker reached the failpoint"
    assert_same_generation(layout.current_generation(tmp_path / "index"), reference[0])


def test_storysearch_index_joins_a_cluster_by_its_address(corpus, reference, cluster, tmp_path):
    """The command joins the running Ray (this file's, started as ``--ray auto`` starts one)."""
    import ray

    expected, cache = reference
    shutil.copytree(cache, tmp_path / "cache")  # the embeddings are known: the cluster is what is new here
    address = ray.get_runtime_context().gcs_address
    result = subprocess.run([sys.executable, "-m", "storysearch", "index", "--corpus", str(corpus),
                             "--index", str(tmp_path / "index"), "--ray", address],
                            env={**os.environ, "STORYSEARCH_CACHE": str(tmp_path / "cache")},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "indexed 6 stories (34 passages, 0 embedded now)" in result.stdout
    assert_same_generation(layout.current_generation(tmp_path / "index"), expected)
    assert ray.cluster_resources()["CPU"] == 2  # the cluster outlives the command that joined it


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:1", "cannot reach a Ray cluster at 127.0.0.1:1"),
    ("headnode", "give auto, or the host:port of a Ray cluster's head"),
])
def test_a_cluster_that_cannot_be_reached_is_a_clear_error(corpus, tmp_path, capsys, address, message):
    started = time.monotonic()
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "index"), "--ray", address]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert time.monotonic() - started < 30 and not (tmp_path / "index").exists()


def test_the_default_build_never_imports_ray(corpus, reference, tmp_path):
    _, cache = reference
    code = ("import sys\n"
            "from storysearch.cli import main\n"
            f"assert main(['index', '--corpus', {str(corpus)!r}, '--index', {str(tmp_path / 'index')!r}]) == 0\n"
            "print(json.dumps('ray' in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                            env={**os.environ, "STORYSEARCH_CACHE": str(cache)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) is False
