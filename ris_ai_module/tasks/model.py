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
    OUTBOX = "OUTBOX"
    HL7_ORU = "HL7_ORU"
    FHIR_REPORT = "FHIR_REPORT"
    ARCHIVE_FORWARD = "ARCHIVE_FORWARD"
    #: Storage Commitment (PS3.4 Annex J): our N-EVENT-REPORT to a peer that asked; our N-ACTION to the archive.
    STGCMT_REPORT = "STGCMT_REPORT"
    STGCMT_REQUEST = "STGCMT_REQUEST"


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


#: Longest response text kept per attempt (the rest is cut): enough to read an error, bounded for the table.
RESPONSE_CHARS = 4000


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt looked like, in words that fit any protocol (HTTP, MLLP, C-STORE, SQL).

    Stored as one RAI_TASK_ATTEMPT row: ``target`` is where it went (a URL, ``AE@host:port``),
    ``status_text`` the far side's answer in its own terms (``HTTP 422 Unprocessable Entity``,
    ``0xA700``, ``AE``), ``response`` a bounded excerpt of what it sent back. ``http_status`` is filled
    by HTTP deliveries only (DBAs query it).
    """

    target: str | None = None
    status_text: str | None = None
    latency_ms: int | None = None
    response: str | None = None
    http_status: int | None = None

    def __post_init__(self) -> None:
        if self.response is not None and len(self.response) > RESPONSE_CHARS:
            object.__setattr__(self, "response", self.response[:RESPONSE_CHARS])


@dataclass(frozen=True)
class Outcome:
    """What a handler reports; the queue decides what follows (dcm4chee's TaskProcessor contract).

    DONE ends the task; FAILED ends it as failed; RETRY schedules it again after ``retry_after`` seconds
    when the handler knows better (a peer's Retry-After), otherwise after the kind's retry policy, and
    fails it once the policy gives up. Expected results come back as values; only the unexpected raises.
    """

    kind: OutcomeKind
    error: str | None = None
    attempt: Attempt = field(default_factory=Attempt)
    retry_after: float | None = None

    @classmethod
    def done(cls, attempt: Attempt | None = None) -> Outcome:
        return cls(OutcomeKind.DONE, attempt=attempt or Attempt())

    @classmethod
    def retry(cls, error: str, attempt: Attempt | None = None, after: float | None = None) -> Outcome:
        return cls(OutcomeKind.RETRY, error=error, attempt=attempt or Attempt(), retry_after=after)

    @classmethod
    def failed(cls, error: str, attempt: Attempt | None = None) -> Outcome:
        return cls(OutcomeKind.FAILED, error=error, attempt=attempt or Attempt())

    @property
    def http_status(self) -> int | None:
        return self.attempt.http_status

    @property
    def latency_ms(self) -> int | None:
        return self.attempt.latency_ms

    @property
    def response_body(self) -> str | None:
        return self.attempt.response


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
