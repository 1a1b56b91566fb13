"""Tasks, status, and the manual SR upload: ``/api/tasks``, ``/api/status``, ``POST /api/sr``."""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING, Any, BinaryIO

import bottle
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ris_ai_module.db.engine import read_only
from ris_ai_module.db.ris import get_exam
from ris_ai_module.db.tables import task
from ris_ai_module.dicom.stgcmt import commitment_counts
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.errors import NotFound
from ris_ai_module.health.current import configured_targets, current_checks
from ris_ai_module.retention.purge import statistics as retention_statistics
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskStatus
from ris_ai_module.web import params
from ris_ai_module.web.campus_scope import upload_campuses, visible_exams
from ris_ai_module.web.errors import HttpError
from ris_ai_module.web.lookup import recent_failures

if TYPE_CHECKING:
    from ris_ai_module.dicom.ingest import Outcome
    from ris_ai_module.web.context import RouteContext as WebContext

log = logging.getLogger(__name__)
#: The largest task ID any supported database can hold (a signed 64-bit key).
MAX_TASK_ID = 2**63 - 1

DICOM_TYPES = ("application/dicom", "application/octet-stream")


class _Bounded:
    """Reads at most ``remaining`` bytes of the request body (never past Content-Length)."""

    def __init__(self, raw: BinaryIO, remaining: int) -> None:
        self.raw, self.remaining = raw, remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        chunk = self.raw.read(self.remaining if size < 0 else min(size, self.remaining))
        self.remaining -= len(chunk)
        return chunk


def install(app: bottle.Bottle, web: WebContext) -> None:
    @app.get("/api/tasks")
    def list_tasks() -> dict[str, Any]:
        user = web.user()
        q = params.Query(bottle.request.query)
        status = params.text(q.get("status"), "status", 16)
        if status and status not in {s.value for s in TaskStatus}:
            raise HttpError(400, f"unknown status {status!r}", "status")
        with read_only(web.ctx.engine) as conn:
            rows = queue.list_tasks(conn, status=status, kind=params.text(q.get("kind"), "kind", 20),
                                    exam_key=params.text(q.get("exam_key"), "exam_key"),
                                    limit=params.integer(q.get("limit"), "limit", 100, 1, 1000),
                                    only_exams=visible_exams(web.ctx.config, user))  # the account's campuses
        return {"tasks": rows}

    @app.post("/api/tasks/<task_id:int>/retry")
    def retry(task_id: int) -> dict[str, Any]:
        user = web.user("operator")
        if not 0 < task_id <= MAX_TASK_ID:  # beyond any key the database can hold: no such task (not a 500)
            raise NotFound(f"no task {task_id}")
        with web.audited(user.name, "task_retry", str(task_id)), web.ctx.engine.begin() as conn:
            mine = visible_exams(web.ctx.config, user)  # a limited account: its campuses' tasks only, as listed
            if mine is not None and conn.execute(select(task.c.task_id).where(
                    task.c.task_id == task_id, task.c.exam_key.in_(mine))).first() is None:
                raise NotFound(f"task {task_id} does not exist")
            queue.requeue(conn, task_id)
        web.ctx.wake.set()
        return {"task_id": task_id, "status": TaskStatus.SCHEDULED.value}

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        """For monitoring tools: 200 when the database answers, 503 (still JSON, with free space) when not."""
        user = web.user()
        try:
            free = shutil.disk_usage(web.ctx.config.storage.root).free
        except OSError:
            free = None
        answer: dict[str, Any] = {"instance": web.ctx.owner, "storage_free_bytes": free,
                                  "storage": StorageArea.from_config(web.ctx.config.storage).space().as_dict()}
        try:
            with read_only(web.ctx.engine) as conn:
                cfg = web.ctx.config  # DOWN only after alerts.fail_threshold; removed targets are not current
                checks = current_checks(conn, cfg.alerts.fail_threshold, configured_targets(cfg))
                answer["retention"] = retention_statistics(conn, float(cfg.storage.keep_for))
                mine = visible_exams(cfg, user)  # a limited account: its campuses' tasks only
                answer.update(queue=queue.queue_stats(conn, only_exams=mine), checks=checks,
                              recent_failures=recent_failures(conn, only_exams=mine),
                              commitment=commitment_counts(conn, only_exams=mine))
        except SQLAlchemyError as exc:
            log.warning("status: database unreachable: %s", str(exc).splitlines()[0])
            bottle.response.status = 503
            return {**answer, "database": "unreachable", "error": str(exc).splitlines()[0][:300]}
        return {**answer, "database": "reachable"}

    @app.post("/api/sr")
    def upload_sr() -> dict[str, Any]:
        """The manual SR upload: the same ingest path as a C-STORE (source IMPORT)."""
        user = web.user("operator")
        if params.flag(params.Query(bottle.request.query).get("dry_run"), "dry_run"):
            return _dry_run(web, user)  # stores and indexes nothing (issue 9): a later real upload is applied
        with web.audited(user.name, "sr_upload", None) as entry:
            _own_campus(web, user, params.Query(bottle.request.query).get("exam_key"))
            outcome = _receive(web, user.name, campuses=upload_campuses(web.ctx.config, user))
            entry.target, entry.detail = outcome.sop_instance_uid, outcome.comment or outcome.link_method
            if outcome.other_campus:  # linked by its UIDs to another campus's exam, or to none: nothing stored
                from ris_ai_module.report.preview import OTHER_CAMPUS

                raise HttpError(404, OTHER_CAMPUS, "body")
            if not outcome.ok:
                raise HttpError(422, f"not stored (0x{outcome.status:04X}): {outcome.comment}", "body")
        web.ctx.wake.set()
        bottle.response.status = 200 if outcome.duplicate else 201
        return {"sop_instance_uid": outcome.sop_instance_uid, "duplicate": outcome.duplicate,
                "exam_key": outcome.exam_key, "link_method": outcome.link_method, "task_id": outcome.task_id,
                "review": ({"exam_key": outcome.review_exam_key, "reason": outcome.review_reason}
                           if outcome.review_reason else None)}


def _own_campus(web: WebContext, user: Any, exam_key: str | None) -> None:
    """An account limited to campuses uploads only to its campuses' exams (another's is "not found")."""
    from ris_ai_module.web.campus_scope import may_see

    key = params.text(exam_key, "exam_key")
    if key:
        with read_only(web.ctx.engine) as conn:
            if not may_see(conn, web.ctx.config, user, key):
                raise NotFound(f"exam {key} is not in RAI_V_EXAM")


def _dry_run(web: WebContext, user: Any) -> dict[str, Any]:
    """``POST /api/sr?dry_run=true``: what the upload would do (exam, patient check, rows, columns, text)."""
    return _receive(web, "", preview=True, campuses=upload_campuses(web.ctx.config, user))  # type: ignore[return-value]


def _receive(web: WebContext, actor: str, preview: bool = False, campuses: tuple[str, ...] = ()) -> Outcome:
    """Checks type and size, streams the body to a temp file in the storage area (never past
    Content-Length, never more than http.max_upload), then hands it to the DICOM ingest."""
    from ris_ai_module.dicom.ingest import Received, ingest
    from ris_ai_module.web.sr_upload import UploadRefused, stage_sr

    request = bottle.request
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type not in DICOM_TYPES:
        raise HttpError(415, f"send the SR file as the body with Content-Type application/dicom, got {content_type!r}",
                        "Content-Type")
    length = request.content_length
    limit = int(web.ctx.config.http.max_upload)
    if length <= 0:
        raise HttpError(411 if length < 0 else 400, "Content-Length is required and must not be 0", "Content-Length")
    if length > limit:
        raise HttpError(413, f"{length} bytes is more than http.max_upload ({limit} bytes)", "Content-Length")
    exam_key = params.text(params.Query(request.query).get("exam_key"), "exam_key")
    if exam_key:
        with read_only(web.ctx.engine) as conn:
            if get_exam(conn, exam_key) is None:
                raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    try:
        area, temp = stage_sr(web.ctx.config, _Bounded(request.environ["wsgi.input"], length), length, "body")
    except UploadRefused as exc:
        raise HttpError(exc.status, exc.reason, exc.field) from None
    if preview:
        from pathlib import Path

        from ris_ai_module.report.preview import preview_file

        try:
            temp.finish()
            return preview_file(web.ctx, Path(temp.name), exam_key=exam_key,  # type: ignore[return-value]
                                campuses=campuses)
        finally:
            temp.discard()
    return ingest(web.ctx, area, Received(temp=temp, source="IMPORT", sender_ae=f"HTTP:{actor}"[:16],
                                         sender_address=request.remote_addr, exam_key=exam_key, campuses=campuses))
