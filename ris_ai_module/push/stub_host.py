"""A stand-in AI host that receives exam pushes: for the demo, acceptance checks on site, tests and the
benchmark. It records each request, answers like an idempotent receiver (a repeated Idempotency-Key is
acknowledged, not counted twice), and can be told to fail (``status``) or to hang (``delay``).

Run it with ``ris-ai-module ai-host-stub --port 8090``.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class StubState:
    """Mutable behaviour and the record; guarded by one lock."""

    status: int = 200
    delay: float = 0.0
    response_body: str = '{"ok": true}'
    received: list[Received] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def unique_keys(self) -> int:
        with self.lock:
            return len(self.keys)

    def duplicates(self) -> int:
        with self.lock:
            return sum(n - 1 for n in self.keys.values())


class _Handler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Answer in one segment: without this, Nagle + delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_GET(self) -> None:  # noqa: N802 - the health check's target
        self._answer(200, b'{"status": "up"}')

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with state.lock:
            status, delay, answer = state.status, state.delay, state.response_body
        if delay:
            time.sleep(delay)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw
        key = self.headers.get("Idempotency-Key", "")
        with state.lock:
            state.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
            if 200 <= status < 300:
                state.keys[key] = state.keys.get(key, 0) + 1
        self._answer(status, answer.encode("utf-8"))

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the record is the log
        return


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, certfile: str = "", keyfile: str = "") -> None:
        super().__init__((host, port), _Handler)
        self.state = StubState()
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile or None)
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
