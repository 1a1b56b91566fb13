"""Task kinds, statuses and outcomes: the state machine of RAI_TASK, readable in SQL.

Transitions (each one a guarded UPDATE in ``queue.py``):

    SCHEDULED  --claim-->            IN_PROCESS (lease_owner, lease_expires_at set)
    IN_PROCESS --outcome DONE-->     DONE
    IN_PROCESS --outcome RETRY-->    SCHEDULED (next_run_at = now + backoff)   or FAILED when the policy gives up
    IN_PROCESS --outcome FAILED-->   FAILED
    IN_PROCESS --lease expired-->    IN_PROCESS (claimed again by another owner: take-over)
    FAILED | DONE --retry/resend-->  SCHEDULED
    SCHEDULED  --cancel-->           CANCELED
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class TaskKind(str, enum.Enum):
    EXAM_PUSH = "EXAM_PUSH"
    SR_APPLY = "SR_APPLY"


class TaskStatus(str, enum.Enum):
    SCHEDULED = "SCHEDULED"
    IN_PROCESS = "IN_PROCESS"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class OutcomeKind(str, enum.Enum):
    DONE = "DONE"
    RETRY = "RETRY"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Outcome:
    """What a handler reports; the queue decides what follows (dcm4chee's TaskProcessor contract)."""

    kind: OutcomeKind
    error: str | None = None
    http_status: int | None = None
    response_body: str | None = None
    latency_ms: int | None = None

    @classmethod
    def done(cls, **kw: Any) -> Outcome:
        return cls(OutcomeKind.DONE, **kw)

    @classmethod
    def retry(cls, error: str, **kw: Any) -> Outcome:
        return cls(OutcomeKind.RETRY, error=error, **kw)

    @classmethod
    def failed(cls, error: str, **kw: Any) -> Outcome:
        return cls(OutcomeKind.FAILED, error=error, **kw)


@dataclass(frozen=True)
class Task:
    """A claimed row of RAI_TASK."""

    task_id: int
    task_uuid: str
    kind: str
    status: str
    exam_key: str | None
    attempts: int
    lease_owner: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Task:
        m = row._mapping
        raw = m["payload"]
        return cls(
            task_id=int(m["task_id"]),
            task_uuid=m["task_uuid"],
            kind=m["kind"],
            status=m["status"],
            exam_key=m["exam_key"],
            attempts=int(m["attempts"]),
            lease_owner=m["lease_owner"],
            payload=json.loads(raw) if raw else {},
            created_at=m["created_at"],
            last_error=m["last_error"],
        )
