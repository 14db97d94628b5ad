"""The production server, on a loopback port."""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from storysearch.index import layout
from storysearch.index.build import build_index
from storysearch.index.embedding import DEFAULT_MODEL
from storysearch.index.stories import read_stories
from storysearch.web.server import create_server
from conftest import stop_server


@pytest.fixture()
def served(app):
    server = create_server(app, "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_host, server.effective_port
    stop_server(server)
    thread.join(timeout=5)


def raw_get(host, port, target: bytes) -> tuple[int, bytes]:
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_raw_utf8_query_as_curl_sends_it(served):
    status, body = raw_get(*served, "/api/search?q=乡贤&mode=hybrid&k=3".encode("utf-8"))
    assert status == 200
    data = json.loads(body)
    assert data["query"] == "乡贤" and len(data["hits"]) == 3


def test_percent_encoded_query_as_browsers_send_it(served):
    status, body = raw_get(*served, b"/api/search?q=%E4%B9%A1%E8%B4%A4&mode=keyword")
    assert status == 200
    assert json.loads(body)["query"] == "乡贤"


def test_invalid_percent_escapes_answer_400(served):
    status, body = raw_get(*served, b"/api/search?q=%FF%FE")
    assert status == 400
    assert json.loads(body)["status"] == 400
    status, body = raw_get(*served, b"/?q=\xff\xfe")
    assert status == 400 and "编码".encode() in body


def test_several_processes_answer_and_each_follows_the_index(tmp_path):
    """``STORYSEARCH_WORKERS=2``: gunicorn's processes, forked once the index
    and the model are loaded, answer (raw UTF-8 too), and each one picks up
    a new generation (its watcher started after the fork)."""
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    pages = sorted(layout.DEFAULT_CORPUS.glob("*.txt"))
    shutil.copy(pages[0], corpus / pages[0].name)
    build_index(corpus, folder, DEFAULT_MODEL)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "server.log", "w+", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "storysearch", "serve", "--index", str(folder), "--port", str(port)],
                              env={**os.environ, "STORYSEARCH_WORKERS": "2"}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                status, body = raw_get("127.0.0.1", port, "/api/search?q=乡贤&mode=hybrid&k=3".encode("utf-8"))
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.seek(0) or log.read()
                time.sleep(0.5)
        assert status == 200 and json.loads(body)["query"] == "乡贤"
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 2
        shutil.copy(pages[1], corpus / pages[1].name)
        build_index(corpus, folder, DEFAULT_MODEL)
        added = next(story.id for story in read_stories(layout.current_generation(folder) / layout.STORIES)
                     if story.source == pages[1].name)
        answered, deadline = 0, time.monotonic() + 60
        while answered < 10:  # ten in a row, each on a new connection, whichever process takes it
            status, _ = raw_get("127.0.0.1", port, f"/api/story/{added}".encode("utf-8"))
            answered = answered + 1 if status == 200 else 0
            assert time.monotonic() < deadline, "a process kept serving the old generation"
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
