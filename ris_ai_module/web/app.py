"""The WSGI application: ``make_app(ctx)`` builds a fresh bottle app (no global default app).

Every request passes the address allow-list and HTTP Basic (or API token) authentication (except
``/healthz``); state-changing requests need the ``operator`` role and are written to RAI_AUDIT, as is
every failed login. Every answer carries the headers a hospital's security scan looks for.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import bottle

from ris_ai_module.audit import AuditEvent, AuditLog
from ris_ai_module.config.http_section import HttpTokenConfig, HttpUserConfig
from ris_ai_module.context import AppContext
from ris_ai_module.web.auth import Authenticator
from ris_ai_module.web.errors import HttpError, install_error_pages, json_boundary


@dataclass
class AuditEntry:
    target: str | None
    detail: str | None = None
    ok: bool = True


@dataclass
class WebContext:
    ctx: AppContext
    auth: Authenticator
    audit_log: AuditLog

    def user(self, role: str = "viewer") -> HttpUserConfig | HttpTokenConfig:
        """The authenticated user of this request, with at least ``role``; else 401/403."""
        request = bottle.request
        remote = request.remote_addr or ""
        if not _allowed(remote, self.ctx.config.http.ip_allow):
            raise HttpError(403, f"address {remote} is not in http.ip_allow")
        scheme, _, token = request.get_header("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            account = self.auth.check_token(token.strip())
            if account is None:
                self.audit("-", "login_failed", None, "unknown API token", ok=False)
                raise HttpError(401, "bad credentials", headers={"WWW-Authenticate": 'Bearer realm="ris-ai-module"'})
            return self._with_role(account, role)
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
        return self._with_role(user, role)

    def _with_role(self, user: HttpUserConfig | HttpTokenConfig, role: str) -> HttpUserConfig | HttpTokenConfig:
        if role == "operator" and user.role != "operator":
            request = bottle.request
            self.audit(user.name, "forbidden", request.path, f"{request.method} needs the operator role", ok=False)
            raise HttpError(403, "this action needs the operator role")
        return user

    @contextmanager
    def audited(self, actor: str, action: str, target: str | None) -> Iterator[AuditEntry]:
        """Writes one RAI_AUDIT row for a state change, whether it succeeds or is refused (等保 安全审计)."""
        entry = AuditEntry(target)
        try:
            yield entry
        except Exception as exc:
            reason = exc.message if isinstance(exc, HttpError) else getattr(exc, "reason", None) or str(exc)
            self.audit(actor, action, entry.target, f"refused: {reason}", ok=False)
            raise
        self.audit(actor, action, entry.target, entry.detail, ok=entry.ok)

    def audit(self, actor: str, action: str, target: str | None, detail: str | None, ok: bool = True) -> None:
        """A state change or security event: committed before the answer goes out."""
        self.audit_log.write(self._event(actor, action, target, detail, ok))

    def audit_read(self, actor: str, action: str, target: str | None, detail: str | None) -> None:
        """A read of patient data (search, exam opened): batched, in the database within a second."""
        self.audit_log.record(self._event(actor, action, target, detail, True))

    @staticmethod
    def _event(actor: str, action: str, target: str | None, detail: str | None, ok: bool) -> AuditEvent:
        return AuditEvent(actor=actor, source=f"http:{bottle.request.remote_addr or '-'}", action=action,
                          target=target, detail=detail, ok=ok)


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


def _page() -> tuple[str, str]:
    """The status page and its Content-Security-Policy: only the page's own inline script (by hash) runs,
    only this server is contacted, no framing."""
    html = resources.files("ris_ai_module.web").joinpath("static/index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    policy = (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; connect-src 'self'; "
              "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return html, policy


def _security_headers(tls: bool) -> None:
    headers = bottle.response
    headers.set_header("X-Content-Type-Options", "nosniff")
    headers.set_header("X-Frame-Options", "DENY")
    headers.set_header("Referrer-Policy", "no-referrer")
    headers.set_header("Cache-Control", "no-store")  # answers carry patient data: no copies in caches
    if tls:
        headers.set_header("Strict-Transport-Security", "max-age=31536000")


def make_app(ctx: AppContext, audit_log: AuditLog | None = None) -> bottle.Bottle:
    """The app; ``audit_log`` is the server's (closed by it), else one of its own."""
    from ris_ai_module.web import routes_exams, routes_tasks

    app = bottle.Bottle(catchall=True)
    app.uninstall(bottle.JSONPlugin)
    app.install(bottle.JSONPlugin(json_dumps=to_json))
    app.install(json_boundary)
    tls = bool(ctx.config.http.tls_certificate)
    app.add_hook("before_request", lambda: _security_headers(tls))
    install_error_pages(app, lambda: _security_headers(tls))
    audit_log = audit_log or AuditLog(ctx.engine, float(ctx.config.audit.flush_interval))
    web = WebContext(ctx, Authenticator(ctx.config.http), audit_log)
    page, policy = _page()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "up"}

    @app.get("/")
    def index() -> str:
        web.user()
        bottle.response.content_type = "text/html; charset=utf-8"
        bottle.response.set_header("Content-Security-Policy", policy)
        return page

    routes_exams.install(app, web)
    routes_tasks.install(app, web)
    return app
