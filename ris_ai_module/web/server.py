"""Serves the API with cheroot (pure Python, Linux and Windows, built-in TLS), as a component of ``run``."""

from __future__ import annotations

import errno
import logging
import ssl
import threading

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from ris_ai_module.audit import AuditLog
from ris_ai_module.errors import PortInUse
from ris_ai_module.services import Running
from ris_ai_module.web.app import make_app
from ris_ai_module.web.limits import (
    Guard,
    GuardedConnection,
    Limits,
    SourceCounter,
    Watchdog,
    body_done_middleware,
)

log = logging.getLogger(__name__)

#: Request line plus headers; bodies are capped in web/limits.py (http.max_body, http.max_upload for SRs).
MAX_HEADER_BYTES = 64 * 1024


class WebServer:
    name = "http-api"

    def __init__(self, ctx: Running) -> None:
        cfg = ctx.config.http
        self.audit_log = AuditLog(ctx.engine, float(ctx.config.audit.flush_interval))
        per_source = min(cfg.max_per_source, max(1, cfg.threads - 1))  # one address never takes every worker
        self.watchdog = Watchdog(pressure_at=max(1, cfg.threads * 3 // 4))
        app = body_done_middleware(make_app(ctx, self.audit_log), self.watchdog)
        self.server = wsgi.Server((cfg.host, cfg.port), app, numthreads=cfg.threads, max=cfg.threads,
                                  server_name="ris-ai-module", timeout=float(cfg.header_timeout), shutdown_timeout=5,
                                  request_queue_size=64)
        self.server.max_request_header_size = MAX_HEADER_BYTES  # cheroot's default is no limit
        # Deadlines, body caps before reading, per-source admission: web/limits.py.
        self.server.ConnectionClass = GuardedConnection
        self.server.rai_guard = Guard(  # type: ignore[attr-defined]
            Limits(header_timeout=float(cfg.header_timeout), min_body_rate=int(cfg.min_body_rate),
                   max_body=int(cfg.max_body), max_upload=int(cfg.max_upload), max_per_source=per_source),
            self.watchdog, SourceCounter(per_source))
        if cfg.tls_certificate:
            adapter = BuiltinSSLAdapter(cfg.tls_certificate, cfg.tls_private_key)
            adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
            self.server.ssl_adapter = adapter
        self.thread = threading.Thread(target=self._serve, name="rai-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    def start(self) -> None:
        try:
            self.server.prepare()  # binds now: a port in use fails start-up, not a thread later
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE or "already in use" in str(exc).lower():
                host, port = self.server.bind_addr[:2]
                raise PortInUse("HTTP API (http.port)", str(host), int(port)) from exc
            raise
        self.watchdog.start()
        self.thread.start()
        scheme = "https" if self.server.ssl_adapter else "http"
        log.info("HTTP API on %s://%s:%d/", scheme, self.server.bind_addr[0], self.port)

    def _serve(self) -> None:
        self.server.serve()

    def stop(self, timeout: float = 10.0) -> None:
        self.server.stop()
        self.thread.join(timeout)
        self.watchdog.stop()
        self.audit_log.close()  # the last batched reads reach RAI_AUDIT


def make_component(ctx: Running) -> WebServer | None:
    return WebServer(ctx) if ctx.config.http.enabled else None
