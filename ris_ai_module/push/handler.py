"""Task handler for EXAM_PUSH: read the exam fresh from RAI_V_EXAM, build the body, send it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine

from ris_ai_module.config.view import CANONICAL_COLUMNS
from ris_ai_module.db.ris import exams_with_study_uids, get_exam, optional_columns, study_uid_for
from ris_ai_module.errors import NotFound
from ris_ai_module.hooks import NO_HOOKS, Hooks
from ris_ai_module.log import phi_id
from ris_ai_module.push.client import PushClient
from ris_ai_module.push.fanout import HOST_KEY, exam_columns, fan_out
from ris_ai_module.push.payload import build_payload
from ris_ai_module.push.routing import route
from ris_ai_module.push.section import PushConfig
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
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
        self._optional = sorted({c.column for r in cfg.routes for c in r.when
                                 if c.column.upper() not in CANONICAL_COLUMNS})

    def _client(self, host: str) -> PushClient:
        """One keep-alive session per host and worker thread (requests.Session is not thread-safe)."""
        clients = getattr(_local, "clients", None)
        if clients is None or getattr(_local, "push_cfg", None) is not self.cfg:
            clients = _local.clients = {}
            _local.push_cfg = self.cfg
        client = clients.get(host)
        if client is None:
            client = clients[host] = PushClient(self.cfg.host(host))  # type: ignore[arg-type]
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
        host = task.payload.get(HOST_KEY)
        exam_dict: dict[str, Any] | None = None  # the exam as a dict, made once (routing, the payload hook)
        if host is None:  # an exam start not routed yet: decide its host(s) now
            exam_dict = exam_columns(exam)
            columns = exam_dict
            if self._optional:  # rules on columns the DBA added (the campus …): one more read
                with self.engine.connect() as conn:
                    columns = {**exam_dict, **optional_columns(conn, task.exam_key, self._optional)}
            decision = route(columns, self.cfg.routes, self.cfg.default_hosts)
            if not decision.hosts:
                log.info("exam %s: no routing rule sends it to an AI host (push.default_hosts is empty)",
                         task.exam_key, extra={"action": "exam_push", "task_id": task.task_id})
                return Outcome.done(Attempt(target="(no AI host)", status_text="not routed"))
            if len(decision.hosts) > 1:
                with self.engine.begin() as conn:
                    queued = fan_out(conn, task.task_uuid or str(task.task_id), task.exam_key, decision.hosts,
                                     decision.reason, task.task_id)
                log.info("exam %s routed by %s to %s (%d new tasks)", task.exam_key, decision.reason,
                         ", ".join(decision.hosts), len(queued),
                         extra={"action": "exam_route", "task_id": task.task_id})
                return Outcome.done(Attempt(target=", ".join(decision.hosts),
                                            status_text=f"routed by {decision.reason}: one task per host"))
            host = decision.hosts[0]
        elif host not in self.cfg.host_names():
            return Outcome.failed(f"AI host {host!r} is no longer configured (push.hosts)")
        body = build_payload(exam, study_uid, self.cfg.host(host))  # type: ignore[arg-type]
        if self.hooks.has("build_push_payload"):
            body = self.hooks.amend_payload(exam_columns(exam) if exam_dict is None else exam_dict, body)
        outcome = self._client(host).send(body, task.task_uuid)
        log.info(
            "exam %s (patient %s) push to %s attempt %d: %s%s", task.exam_key, phi_id(exam.patient_id), host,
            task.attempts, outcome.kind.value, f" ({outcome.error})" if outcome.error else "",
            extra={"action": "exam_push", "task_id": task.task_id},
        )
        return outcome
