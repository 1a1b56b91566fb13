"""Read-only look-ups for the HTTP API: exams by name (Chinese or pinyin), ID, accession, date; one exam's
trace. Every statement is SQLAlchemy Core over RAI_V_EXAM and the RAI_* tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ris_ai_module.db.clock import display_zone
from ris_ai_module.db.ris import exam_view, optional_column
from ris_ai_module.db.tables import dicom_object, report_state, task, task_attempt
from ris_ai_module.retention.purge import purged_text, shown_explanation
from ris_ai_module.tasks.model import TaskKind, TaskStatus
from ris_ai_module.web.spellings import name_spellings, pinyin_keys  # noqa: F401 - look-up's vocabulary

_PINYIN_QUERY = re.compile(r"^[A-Za-z ]+$")


@dataclass(frozen=True)
class ExamQuery:
    name: str | None = None
    patient_id: str | None = None
    accession: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    limit: int = 50
    offset: int = 0
    #: Only exams of these campuses (the request's campus, within the account's); empty: every campus.
    campuses: tuple[str, ...] = ()
    campus_column: str = ""

    def campus_condition(self) -> ColumnElement[bool] | None:
        if not self.campuses or not self.campus_column:
            return None
        return campus_in(self.campus_column, self.campuses)


def campus_in(campus_column: str, campuses: Sequence[str]) -> ColumnElement[bool]:
    """RAI_V_EXAM's campus column is one of ``campuses``."""
    return optional_column(campus_column).element.in_(list(campuses))  # type: ignore[attr-defined,no-any-return]


def is_pinyin(text: str) -> bool:
    return bool(_PINYIN_QUERY.match(text))


def pinyin_matcher(query: str) -> Callable[[str], bool]:
    """A test "does this name match the pinyin query" (full spelling or initials, any case, spaces
    ignored), remembering each name's answer: in a year of exams most names come back many times."""
    wanted = query.replace(" ", "").lower()
    seen: dict[str, bool] = {}

    def matches(name: str) -> bool:
        hit = seen.get(name)
        if hit is None:
            full, initials = pinyin_keys(name)
            hit = seen[name] = (any(wanted in f for f in full) or any(wanted in i for i in initials)
                                or wanted in name.lower())
        return hit

    return matches


def matches_pinyin(name: str, query: str) -> bool:
    return pinyin_matcher(query)(name)


def search_exams(conn: Connection, q: ExamQuery) -> tuple[list[dict[str, Any]], int]:
    """Matching exams, newest first, with their push status; and the total count before paging."""
    v = exam_view.c
    conditions = []
    if q.patient_id:
        conditions.append(v.patient_id == q.patient_id)
    if q.accession:
        conditions.append(v.accession_no == q.accession)
    if q.date_from:
        conditions.append(v.exam_date >= q.date_from)
    if q.date_to:
        conditions.append(v.exam_date < q.date_to)
    campus = q.campus_condition()
    if campus is not None:
        conditions.append(campus)
    pinyin = bool(q.name) and is_pinyin(q.name or "")
    if q.name and not pinyin:
        conditions.append(v.patient_name.like(f"%{_escape_like(q.name)}%", escape="\\"))
    order = (v.exam_date.desc(), v.exam_key.desc())
    indexed = _index_answers(conn, q, pinyin)
    if indexed is not None:
        wanted, total = indexed
        found = {r.exam_key: r for r in conn.execute(select(exam_view).where(v.exam_key.in_(wanted)))} if wanted else {}
        page = [found[k] for k in wanted if k in found]
    elif pinyin:
        # Pinyin cannot be matched in SQL portably: read only key and name of the candidates (narrowed by
        # the other filters and the date window), compare in Python, then read the page's rows by key.
        matches = pinyin_matcher(q.name or "")
        names = select(v.exam_key, v.patient_name).where(and_(*conditions)).order_by(*order)
        keys = [r.exam_key for r in conn.execute(names) if r.patient_name and matches(r.patient_name)]
        total, wanted = len(keys), keys[q.offset:q.offset + q.limit]
        found = {r.exam_key: r for r in conn.execute(select(exam_view).where(v.exam_key.in_(wanted)))} if wanted else {}
        page = [found[k] for k in wanted if k in found]
    else:
        base = select(exam_view).where(and_(*conditions)) if conditions else select(exam_view)
        total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar() or 0)
        page = list(conn.execute(base.order_by(*order).limit(q.limit).offset(q.offset)))
    exams = [_exam_dict(r) for r in page]
    _add_status(conn, exams)
    return exams, total


def _index_answers(conn: Connection, q: ExamQuery, pinyin: bool) -> tuple[list[str], int] | None:
    """A name query answered from the module's term table (web/name_index.py), or None where it cannot
    be: other criteria given (an exact ID narrows enough), text that is neither pinyin nor Chinese, or no
    finished rescan yet."""
    from ris_ai_module.web import name_index

    if not q.name or q.patient_id or q.accession:
        return None
    text = "".join(q.name.split())
    if not text or not (pinyin or all(name_index.is_cjk(c) for c in text)):
        return None
    if not name_index.ready(conn):
        return None
    return name_index.search_keys(conn, text, pinyin, q.date_from, q.date_to, q.limit, q.offset, q.campus_condition())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _exam_dict(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {name: m[name] for name in exam_view.c.keys()}


def _add_status(conn: Connection, exams: list[dict[str, Any]]) -> None:
    """The latest push task, object count and report state of each exam on the page (three queries)."""
    keys = [str(e["exam_key"]) for e in exams]
    if not keys:
        return
    latest = select(task.c.exam_key, func.max(task.c.task_id).label("task_id")).where(
        task.c.exam_key.in_(keys), task.c.kind == TaskKind.EXAM_PUSH.value).group_by(task.c.exam_key).subquery()
    push = {r.exam_key: r.status for r in conn.execute(
        select(task.c.exam_key, task.c.status).join(latest, latest.c.task_id == task.c.task_id))}
    objects = dict(conn.execute(select(dicom_object.c.exam_key, func.count()).where(
        dicom_object.c.exam_key.in_(keys)).group_by(dicom_object.c.exam_key)).all())
    reports = dict(conn.execute(select(report_state.c.exam_key, report_state.c.state).where(
        report_state.c.exam_key.in_(keys))).all())
    for e in exams:
        key = str(e["exam_key"])
        e["push_status"] = push.get(key)
        e["objects"] = int(objects.get(key, 0))
        e["report_state"] = reports.get(key)


def exam_trace(conn: Connection, exam_key: str, config: Any = None, zone: tzinfo | None = None) -> dict[str, Any] | None:
    """Everything the module knows about one exam: tasks with attempts, objects, measurements, report state.
    With ``config``, each object says why storage retention keeps its file (or that it would go now), its times
    in ``zone`` (``module.timezone``)."""
    row = conn.execute(select(exam_view).where(exam_view.c.exam_key == exam_key)).first()
    if row is None:
        return None
    exam = _exam_dict(row)
    _add_status(conn, [exam])
    tasks = [dict(r._mapping) for r in conn.execute(
        select(task).where(task.c.exam_key == exam_key).order_by(task.c.task_id))]
    ids = [t["task_id"] for t in tasks]
    attempts: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for r in conn.execute(select(task_attempt).where(task_attempt.c.task_id.in_(ids))
                              .order_by(task_attempt.c.task_id, task_attempt.c.attempt_no)):
            attempts.setdefault(r.task_id, []).append(dict(r._mapping))
    for t in tasks:
        t["attempts"] = attempts.get(t["task_id"], [])
    zone = zone if zone is not None else display_zone(config.module.timezone if config is not None else "")
    rows = conn.execute(select(dicom_object).where(dicom_object.c.exam_key == exam_key)
                        .order_by(dicom_object.c.received_at)).all()
    objects = [dict(r._mapping) for r in rows]
    for o in objects:  # storage retention: the row stays, the trace says where the file went
        o["file"] = "kept" if o.get("purged_at") is None else purged_text(o["purged_at"], zone)
    from ris_ai_module.report.trace_view import exam_measurements, exam_sources

    measures = exam_measurements(conn, exam_key)  # with source SR, superseded, unmapped context (issue 9)
    state = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
    answer = {"exam": exam, "tasks": tasks, "objects": objects, "measurements": measures,
              "sources": exam_sources(conn, exam_key), "report": dict(state._mapping) if state else None}
    if config is not None:  # last: it reads the RIS report row, which may fail without spoiling the rest
        for obj_row, o in zip(rows, objects, strict=True):
            o["retention"] = shown_explanation(conn, config, obj_row, zone)
    return answer


def recent_failures(conn: Connection, limit: int = 20, only_exams: Any = None) -> list[dict[str, Any]]:
    """The newest FAILED tasks; ``only_exams`` (a SELECT of exam keys) keeps to those exams (campus limits)."""
    stmt = (select(task.c.task_id, task.c.kind, task.c.exam_key, task.c.last_error, task.c.finished_at)
            .where(task.c.status == TaskStatus.FAILED.value).order_by(task.c.task_id.desc()).limit(limit))
    if only_exams is not None:
        stmt = stmt.where(task.c.exam_key.in_(only_exams))
    rows = conn.execute(stmt)
    return [dict(r._mapping) for r in rows]
