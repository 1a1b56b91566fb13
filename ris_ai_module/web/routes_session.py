"""The page's log-in: ``POST /login``, ``POST /logout``, ``GET /api/me`` (who am I, my CSRF token)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bottle

from ris_ai_module.web import params
from ris_ai_module.web.errors import HttpError
from ris_ai_module.web.sessions import COOKIE

if TYPE_CHECKING:
    from ris_ai_module.web.app import WebContext


def install(app: bottle.Bottle, web: WebContext) -> None:
    from ris_ai_module.web.checks import address_allowed as _allowed
    from ris_ai_module.web.checks import origin_of as _origin

    @app.post("/login")
    def login() -> Any:
        """Name and password (JSON or a form) -> a session cookie; the same lockout as HTTP Basic."""
        request = bottle.request
        remote = request.remote_addr or ""
        if not _allowed(remote, web.ctx.config.http.ip_allow):
            raise HttpError(403, f"address {remote} is not in http.ip_allow")
        body = request.json if (request.content_type or "").startswith("application/json") else request.forms
        if body is None:
            raise HttpError(400, "expected name and password", "name")
        name = params.text(_field(body, "name"), "name", 100)
        if _origin(request) == "other":  # login CSRF: a foreign page logging the browser in as someone else
            web.audit(name or "-", "login_failed", None, "cross-site login (Origin/Referer of another site)", ok=False)
            raise HttpError(403, "log in from this server's page", "Origin")
        password = _field(body, "password") or ""
        if not name:
            raise HttpError(400, "name is required", "name")
        user, reason = web.auth.check(name, password, remote)
        if user is None:
            raise web.login_refused(name, reason)
        token, session = web.sessions.create(user.name, user.role, remote)
        tls = bool(web.ctx.config.http.tls_certificate)
        bottle.response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict", secure=tls)
        web.audit(user.name, "login", None, "page session")
        return {"user": user.name, "role": user.role, "csrf_token": session.csrf_token,
                "idle_timeout_s": int(web.ctx.config.http.session_idle)}

    @app.post("/logout")
    def logout() -> dict[str, Any]:
        session = web.session()
        if session is not None:
            web.user()  # the same CSRF rule as any state change
            web.sessions.end(bottle.request.get_cookie(COOKIE) or "")
            web.audit(session.user_name, "logout", None, None)
        bottle.response.delete_cookie(COOKIE, path="/")
        return {"logged_out": session is not None}

    @app.get("/api/me")
    def me() -> dict[str, Any]:
        user = web.user()
        session = web.session()
        return {"user": user.name, "role": user.role, "csrf_token": session.csrf_token if session else None,
                "session": session is not None}


def _field(body: Any, name: str) -> str | None:
    value = body.get(name) if hasattr(body, "get") else None
    if isinstance(body, bottle.FormsDict):
        value = body.getunicode(name)
    return value if isinstance(value, str) else None
