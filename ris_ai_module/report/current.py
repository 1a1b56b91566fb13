"""The exam's current result as the report side knows it: the values now reported, whether the report is a
draft, a corrected set or signed, and a version (fingerprint) of all that — what outbound deliveries send.

Only a report whose last apply wrote it (RAI_REPORT_STATE ``APPLIED``) has a result that may be sent: HELD
(the hospital's hook), PENDING (not writable) and FAILED do not, and an SR held for review is never linked to
the exam, so none of its values is among these rows (the first rule). The read model built on this, with the
exam's identity and the findings text, is ``ris_ai_module/results/resultset.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import desc, or_, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import acceptance, dicom_object, measurement, report_state
from ris_ai_module.deliveries import deliveries_of
from ris_ai_module.report.writer import APPLIED, previous_keys
from ris_ai_module.services import Services

DRAFT, CORRECTED, SIGNED = "draft", "corrected", "signed"
NEEDS_REVIEW = "NEEDS_REVIEW"


def current_rows(conn: Connection, exam_key: str) -> list[Any]:
    """RAI_MEASUREMENT rows of the exam's reported values: one per report key, the current SR's, in document
    order; never a row of an object waiting for review."""
    m, o = measurement, dicom_object
    stmt = (select(m).select_from(m.join(o, o.c.sop_instance_uid == m.c.sop_instance_uid))
            .where(m.c.exam_key == exam_key, m.c.report_key.is_not(None), m.c.superseded_by.is_(None),
                   o.c.exam_key == exam_key, or_(o.c.review_state.is_(None), o.c.review_state != NEEDS_REVIEW))
            .order_by(o.c.received_at, m.c.measurement_id))
    return list(conn.execute(stmt))


def state_row(conn: Connection, exam_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
    return dict(row._mapping) if row is not None else None


def is_signed(state: dict[str, Any] | None) -> bool:
    """Signed: the signing was seen (acceptance compared it) and nothing was applied after it."""
    if not state or state.get("state") != APPLIED or state.get("signed_checked_at") is None:
        return False
    return _dt(state["signed_checked_at"]) >= _dt(state["updated_at"])


def report_status(conn: Connection, exam_key: str, state: dict[str, Any] | None) -> str:
    """``signed``; ``corrected`` when a newer SR replaced values of the exam; else ``draft``."""
    if is_signed(state):
        return SIGNED
    m = measurement
    replaced = conn.execute(select(m.c.measurement_id).where(
        m.c.exam_key == exam_key, m.c.superseded_by.is_not(None)).limit(1)).first()
    return CORRECTED if replaced is not None else DRAFT


def signed_edits(conn: Connection, exam_key: str) -> dict[str, tuple[str, str | None]]:
    """Report key -> (ACCEPTED/EDITED/REMOVED, value in the signed report) from the last comparison at signing
    (rows and columns targets only: a text block or a procedure has no per-key value)."""
    a = acceptance
    rows = conn.execute(select(a.c.item_key, a.c.outcome, a.c.signed_value, a.c.compared_at)
                        .where(a.c.exam_key == exam_key, a.c.target.in_(["rows", "columns"]))
                        .order_by(desc(a.c.compared_at), desc(a.c.acceptance_id))).all()
    out: dict[str, tuple[str, str | None]] = {}
    last = rows[0].compared_at if rows else None
    for r in rows:
        if r.compared_at == last:
            out.setdefault(r.item_key, (r.outcome, r.signed_value))
    return out


def deliverable(state: dict[str, Any] | None) -> str | None:
    """Why the exam's result may not be sent now, or None when it may."""
    if state is None:
        return "no report state: no SR applied to this exam"
    if state.get("state") != APPLIED:
        return f"report state {state.get('state')}: {state.get('detail') or ''}".strip()
    return None


def result_version(conn: Connection, exam_key: str, state: dict[str, Any] | None = None) -> str | None:
    """A fingerprint of what a delivery would send now (values, their sources, the report status, the values
    as signed); None when nothing may be sent. Equal versions send the same result."""
    state = state if state is not None else state_row(conn, exam_key)
    if deliverable(state) is not None:
        return None
    status = report_status(conn, exam_key, state)
    values = [[r.report_key, r.num_value, r.unit, r.value_code, r.value_zh, r.value_text, r.sop_instance_uid]
              for r in current_rows(conn, exam_key)]
    edits = sorted(signed_edits(conn, exam_key).items()) if status == SIGNED else []
    text = findings_written(state)
    blob = json.dumps([status, values, edits, text], ensure_ascii=False, default=str, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def findings_written(state: dict[str, Any] | None) -> str | None:
    """The findings paragraph the text target wrote at the last apply (None: no text target)."""
    return previous_keys(state).get("text", {}).get("*")


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def queue_deliveries(services: Services, conn: Connection, exam_key: str, event: str) -> list[int]:
    """In the transaction that recorded the new state: one task per delivery kind switched on, for this
    version of the result (none when it may not be sent, none twice for one version)."""
    registry = deliveries_of(services)
    if not registry.kinds(services.config, event):
        return []
    version = result_version(conn, exam_key)
    if version is None:
        return []
    return registry.enqueue(conn, services.config, exam_key, event, version)
