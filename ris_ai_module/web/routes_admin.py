"""The three administrators' routes (三员分立): the audit administrator reads and exports the audit log
(``/audit`` page, ``/api/audit``, ``/api/audit/export.csv``), the security administrator sees the policy
and lifts account locks (``/api/security``), the system administrator sees the accounts
(``/api/accounts``). Each of these reads and actions is itself audited."""

from __future__ import annotations

import html
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import bottle

from ris_ai_module.db.clock import display_zone, shown, utcnow
from ris_ai_module.db.engine import read_only
from ris_ai_module.web import params
from ris_ai_module.web.audit_export import export_csv, read_rows
from ris_ai_module.web.campus_scope import campus_actors
from ris_ai_module.web.errors import HttpError
from ris_ai_module.web.lockout import account_key

if TYPE_CHECKING:
    from ris_ai_module.web.app import WebContext

PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")


def install(app: bottle.Bottle, web: WebContext) -> None:
    def period() -> tuple[Any, Any, str, str]:
        q = params.Query(bottle.request.query)
        since = params.day(q.get("from"), "from")
        until = params.day(q.get("to"), "to", end=True)
        return since, until, q.get("from") or "", q.get("to") or ""

    @app.get("/api/audit")
    def audit_rows() -> dict[str, Any]:
        user = web.user("auditadmin")
        since, until, *_ = period()
        q = params.Query(bottle.request.query)
        limit = params.integer(q.get("limit"), "limit", 500, 1, 10_000)
        with read_only(web.ctx.engine) as conn:
            rows = read_rows(conn, since, until, limit, params.text(q.get("actor"), "actor", 100),
                             params.text(q.get("action"), "action", 40), actors=campus_actors(web.ctx.config, user))
        web.audit(user.name, "audit_read", f"{q.get('from') or '-'}..{q.get('to') or '-'}", f"rows={len(rows)}")
        return {"rows": rows, "retention_days": int(web.ctx.config.audit.retention) // 86400}

    @app.get("/api/audit/export.csv")
    def audit_export() -> str:
        user = web.user("auditadmin")
        since, until, since_text, until_text = period()
        with read_only(web.ctx.engine) as conn:
            rows = read_rows(conn, since, until, actors=campus_actors(web.ctx.config, user))
        exported_at = utcnow().replace(tzinfo=None).isoformat(timespec="seconds")
        text, head, count = export_csv(rows, since_text, until_text, exported_at)
        scope = "" if not getattr(user, "campuses", ()) else f" campuses={','.join(user.campuses)}"
        web.audit(user.name, "audit_export", f"{since_text or '-'}..{until_text or '-'}",
                  f"rows={count} head={head}{scope}")
        bottle.response.content_type = "text/csv; charset=utf-8"
        bottle.response.set_header("Content-Disposition", f'attachment; filename="rai-audit-{exported_at[:10]}.csv"')
        bottle.response.set_header("X-Audit-Chain-Head", head)
        return "\ufeff" + text  # BOM: Excel on a Chinese Windows opens UTF-8 correctly

    @app.get("/audit")
    def audit_page() -> str:
        user = web.user("auditadmin")
        since, until, since_text, until_text = period()
        with read_only(web.ctx.engine) as conn:
            rows = read_rows(conn, since, until, 500, actors=campus_actors(web.ctx.config, user))
        web.audit(user.name, "audit_read", f"{since_text or '-'}..{until_text or '-'}", f"page rows={len(rows)}")
        bottle.response.content_type = "text/html; charset=utf-8"
        bottle.response.set_header("Content-Security-Policy", PAGE_POLICY)
        return _page(rows, since_text, until_text, int(web.ctx.config.audit.retention) // 86400,
                     display_zone(web.ctx.config.module.timezone))

    @app.get("/api/security")
    def security() -> dict[str, Any]:
        user = web.user("secadmin")
        cfg = web.ctx.config.http
        policy = cfg.password_policy
        web.audit(user.name, "security_read", None, None)
        failures = web.auth.failures
        return {"locked": failures.locked_now() if failures is not None else {},
                "lockout_failures": cfg.lockout_failures,
                "lockout_time_s": int(cfg.lockout_time),
                "password_policy": {"min_length": policy.min_length, "min_classes": policy.min_classes,
                                    "history": policy.history, "max_age_days": int(policy.max_age) // 86400,
                                    "warn_before_days": int(policy.warn_before) // 86400},
                "separation_of_duties": cfg.separation_of_duties}

    @app.post("/api/security/unlock/<name>")
    def unlock(name: str) -> dict[str, Any]:
        """Lift the lock of an account (``NAME``) or of a client address (``address:IP``)."""
        user = web.user("secadmin")
        key = name if name.startswith("address:") else account_key(name)
        with web.audited(user.name, "account_unlock", name) as entry:
            if web.auth.failures is None or not web.auth.failures.unlock(key):
                raise HttpError(404, f"{name!r} is not locked", field="name")
            entry.detail = "unlocked"
        return {"unlocked": name}

    @app.get("/api/accounts")
    def accounts() -> dict[str, Any]:
        user = web.user("sysadmin")
        cfg = web.ctx.config.http
        web.audit(user.name, "accounts_read", None, None)
        return {"users": [{"name": u.name, "roles": sorted(u.roles), "totp": bool(u.totp_secret),
                           "password_set": u.password_set or None, "password_days_left": web.auth.days_left(u)}
                          for u in cfg.users],
                "tokens": [{"name": t.name, "role": t.role} for t in cfg.tokens]}


def _page(rows: list[dict[str, Any]], since: str, until: str, retention_days: int, zone: tzinfo | None = None) -> str:
    e = html.escape

    def text(c: str, value: Any) -> str:  # the audit time (naive UTC) in module.timezone, labelled
        return shown(value, zone or display_zone()) if c == "audit_at" and value else "" if value is None else str(value)

    body = "".join(
        "<tr>" + "".join(f"<td>{e(text(c, r[c]))}</td>"
                         for c in ("audit_id", "audit_at", "actor", "source", "action", "target", "detail"))
        + f"<td>{'成功' if r['ok'] else '失败'}</td></tr>" for r in reversed(rows))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>审计日志 Audit log</title>
<style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:2px 6px}}th{{background:#eee}}</style></head><body>
<h1>审计日志 <small>Audit log</small></h1>
<p>保留 {retention_days} 天（Retention {retention_days} days）。显示最近 {len(rows)} 条。</p>
<form method="get" action="/audit">自 From <input type="date" name="from" value="{e(since)}">
至 To <input type="date" name="to" value="{e(until)}"> <button type="submit">查询 Show</button>
<button type="submit" formaction="/api/audit/export.csv">导出 CSV（哈希链签名） Export</button></form>
<table><tr><th>ID</th><th>时间 Time (UTC)</th><th>用户 Actor</th><th>来源 Source</th><th>操作 Action</th>
<th>对象 Target</th><th>详情 Detail</th><th>结果 Result</th></tr>{body}</table></body></html>"""
