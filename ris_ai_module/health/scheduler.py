"""The health component of ``run``: APScheduler 3 jobs for the checks, their results' retention and the daily
report. (Storage retention and the audit purge are not health's: ``ris_ai_module.housekeeping`` runs them
whether or not ``health.enabled``.)

APScheduler settings, chosen on purpose:

* ``MemoryJobStore``, jobs defined in code with fixed ids at every start. A persistent job store cannot be
  shared by several processes (APScheduler FAQ) and would need picklable callables; what must happen only
  once is guarded by the database instead (the RAI_LEASE leader lease for all jobs, RAI_REPORT_SENT for the
  daily report).
* ``coalesce=True``: after a stall (suspended VM, long GC, database failover) the missed runs of a check
  collapse into one. Ten C-ECHOs back to back tell nothing one does not.
* ``misfire_grace_time`` = the job's interval: a run that starts late by less than one interval still runs.
  APScheduler's default of 1 second would silently skip checks whenever the thread pool is busy; later
  than one interval, the next regular run is as good.
* ``max_instances=1``: a round that waits on a black-holed peer (up to its timeouts) must not overlap with
  the next round against the same peer; APScheduler logs the skipped run.
* The daily report is an interval job asking "is today's report due and not yet sent?" rather than a cron
  trigger at ``report_time``: a cron run is lost when the process is down or restarting at that minute,
  the due-check sends it after any restart, and RAI_REPORT_SENT keeps it to once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from ris_ai_module.db.clock import display_zone, utcnow
from ris_ai_module.health import store
from ris_ai_module.health.alerts import AlertEngine
from ris_ai_module.health.channels import Notifier
from ris_ai_module.health.daily import due_day, send_daily_report
from ris_ai_module.health.kinds import CHECK_KINDS
from ris_ai_module.health.lease import SCHEDULER_LEASE, Lease
from ris_ai_module.health.runner import run_round
from ris_ai_module.services import Running

log = logging.getLogger(__name__)

PURGE_INTERVAL = 6 * 3600.0


class HealthScheduler:
    """Component: ``start()`` schedules the jobs, ``stop()`` waits for running rounds and releases the lease."""

    name = "health"

    def __init__(self, ctx: Running, clock: Callable[[], datetime] | None = None) -> None:
        self.ctx = ctx
        self.cfg = ctx.config.health
        zone = display_zone(ctx.config.module.timezone)
        # the wall clock of module.timezone (naive), for the report's due time: its days are the report's days
        self.clock = clock or (lambda: datetime.now(zone).replace(tzinfo=None))
        self.lease = Lease(ctx.engine, SCHEDULER_LEASE, ctx.owner, self.cfg.lease)
        self.notifier = Notifier(ctx.config)
        a = ctx.config.alerts
        self.alerts = AlertEngine(ctx.engine, a.fail_threshold, a.throttle, self.notifier.deliver)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=zone,
        )

    def jobs(self) -> list[tuple[str, float, Callable[[], Any]]]:
        """(id, interval seconds, function) of every job."""
        c = self.cfg
        return [
            ("health.lease", max(1.0, c.lease / 3), self.lease.acquire),
            *((f"health.{k.name.lower()}", k.interval(c), self._leader(self._round_of(k.name))) for k in CHECK_KINDS),
            ("health.report", c.report_check_interval, self._leader(self.report_if_due)),
            ("health.purge", PURGE_INTERVAL, self._leader(self.purge)),
        ]

    def _round_of(self, kind: str) -> Callable[[], Any]:
        return lambda: run_round(self.ctx, kind, self.alerts.observe)

    def start(self) -> None:
        first = datetime.now().astimezone() + timedelta(seconds=1)
        for job_id, interval, func in self.jobs():
            self.scheduler.add_job(
                func, "interval", seconds=interval, id=job_id, name=job_id, replace_existing=True,
                misfire_grace_time=max(1, int(interval)), next_run_time=first,
            )
        self.scheduler.start()
        log.info("health scheduler started (%d jobs)", len(self.jobs()), extra={"action": "health_started"})

    def stop(self, timeout: float = 30.0) -> None:
        """Running rounds are bounded by their timeouts; then the lease goes to another instance at once."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lease.release()

    def report_if_due(self) -> bool:
        day = due_day(self.clock(), self.cfg.report_time)
        if day is None:
            return False
        return send_daily_report(self.ctx.config, self.ctx.engine, self.ctx.owner, day, self.notifier)

    def purge(self) -> int:
        """Check results past ``health.retention``."""
        with self.ctx.engine.begin() as conn:
            n = store.purge(conn, utcnow() - timedelta(seconds=self.cfg.retention))
        if n:
            log.info("purged %d check results older than %s", n, timedelta(seconds=self.cfg.retention),
                     extra={"action": "checks_purged"})
        return n

    def _leader(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Run ``func`` only on the instance holding the lease; log (not raise) its errors."""

        def job() -> Any:
            if self.ctx.stop.is_set() or not self.lease.held():
                return None
            try:
                return func()
            except Exception:  # noqa: BLE001 - logged; the next run tries again
                log.exception("health job failed", extra={"action": "health_job_error"})
                return None

        return job


def make_component(ctx: Running) -> HealthScheduler | None:
    return HealthScheduler(ctx) if ctx.config.health.enabled else None
