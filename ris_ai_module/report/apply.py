"""SR_APPLY: one stored SR -> every measurement in RAI_MEASUREMENT -> the exam's RIS report.

The SR is parsed outside any transaction (it is the slow part); then one transaction replaces the SR's
RAI_MEASUREMENT rows, writes the report through the targets and records RAI_REPORT_STATE, so a reader
never sees measurements without the report state that goes with them. An object not linked to an exam
is only indexed: ``link`` enqueues SR_APPLY again once it is linked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, measurement
from ris_ai_module.errors import ConfigError, InvalidInput, NotFound
from ris_ai_module.report import writer
from ris_ai_module.report.display import ReportItem, report_items
from ris_ai_module.report.findings_kind import DocumentInfo
from ris_ai_module.report.item_context import finding_columns
from ris_ai_module.services import Services, hooks_of
from ris_ai_module.sr.model import Measurement
from ris_ai_module.sr.parse import parse_sr_file
from ris_ai_module.tasks.model import Outcome, Task

log = logging.getLogger(__name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


def apply_task(task: Task, ctx: Services) -> Outcome:
    """DONE when applied, pending or unlinked; FAILED when the SR cannot be read."""
    sop_uid = str(task.payload.get("sop_instance_uid") or "")
    if not sop_uid:
        return Outcome.failed("payload has no sop_instance_uid")
    try:
        state, detail = apply_sr(ctx, sop_uid)
    except (NotFound, InvalidInput, ConfigError) as exc:
        return Outcome.failed(str(exc))
    log.info("SR %s: %s (%s)", sop_uid, state, detail, extra={"action": "sr_applied", "task_id": task.task_id})
    return Outcome.done()


def storage_root(ctx: Services) -> Path:
    return Path(ctx.config.storage.root)


def apply_sr(ctx: Services, sop_uid: str) -> tuple[str, str]:
    """Apply one stored SR; returns (state, detail). Raises NotFound / InvalidInput for a bad object.

    The hospital's ``after_apply`` hook hears of every result after its commit (see hooks.py).
    """
    state, detail = _apply_sr(ctx, sop_uid)
    hooks = hooks_of(ctx)
    if hooks.has("after_apply") and state != "UNLINKED":
        with ctx.engine.connect() as conn:
            exam_key = conn.execute(select(dicom_object.c.exam_key)
                                    .where(dicom_object.c.sop_instance_uid == sop_uid)).scalar()
        hooks.after_apply(exam_key or "", sop_uid, state, detail)
    return state, detail


def hook_items(items: Sequence[ReportItem]) -> dict[str, dict[str, Any]]:
    """Measurements as a hook sees them: key -> value, unit, names, display text (plain data, a copy)."""
    return {i.key: {"value": i.value, "unit": i.unit, "name_zh": i.name_zh, "name_en": i.name_en,
                    "display": i.display, "source_uid": i.source_uid} for i in items}


def _apply_sr(ctx: Services, sop_uid: str) -> tuple[str, str]:
    with ctx.engine.connect() as conn:
        obj = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop_uid)).first()
    if obj is None:
        raise NotFound(f"object {sop_uid} is not in RAI_OBJECT")
    path = storage_root(ctx) / obj.file_path
    if not path.is_file():
        raise InvalidInput("file_path", f"the file of {sop_uid} is missing: {path}")
    parsed = parse_sr_file(path, overlay_file=ctx.config.sr.catalog_overlay or None)
    unreadable = parsed.unreadable_reason()
    if unreadable is not None:  # never "APPLIED, 0 measurements": the task fails with the reason (issue 8)
        raise InvalidInput("sr", unreadable)
    exam_key = obj.exam_key
    cfg = ctx.config.report
    items = report_items(cfg, parsed.measurements, sop_uid)
    try:
        with ctx.engine.begin() as conn:
            store_measurements(conn, sop_uid, exam_key, parsed.measurements)
            if exam_key is None:
                return "UNLINKED", f"{len(parsed.measurements)} measurements stored; waiting for `link`"
            exists, status = writer.report_status(conn, cfg, exam_key, lock=True)
            state = writer.get_state(conn, exam_key)
            newer = _newer_sr(conn, state, obj.received_at, sop_uid)
            if newer:
                return "SUPERSEDED", f"a newer SR ({newer}) is already applied to exam {exam_key}"
            hooks = hooks_of(ctx)
            held = hooks.may_write_report(exam_key, hook_items(items))  # None: may be written
            if held is not None and writer.blocked_reason(cfg, exists, status) is None:
                writer.save_state(conn, exam_key, sop_uid, writer.HELD, held)
                return writer.HELD, held
            render = ((lambda by_key, text: hooks.render_findings(hook_items(list(by_key.values())), text))
                      if hooks.has("render_findings") else None)
            result = writer.write_report(
                conn, cfg, exam_key, items, sop_uid, writer.previous_keys(state), exists, status, render,
                document=DocumentInfo.of(parsed),
            )
            written = result.written if result.state == writer.APPLIED else None
            writer.save_state(conn, exam_key, sop_uid, result.state, result.detail, written)
            return result.state, result.detail
    except (DBAPIError, ConfigError) as exc:
        if isinstance(exc, IntegrityError) or isinstance(exc, OperationalError) and not _is_config_problem(exc):
            raise  # the worker retries: a database outage, a deadlock, two applies creating one report row
        if exam_key is not None:
            _record_failure(ctx, exam_key, sop_uid, exc)
        raise InvalidInput("report", _short(exc)) from exc


def store_measurements(conn: Connection, sop_uid: str, exam_key: str | None, found: Sequence[Measurement]) -> None:
    """Replace this SR's rows: all measurements, mapped or not, with context, so nothing is dropped."""
    conn.execute(delete(measurement).where(measurement.c.sop_instance_uid == sop_uid))
    now = utcnow()
    rows = [
        {
            "sop_instance_uid": sop_uid, "exam_key": exam_key, "item_key": m.key,
            "name_zh": _cut(m.name_zh, 100), "name_en": _cut(m.name_en, 200), "num_value": m.value,
            "unit": _cut(m.unit, 32), "raw_value": _cut(m.raw_value, 64), "raw_unit": _cut(m.raw_unit, 32),
            "concept_scheme": _cut(m.concept.scheme, 16), "concept_code": _cut(m.concept.code, 32),
            "concept_meaning": _cut(m.concept.meaning, 200),
            "context": json.dumps(_context_json(m), ensure_ascii=False, default=str),
            "selected": 1 if m.selected else 0, "item_path": _cut(m.path, 100), "created_at": now,
            **finding_columns(m),
        }
        for m in found
    ]
    if rows:
        conn.execute(insert(measurement), rows)


def _context_json(m: Measurement) -> dict[str, Any]:
    """What RAI_MEASUREMENT.CONTEXT keeps: context and modifiers, and (issue 8) why a value is held and
    which measurement a derived value belongs to, so the trace shows why a value was not reported."""
    out: dict[str, Any] = {"context": m.context, "modifiers": m.modifiers}
    if m.hold:
        out["hold"] = m.hold
    if m.derived_from is not None:
        out["derived_from"] = m.derived_from
    return out


def newest_sr(conn: Connection, exam_key: str) -> str | None:
    """The most recently received SR of an exam (what ``apply EXAM_KEY`` re-applies)."""
    o = dicom_object
    stmt = (
        select(o.c.sop_instance_uid)
        .where(o.c.exam_key == exam_key, o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%"))
        .order_by(desc(o.c.received_at), desc(o.c.sop_instance_uid))
        .limit(1)
    )
    return conn.execute(stmt).scalar()


def _newer_sr(conn: Connection, state: dict[str, Any] | None, received_at: datetime, sop_uid: str) -> str | None:
    """The SR applied last, if it was received after this one (a late retry must not undo it)."""
    if not state or state["state"] != writer.APPLIED or not state["sop_instance_uid"]:
        return None
    other = state["sop_instance_uid"]
    if other == sop_uid:
        return None
    at = conn.execute(select(dicom_object.c.received_at).where(dicom_object.c.sop_instance_uid == other)).scalar()
    if at is None:
        return None
    return other if _as_dt(at) > _as_dt(received_at) else None


def _as_dt(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _record_failure(ctx: Services, exam_key: str, sop_uid: str, exc: Exception) -> None:
    try:
        with ctx.engine.begin() as conn:
            writer.save_state(conn, exam_key, sop_uid, writer.FAILED, _short(exc))
    except DBAPIError:
        log.warning("could not record the failed apply of %s", sop_uid)


#: MySQL/MariaDB errors raised as OperationalError that mean a wrong name in [report], not an outage:
#: unknown column, unknown table, unknown procedure, wrong argument count, syntax.
_MYSQL_CONFIG_ERRORS = frozenset({1054, 1146, 1305, 1318, 1064})


def _is_config_problem(exc: OperationalError) -> bool:
    """SQLite and MySQL report a missing table or column as OperationalError: a config error, not an outage."""
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_CONFIG_ERRORS:
        return True
    text = str(exc.orig)
    return "no such table" in text or "no such column" in text or "has no column" in text


def _short(exc: Exception) -> str:
    if isinstance(exc, DBAPIError):
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip().splitlines()[0][:400]}"
    return str(exc)[:400]


def _cut(value: str | None, n: int) -> str | None:
    return None if value is None else value[:n]
