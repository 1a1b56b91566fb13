"""Exam look-up and trace: ``GET /api/exams``, ``GET /api/exams/<key>``, ``POST /api/exams/<key>/push``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import bottle

from ris_ai_module.db.clock import display_zone, utcnow
from ris_ai_module.db.engine import read_only
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.push.handler import request_push
from ris_ai_module.tasks.model import TaskStatus
from ris_ai_module.web import name_index, params
from ris_ai_module.web.campus_scope import may_see, search_campuses
from ris_ai_module.web.lookup import ExamQuery, exam_trace, is_pinyin, search_exams

if TYPE_CHECKING:
    from ris_ai_module.web.context import RouteContext as WebContext


def install(app: bottle.Bottle, web: WebContext) -> None:
    @app.get("/api/exams")
    def list_exams() -> dict[str, Any]:
        user = web.user()
        q = params.Query(bottle.request.query)
        raw = {name: q.get(name)
               for name in ("name", "patient_id", "accession", "from", "to", "limit", "offset", "campus")}
        return run_search(web, user, raw)

    @app.get("/api/exams/<exam_key>")
    def one_exam(exam_key: str) -> dict[str, Any]:
        user = web.user()
        exam_key = _key(exam_key)
        with read_only(web.ctx.engine) as conn:
            trace = (exam_trace(conn, exam_key, web.ctx.config, display_zone(web.ctx.config.module.timezone))
                     if may_see(conn, web.ctx.config, user, exam_key) else None)
        web.audit_read(user.name, "exam_view", exam_key, None if trace else "not found")
        if trace is None:
            raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
        return trace

    @app.post("/api/exams/<exam_key>/push")
    def push_exam(exam_key: str) -> dict[str, Any]:
        """A deliberate re-delivery: a new task with a new idempotency key."""
        user = web.user("operator")
        exam_key = _key(exam_key)
        with web.audited(user.name, "exam_resend", exam_key) as entry, web.ctx.engine.begin() as conn:
            if not may_see(conn, web.ctx.config, user, exam_key):
                raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
            task_id = request_push(conn, exam_key, by=user.name)
            entry.detail = f"task {task_id}"
        web.ctx.wake.set()
        bottle.response.status = 202
        return {"task_id": task_id, "status": TaskStatus.SCHEDULED.value}


def run_search(web: WebContext, user: Any, raw: dict[str, str | None], via: str = "") -> dict[str, Any]:
    """The exam search of ``GET /api/exams`` and the SOAP FindExams: checks each argument (naming it),
    searches, audits the read."""
    query = ExamQuery(
        name=params.text(raw.get("name"), "name"),
        patient_id=params.text(raw.get("patient_id"), "patient_id"),
        accession=params.text(raw.get("accession"), "accession"),
        date_from=params.day(raw.get("from"), "from"),
        date_to=params.day(raw.get("to"), "to", end=True),
        limit=params.integer(raw.get("limit"), "limit", 50, 1, 500),
        offset=params.integer(raw.get("offset"), "offset", 0, 0, 1_000_000),
        campuses=search_campuses(web.ctx.config, user, params.text(raw.get("campus"), "campus")),
        campus_column=web.ctx.config.ris.campus_column,
    )
    if query.date_from and query.date_to and query.date_from >= query.date_to:
        raise InvalidInput("to", "must not be before from")
    window = None
    with read_only(web.ctx.engine) as conn:  # readers run beside each other and the index's writer
        # reading names to compare pinyin looks back a window; the term table searches every exam
        if (query.name and is_pinyin(query.name) and not (query.date_from or query.patient_id or query.accession)
                and not name_index.ready(conn)):
            window = utcnow() - timedelta(seconds=float(web.ctx.config.http.pinyin_window))
            query = ExamQuery(**{**query.__dict__, "date_from": window})
        exams, total = search_exams(conn, query)
    web.audit_read(user.name, "exam_search", None, f"{via + ': ' if via else ''}{_describe(query, total)}")  # type: ignore[attr-defined]
    answer: dict[str, Any] = {"total": total, "limit": query.limit, "offset": query.offset, "exams": exams}
    if window is not None:
        answer["searched_from"] = window.date().isoformat()
    return answer


def _describe(query: ExamQuery, total: int) -> str:
    """What was searched, as the audit row's detail: every criterion given, and how many exams matched."""
    parts = [f"{name}={value.isoformat() if hasattr(value, 'isoformat') else value}"
             for name, value in (("name", query.name), ("patient_id", query.patient_id), ("accession", query.accession),
                                 ("from", query.date_from), ("to", query.date_to),
                                 ("campus", ",".join(query.campuses))) if value]
    if query.offset:
        parts.append(f"offset={query.offset}")
    return " ".join(parts + [f"-> {total} exams"])


def _key(exam_key: str) -> str:
    """An exam key from the path: what RAI_V_EXAM can hold (at most 64 characters, no control characters)."""
    return params.text(exam_key, "exam_key") or exam_key
