"""Polling mode, for RIS databases where the DBA allows no trigger.

Finds started exams in RAI_V_EXAM that have no task yet and creates one EXAM_PUSH task each. The
ledger table RAI_EXAM_STARTED (primary key exam_key) is written in the same transaction, so an exam
becomes a task once even with two module instances polling. Unlike the trigger, polling cannot see an
exam that is re-started after being finished; that exam is not pushed again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.ris import exam_view
from ris_ai_module.db.tables import exam_started, task
from ris_ai_module.services import Services
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind

log = logging.getLogger(__name__)


def poll_started_exams(ctx: Services, limit: int = 500) -> int:
    """One polling pass; returns how many tasks were created."""
    cfg = ctx.config.ris
    since = utcnow() - timedelta(seconds=float(cfg.poll_lookback))
    stmt = (
        select(exam_view.c.exam_key)
        .where(
            exam_view.c.exam_status == cfg.started_status,
            (exam_view.c.exam_date >= since) | exam_view.c.exam_date.is_(None),
            ~exists().where(exam_started.c.exam_key == exam_view.c.exam_key),
            ~exists().where(task.c.exam_key == exam_view.c.exam_key, task.c.kind == TaskKind.EXAM_PUSH.value),
        )
        .limit(limit)
    )
    with ctx.engine.connect() as conn:
        keys = [str(r[0]) for r in conn.execute(stmt)]
    created = 0
    for key in keys:
        try:
            with ctx.engine.begin() as conn:
                conn.execute(insert(exam_started).values(exam_key=key, seen_at=utcnow()))
                task_id = queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key=key)
                conn.execute(exam_started.update().where(exam_started.c.exam_key == key).values(task_id=task_id))
            created += 1
        except IntegrityError:
            log.debug("exam %s already taken by another poller", key)
    if created:
        log.info("poller created %d exam push tasks", created, extra={"action": "poll_created"})
    return created
