"""Reading RAI_REPORT_STATE for people: the CLI's ``reports`` and the status page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import report_state


def list_states(
    conn: Connection, state: str | None = None, exam_key: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; ``state`` PENDING lists the reports the module could not write yet, with the reason."""
    stmt = select(report_state).order_by(desc(report_state.c.updated_at)).limit(limit)
    if state:
        stmt = stmt.where(report_state.c.state == state)
    if exam_key:
        stmt = stmt.where(report_state.c.exam_key == exam_key)
    return [dict(r._mapping) for r in conn.execute(stmt)]
