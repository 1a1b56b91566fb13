"""One exam, several AI hosts: the routed EXAM_PUSH task becomes one task per host, exactly once.

The exam-start trigger inserts one EXAM_PUSH task without a host. When the routing sends the exam to a
single host, that task is delivered in place. When it sends it to several, the task hands over to one
child task per host and ends DONE. A child's idempotency key is derived from its parent's key and the
host's name (UUID v5), and RAI_TASK.TASK_UUID is unique: a worker that dies after inserting the children
and before recording the parent's outcome leaves nothing twice — its successor finds the children there,
and every AI host still sees one key per exam start.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import task as task_table
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind

#: Namespace of the children's keys (a fixed random UUID: keys are stable across versions and sites).
CHILD_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4b7e-9a51-2f4c0e9d7b13")

#: Payload key naming the host a task delivers to; absent on a task that still has to be routed.
HOST_KEY = "host"


def child_task_uuid(parent_uuid: str, host: str) -> str:
    """The idempotency key of ``host``'s delivery of the exam start whose task key is ``parent_uuid``."""
    return str(uuid.uuid5(CHILD_NAMESPACE, f"{parent_uuid}/{host}"))


def exam_columns(exam: Any) -> dict[str, Any]:
    """The exam as ``{column_lower: value}`` for the routing rules (an Exam dataclass or a mapping)."""
    return dict(exam) if isinstance(exam, dict) else asdict(exam)


def fan_out(conn: Connection, parent_uuid: str, exam_key: str, hosts: Sequence[str], reason: str,
            parent_id: int | None = None) -> list[str]:
    """Insert one EXAM_PUSH task per host (those not inserted before); returns the hosts now queued."""
    keys = {h: child_task_uuid(parent_uuid, h) for h in hosts}
    existing = set(conn.execute(select(task_table.c.task_uuid).where(task_table.c.task_uuid.in_(list(keys.values()))))
                   .scalars())
    queued = []
    for host, key in keys.items():
        if key in existing:
            continue
        queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key=exam_key,
                      payload={HOST_KEY: host, "route": reason, "parent": parent_id}, task_uuid=key)
        queued.append(host)
    return queued
