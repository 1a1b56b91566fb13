"""What the doctor did with the AI's values: once a report the module wrote is signed, every value written is
compared with what the signed report holds — accepted unchanged, edited (old -> new) or removed — and kept
in RAI_ACCEPTANCE. Per target: ``rows`` and ``columns`` value by value; ``text`` the marked block as a whole;
``procedure`` cannot be read back and says so. The daily report and the status page show the acceptance
rate per key and per AI model version, the largest edits, and exams whose AI result never arrived.

Signing is the doctor's acceptance: a report counts as signed when its row exists and its status is no longer
one the module may write (``[report].writable_statuses``).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, column, func, insert, select, update
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import identifier
from ris_ai_module.db.tables import acceptance, dicom_object, measurement, report_state, task
from ris_ai_module.report import sr_sources
from ris_ai_module.report.current import queue_deliveries
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.report.targets import ris_table, same_value, text_column
from ris_ai_module.report.writer import APPLIED, blocked_reason, previous_keys, report_status
from ris_ai_module.services import Services
from ris_ai_module.tasks.deliveries import SIGNED as SIGNED_EVENT

log = logging.getLogger(__name__)

ACCEPTED, EDITED, REMOVED, UNREADABLE = "ACCEPTED", "EDITED", "REMOVED", "UNREADABLE"
BLOCK = "*"


def compare_signed(ctx: Services, limit: int = 200) -> int:
    """One pass: compare every newly signed report the module wrote; returns how many were compared."""
    cfg = ctx.config.report
    s = report_state
    with ctx.engine.connect() as conn:
        candidates = conn.execute(select(s.c.exam_key).where(s.c.state == APPLIED, s.c.signed_checked_at.is_(None))
                                  .order_by(s.c.updated_at).limit(limit)).scalars().all()
    done = 0
    for exam_key in candidates:
        with ctx.engine.begin() as conn:
            exists, status = report_status(conn, cfg, exam_key)
            if not exists or blocked_reason(cfg, exists, status) is None:
                continue  # still a draft: the doctor has not signed yet
            state = conn.execute(select(s).where(s.c.exam_key == exam_key)).first()
            if state is None or state.state != APPLIED or state.signed_checked_at is not None:
                continue
            rows = compare_exam(conn, cfg, exam_key, dict(state._mapping))
            now = utcnow()
            for r in rows:
                r["compared_at"] = now
            if rows:
                conn.execute(insert(acceptance), rows)
            conn.execute(update(s).where(s.c.exam_key == exam_key).values(signed_checked_at=now))
            queue_deliveries(ctx, conn, exam_key, SIGNED_EVENT)  # the result as signed: a new version
            done += 1
    if done:
        log.info("%d signed report(s) compared with the AI values", done, extra={"action": "acceptance_compared"})
    return done


def compare_exam(conn: Connection, cfg: ReportConfig, exam_key: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The RAI_ACCEPTANCE rows of one signed report (not yet inserted)."""
    written = previous_keys(state)
    sources = _sources(conn, exam_key)
    out: list[dict[str, Any]] = []

    all_models = "、".join(dict.fromkeys(label for _sop, label in sources.values() if label))  # a block: all SRs

    def add(target: str, key: str, outcome: str, old: str | None, new: str | None) -> None:
        sop, model = sources.get(key, (None, all_models if key == BLOCK else None))
        out.append({"exam_key": exam_key, "target": target, "item_key": key[:64], "outcome": outcome,
                    "written_value": _cut(old), "signed_value": _cut(new), "sop_instance_uid": sop,
                    "model": _cut(model, 200)})

    if "rows" in cfg.targets and written.get("rows"):
        current = _rows_now(conn, cfg, exam_key)
        for key, value in sorted(written["rows"].items()):
            if key not in current:
                add("rows", key, REMOVED, value, None)
            else:
                add("rows", key, ACCEPTED if same_value(current[key], value) else EDITED, value, _text(current[key]))
    if "columns" in cfg.targets and written.get("columns"):
        current = _columns_now(conn, cfg, exam_key)
        for key, value in sorted(written["columns"].items()):
            now_value = current.get(key)
            if now_value is None or str(now_value).strip() == "":
                add("columns", key, REMOVED, value, None)
            else:
                add("columns", key, ACCEPTED if same_value(now_value, value) else EDITED, value, _text(now_value))
    if "text" in cfg.targets and (written.get("text") or {}).get(BLOCK):
        block = (written.get("text") or {})[BLOCK] or ""
        now_block, whole = _block_now(conn, cfg, exam_key)
        if now_block is None:
            outcome = ACCEPTED if block and block in (whole or "") else REMOVED
        else:
            outcome = ACCEPTED if now_block.strip() == block.strip() else EDITED
        add("text", BLOCK, outcome, block, now_block)
    if "procedure" in cfg.targets:
        add("procedure", BLOCK, UNREADABLE, None, "a stored procedure cannot be read back")
    return out


def _sources(conn: Connection, exam_key: str) -> dict[str, tuple[str, str]]:
    """Report key -> (SR it came from, model label) for the exam's current values."""
    m = measurement
    rows = conn.execute(select(m.c.report_key, m.c.sop_instance_uid).where(
        m.c.exam_key == exam_key, m.c.report_key.is_not(None), m.c.superseded_by.is_(None)))
    pairs = {k: sop for k, sop in rows}
    labels = sr_sources.labels_for(conn, pairs.values())
    return {k: (sop, labels.get(sop, "")) for k, sop in pairs.items()}


def _rows_now(conn: Connection, cfg: ReportConfig, exam_key: str) -> dict[str, Any]:
    c = cfg.rows
    t = ris_table(c.table, text_column(c.exam_id_column), text_column(c.key_column), text_column(c.value_column))
    found = conn.execute(select(t.c[identifier(c.key_column)], t.c[identifier(c.value_column)])
                         .where(t.c[identifier(c.exam_id_column)] == exam_key))
    return {str(k): v for k, v in found}


def _columns_now(conn: Connection, cfg: ReportConfig, exam_key: str) -> dict[str, Any]:
    c = cfg.columns
    table_name = c.table or cfg.table
    exam_name = c.exam_id_column or cfg.exam_id_column
    cols = {k: identifier(v) for k, v in c.columns.items()}
    t = ris_table(table_name, column(identifier(exam_name), String()), *(column(v) for v in set(cols.values())))
    row = conn.execute(select(*(t.c[v] for v in set(cols.values()))).where(t.c[identifier(exam_name)] == exam_key)).first()
    values = dict(row._mapping) if row is not None else {}
    return {k: values.get(v) for k, v in cols.items()}


def _block_now(conn: Connection, cfg: ReportConfig, exam_key: str) -> tuple[str | None, str | None]:
    """(the text between the module's markers in the signed report, or None when the block is gone; the column)."""
    col = identifier(cfg.text.column)
    t = ris_table(cfg.table, column(identifier(cfg.exam_id_column), String()), column(col))
    whole = conn.execute(select(t.c[col]).where(t.c[identifier(cfg.exam_id_column)] == exam_key)).scalar()
    text = "" if whole is None else str(whole)
    begin, end = cfg.text.begin_marker, cfg.text.end_marker
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        return None, text
    return text[start + len(begin):stop].strip("\n"), text


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _cut(value: str | None, n: int = 1000) -> str | None:
    return None if value is None else value[:n]


# ------------------------------------------------------------------------------------------ statistics
def statistics(conn: Connection, since: datetime, until: datetime, result_within: float,
               now: datetime | None = None, only_exams: Any = None) -> dict[str, Any]:
    """Acceptance per key and per model, the largest edits, and pushes whose AI result never arrived.
    ``only_exams`` (a SELECT of exam keys: an account's campuses) keeps to those exams."""
    a = acceptance
    mine = [] if only_exams is None else [a.c.exam_key.in_(only_exams)]
    rows = [dict(r._mapping) for r in conn.execute(
        select(a).where(a.c.compared_at >= since, a.c.compared_at < until, a.c.outcome != UNREADABLE, *mine))]
    per_key: dict[str, dict[str, int]] = defaultdict(lambda: {ACCEPTED: 0, EDITED: 0, REMOVED: 0})
    per_model: dict[str, dict[str, int]] = defaultdict(lambda: {ACCEPTED: 0, EDITED: 0, REMOVED: 0})
    for r in rows:
        key = r["item_key"] if r["target"] != "text" else "（所见段落 findings block）"
        per_key[key][r["outcome"]] += 1
        per_model[r["model"] or "-"][r["outcome"]] += 1
    edits = [r for r in rows if r["outcome"] == EDITED and r["target"] in ("rows", "columns")]
    edits.sort(key=lambda r: -_delta(r["written_value"], r["signed_value"]))
    return {
        "compared_reports": len({r["exam_key"] for r in rows}),
        "per_key": [_rate(k, v) for k, v in sorted(per_key.items())],
        "per_model": [_rate(k, v) for k, v in sorted(per_model.items())],
        "largest_edits": [{"exam_key": r["exam_key"], "key": r["item_key"], "from": r["written_value"],
                           "to": r["signed_value"], "model": r["model"]} for r in edits[:10]],
        "missing_results": missing_results(conn, result_within, now=now, since=since, only_exams=only_exams),
    }


def _rate(name: str, counts: dict[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    return {"name": name, "accepted": counts[ACCEPTED], "edited": counts[EDITED], "removed": counts[REMOVED],
            "total": total, "accepted_pct": round(100.0 * counts[ACCEPTED] / total, 1) if total else None}


def _delta(old: str | None, new: str | None) -> float:
    try:
        return abs(float(new or "") - float(old or ""))
    except ValueError:
        return 0.0


def missing_results(conn: Connection, result_within: float, now: datetime | None = None,
                    since: datetime | None = None, limit: int = 50, only_exams: Any = None) -> list[dict[str, Any]]:
    """Exams pushed to the AI host (push DONE) longer than ``result_within`` ago with no SR back
    (neither linked nor held for review)."""
    t, o = task, dicom_object
    deadline = (now or utcnow()) - timedelta(seconds=result_within)
    pushed = (select(t.c.exam_key, func.max(t.c.finished_at).label("pushed_at"))
              .where(t.c.kind == "EXAM_PUSH", t.c.status == "DONE", t.c.finished_at < deadline)
              .group_by(t.c.exam_key))
    if since is not None:
        pushed = pushed.where(t.c.finished_at >= since - timedelta(seconds=result_within))
    if only_exams is not None:
        pushed = pushed.where(t.c.exam_key.in_(only_exams))
    sr = o.c.sop_class_uid.like("1.2.840.10008.5.1.4.1.1.88.%")
    got = {k for k in conn.execute(select(o.c.exam_key).where(sr, o.c.exam_key.is_not(None))).scalars()}
    got |= {k for k in conn.execute(select(o.c.review_exam_key).where(sr, o.c.review_exam_key.is_not(None))).scalars()}
    out = []
    for exam_key, pushed_at in conn.execute(pushed.order_by(t.c.exam_key)):
        if exam_key not in got:
            out.append({"exam_key": exam_key, "pushed_at": pushed_at})
            if len(out) >= limit:
                break
    return out


def as_json(stats: dict[str, Any]) -> str:
    return json.dumps(stats, ensure_ascii=False, default=str)
