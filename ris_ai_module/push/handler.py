"""Task handler for EXAM_PUSH: read the exam fresh from RAI_V_EXAM, build the body, send it."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

from sqlalchemy.engine import Connection, Engine

from ris_ai_module.config.schema import PushConfig
from ris_ai_module.db.ris import exams_with_study_uids, get_exam, study_uid_for
from ris_ai_module.errors import NotFound
from ris_ai_module.hooks import NO_HOOKS, Hooks
from ris_ai_module.log import phi_id
from ris_ai_module.push.client import PushClient
from ris_ai_module.push.payload import build_payload
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

log = logging.getLogger(__name__)
_local = threading.local()


def request_push(conn: Connection, exam_key: str, by: str) -> int:
    """A deliberate re-delivery (CLI ``push``, API resend): a new task, so a new idempotency key."""
    if get_exam(conn, exam_key) is None:
        raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    return queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key=exam_key, payload={"manual": True, "by": by})


class ExamPushHandler:
    """EXAM_PUSH: DONE on 2xx; RETRY on 408/429/5xx/network errors; FAILED on other 4xx or an exam the
    view lacks. Retries by ``[push.retry]``."""

    kind = TaskKind.EXAM_PUSH

    def __init__(self, engine: Engine, cfg: PushConfig, hooks: Hooks = NO_HOOKS) -> None:
        self.engine = engine
        self.cfg = cfg
        self.hooks = hooks
        self.retry_policy = RetryPolicy.from_config(cfg.retry)

    def _client(self) -> PushClient:
        """One keep-alive session per worker thread (requests.Session is not thread-safe)."""
        client = getattr(_local, "client", None)
        if client is None or client.cfg is not self.cfg:
            client = _local.client = PushClient(self.cfg)
        return client

    def prepare(self, batch: Sequence[Task]) -> None:
        """Before a batch: read its exams fresh from RAI_V_EXAM and generate missing UIDs, in one transaction.

        The result is kept for this worker thread only and consumed by ``handle`` moments later.
        """
        with self.engine.begin() as conn:
            _local.prepared = exams_with_study_uids(conn, sorted({t.exam_key for t in batch if t.exam_key}))

    def handle(self, task: Task) -> Outcome:
        if not task.exam_key:
            return Outcome.failed("task has no exam_key")
        prepared = getattr(_local, "prepared", {}).pop(task.exam_key, None)
        if prepared is not None:
            exam, study_uid = prepared
        else:
            with self.engine.begin() as conn:
                exam = get_exam(conn, task.exam_key)
                if exam is None:
                    return Outcome.failed(f"exam {task.exam_key} is not in RAI_V_EXAM")
                study_uid = study_uid_for(conn, exam)
        body = build_payload(exam, study_uid, self.cfg)
        if self.hooks.has("build_push_payload"):
            body = self.hooks.amend_payload(dataclasses.asdict(exam), body)
        outcome = self._client().send(body, task.task_uuid)
        log.info(
            "exam %s (patient %s) push attempt %d: %s%s", task.exam_key, phi_id(exam.patient_id), task.attempts,
            outcome.kind.value, f" ({outcome.error})" if outcome.error else "",
            extra={"action": "exam_push", "task_id": task.task_id},
        )
        return outcome
