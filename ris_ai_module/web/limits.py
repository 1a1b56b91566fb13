"""Request limits for the HTTP API, enforced in cheroot before bottle sees a request.

cheroot gives a request a worker thread from its first byte until its answer, and has only a per-``recv``
timeout: a client sending a header line every 29 s, or a body at a byte a second, holds a worker as long as it
likes, and ``http.threads`` such clients leave ``/healthz`` unanswered. An unread body is read whole into memory
before a keep-alive connection is reused. Here:

* **deadlines**: request line and headers within ``http.header_timeout`` of the first byte; the body within
  ``http.header_timeout`` plus its Content-Length at ``http.min_body_rate``. A watchdog thread shuts the socket
  of a request past its deadline (the worker is freed at once);
* **body-size caps checked before reading**: ``http.max_upload`` for ``POST /api/sr``, ``http.max_body`` for
  every other route; a larger Content-Length (or a chunked body where none is expected) is answered 413 at once
  and the connection closed, the body never read;
* **an unread body is never read**: the connection is closed after the answer instead of draining it;
* **per source address**: at most ``http.max_per_source`` requests in workers at once; more get 503 at once, so
  slow clients from one host never take every worker; and when three quarters of the workers wait for headers,
  headers slower than half a second are cut (slow clients from many hosts).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cheroot import server as cheroot_server

log = logging.getLogger(__name__)

#: Routes that take a large body, with the config key capping it (everything else: http.max_body).
UPLOAD_PATHS = (b"/api/sr",)


@dataclass(frozen=True)
class Limits:
    header_timeout: float
    min_body_rate: int
    max_body: int
    max_upload: int
    max_per_source: int

    def body_limit(self, path: bytes) -> tuple[int, str]:
        if path.rstrip(b"/") in UPLOAD_PATHS:
            return self.max_upload, "http.max_upload"
        return self.max_body, "http.max_body"


class Watchdog:
    """Deadlines per worker thread; a request past its deadline has its socket shut down.

    Under pressure — ``pressure_at`` or more workers still waiting for request headers — a request whose
    headers have not all arrived within ``pressure_age`` is cut too (a normal client sends them in one packet),
    so slow clients from many addresses cannot hold every worker even for ``http.header_timeout``.
    """

    def __init__(self, pressure_at: int = 1_000_000, pressure_age: float = 0.5, interval: float = 0.1) -> None:
        self._armed: dict[int, tuple[socket.socket, float, float, bool]] = {}  # sock, deadline, start, headers
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = interval
        self.pressure_at, self.pressure_age = pressure_at, pressure_age
        self._thread: threading.Thread | None = None
        self.cut = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rai-http-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def arm(self, sock: socket.socket, deadline: float, headers: bool = False) -> None:
        """``headers``: the request line and headers are still being read."""
        with self._lock:
            self._armed[threading.get_ident()] = (sock, deadline, time.monotonic(), headers)

    def disarm(self) -> None:
        with self._lock:
            self._armed.pop(threading.get_ident(), None)

    def expired(self, now: float) -> list[socket.socket]:
        """Remove and return the sockets to cut at ``now``."""
        with self._lock:
            waiting = sum(1 for _s, _d, _t, headers in self._armed.values() if headers)
            pressure = waiting >= self.pressure_at
            keys = [k for k, (_s, deadline, started, headers) in self._armed.items()
                    if deadline <= now or (pressure and headers and now - started >= self.pressure_age)]
            return [self._armed.pop(k)[0] for k in keys]

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for sock in self.expired(time.monotonic()):
                self.cut += 1
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except (OSError, TypeError):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


class SourceCounter:
    """Requests being served per client address."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def enter(self, address: str) -> bool:
        with self._lock:
            if self._counts[address] >= self.limit:
                return False
            self._counts[address] += 1
            return True

    def leave(self, address: str) -> None:
        with self._lock:
            self._counts[address] -= 1
            if self._counts[address] <= 0:
                del self._counts[address]


@dataclass
class Guard:
    """What the request classes need, hung on the cheroot server as ``server.rai_guard``."""

    limits: Limits
    watchdog: Watchdog
    sources: SourceCounter


def write_json(conn: Any, status: str, message: str, field: str | None = None) -> None:
    """A complete JSON answer written straight to the connection, closing it (used before bottle runs)."""
    body = json.dumps({"error": message, **({"field": field} if field else {})}, ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    try:
        conn.wfile.write(head.encode("ascii") + body)
        conn.wfile.flush()
    except OSError:
        pass


class GuardedRequest(cheroot_server.HTTPRequest):
    """Body cap checked on the headers; the body deadline armed; an unread body closes the connection."""

    def read_request_headers(self) -> bool:
        if not super().read_request_headers():
            return False
        guard: Guard = self.server.rai_guard
        limit, key = guard.limits.body_limit(self.path or b"")
        length = int(self.inheaders.get(b"Content-Length", 0) or 0)
        if self.chunked_read and key != "http.max_upload":
            self._refuse("411 Length Required", "send a Content-Length (chunked bodies are not accepted here)",
                         "Content-Length")
            return False
        if length > limit:
            self._refuse("413 Payload Too Large", f"{length} bytes is more than {key} ({limit} bytes)",
                         "Content-Length")
            return False
        if length or self.chunked_read:
            size = length if length else limit
            guard.watchdog.arm(self.conn.socket, time.monotonic() + guard.limits.header_timeout
                               + size / max(1, guard.limits.min_body_rate))
        else:
            guard.watchdog.disarm()  # nothing more to read: the answer may take as long as it takes
        return True

    def _refuse(self, status: str, message: str, field: str) -> None:
        self.close_connection = True
        self.ready = False
        write_json(self.conn, status, message, field)
        self.sent_headers = True

    def send_headers(self) -> None:
        if not self.chunked_read and getattr(self.rfile, "remaining", 0) > 0:
            self.close_connection = True  # never read (and buffer) a body the application did not want
        super().send_headers()


class GuardedConnection(cheroot_server.HTTPConnection):
    """One request per call: per-source admission and the header deadline."""

    RequestHandlerClass = GuardedRequest

    def communicate(self) -> bool:
        guard: Guard = self.server.rai_guard
        address = str(self.remote_addr or "-")
        if not guard.sources.enter(address):
            write_json(self, "503 Service Unavailable",
                       f"too many requests in progress from {address} (http.max_per_source)")
            return False
        guard.watchdog.arm(self.socket, time.monotonic() + guard.limits.header_timeout, headers=True)
        try:
            return bool(super().communicate())
        finally:
            guard.watchdog.disarm()
            guard.sources.leave(address)


def body_done_middleware(app: Callable[..., Iterable[bytes]], watchdog: Watchdog) -> Callable[..., Iterable[bytes]]:
    """Disarm the body deadline once the application has read the whole body (then it may work unhurried)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0:
            environ["wsgi.input"] = _Counting(environ["wsgi.input"], length, watchdog.disarm)
        return app(environ, start_response)

    return wrapped


class _Counting:
    def __init__(self, raw: Any, length: int, done: Callable[[], None]) -> None:
        self._raw, self._left, self._done = raw, length, done

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._left -= len(data)
        if self._left <= 0 or not data:
            self._done()
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._raw.readline(size) if size and size > 0 else self._raw.readline()
        self._left -= len(data)
        if self._left <= 0 or not data:
            self._done()
        return data

    def __iter__(self) -> Any:
        return iter(self.readline, b"")
