"""Purging old RAI_ASSOC_REJECT rows (refused associations) by age, without pydicom: the housekeeping thread
calls it (see dicom/stgcmt_purge.py for why that thread does not import pydicom)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import assoc_reject


def purge(conn: Connection, before: datetime, batch: int = 1000) -> int:
    """Delete rejections recorded before ``before`` (``audit.reject_retention`` ago), in batches of ids so a
    flood of millions of rows does not become one huge statement."""
    removed = 0
    while True:
        ids = [r[0] for r in conn.execute(select(assoc_reject.c.reject_id)
                                          .where(assoc_reject.c.rejected_at < before).limit(batch))]
        if not ids:
            return removed
        removed += int(conn.execute(delete(assoc_reject).where(assoc_reject.c.reject_id.in_(ids))).rowcount or 0)
        if len(ids) < batch:
            return removed
