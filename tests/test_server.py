"""The production server, on a loopback port."""
import json
import socket
import threading

import pytest

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
