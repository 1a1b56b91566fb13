"""Reports that could not be written (signed, locked, missing) are re-checked and applied when writable.

A doctor may send a signed report back to draft hours later; the measurements are then written without
anyone resending the SR. Every ``[report].pending_check_interval`` the PENDING exams are looked up, and
one SR_APPLY task is enqueued for each whose report became writable (never a second one while one waits).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ris_ai_module.db.tables import report_state, task
from ris_ai_module.report.writer import PENDING, blocked_reason, report_status
from ris_ai_module.services import Services
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind, TaskStatus

log = logging.getLogger(__name__)

_ACTIVE = (TaskStatus.SCHEDULED.value, TaskStatus.IN_PROCESS.value)


def retry_pending(ctx: Services, limit: int = 500) -> int:
    """One pass; returns how many SR_APPLY tasks were enqueued."""
    cfg = ctx.config.report
    ready: list[tuple[str, str | None]] = []
    with ctx.engine.connect() as conn:
        waiting = conn.execute(
            select(report_state.c.exam_key, report_state.c.sop_instance_uid)
            .where(report_state.c.state == PENDING)
            .order_by(report_state.c.updated_at)
            .limit(limit)
        ).all()
        for exam_key, sop_uid in waiting:
            exists, status = report_status(conn, cfg, exam_key)
            if blocked_reason(cfg, exists, status) is None:
                ready.append((exam_key, sop_uid))
    enqueued = 0
    for exam_key, sop_uid in ready:
        with ctx.engine.begin() as conn:
            active = conn.execute(
                select(task.c.task_id).where(
                    task.c.exam_key == exam_key, task.c.kind == TaskKind.SR_APPLY.value, task.c.status.in_(_ACTIVE)
                ).limit(1)
            ).first()
            if active is None:
                # no SR named: image rows waiting (report/images_apply.py), or an exam whose SRs left it
                payload = ({"sop_instance_uid": sop_uid} if sop_uid else
                           {"sop_instance_uid": "", "exam_key": exam_key, "images": True})
                queue.enqueue(conn, TaskKind.SR_APPLY, exam_key=exam_key, payload=payload)
                enqueued += 1
    if enqueued:
        log.info("%d pending report(s) writable again: applying", enqueued, extra={"action": "pending_reapply"})
    return enqueued
