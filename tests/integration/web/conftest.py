"""A real HTTP API (cheroot on a free loopback port) over a real database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.web.auth import hash_password, token_hash
from ris_ai_module.web.server import WebServer
from tests.integration.tasks.conftest import make_ctx
from tests.support import free_port

#: Fewer PBKDF2 rounds than production, to keep the tests quick; the format is the same.
OPERATOR = ("op", "op-pass-1")
VIEWER = ("viewer", "view-pass-1")
MONITOR_TOKEN = "monitoring-tool-token-0123456789abcdef"


@dataclass
class Api:
    base: str
    ctx: AppContext
    server: WebServer

    def get(self, path: str, auth: tuple[str, str] | None = VIEWER, **kw: Any) -> requests.Response:
        return requests.get(self.base + path, auth=auth, timeout=30, **kw)

    def post(self, path: str, auth: tuple[str, str] | None = OPERATOR, **kw: Any) -> requests.Response:
        return requests.post(self.base + path, auth=auth, timeout=30, **kw)


def start_api(engine: Engine, tmp_path: Path, storage: dict[str, Any] | None = None,
              module: dict[str, Any] | None = None, **http: Any) -> Api:
    port = free_port()
    users = [{"name": OPERATOR[0], "password_hash": hash_password(OPERATOR[1], 1000), "role": "operator"},
             {"name": VIEWER[0], "password_hash": hash_password(VIEWER[1], 1000), "role": "viewer"}]
    tokens = [{"name": "monitor", "token_hash": token_hash(MONITOR_TOKEN), "role": "viewer"}]
    ctx = make_ctx(engine, "http://127.0.0.1:9/", storage={"root": str(tmp_path / "storage"), **(storage or {})},
                   http={"enabled": True, "host": "127.0.0.1", "port": port, "users": users, "tokens": tokens, **http},
                   **({"module": module} if module else {}))
    server = WebServer(ctx)
    server.start()
    scheme = "https" if http.get("tls_certificate") else "http"
    return Api(f"{scheme}://127.0.0.1:{port}", ctx, server)


@pytest.fixture
def api(any_db: Engine, tmp_path: Path) -> Iterator[Api]:
    running = start_api(any_db, tmp_path)
    try:
        yield running
    finally:
        running.server.stop()
        running.ctx.engine.dispose()
