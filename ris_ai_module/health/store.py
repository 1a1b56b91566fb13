"""RAI_CHECK: every check result, kept ``health.retention`` (180 days by default; 网络安全法 asks for six months)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import check
from ris_ai_module.health.checks import CheckResult

TEXT_CHARS = 1000


def record(conn: Connection, results: Iterable[CheckResult], instance: str, at: datetime | None = None) -> int:
    """Insert the results (one timestamp for one round of checks); returns how many."""
    when = at or utcnow()
    rows = [
        {
            "checked_at": when,
            "target": r.target[:100],
            "kind": r.kind,
            "ok": 1 if r.ok else 0,
            "latency_ms": None if r.latency_ms is None else int(round(r.latency_ms)),
            "error": None if r.error is None else r.error[:TEXT_CHARS],
            "detail": None if r.detail is None else r.detail[:TEXT_CHARS],
            "instance": instance[:100],
        }
        for r in results
    ]
    if rows:
        conn.execute(insert(check), rows)
    return len(rows)


def recent(conn: Connection, target: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest results first, optionally of one target."""
    stmt = select(check).order_by(check.c.checked_at.desc(), check.c.check_id.desc()).limit(limit)
    if target:
        stmt = stmt.where(check.c.target == target)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def between(conn: Connection, since: datetime, until: datetime, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Results with since <= checked_at < until (UTC), oldest first: the raw material of the daily report."""
    stmt = select(check).where(check.c.checked_at >= since, check.c.checked_at < until)
    if kinds is not None:
        stmt = stmt.where(check.c.kind.in_(list(kinds)))
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(check.c.checked_at, check.c.check_id))]


def purge(conn: Connection, before: datetime) -> int:
    """Delete results older than ``before``; returns how many."""
    return int(conn.execute(delete(check).where(check.c.checked_at < before)).rowcount or 0)
