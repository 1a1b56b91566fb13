"""The WSGI application: ``make_app(ctx)`` builds a fresh bottle app (no global default app).

Every request passes the address allow-list and HTTP Basic authentication (except ``/healthz``); state-
changing requests need the ``operator`` role and are written to RAI_AUDIT, as is every failed login.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import bottle

from ris_ai_module.config.http_section import HttpUserConfig
from ris_ai_module.context import AppContext
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.lookup import write_audit
from ris_ai_module.web.auth import Authenticator
from ris_ai_module.web.errors import HttpError, install_error_pages, json_boundary


@dataclass
class WebContext:
    ctx: AppContext
    auth: Authenticator

    def user(self, role: str = "viewer") -> HttpUserConfig:
        """The authenticated user of this request, with at least ``role``; else 401/403."""
        request = bottle.request
        remote = request.remote_addr or ""
        if not _allowed(remote, self.ctx.config.http.ip_allow):
            raise HttpError(403, f"address {remote} is not in http.ip_allow")
        credentials = request.auth
        if credentials is None:
            raise HttpError(401, "authentication required", headers={"WWW-Authenticate": 'Basic realm="ris-ai-module"'})
        name, password = credentials
        user, reason = self.auth.check(name, password or "")
        if user is None:
            self.audit(name or "-", "login_failed", None, reason, ok=False)
            status = 429 if reason == "locked" else 401
            message = "account locked after repeated failures; try later" if reason == "locked" else "bad credentials"
            raise HttpError(status, message, headers={"WWW-Authenticate": 'Basic realm="ris-ai-module"'})
        if role == "operator" and user.role != "operator":
            self.audit(user.name, "forbidden", request.path, f"{request.method} needs the operator role", ok=False)
            raise HttpError(403, "this action needs the operator role")
        return user

    def audit(self, actor: str, action: str, target: str | None, detail: str | None, ok: bool = True) -> None:
        with self.ctx.engine.begin() as conn:
            write_audit(conn, actor, f"http:{bottle.request.remote_addr or '-'}", action, target, detail, ok, utcnow())


def to_json(value: Any) -> str:
    """UTF-8 JSON (Chinese as is); dates and times in ISO 8601."""
    return json.dumps(value, ensure_ascii=False, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _allowed(remote: str, allow: tuple[str, ...]) -> bool:
    if not allow:
        return True
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allow)


def make_app(ctx: AppContext) -> bottle.Bottle:
    from ris_ai_module.web import routes_exams, routes_tasks

    app = bottle.Bottle(catchall=True)
    app.uninstall(bottle.JSONPlugin)
    app.install(bottle.JSONPlugin(json_dumps=to_json))
    app.install(json_boundary)
    install_error_pages(app)
    web = WebContext(ctx, Authenticator(ctx.config.http))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "up"}

    @app.get("/")
    def index() -> str:
        web.user()
        bottle.response.content_type = "text/html; charset=utf-8"
        return resources.files("ris_ai_module.web").joinpath("static/index.html").read_text(encoding="utf-8")

    routes_exams.install(app, web)
    routes_tasks.install(app, web)
    return app
