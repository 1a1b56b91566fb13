"""The worker: claim a batch, run each task's handler, record all outcomes in one transaction.

Recording a batch at once keeps the database cost per task low (one commit per batch); a crash before
that commit means the tasks run again after their lease expires, which the peer recognises by the
idempotency key. On stop, tasks claimed but not started are handed back at once.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from ris_ai_module.config.schema import WorkerConfig
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import task as task_table
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Outcome, Task, TaskStatus
from ris_ai_module.tasks.registry import HandlerRegistry

log = logging.getLogger(__name__)


class Worker:
    """``worker.threads`` threads draining RAI_TASK; a component of ``run``.

    ``stop`` ends the loops (shared with the rest of the process); ``wake`` cuts the idle wait short
    (a PostgreSQL NOTIFY, a new SR stored by the SCP).
    """

    name = "worker"

    def __init__(self, engine: Engine, cfg: WorkerConfig, owner: str, handlers: HandlerRegistry,
                 stop: threading.Event | None = None, wake: threading.Event | None = None,
                 only: ColumnElement[bool] | None = None) -> None:
        self.engine = engine
        self.only = only  # a further claim condition: this instance's campuses
        self.cfg = cfg
        self.owner = owner
        self.handlers = handlers
        self.stop_event = stop if stop is not None else threading.Event()
        self.wake = wake if wake is not None else threading.Event()
        self.threads: list[threading.Thread] = []
        self._last_purge = 0.0

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._loop, args=(i == 0,), name=f"rai-worker-{i}", daemon=True)
                        for i in range(self.cfg.threads)]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, purges: bool) -> None:
        """One worker thread; the first one also purges old tasks now and then."""
        while not self.stop_event.is_set():
            try:
                worked = self.run_once()
                if purges:
                    self._maybe_purge()
            except DBAPIError as exc:  # an outage or a deadlock: one line for the on-call engineer, then retry
                log.error("database error in the worker loop (%s); retrying in 5 s",
                          str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__,
                          extra={"action": "worker_db_error"})
                self.stop_event.wait(5)
                continue
            except Exception:  # the loop must survive anything; the traceback is for the developers
                log.exception("worker loop error; retrying in 5 s", extra={"action": "worker_error"})
                self.stop_event.wait(5)
                continue
            if not worked:
                self.wake.wait(float(self.cfg.idle_wait))
                self.wake.clear()

    def run_once(self, task_ids: Sequence[int] | None = None) -> int:
        """Claim and run one batch; returns how many tasks were claimed.

        ``task_ids`` restricts the claim to those tasks (the CLI's ``push`` runs its own task at once).
        """
        claimed = queue.claim(self.engine, self.owner, float(self.cfg.lease), self.cfg.batch_size,
                              self.handlers.kinds(), task_ids=task_ids, only=self.only)
        if not claimed:
            return 0
        self._prepare(claimed)
        claimed_at = time.monotonic()
        finished: list[queue.Finished] = []
        for i, task in enumerate(claimed):
            # Hand the rest back on stop, or when half the lease is gone (a slow AI host): the outcomes so
            # far are then recorded well within the lease, and no task waits behind slow ones while
            # another worker could take it.
            if self.stop_event.is_set() or time.monotonic() - claimed_at > float(self.cfg.lease) / 2:
                release(self.engine, self.owner, claimed[i:])
                break
            started = utcnow()
            finished.append(queue.Finished(task, self.run_task(task), started))
        queue.record_outcomes(self.engine, self.owner, finished, self.handlers.retry_policy)
        return len(claimed)

    def _prepare(self, claimed: list[Task]) -> None:
        """Batch preparation is an optimisation: its failure only leaves the work to each handler."""
        for kind, preparer in self.handlers.preparers():
            batch = [t for t in claimed if t.kind == kind]
            if batch:
                try:
                    preparer.prepare(batch)
                except Exception:
                    log.exception("preparing %d %s tasks failed", len(batch), kind)

    def run_task(self, task: Task) -> Outcome:
        """An unexpected exception is a RETRY with its text; the traceback goes to the log only."""
        try:
            return self.handlers.get(task.kind).handle(task)
        except Exception as exc:
            log.error("task %s (%s) raised:\n%s", task.task_id, task.kind, traceback.format_exc(),
                      extra={"action": "task_exception", "task_id": task.task_id})
            return Outcome.retry(f"{type(exc).__name__}: {exc}"[:500])

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._last_purge < float(self.cfg.purge_interval):
            return
        self._last_purge = time.monotonic()
        now = utcnow()
        with self.engine.begin() as conn:
            n = queue.purge(conn, now - timedelta(seconds=float(self.cfg.purge_done_after)),
                            now - timedelta(seconds=float(self.cfg.purge_failed_after)))
        if n:
            log.info("purged %d finished tasks", n, extra={"action": "tasks_purged"})


def release(engine: Engine, owner: str, tasks: list[Task]) -> None:
    """Hand claimed-but-unstarted tasks back (stop requested): SCHEDULED again, the attempt not counted."""
    with engine.begin() as conn:
        for t in tasks:
            conn.execute(
                update(task_table)
                .where(task_table.c.task_id == t.task_id, task_table.c.status == TaskStatus.IN_PROCESS.value,
                       task_table.c.lease_owner == owner)
                .values(status=TaskStatus.SCHEDULED.value, attempts=task_table.c.attempts - 1,
                        lease_owner=None, lease_expires_at=None, updated_at=utcnow())
            )
