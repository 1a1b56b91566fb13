"""Purging finished Storage Commitment records (RAI_STGCMT), without pydicom: the health scheduler calls it
on its own thread, where importing pydicom beside the checks' threads raced (a partially initialised module)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import stgcmt

#: States after which a transaction is only a record (its task no longer reads it); see dicom/stgcmt.py.
FINAL_STATES = ("REPORTED", "COMMITTED", "FAILED", "CLOSED", "EXPIRED")


def purge(conn: Connection, before: datetime, batch: int = 500) -> int:
    """Delete finished transactions last changed before ``before`` (kept as long as the audit trail:
    ``audit.retention``); the per-object answer stays on RAI_OBJECT."""
    old = (stgcmt.c.state.in_(FINAL_STATES)) & (stgcmt.c.updated_at < before)
    uids = [r[0] for r in conn.execute(select(stgcmt.c.transaction_uid).where(old))]
    removed = 0
    for start in range(0, len(uids), batch):
        removed += int(conn.execute(delete(stgcmt).where(stgcmt.c.transaction_uid.in_(uids[start:start + batch]), old))
                       .rowcount or 0)
    return removed
