"""Shared fixtures: the model and an index of the bundled corpus are built once
per test session; the model is loaded once per process."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # the tests prove nothing is downloaded
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The suite runs at the default precision, float32; tests/test_precision.py checks int8 against it.
os.environ.pop("STORYSEARCH_MODEL_PRECISION", None)

import pytest  # noqa: E402

from storysearch.index import layout, settings  # noqa: E402
from storysearch.index.build import build_index  # noqa: E402
from storysearch.index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from storysearch.searcher import SearchEngine  # noqa: E402


@pytest.fixture(autouse=True)
def process_settings():
    """Each test leaves the process's settings as it found them (a test may
    change the environment and load them again, as a command does)."""
    saved = settings.current()
    yield
    settings.use(saved)


def stop_server(server) -> None:
    """Close a waitress server in its own loop: closed from another thread,
    its socket can vanish under the loop's select (EBADF in that thread)."""
    server.trigger.pull_trigger(server.close)


@pytest.fixture(scope="session")
def embedder():
    """The model at the precision in force, as the indexes of the fixtures are built."""
    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def float32_embedder():
    return load_embedder(DEFAULT_MODEL, "float32")


@pytest.fixture(scope="session")
def int8_embedder():
    """The default model quantized to int8 weights, loaded once per session."""
    return load_embedder(DEFAULT_MODEL, "int8")


@pytest.fixture(scope="session")
def torch_embedder():
    """The default model run by torch, the reference of the ONNX export."""
    return load_embedder(DEFAULT_MODEL, "float32", "torch")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """The index of the bundled corpus, built the way `storysearch index` builds it."""
    folder = tmp_path_factory.mktemp("index") / "bundled"
    report = build_index(layout.DEFAULT_CORPUS, folder, DEFAULT_MODEL)
    assert report.stories > 0
    return folder


@pytest.fixture(scope="session")
def engine(corpus_index, embedder):
    return SearchEngine(corpus_index, embedder)


@pytest.fixture(scope="session")
def app(engine):
    from storysearch.web.app import create_app

    return create_app(engine)


@pytest.fixture()
def client(app):
    return app.test_client()


PAPERS = ("浙江日报", "杭州日报")
DISTRICTS = ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区")
REPORTERS = ("张一", "李二", "王三", "赵四", "钱五", "孙六", "周七", "吴八", "郑九", "冯十")


def page_text(paper_index: int, day: int) -> str:
    stories = []
    for n, district in enumerate(DISTRICTS):
        extra = "垃圾分类" * (n + 1)  # the more, the more relevant to 垃圾分类
        stories.append(f"{district}第{day}期社区治理简讯\n\n{REPORTERS[n]}\n\n"
                       f"近日,{district}推进{extra}工作,第{day}期,居民参与踊跃。\n")
    return "\n".join(stories)


@pytest.fixture(scope="session")
def archive(tmp_path_factory, embedder):
    """130 stories: 13 pages of two papers, dated from 2022 to 2024, in PAPER/YYYY-MM-DD/PAGE.txt."""
    root = tmp_path_factory.mktemp("archive")
    corpus = root / "corpus"
    dates = [f"{2022 + i // 5}-{1 + (i * 2) % 12:02d}-{1 + i:02d}" for i in range(13)]
    for i, date in enumerate(dates):
        path = corpus / PAPERS[i % 2] / date / "01.txt"
        path.parent.mkdir(parents=True)
        path.write_text(page_text(i % 2, i), encoding="utf-8")
    build_index(corpus, root / "index", DEFAULT_MODEL, cache_dir=root / "cache")
    return SearchEngine(root / "index", embedder), dates
