"""The AI host's HTTP(S) exam endpoint, as the simulator (and tests, the benchmark) run it.

It records every request, checks the body against the push's JSON Schema (``push/exam-push.schema.json``)
when told to, answers a repeated ``Idempotency-Key`` as the same exam (acknowledged, not counted or acted on
twice) and can be told to misbehave: a fixed status for every push, a random share of failures, a delay before
answering, or never answering at all (``hang``). ``on_exam`` is called once per new exam accepted.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ris_ai_module.push.schema import canonical_body, validate_body

log = logging.getLogger(__name__)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    status: int = 0


@dataclass
class StubState:
    """Mutable behaviour and the record; guarded by one lock."""

    status: int = 200
    delay: float = 0.0
    hang: bool = False
    fail_rate: float = 0.0
    fail_status: int = 503
    response_body: str = ""
    #: Extra headers of every answer to a push (e.g. ``Retry-After``).
    response_headers: dict[str, str] = field(default_factory=dict)
    validate: bool = False
    renames: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    omitted: tuple[str, ...] = ()
    received: list[Received] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)
    exams: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def unique_keys(self) -> int:
        with self.lock:
            return len(self.keys)

    def duplicates(self) -> int:
        with self.lock:
            return sum(n - 1 for n in self.keys.values())


class _Handler(BaseHTTPRequestHandler):
    server: AiHostHttp
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
        self._answer(200, {"status": "up"})

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with state.lock:
            status, delay, hang = state.status, state.delay, state.hang
            if 200 <= status < 300 and state.fail_rate and state.rng.random() < state.fail_rate:
                status = state.fail_status
        if hang:  # accept the request and never answer: the client's read timeout has to act
            self.server.stopping.wait()
            self.close_connection = True
            return
        if delay:
            time.sleep(delay)
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw
        key = self.headers.get("Idempotency-Key", "")
        record = Received(self.path, dict(self.headers.items()), body, time.time())
        answer, new_exam = self._decide(state, status, body, key)
        record.status = answer[0]
        with state.lock:
            state.received.append(record)
            extra = dict(state.response_headers)
        if new_exam is not None and self.server.on_exam is not None:  # recorded before the client hears "ok"
            self.server.on_exam(new_exam, key)
        self._answer(*answer, extra=extra)

    def _decide(self, state: StubState, status: int, body: Any, key: str) -> tuple[tuple[int, Any], dict | None]:
        """(status, JSON answer) and the canonical exam when it is new and accepted."""
        if not 200 <= status < 300:
            return (status, state.response_body or {"error": f"simulated failure (HTTP {status})"}), None
        exam: dict[str, Any] | None = None
        if state.validate:
            if not isinstance(body, dict):
                return (400, {"error": "the body is not a JSON object", "field": ""}), None
            if not key:
                return (400, {"error": "the Idempotency-Key header is missing", "field": "Idempotency-Key"}), None
            exam = canonical_body(body, state.renames, state.constants)
            problems = validate_body(exam, state.omitted)
            if problems:  # named as the site sends them (its [push].field_names)
                named = [(state.renames.get(q.field, q.field), q.message) for q in problems]
                return (400, {"error": f"{named[0][0]}: {named[0][1]}", "field": named[0][0],
                              "problems": [{"field": f, "error": m} for f, m in named]}), None
        elif isinstance(body, dict):
            exam = dict(body)
        with state.lock:
            seen = key in state.keys
            state.keys[key] = state.keys.get(key, 0) + 1
            if exam is not None and not seen:
                state.exams[key] = exam
        if state.response_body:
            return (status, state.response_body), None if seen else exam
        answer = {"ok": True, "duplicate": seen, "idempotencyKey": key}
        if exam is not None:
            answer["examKey"] = exam.get("examKey", "")
        return (status, answer), None if seen else exam

    def _answer(self, status: int, payload: Any, extra: Mapping[str, str] | None = None) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the record is the log
        return


class AiHostHttp(ThreadingHTTPServer):
    """Serve on ``host:port`` (0 = a free port); HTTPS when ``certfile`` is given."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, certfile: str = "", keyfile: str = "",
                 on_exam: Callable[[dict[str, Any], str], None] | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.state = StubState()
        self.on_exam = on_exam
        self.stopping = threading.Event()
        self.tls = bool(certfile)
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile or None)
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, not socketserver's traceback on stderr: a client that hangs up (a health check's probe,
        a push timed out, a TLS handshake refused) is the peer's business, not the simulator's failure."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError)):
            log.debug("AI host simulator: %s from %s", error, client_address)
            return
        log.warning("AI host simulator: request from %s failed: %r", client_address, error)

    def start(self) -> AiHostHttp:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


#: The name the tests and the benchmark have used for it.
StubServer = AiHostHttp
