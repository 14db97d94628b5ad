"""Shared fixtures: the model and an index of the bundled corpus are built once
per test session; the model is loaded once per process."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # the tests prove nothing is downloaded
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from index import layout  # noqa: E402
from index.build import build_index  # noqa: E402
from index.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402


@pytest.fixture(scope="session")
def embedder():
    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """The index of the bundled corpus, built the way `storysearch index` builds it."""
    folder = tmp_path_factory.mktemp("index") / "bundled"
    report = build_index(layout.DEFAULT_CORPUS, folder, DEFAULT_MODEL)
    assert report.stories > 0
    return folder


@pytest.fixture(scope="session")
def engine(corpus_index, embedder):
    from searcher import SearchEngine

    return SearchEngine(corpus_index, embedder)


@pytest.fixture(scope="session")
def app(engine):
    from web.app import create_app

    return create_app(engine)


@pytest.fixture()
def client(app):
    return app.test_client()
