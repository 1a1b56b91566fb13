"""A named lease in RAI_LEASE: which of several module instances on one database runs the scheduled jobs.

The holder renews it well before ``expires_at``; when the holder dies, the lease expires and the next
instance that asks takes it over. Taking and renewing are one guarded UPDATE
(``WHERE lease_name = :n AND (owner = :me OR expires_at < :now)``) checked for rowcount == 1, so two
instances can never both believe they hold it for the same period; the first holder ever INSERTs
the row and a loser gets the unique-key error. Clocks of the instances must agree to well within the
lease time (NTP, which a hospital network has).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import case, insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import lease

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"


class Lease:
    """One instance's view of one lease. Thread-safe; ``held()`` is cheap and asks the database only when due."""

    def __init__(self, engine: Engine, name: str, owner: str, ttl: float) -> None:
        self.engine, self.name, self.owner, self.ttl = engine, name, owner[:100], float(ttl)
        self._lock = threading.Lock()
        self._renewed_at: float | None = None  # time.monotonic() of the last successful take/renew

    def held(self) -> bool:
        """True while this instance holds the lease; renews it when a third of the time has passed."""
        with self._lock:
            now = time.monotonic()
            if self._renewed_at is not None and now - self._renewed_at < self.ttl / 3:
                return True
            return self._acquire_locked()

    def acquire(self) -> bool:
        """Take or renew now (the periodic lease job)."""
        with self._lock:
            return self._acquire_locked()

    def release(self) -> None:
        """On a clean stop, let another instance take over at once instead of after the lease time."""
        with self._lock:
            was_held = self._renewed_at is not None
            self._renewed_at = None
            if not was_held:
                return
            past = utcnow() - timedelta(seconds=1)
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(lease).where(lease.c.lease_name == self.name, lease.c.owner == self.owner)
                                 .values(expires_at=past))
            except Exception:  # noqa: BLE001 - it expires by itself anyway
                log.warning("could not release lease %s", self.name, exc_info=True)
            log.info("lease %s released", self.name, extra={"action": "lease_released"})

    def _acquire_locked(self) -> bool:
        started = time.monotonic()
        was_held = self._renewed_at is not None
        try:
            ok = self._take()
        except Exception:  # noqa: BLE001 - a database outage means: not the leader now
            log.warning("lease %s: database unreachable", self.name, exc_info=True, extra={"action": "lease_error"})
            ok = False
        if ok:
            self._renewed_at = started
            if not was_held:
                log.info("lease %s taken by %s", self.name, self.owner, extra={"action": "lease_taken"})
        else:
            self._renewed_at = None
            if was_held:
                log.warning("lease %s lost", self.name, extra={"action": "lease_lost"})
        return ok

    def _take(self) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.ttl)
        with self.engine.begin() as conn:
            res = conn.execute(
                update(lease)
                .where(lease.c.lease_name == self.name, or_(lease.c.owner == self.owner, lease.c.expires_at < now))
                .values(
                    owner=self.owner, expires_at=until,
                    acquired_at=case((lease.c.owner == self.owner, lease.c.acquired_at), else_=now),
                )
            )
            if res.rowcount == 1:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(lease).values(lease_name=self.name, owner=self.owner, acquired_at=now, expires_at=until))
            return True
        except IntegrityError:
            return False  # the row exists and somebody else holds it
