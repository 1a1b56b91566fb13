"""The WSGI application: ``make_app(ctx)`` builds a fresh bottle app (no global default app).

Every request passes the address allow-list and HTTP Basic (or API token) authentication (except
``/healthz``); state-changing requests need the ``operator`` role and are written to RAI_AUDIT, as is
every failed login. Every answer carries the headers a hospital's security scan looks for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from importlib import resources
from typing import Any

import bottle
from sqlalchemy.exc import SQLAlchemyError

from ris_ai_module.audit import AuditEvent, AuditLog
from ris_ai_module.db.clock import display_zone, to_zone
from ris_ai_module.services import Running
from ris_ai_module.web.auth import Authenticator
from ris_ai_module.web.checks import address_allowed as _allowed
from ris_ai_module.web.checks import origin_of as _origin
from ris_ai_module.web.errors import HttpError, install_error_pages, json_boundary
from ris_ai_module.web.lockout import LoginFailures
from ris_ai_module.web.metrics import ModuleCollector, render
from ris_ai_module.web.section import HttpTokenConfig, HttpUserConfig
from ris_ai_module.web.sessions import COOKIE, Session, SessionStore

log = logging.getLogger(__name__)

#: What each role may do: a route asks for "viewer" (read exams and tasks), "operator" (change them) or one
#: of the administrator roles. The three administrators do not read patient data (三员分立, least privilege).
GRANTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"viewer"}),
    "operator": frozenset({"viewer", "operator"}),
    "sysadmin": frozenset({"sysadmin"}),
    "secadmin": frozenset({"secadmin"}),
    "auditadmin": frozenset({"auditadmin"}),
}


@dataclass
class AuditEntry:
    target: str | None
    detail: str | None = None
    ok: bool = True


@dataclass
class WebContext:
    ctx: Running
    auth: Authenticator
    audit_log: AuditLog

    sessions: SessionStore

    def user(self, role: str = "viewer") -> HttpUserConfig | HttpTokenConfig:
        """The authenticated user of this request, with at least ``role``; else 401/403.

        A page session (cookie), HTTP Basic or an API token. A state-changing request with a session or
        Basic credentials, which a browser sends by itself, must come from this server's own page: the
        session's CSRF token, or a same-origin ``Origin``/``Referer`` (Bearer-token scripts are exempt).
        """
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
        try:
            return self._person(role)
        except SQLAlchemyError as exc:  # lockout and sessions live in the database: fail closed, say why
            log.warning("login not checked: database unreachable: %s", str(exc).splitlines()[0])
            raise HttpError(503, "the database cannot be reached, so logins cannot be checked; "
                            "monitoring tools can use an API token") from None

    def _person(self, role: str) -> HttpUserConfig:
        """A page session or HTTP Basic (the credentials a browser sends by itself)."""
        request = bottle.request
        remote = request.remote_addr or ""
        session = self.session()
        if session is not None:
            user = self.auth.users.get(session.user_name)
            if user is None:  # the account was removed from the configuration
                raise HttpError(401, "session ended: the account no longer exists", headers=self._challenge())
            if request.method not in SAFE_METHODS:
                sent = request.get_header("X-CSRF-Token", "")
                if not (sent and hmac.compare_digest(sent, session.csrf_token)) and _origin(request) != "same":
                    self._refuse_cross_site(user.name)
            return self._with_role(user, role)  # type: ignore[return-value]
        credentials = request.auth
        if credentials is None:
            raise HttpError(401, "authentication required", headers=self._challenge())
        name, password = credentials
        if request.method not in SAFE_METHODS and _origin(request) == "other":
            self._refuse_cross_site(name)
        user, reason = self.auth.check(name, password or "", remote)
        if user is None:
            raise self.login_refused(name, reason)
        return self._with_role(user, role)  # type: ignore[return-value]

    def session(self) -> Session | None:
        return self.sessions.get(bottle.request.get_cookie(COOKIE) or "")

    def login_refused(self, name: str, reason: str) -> HttpError:
        """Audits a refused login and gives the answer: 429 while locked, else 401."""
        self.audit(name or "-", "login_failed", None, reason, ok=False)
        if reason == "locked":
            return HttpError(429, "account locked after repeated failures; try later", headers=self._challenge())
        if reason == "address locked":
            return HttpError(429, "too many failed logins from this address; try later", headers=self._challenge())
        if reason == "password expired":
            return HttpError(401, "password expired: the system administrator sets a new one "
                             "(ris-ai-module hash-password)", headers=self._challenge())
        return HttpError(401, "bad credentials", headers=self._challenge())

    def _refuse_cross_site(self, name: str) -> None:
        request = bottle.request
        self.audit(name, "forbidden", request.path, f"{request.method} without CSRF token or same-origin Origin",
                   ok=False)
        raise HttpError(403, "a state change from a browser needs this server's page (CSRF token or same-origin "
                        "Origin/Referer)", "Origin")

    @staticmethod
    def _challenge() -> dict[str, str]:
        """Basic challenge for scripts; none for the page's own requests (the browser must not show its
        password dialog: the page shows its login form)."""
        if bottle.request.get_header("X-Requested-With", "") == PAGE_CLIENT:
            return {}
        return {"WWW-Authenticate": 'Basic realm="ris-ai-module"'}

    def _with_role(self, user: HttpUserConfig | HttpTokenConfig, role: str) -> HttpUserConfig | HttpTokenConfig:
        roles = user.roles if isinstance(user, HttpUserConfig) else {user.role}
        if not any(role in GRANTS[r] for r in roles):
            request = bottle.request
            self.audit(user.name, "forbidden", request.path, f"{request.method} needs the {role} role", ok=False)
            raise HttpError(403, f"this action needs the {role} role")
        if isinstance(user, HttpUserConfig):
            left = self.auth.days_left(user)
            if left is not None and left * 86400 <= int(self.ctx.config.http.password_policy.warn_before):
                bottle.response.set_header("X-Password-Expires-In-Days", str(left))
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


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The page sends ``X-Requested-With: rai-page`` on its own requests.
PAGE_CLIENT = "rai-page"


def to_json(value: Any, zone: tzinfo | None = None) -> str:
    """UTF-8 JSON (Chinese as is); dates and times in ISO 8601. With ``zone`` (``module.timezone``), a field
    named ``*_at`` holds a RAI_* timestamp (naive UTC) and is given in that zone with its offset
    (``2026-12-02T18:00:00+08:00``), the one time the page shows; the RIS's own times stay as the RIS keeps them."""
    return json.dumps(_zoned(value, zone) if zone is not None else value, ensure_ascii=False, default=_iso)


def _zoned(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, dict):
        return {k: to_zone(v, zone) if isinstance(v, datetime) and str(k).endswith("_at") else _zoned(v, zone)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_zoned(v, zone) for v in value]
    return value


def _iso(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
    # same-origin: the page's own requests carry Referer and a real Origin (with no-referrer a POST's Origin
    # is "null" and could not be told from a foreign page's); other sites learn nothing.
    headers.set_header("Referrer-Policy", "same-origin")
    headers.set_header("Cache-Control", "no-store")  # answers carry patient data: no copies in caches
    if tls:
        headers.set_header("Strict-Transport-Security", "max-age=31536000")


def make_app(ctx: Running, audit_log: AuditLog | None = None) -> bottle.Bottle:
    """The app; ``audit_log`` is the server's (closed by it), else one of its own."""
    from ris_ai_module.web import (
        routes_admin,
        routes_exams,
        routes_review,
        routes_session,
        routes_soap,
        routes_tasks,
    )

    app = bottle.Bottle(catchall=True)
    app.uninstall(bottle.JSONPlugin)
    zone = display_zone(ctx.config.module.timezone)
    app.install(bottle.JSONPlugin(json_dumps=lambda value: to_json(value, zone)))
    app.install(json_boundary)
    tls = bool(ctx.config.http.tls_certificate)
    app.add_hook("before_request", lambda: _security_headers(tls))
    install_error_pages(app, lambda: _security_headers(tls))
    audit_log = audit_log or AuditLog(ctx.engine, float(ctx.config.audit.flush_interval))
    http = ctx.config.http
    failures = LoginFailures(ctx.engine, http.lockout_failures, http.lockout_address_failures, float(http.lockout_time))
    web = WebContext(ctx, Authenticator(http, failures), audit_log, SessionStore(ctx.engine, float(http.session_idle)))
    page, policy = _page()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "up"}

    @app.get("/")
    def index() -> str:
        """The page itself holds no patient data: without credentials it shows its login form."""
        if bottle.request.auth is not None:
            web.user()
        bottle.response.content_type = "text/html; charset=utf-8"
        bottle.response.set_header("Content-Security-Policy", policy)
        return page

    from ris_ai_module.dicom.storage import StorageArea
    from ris_ai_module.health.current import configured_targets

    collector = ModuleCollector(ctx.engine, str(ctx.config.storage.root), configured_targets(ctx.config),
                                ctx.config.alerts.fail_threshold, StorageArea.from_config(ctx.config.storage))
    spec = resources.files("ris_ai_module.web").joinpath("openapi.json").read_text(encoding="utf-8")

    @app.get("/metrics")
    def metrics() -> bytes:
        """Prometheus text format; a viewer's credentials (Prometheus: an API token as bearer_token)."""
        user = web.user()
        if getattr(user, "campuses", ()) and ctx.config.ris.campus_column:  # the figures are the whole group's
            raise HttpError(403, "/metrics counts every campus; an account limited to campuses cannot read it "
                                 "(give Prometheus a token of every campus)", "campuses")
        body, content_type = render(collector)
        bottle.response.content_type = content_type
        return body

    @app.get("/openapi.json")
    def openapi() -> str:
        """The API's OpenAPI 3 document (no data in it: served without credentials)."""
        bottle.response.content_type = "application/json"
        return spec

    routes_session.install(app, web)
    routes_exams.install(app, web)
    routes_tasks.install(app, web)
    routes_admin.install(app, web)
    routes_review.install(app, web)
    routes_soap.install(app, web)
    return app
