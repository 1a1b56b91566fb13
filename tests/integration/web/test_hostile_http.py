"""Slow, oversized and misdirected HTTP requests, short versions of bench/abuse.py's HTTP rows: the API
answers /healthz within a second while abusers (127.0.0.2 and up) hold connections; bodies over the cap are
refused on the headers, never read; deadlines cut slow clients."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tests.integration.web.conftest import VIEWER, Api, start_api


def _connect(api: Api, source: str) -> socket.socket:
    port = int(api.base.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def _answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything until the server closes (or ``timeout``)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def _healthz_ok(api: Api) -> float:
    started = time.monotonic()
    resp = requests.get(api.base + "/healthz", timeout=5)
    assert resp.status_code == 200
    return time.monotonic() - started


@pytest.fixture
def small_api(any_db: Engine, tmp_path: Path):
    api = start_api(any_db, tmp_path, header_timeout="2s", min_body_rate="1KB", threads=8, max_per_source=3)
    try:
        yield api
    finally:
        api.server.stop()
        api.ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_1_gb_body_to_healthz_is_413_at_once_and_never_read(small_api: Api) -> None:
    with _connect(small_api, "127.0.0.2") as s:
        started = time.monotonic()
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n" + b"\0" * 65536)
        answer = _answer(s)
        assert time.monotonic() - started < 2
    assert answer.startswith(b"HTTP/1.1 413 ") and b'"field": "Content-Length"' in answer
    assert b"http.max_body" in answer
    assert _healthz_ok(small_api) < 1


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_chunked_body_where_none_is_expected_is_refused(small_api: Api) -> None:
    with _connect(small_api, "127.0.0.2") as s:
        s.sendall(b"POST /api/exams/X/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n")
        assert _answer(s).startswith(b"HTTP/1.1 411 ")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_an_unread_body_is_not_drained_the_connection_is_closed(small_api: Api) -> None:
    """A viewer may not upload: 403 before the body is read, then the connection closes instead of reading on."""
    import base64

    auth = base64.b64encode(f"{VIEWER[0]}:{VIEWER[1]}".encode()).decode()
    with _connect(small_api, "127.0.0.2") as s:
        s.sendall(f"POST /api/sr HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/dicom"
                  f"\r\nContent-Length: {100 * 1024**2}\r\n\r\n".encode() + b"\0" * 1000)
        started = time.monotonic()
        answer = _answer(s)
        assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 403 ")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_slow_headers_and_bodies_are_cut_at_their_deadlines(small_api: Api) -> None:
    with _connect(small_api, "127.0.0.2") as header, _connect(small_api, "127.0.0.3") as body:
        header.sendall(b"GET /healthz HTTP/1.1\r\n")  # ... and never the rest
        body.sendall(b"POST /api/exams/X/push HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n0123456789")
        started = time.monotonic()
        _answer(header, timeout=8)
        cut_header = time.monotonic() - started
        _answer(body, timeout=8)
        cut_body = time.monotonic() - started
    assert 1.5 < cut_header < 4, cut_header  # http.header_timeout 2 s
    assert cut_body < 6, cut_body  # 2 s + 2048 B at 1 KB/s


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_healthz_answers_while_slow_clients_hold_connections(small_api: Api) -> None:
    """8 slow clients (as many as http.threads) from one host, then from eight hosts: /healthz within 1 s."""
    stop = threading.Event()

    def slow(source: str) -> None:
        while not stop.is_set():
            try:
                with _connect(small_api, source) as s:
                    s.sendall(b"GET /api/exams HTTP/1.1\r\n")
                    while not stop.wait(0.5):
                        s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                stop.wait(0.1)

    for sources in (["127.0.0.2"] * 8, [f"127.0.0.{i}" for i in range(2, 10)]):
        stop.clear()
        threads = [threading.Thread(target=slow, args=(src,), daemon=True) for src in sources]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            latencies = [_healthz_ok(small_api) for _ in range(10)]
        finally:
            stop.set()
            for t in threads:
                t.join(5)
        assert max(latencies) < 1.0, latencies


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_date_out_of_range_is_400_naming_the_field(small_api: Api) -> None:
    for field, value in (("to", "9999-12-31"), ("from", "0001-01-01")):
        resp = small_api.get(f"/api/exams?{field}={value}")
        assert resp.status_code == 400 and resp.json()["field"] == field, resp.text


@pytest.mark.parametrize("url", ["sqlite-missing-folder", "postgresql+psycopg://postgres@127.0.0.1:1/rai"])
def test_database_down_is_503_on_every_api_route_but_healthz(url: str, tmp_path: Path) -> None:
    if url == "sqlite-missing-folder":
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'rai.db'}"
    gone = create_engine(url, connect_args={"connect_timeout": 2} if url.startswith("postgresql") else {})
    api = start_api(gone, tmp_path)
    try:
        assert requests.get(api.base + "/healthz", timeout=10).status_code == 200
        for method, path in (("GET", "/api/exams?name=x"), ("GET", "/api/exams/E1"), ("GET", "/api/tasks"),
                             ("GET", "/api/status"), ("POST", "/api/exams/E1/push"), ("POST", "/api/tasks/1/retry")):
            resp = (api.get(path) if method == "GET" else api.post(path))
            assert resp.status_code == 503, (path, resp.status_code, resp.text)
            assert resp.json()["error"], path
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
