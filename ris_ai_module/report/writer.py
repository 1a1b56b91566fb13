"""The report writer: may this exam's report be written now? If so, run every configured target.

The report row is read (and locked where the database has row locks, so a doctor cannot sign it halfway
through our write) in the caller's transaction. A status outside ``writable_statuses`` (SIGNED) or a
missing row with ``create_if_missing = false`` makes the exam PENDING with the reason, nothing written.
RAI_REPORT_STATE keeps, per exam, the SR last applied or waiting, the state and the keys each target
wrote with the value written (JSON ``{"rows": {"LVEF": "60", ...}, "columns": {...}}``), which is what
lets a newer SR replace exactly the older one's values and leave a doctor's edits alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, column, insert, select, update
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import identifier, lock_rows
from ris_ai_module.db.tables import report_state
from ris_ai_module.report.display import ReportItem
from ris_ai_module.report.findings_kind import DocumentInfo
from ris_ai_module.report.images import ImageSet
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.report.targets import TARGETS, WriteJob, ris_table

APPLIED = "APPLIED"
PENDING = "PENDING"
#: Held for review by the hospital's may_write_report hook (re-applied by hand: ``apply EXAM_KEY``).
HELD = "HELD"
FAILED = "FAILED"
#: Not a stored state: an apply that found nothing to write (no SR, no value of the module in the report).
SKIPPED = "SKIPPED"

DETAIL_CHARS = 1000


@dataclass
class WriteResult:
    state: str
    detail: str = ""
    written: dict[str, dict[str, str]] = field(default_factory=dict)


def report_table(cfg: ReportConfig) -> Any:
    cols = [column(identifier(cfg.exam_id_column), String()), column(identifier(cfg.status_column), String())]
    if cfg.updated_column:
        cols.append(column(identifier(cfg.updated_column), DateTime()))
    return ris_table(cfg.table, *cols)


def report_status(conn: Connection, cfg: ReportConfig, exam_key: str, lock: bool = False) -> tuple[bool, str | None]:
    """(row exists, status) of the exam's report row."""
    t = report_table(cfg)
    stmt = select(t.c[identifier(cfg.status_column)]).where(t.c[identifier(cfg.exam_id_column)] == exam_key)
    if lock:
        stmt = lock_rows(stmt, conn.engine)
    row = conn.execute(stmt).first()
    return (row is not None, None if row is None else row[0])


def blocked_reason(cfg: ReportConfig, exists: bool, status: str | None) -> str | None:
    """Why the report may not be written now, or None when it may."""
    if not exists:
        return None if cfg.create_if_missing else "no report row for the exam yet (report.create_if_missing = false)"
    if status not in cfg.writable_statuses:
        allowed = ", ".join(cfg.writable_statuses)
        return f"report status is {status}; the module writes only {allowed} reports (report.writable_statuses)"
    return None


def write_report(
    conn: Connection, cfg: ReportConfig, exam_key: str, items: Sequence[ReportItem], source_uid: str,
    previous: Mapping[str, Mapping[str, str | None]], exists: bool, status: str | None,
    render_text: Callable[[Mapping[str, ReportItem], str], str] | None = None,
    document: DocumentInfo | None = None,
    provenance: Mapping[str, str] | None = None,
    images: ImageSet | None = None,
) -> WriteResult:
    """Write ``items`` through every configured target, or return PENDING with the reason.

    ``exists``/``status`` come from ``report_status(..., lock=True)``, read before ``previous`` so that
    two applies of one exam run one after the other, each seeing the keys the other wrote.
    """
    reason = blocked_reason(cfg, exists, status)
    if reason:
        return WriteResult(PENDING, reason)
    now_local = datetime.now()  # RIS columns hold the hospital's local time, as the RIS itself writes them
    t = report_table(cfg)
    stamp = {identifier(cfg.updated_column): now_local} if cfg.updated_column else {}
    if not exists:
        conn.execute(insert(t).values({
            identifier(cfg.exam_id_column): exam_key, identifier(cfg.status_column): cfg.new_status, **stamp,
        }))
    job = WriteJob(conn, cfg, exam_key, items, previous, source_uid, now_local, render_text, document,
                   dict(provenance or {}), images)
    result = WriteResult(APPLIED)
    kept: set[str] = set()
    warnings: list[str] = []
    for name in cfg.targets:
        if name == "images" and images is None:
            continue  # a preview: no images given, nothing rendered, the keys of the last apply stay
        out = TARGETS[name](job)
        if name in ("rows", "columns", "text", "images"):  # text: the block as a whole, for the signing comparison
            result.written[name] = dict(sorted(out.written.items()))
        kept |= out.kept
        warnings += out.warnings
    if stamp and exists:
        conn.execute(update(t).where(t.c[identifier(cfg.exam_id_column)] == exam_key).values(stamp))
    n = len(items)
    result.detail = f"{n} measurement{'s' if n != 1 else ''} from {source_uid}"
    if kept:
        result.detail += f"; kept the doctor's values for {', '.join(sorted(kept))}"
    for warning in warnings:
        result.detail += f"; {warning}"
    return result


# ----------------------------------------------------------------------------------- RAI_REPORT_STATE


def get_state(conn: Connection, exam_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
    return dict(row._mapping) if row is not None else None


def previous_keys(state: Mapping[str, Any] | None) -> dict[str, dict[str, str | None]]:
    """Per target, key -> value written, from ``written_keys``; a plain JSON list of keys (no values)
    counts for rows and columns."""
    raw = (state or {}).get("written_keys")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if isinstance(data, list):
        keys: dict[str, str | None] = {str(k): None for k in data}
        return {"rows": keys, "columns": dict(keys)}
    if not isinstance(data, dict):
        return {}
    out: dict[str, dict[str, str | None]] = {}
    for target, written in data.items():
        if isinstance(written, dict):
            out[str(target)] = {str(k): None if v is None else str(v) for k, v in written.items()}
        elif isinstance(written, list):
            out[str(target)] = {str(k): None for k in written}
    return out


def save_state(
    conn: Connection, exam_key: str, sop_instance_uid: str | None, state: str, detail: str,
    written: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Upsert the exam's row; ``written`` None keeps the keys of the last apply (PENDING, FAILED)."""
    values: dict[str, Any] = {
        "sop_instance_uid": sop_instance_uid, "state": state, "detail": detail[:DETAIL_CHARS] or None,
        "updated_at": utcnow(),
    }
    if written is not None:
        values["written_keys"] = json.dumps(dict(written), ensure_ascii=False, sort_keys=True)
    res = conn.execute(update(report_state).where(report_state.c.exam_key == exam_key).values(values))
    if res.rowcount == 0:
        conn.execute(insert(report_state).values(exam_key=exam_key, **values))
