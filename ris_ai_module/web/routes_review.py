"""Unknown codes: ``GET /api/unmapped``. Objects held by the patient check: ``GET /api/review``; a decision:
``POST /api/objects/<sop>/link`` with JSON ``{"exam_key": ..., "force": false, "reason": ...}`` (audited)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import bottle

from ris_ai_module.db.engine import read_only
from ris_ai_module.dicom import index
from ris_ai_module.dicom.review import decide_link, refuse_audit
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.web import params
from ris_ai_module.web.campus_scope import visible_exams
from ris_ai_module.web.errors import HttpError

if TYPE_CHECKING:
    from ris_ai_module.web.app import WebContext


def install(app: bottle.Bottle, web: WebContext) -> None:
    @app.get("/api/review")
    def waiting() -> dict[str, Any]:
        user = web.user()
        limit = params.integer(params.Query(bottle.request.query).get("limit"), "limit", 100, 1, 1000)
        with read_only(web.ctx.engine) as conn:  # a limited account: objects whose found exam is of its campuses
            rows = index.list_objects(conn, review=True, limit=limit, only_exams=visible_exams(web.ctx.config, user))
        return {"objects": [{
            "sop_instance_uid": r.sop_instance_uid, "sop_class_uid": r.sop_class_uid, "sr": index.is_sr(r.sop_class_uid),
            "patient_id": r.patient_id, "patient_name": r.patient_name, "accession_no": r.accession_no,
            "exam_key": r.review_exam_key, "method": r.review_method, "reason": r.review_reason,
            "received_at": r.received_at, "sender": r.sender_ae or r.source,
        } for r in rows]}

    @app.get("/api/unmapped")
    def unmapped() -> dict[str, Any]:
        """Distinct measurements the catalog does not know (``ris-ai-module unmapped``)."""
        from ris_ai_module.report.unmapped import unmapped_concepts

        user = web.user()
        q = params.Query(bottle.request.query)
        since = params.day(q.get("since"), "since")
        with read_only(web.ctx.engine) as conn:
            found = unmapped_concepts(conn, since=since, limit=params.integer(q.get("limit"), "limit", 100, 1, 1000),
                                      only_exams=visible_exams(web.ctx.config, user))
        return {"concepts": [u.to_dict() for u in found]}

    @app.get("/api/acceptance")
    def accepted() -> dict[str, Any]:
        """What doctors did with the AI values of reports signed in the last ``days`` days (default 7)."""
        from datetime import timedelta

        from ris_ai_module.db.clock import utcnow
        from ris_ai_module.report.acceptance import statistics

        user = web.user()
        days = params.integer(params.Query(bottle.request.query).get("days"), "days", 7, 1, 366)
        now = utcnow()
        with read_only(web.ctx.engine) as conn:  # a limited account: its campuses' exams only
            return statistics(conn, now - timedelta(days=days), now + timedelta(seconds=1),
                              float(web.ctx.config.review.result_within), now=now,
                              only_exams=visible_exams(web.ctx.config, user))

    @app.post("/api/objects/<sop_uid>/link")
    def link(sop_uid: str) -> dict[str, Any]:
        user = web.user("operator")
        body = _json_body()
        exam_key = params.text(_field(body, "exam_key", str), "exam_key")
        if not exam_key:
            raise InvalidInput("exam_key", "required")
        reason = params.text(_field(body, "reason", str), "reason", 500) or ""
        force = bool(_field(body, "force", bool))
        review = web.ctx.config.review
        source = f"http:{bottle.request.remote_addr or '-'}"
        _own_campus_link(web, user, source, sop_uid, exam_key)
        try:
            with web.ctx.engine.begin() as conn:
                decision = decide_link(conn, sop_uid, exam_key, actor=user.name, source=source,
                                       policy=review.patient_check, other_ids_column=review.other_ids_column,
                                       force=force, reason=reason, archive=web.ctx.config.archive)
        except InvalidInput as exc:
            with web.ctx.engine.begin() as conn:
                refuse_audit(conn, user.name, source, sop_uid, exam_key, exc.reason)
            bottle.response.status = 409 if exc.field == "exam_key" else 400
            return {"error": exc.reason, "field": exc.field}
        web.ctx.wake.set()
        return {"sop_instance_uid": sop_uid, "exam_key": exam_key, "action": decision.action,
                "task_ids": list(decision.task_ids)}


def _own_campus_link(web: WebContext, user: Any, source: str, sop_uid: str, exam_key: str) -> None:
    """A campus-limited account links only its campuses' objects to its campuses' exams. Another campus's
    object or exam answers exactly as one that does not exist (404); an object whose campus cannot be told
    (no exam found, no campus of its sending peer) is refused (403): an account of every campus decides.
    Each refusal is an audit row (ok=0) with the true reason."""
    from ris_ai_module.web.campus_scope import HIDDEN, UNKNOWN, limited, may_see, object_refusal

    if not limited(web.ctx.config, user):
        return
    with read_only(web.ctx.engine) as conn:
        obj = index.get_object(conn, sop_uid)
        if obj is None:
            return  # decide_link answers "not found" (one wording for both)
        refusal = object_refusal(conn, web.ctx.config, user, obj)
        exam_ok = may_see(conn, web.ctx.config, user, exam_key)
    if refusal is None and exam_ok:
        return
    if refusal == UNKNOWN and exam_ok:
        why = "the object's campus is not known (no exam found for it, no campus of its sending peer)"
        error: Exception = HttpError(403, why + "; an account of every campus links it", "sop_uid")
    elif refusal == HIDDEN:  # the very answer of an object that does not exist
        why, error = "the object is not of this account's campuses", NotFound(f"object {sop_uid} is not in RAI_OBJECT")
    else:
        why, error = "the exam is not of this account's campuses", NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    with web.ctx.engine.begin() as conn:
        refuse_audit(conn, user.name, source, sop_uid, exam_key, why)
    raise error


def _json_body() -> dict[str, Any]:
    raw = bottle.request.body.read(64 * 1024 + 1)
    if len(raw) > 64 * 1024:
        raise InvalidInput("body", "larger than 64 KB")
    try:
        data = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("body", "expected a JSON object") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "expected a JSON object")
    return data


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidInput(name, f"expected {'true or false' if kind is bool else 'text'}")
    return value
