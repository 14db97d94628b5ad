"""Query embeddings go through one model worker: concurrent queries are
embedded together, a bounded number of requests may wait for it, and a
keyword request never waits behind it (issue 10: at 16 clients keyword p50
rose from 5 ms to 220 ms because every server thread waited on the model)."""
import http.client
import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from storysearch.index.embedding import MAX_QUERIES_WAITING
from storysearch.web.server import create_server


def block(model, monkeypatch) -> SimpleNamespace:
    """``model``'s encode waits until released, recording each batch it is given."""
    release, batches = threading.Event(), []
    encode = model.encode

    def blocking_encode(texts, **options):
        batches.append(list(texts))
        release.wait(60)
        return encode(texts, **options)

    monkeypatch.setattr(model, "encode", blocking_encode)
    return SimpleNamespace(release=release, batches=batches)


@pytest.fixture()
def blocked_model(embedder, monkeypatch):
    blocked = block(embedder.model, monkeypatch)
    yield blocked
    blocked.release.set()


def wait_until(condition) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the requests never reached the model"
        time.sleep(0.01)


def get(port: int, path: str) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return response.status, dict(response.getheaders()), body


def embed_concurrently(embedder, blocked, texts: list[str], entered) -> dict:
    """Each text's query vector from a thread of its own: the first alone, the
    others once ``entered(blocked)`` holds; then the model is released."""
    vectors = {}

    def embed(text):
        vectors[text] = embedder.query_vector(text)

    threads = [threading.Thread(target=embed, args=(text,)) for text in texts]
    threads[0].start()
    wait_until(lambda: blocked.batches)
    for thread in threads[1:]:
        thread.start()
    wait_until(lambda: embedder.queries_waiting == len(texts) and entered(blocked))
    blocked.release.set()
    for thread in threads:
        thread.join()
    return vectors


def test_concurrent_queries_are_embedded_in_one_batch_by_torch(torch_embedder, monkeypatch):
    """torch computes a batch in about the time of one text: the texts that
    arrive during a pass go together into the next."""
    blocked = block(torch_embedder.model, monkeypatch)
    texts = [f"批量嵌入测试{i}号" for i in range(6)]
    vectors = embed_concurrently(torch_embedder, blocked, texts, lambda blocked: True)
    assert [sorted(batch) for batch in blocked.batches] == [texts[:1], sorted(texts[1:])]
    for text in texts:
        alone = torch_embedder.encode_queries([text])[0]
        assert float(np.dot(vectors[text], alone)) > 0.999


def test_concurrent_queries_are_embedded_side_by_side_by_onnxruntime(embedder, blocked_model):
    """onnxruntime runs each text alone: a query never waits for the pass before it."""
    assert embedder.side_by_side
    texts = [f"并行嵌入测试{i}号" for i in range(6)]
    vectors = embed_concurrently(embedder, blocked_model, texts, lambda blocked: len(blocked.batches) == 6)
    assert sorted(map(tuple, blocked_model.batches)) == sorted((text,) for text in texts)
    for text in texts:
        assert np.allclose(vectors[text], embedder.encode_queries([text])[0], atol=1e-6)


def test_a_keyword_request_never_waits_for_the_model(app, embedder, blocked_model):
    server = create_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    port = server.effective_port
    answers = []
    waiting = [threading.Thread(target=lambda i=i: answers.append(
        get(port, f"/api/search?mode=semantic&q=%E5%81%9C%E8%BD%A6{i}")[0])) for i in range(MAX_QUERIES_WAITING)]
    try:
        for request in waiting:
            request.start()
        wait_until(lambda: embedder.queries_waiting == MAX_QUERIES_WAITING)

        status, _, body = get(port, "/api/search?mode=keyword&q=%E4%B9%A1%E8%B4%A4")
        assert status == 200 and body["hits"] and not blocked_model.release.is_set()

        status, headers, body = get(port, "/api/search?mode=hybrid&q=%E5%A4%9A%E4%B8%80%E4%B8%AA")
        assert status == 503 and body["ok"] is False and body["status"] == 503 and "busy" in body["error"]
        assert headers["Retry-After"] == "1"
        page = app.test_client().get("/", query_string={"q": "再多一个", "mode": "semantic"})
        assert page.status_code == 503 and "稍后" in page.get_data(as_text=True)
    finally:
        blocked_model.release.set()
        for request in waiting:
            request.join()
        server.trigger.pull_trigger(server.close)  # closed in the server's own loop, not under its select
        thread.join(timeout=5)
    assert answers == [200] * MAX_QUERIES_WAITING
