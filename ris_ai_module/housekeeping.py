"""The ``housekeeping`` component of ``run``: the leader's periodic clean-up that must run whatever else is on.

Storage retention (``storage.keep_for`` > 0: delete the files of done objects, ``storage.purge_batch`` per
``storage.purge_interval``), the audit trail's purge by age (``audit.retention``) and the Storage Commitment
records kept as long, and the refused associations (RAI_ASSOC_REJECT, ``audit.reject_retention``). These used to ride the health scheduler, so a hospital that set ``health.enabled = false``
filled its disk (and kept audit rows past their time). Now they have their own component and their own leader
lease (RAI_LEASE ``housekeeping``): of several instances on one database exactly one runs them, and an instance
without health checks never takes the health scheduler's lease (which would stop the checks of the others).

One thread ticks every third of the lease time: it renews (or takes) the lease, and the leader runs each job
that is due. A job's error is logged and it runs again at its next time; a new leader runs every job at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ris_ai_module import audit
from ris_ai_module.db.clock import utcnow
from ris_ai_module.dicom import reject_purge, stgcmt_purge
from ris_ai_module.health.lease import Lease
from ris_ai_module.services import Running

log = logging.getLogger(__name__)

HOUSEKEEPING_LEASE = "housekeeping"
#: The audit / Storage Commitment purge: a few times a day is plenty (rows are kept for months).
AUDIT_PURGE_INTERVAL = 6 * 3600.0


def retention_on(config: Any) -> bool:
    """Storage retention runs: ``storage.keep_for`` > 0 (``config check`` and the start-up log say so)."""
    return float(config.storage.keep_for) > 0


def retention_summary(config: Any) -> str:
    """One line for ``config check`` and the start-up log: is retention on, and how it runs."""
    s = config.storage
    if not retention_on(config):
        return "storage retention: off (storage.keep_for = 0): every received file is kept"
    return (f"storage retention: on, files kept {_span(float(s.keep_for))} after their object is done; "
            f"at most {s.purge_batch} deleted every {_span(float(s.purge_interval))} "
            f"(the housekeeping leader; independent of health.enabled)")


def _span(seconds: float) -> str:
    """30d, 12h, 90m: as a configuration writes it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class Housekeeping:
    """Component: ``start()`` / ``stop(timeout)``; ``tick()`` is one round (tests call it directly)."""

    name = "housekeeping"

    def __init__(self, ctx: Running, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.clock = clock
        self.lease = Lease(ctx.engine, HOUSEKEEPING_LEASE, ctx.owner, float(ctx.config.health.lease))
        self._purger: Any = None
        self._due: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def jobs(self) -> list[tuple[str, float, Callable[[], Any]]]:
        """(id, interval seconds, function) of every job."""
        storage = self.ctx.config.storage
        return [
            *((("storage.retention", float(storage.purge_interval), self.retention),) if retention_on(self.ctx.config)
              else ()),
            ("audit.purge", AUDIT_PURGE_INTERVAL, self.purge_audit),
            ("assoc_reject.purge", AUDIT_PURGE_INTERVAL, self.purge_rejections),
        ]

    def retention(self) -> int:
        """Storage retention: delete the files of done objects, at most storage.purge_batch per run."""
        if self._purger is None:
            from ris_ai_module.retention.purge import Purger

            self._purger = Purger(self.ctx.engine, self.ctx.config)  # type: ignore[arg-type]
        return int(self._purger.run_once().purged)

    def purge_audit(self) -> int:
        """Audit rows past ``audit.retention`` (through RAI_AUDIT_PURGE where the account may not DELETE), and the
        Storage Commitment records, kept as long as the audit trail."""
        keep = timedelta(seconds=float(self.ctx.config.audit.retention))
        n = audit.purge(self.ctx.engine, keep)
        with self.ctx.engine.begin() as conn:
            n += stgcmt_purge.purge(conn, utcnow() - keep)
        return n

    def purge_rejections(self) -> int:
        """RAI_ASSOC_REJECT rows past ``audit.reject_retention`` (a flood of refused associations is bounded)."""
        keep = timedelta(seconds=float(self.ctx.config.audit.reject_retention))
        with self.ctx.engine.begin() as conn:
            return reject_purge.purge(conn, utcnow() - keep)

    def tick(self) -> list[str]:
        """Renew the lease; on the leader, run the jobs that are due. Returns the ids of the jobs run."""
        if not self.lease.acquire():
            self._due.clear()  # not the leader: when this instance takes over, it runs every job at once
            return []
        ran = []
        now = self.clock()
        for job_id, interval, func in self.jobs():
            if self.ctx.stop.is_set() or self._stop.is_set():
                break
            if now < self._due.get(job_id, now):
                continue
            self._due[job_id] = now + interval
            ran.append(job_id)
            try:
                func()
            except Exception:  # noqa: BLE001 - logged; it runs again at its next time
                log.exception("housekeeping job %s failed", job_id, extra={"action": "housekeeping_error"})
        return ran

    @property
    def tick_interval(self) -> float:
        return max(1.0, float(self.ctx.config.health.lease) / 3)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rai-housekeeping", daemon=True)
        self._thread.start()
        log.info("housekeeping started: %s", retention_summary(self.ctx.config), extra={"action": "housekeeping_started"})

    def _loop(self) -> None:
        while not (self._stop.is_set() or self.ctx.stop.is_set()):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a database outage must not end the thread
                log.exception("housekeeping round failed", extra={"action": "housekeeping_error"})
            if self._stop.wait(self.tick_interval):
                return

    def stop(self, timeout: float = 30.0) -> None:
        """A running job finishes (bounded by purge_batch); then the lease goes to another instance at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.lease.release()


def make_component(ctx: Running) -> Housekeeping:
    """Always built: the audit trail's purge by age runs on every configuration (retention only where on)."""
    return Housekeeping(ctx)
