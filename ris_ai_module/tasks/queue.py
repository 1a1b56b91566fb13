"""Every operation on RAI_TASK, each a named function; each transition a guarded UPDATE.

A transition names the state it leaves (``WHERE task_id = :id AND status = 'IN_PROCESS' AND
lease_owner = :me``) and checks ``rowcount == 1``; a lost race is logged and skipped, never forced.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import lock_for_claim, name_of
from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.tasks.model import Outcome, OutcomeKind, Task, TaskKind, TaskStatus
from ris_ai_module.tasks.retry import RetryPolicy

log = logging.getLogger(__name__)

ERROR_CHARS = 1000


def _bounded(text: str | None, limit: int = ERROR_CHARS) -> str | None:
    return None if text is None else text[:limit]


def enqueue(
    conn: Connection,
    kind: TaskKind | str,
    exam_key: str | None = None,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    task_uuid: str | None = None,
) -> int:
    """Insert a SCHEDULED task with a fresh idempotency key (or the one given: a key derived from another
    task's, see push/fanout.py); returns its id (in the caller's transaction)."""
    now = utcnow()
    result = conn.execute(
        insert(task).values(
            task_uuid=task_uuid or str(uuid.uuid4()),
            kind=TaskKind(kind).value,
            status=TaskStatus.SCHEDULED.value,
            exam_key=exam_key,
            payload=json.dumps(payload, ensure_ascii=False) if payload else None,
            attempts=0,
            next_run_at=run_at or now,
            created_at=now,
            updated_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def _runnable(now: datetime, kinds: Sequence[str] | None) -> Any:
    due = and_(
        task.c.status == TaskStatus.SCHEDULED.value,
        or_(task.c.next_run_at.is_(None), task.c.next_run_at <= now),
    )
    expired = and_(task.c.status == TaskStatus.IN_PROCESS.value, task.c.lease_expires_at < now)
    cond = or_(due, expired)
    if kinds:
        cond = and_(cond, task.c.kind.in_(list(kinds)))
    return cond


def claim(
    engine: Engine, owner: str, lease_seconds: float, limit: int, kinds: Sequence[str] | None = None,
    task_ids: Sequence[int] | None = None, only: ColumnElement[bool] | None = None,
) -> list[Task]:
    """Claim up to ``limit`` due tasks (or tasks whose lease expired) for ``owner``, in one transaction.

    ``task_ids`` restricts the claim to those tasks (a manual push runs its own task at once); ``only`` is
    any further condition on RAI_TASK the composition root gives the worker (an instance's campuses).
    """
    now = utcnow()
    where = _runnable(now, kinds)
    if only is not None:
        where = and_(where, only)
    if task_ids is not None:
        where = and_(where, task.c.task_id.in_(list(task_ids)))
    candidates = lock_for_claim(
        select(task.c.task_id, task.c.task_uuid).where(where).order_by(task.c.task_id), engine, limit
    )
    lease_until = now + timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        found = conn.execute(candidates).fetchmany(limit)
        if not found:
            return []
        ids = [row[0] for row in found]
        for task_id, key in found:
            if key is None:  # a DBA's own trigger may leave the idempotency key to us
                conn.execute(update(task).where(task.c.task_id == task_id, task.c.task_uuid.is_(None))
                             .values(task_uuid=str(uuid.uuid4())))
        # One guarded UPDATE for the batch: rows still runnable (locked by us, or by SQLite's single
        # writer) become ours; the SELECT below returns exactly those.
        conn.execute(
            update(task)
            .where(task.c.task_id.in_(ids), _runnable(now, kinds))
            .values(status=TaskStatus.IN_PROCESS.value, lease_owner=owner, lease_expires_at=lease_until,
                    attempts=task.c.attempts + 1, updated_at=now)
        )
        rows = conn.execute(
            select(task)
            .where(task.c.task_id.in_(ids), task.c.status == TaskStatus.IN_PROCESS.value,
                   task.c.lease_owner == owner, task.c.lease_expires_at == lease_until)
            .order_by(task.c.task_id)
        ).all()
    tasks = [Task.from_row(r) for r in rows]
    for t in tasks:
        log.debug("task claimed", extra={"action": "task_claimed", "task_id": t.task_id, "kind": t.kind})
    return tasks


@dataclass(frozen=True)
class Finished:
    """A task with the outcome of its attempt and when the attempt started."""

    task: Task
    outcome: Outcome
    started_at: datetime


def record_outcomes(engine: Engine, owner: str, results: Iterable[Finished], policy_for: Any) -> int:
    """Write the outcomes of a batch in one transaction; returns how many transitions took effect.

    ``policy_for(kind) -> RetryPolicy`` gives the retry policy per task kind. A RETRY outcome becomes
    FAILED when the policy gives up. A task whose lease was lost (taken over) is left alone. The batch
    is written with executemany; if any guarded row did not match, the batch is redone row by row so
    that only the transitions that took effect get an attempt row.
    """
    now = utcnow()
    items = list(results)
    if not items:
        return 0
    params = [dict(_transition(item, now, policy_for), b_owner=owner) for item in items]
    with engine.begin() as conn:
        _number_attempts(conn, items, params)
        if len(items) > 1 and _apply_transitions(conn, params) == len(items):
            conn.execute(insert(task_attempt), [_attempt(item, p, owner) for item, p in zip(items, params, strict=True)])
            return len(items)
    applied = 0
    with engine.begin() as conn:
        for item, p in zip(items, params, strict=True):
            if _apply_transitions(conn, [p]) != 1:
                log.warning("task %s: lease lost before its outcome was recorded; left to its new owner",
                            item.task.task_id, extra={"action": "task_lease_lost", "task_id": item.task.task_id})
                continue
            conn.execute(insert(task_attempt).values(**_attempt(item, p, owner)))
            applied += 1
    return applied


_GUARDED_FINISH = (
    update(task)
    .where(task.c.task_id == bindparam("b_id"), task.c.status == TaskStatus.IN_PROCESS.value,
           task.c.lease_owner == bindparam("b_owner"))
    .values(status=bindparam("b_status"), next_run_at=bindparam("b_next"), last_error=bindparam("b_error"),
            finished_at=bindparam("b_finished"), updated_at=bindparam("b_now"), lease_owner=None,
            lease_expires_at=None)
)


def _apply_transitions(conn: Connection, params: list[dict[str, Any]]) -> int:
    res = conn.execute(_GUARDED_FINISH, [{k: v for k, v in p.items() if k.startswith("b_")} for p in params])
    return int(res.rowcount if res.rowcount is not None else -1)


def _transition(item: Finished, now: datetime, policy_for: Any) -> dict[str, Any]:
    """The new state of a task from its outcome and the retry policy (pure)."""
    t, out = item.task, item.outcome
    final, error, next_run = out.kind, _bounded(out.error), None
    if out.kind is OutcomeKind.RETRY:
        delay = (policy_for(t.kind) or RetryPolicy()).next_delay(t.attempts)
        if delay is not None and out.retry_after is not None:
            delay = max(0.0, out.retry_after)  # the handler knows better (a peer's Retry-After)
        if delay is None:
            final, error = OutcomeKind.FAILED, _bounded(f"gave up after {t.attempts} attempts: {out.error}")
        else:
            next_run = now + timedelta(seconds=delay)
    status = {OutcomeKind.DONE: TaskStatus.DONE, OutcomeKind.FAILED: TaskStatus.FAILED,
              OutcomeKind.RETRY: TaskStatus.SCHEDULED}[final].value
    return {
        "b_id": t.task_id, "b_status": status, "b_next": next_run,
        "b_error": None if final is OutcomeKind.DONE else error,
        "b_finished": None if final is OutcomeKind.RETRY else now, "b_now": now, "_final": final.value,
    }


def _number_attempts(conn: Connection, items: list[Finished], params: list[dict[str, Any]]) -> None:
    """Attempt numbers go on across a manual retry (which gives the task a fresh attempt budget): the next
    number is past the highest already recorded for the task, so a trace never shows two attempts 1."""
    ids = [item.task.task_id for item in items]
    recorded = dict(conn.execute(select(task_attempt.c.task_id, func.max(task_attempt.c.attempt_no))
                                 .where(task_attempt.c.task_id.in_(ids)).group_by(task_attempt.c.task_id)).all())
    for item, p in zip(items, params, strict=True):
        p["_attempt_no"] = max(item.task.attempts, int(recorded.get(item.task.task_id) or 0) + 1)


def _attempt(item: Finished, p: dict[str, Any], owner: str) -> dict[str, Any]:
    out, a = item.outcome, item.outcome.attempt
    return {
        "task_id": item.task.task_id, "attempt_no": p["_attempt_no"], "started_at": item.started_at,
        "latency_ms": a.latency_ms, "outcome": p["_final"], "http_status": a.http_status,
        "target": _bounded(a.target, 200), "status_text": _bounded(a.status_text, 200),
        "error": _bounded(out.error), "response_body": a.response, "worker": owner,
    }


def requeue(conn: Connection, task_id: int) -> None:
    """Manual retry: a FAILED (or CANCELED) task goes back to SCHEDULED with a fresh attempt budget.

    The idempotency key stays: the AI host never accepted this task, so the same key is right.
    """
    res = conn.execute(
        update(task)
        .where(task.c.task_id == task_id, task.c.status.in_([TaskStatus.FAILED.value, TaskStatus.CANCELED.value]))
        .values(status=TaskStatus.SCHEDULED.value, attempts=0, next_run_at=utcnow(), finished_at=None,
                updated_at=utcnow(), lease_owner=None, lease_expires_at=None)
    )
    if res.rowcount != 1:
        current = conn.execute(select(task.c.status).where(task.c.task_id == task_id)).scalar()
        if current is None:
            raise NotFound(f"task {task_id} does not exist")
        raise InvalidInput("task_id", f"task {task_id} is {current}; only FAILED or CANCELED tasks can be retried")


def run_now(conn: Connection, task_id: int) -> bool:
    """A SCHEDULED task becomes due now (what it waited for has arrived, e.g. a Storage Commitment report);
    True when it was SCHEDULED."""
    res = conn.execute(update(task).where(task.c.task_id == task_id, task.c.status == TaskStatus.SCHEDULED.value)
                       .values(next_run_at=utcnow(), updated_at=utcnow()))
    return res.rowcount == 1


def cancel(conn: Connection, task_id: int) -> None:
    res = conn.execute(
        update(task).where(task.c.task_id == task_id, task.c.status == TaskStatus.SCHEDULED.value)
        .values(status=TaskStatus.CANCELED.value, finished_at=utcnow(), updated_at=utcnow())
    )
    if res.rowcount != 1:
        raise InvalidInput("task_id", f"task {task_id} is not SCHEDULED")


def purge(conn: Connection, done_before: datetime, failed_before: datetime, batch: int = 500) -> int:
    """Delete DONE/CANCELED tasks finished before ``done_before`` and FAILED ones before ``failed_before``.

    Ids are read first and deleted in small batches by primary key, so the purge never holds range locks
    that would make a claiming worker wait or deadlock (MySQL/MariaDB gap locks).
    """
    old = or_(
        and_(task.c.status.in_([TaskStatus.DONE.value, TaskStatus.CANCELED.value]), task.c.finished_at < done_before),
        and_(task.c.status == TaskStatus.FAILED.value, task.c.finished_at < failed_before),
    )
    ids = [r[0] for r in conn.execute(select(task.c.task_id).where(old).order_by(task.c.task_id))]
    removed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        conn.execute(delete(task_attempt).where(task_attempt.c.task_id.in_(chunk)))
        removed += int(conn.execute(delete(task).where(task.c.task_id.in_(chunk), old)).rowcount or 0)
    return removed


def get_task(conn: Connection, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(task).where(task.c.task_id == task_id)).first()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    return dict(row._mapping)


def list_tasks(
    conn: Connection, status: str | None = None, kind: str | None = None, exam_key: str | None = None,
    limit: int = 100, only_exams: Any = None,
) -> list[dict[str, Any]]:
    """Newest first; ``only_exams`` (a SELECT of exam keys) keeps to those exams' tasks (campus limits)."""
    stmt = select(task).order_by(task.c.task_id.desc()).limit(limit)
    if only_exams is not None:
        stmt = stmt.where(task.c.exam_key.in_(only_exams))
    if status:
        stmt = stmt.where(task.c.status == status)
    if kind:
        stmt = stmt.where(task.c.kind == kind)
    if exam_key:
        stmt = stmt.where(task.c.exam_key == exam_key)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def attempts_of(conn: Connection, task_id: int) -> list[dict[str, Any]]:
    stmt = select(task_attempt).where(task_attempt.c.task_id == task_id).order_by(task_attempt.c.attempt_no)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def queue_stats(conn: Connection, only_exams: Any = None) -> dict[str, Any]:
    """Counts by status and the age in seconds of the oldest due SCHEDULED task (health checks use this).
    ``only_exams`` (a SELECT of exam keys: an account's campuses) counts only those exams' tasks."""
    mine = [] if only_exams is None else [task.c.exam_key.in_(only_exams)]
    counts = {s: int(n) for s, n in conn.execute(select(task.c.status, func.count()).where(*mine)
                                                 .group_by(task.c.status))}
    oldest = conn.execute(
        select(func.min(task.c.created_at)).where(
            task.c.status.in_([TaskStatus.SCHEDULED.value, TaskStatus.IN_PROCESS.value]), *mine)
    ).scalar()
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return {"counts": counts, "oldest_pending_age_s": max(age, 0.0), "dialect": name_of(conn.engine)}
