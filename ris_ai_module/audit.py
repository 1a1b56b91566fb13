"""RAI_AUDIT, the one audit trail of the HTTP API, the status page and the CLI (等保 安全审计).

Two ways in, one table:

* ``write()`` commits the row before it returns. State changes, refusals and security events (failed
  logins, lockouts, forbidden actions) use it: an action is never done without its record.
* ``record()`` queues a row for the writer thread, which commits the queue in one transaction at most
  ``flush_interval`` (≤ 1 s) later. Reads of patient data (who searched what, who opened which exam) use
  it, so that a look-up does not wait for a commit of its own. While the database is unreachable the rows
  stay queued (up to ``MAX_QUEUED``; beyond it the oldest are dropped and the count logged) and are
  written when it answers again.

The module's database account may only INSERT and SELECT audit rows (``sql/<dialect>/40_grants.sql``);
rows leave only through ``purge()``, which calls the ``RAI_AUDIT_PURGE`` procedure the migration created.
That procedure runs with its owner's rights and deletes nothing younger than 180 days (网络安全法: six
months), whatever it is asked. SQLite has no accounts; there ``purge()`` deletes directly.
"""

from __future__ import annotations

import getpass
import logging
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.audit_section import MIN_RETENTION_DAYS
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import name_of, procedure_call
from ris_ai_module.db.tables import audit as audit_table

log = logging.getLogger(__name__)

#: Rows kept in memory while the database does not answer (about 1 KB each).
MAX_QUEUED = 50_000
#: The procedure the migration creates (owner's rights; deletes only rows older than 180 days).
PURGE_PROCEDURE = "rai_audit_purge"


@dataclass(frozen=True)
class AuditEvent:
    """One row of RAI_AUDIT. ``source`` says where: ``cli:<host>``, ``http:<client address>``, ``scp``."""

    actor: str
    source: str
    action: str
    target: str | None = None
    detail: str | None = None
    ok: bool = True
    at: datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, Any]:
        return {"audit_at": self.at, "actor": _clean(self.actor or "-")[:100], "source": _clean(self.source or "-")[:40],
                "action": _clean(self.action)[:40], "target": _clean(self.target or "")[:200] or None,
                "detail": _clean(self.detail or "")[:1000] or None, "ok": 1 if self.ok else 0}


def _clean(text: str) -> str:
    """Control characters as visible escapes: a NUL sent by a client must not make the row unwritable
    (PostgreSQL refuses NUL in text) nor forge line breaks in an export."""
    return "".join(c if ord(c) >= 32 and ord(c) != 127 else f"\\x{ord(c):02x}" for c in text)


def insert(conn: Connection, events: list[AuditEvent]) -> None:
    """Insert events in the caller's transaction (one statement for many rows)."""
    if events:
        conn.execute(audit_table.insert(), [e.row() for e in events])


def cli_actor() -> tuple[str, str]:
    """(actor, source) of a CLI command: the operating-system account on this host."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a service account without passwd entry)
        user = "-"
    return user, f"cli:{socket.gethostname()}"


class AuditLog:
    """Writes audit rows: synchronously (``write``) or batched within ``flush_interval`` (``record``)."""

    def __init__(self, engine: Engine, flush_interval: float = 0.5) -> None:
        self.engine = engine
        self.flush_interval = float(flush_interval)
        self._queue: deque[AuditEvent] = deque()
        self._in_flight = 0  # taken by a flush, not yet committed (still pending)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time keeps the rows in order
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    # ------------------------------------------------------------------ writing
    def write(self, event: AuditEvent) -> None:
        """Commit ``event`` (after anything still queued) before returning; raises if the database fails."""
        with self._flush_lock:
            pending = self._take()
            try:
                with self.engine.begin() as conn:
                    insert(conn, [*pending, event])
            except Exception:
                self._put_back(pending)
                raise
            self._landed(pending)

    def record(self, event: AuditEvent) -> None:
        """Queue ``event``; the writer thread commits it within ``flush_interval``."""
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self._queue.popleft()
                self.dropped += 1
                if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                    log.error("audit queue full (database unreachable?): %d oldest rows dropped", self.dropped,
                              extra={"action": "audit_dropped"})
            self._queue.append(event)
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="rai-audit", daemon=True)
                self._thread.start()

    def flush(self) -> int:
        """Commit what is queued now; return how many rows were written (0 if the database failed)."""
        with self._flush_lock:
            pending = self._take()
            if not pending:
                return 0
            try:
                with self.engine.begin() as conn:
                    insert(conn, pending)
            except Exception as exc:  # noqa: BLE001 - keep the rows, try again next round
                self._put_back(pending)
                log.warning("audit rows not written yet (%d queued): %s", len(pending), str(exc).splitlines()[0],
                            extra={"action": "audit_retry"})
                return 0
            self._landed(pending)
            return len(pending)

    def pending(self) -> int:
        """Rows not committed yet, a flush's rows in flight included (a failing flush keeps them)."""
        with self._lock:
            return len(self._queue) + self._in_flight

    def close(self, timeout: float = 5.0) -> None:
        """Stop the writer thread after a last flush."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()

    # ------------------------------------------------------------------ internals
    def _take(self) -> list[AuditEvent]:
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
            self._in_flight += len(taken)
        return taken

    def _landed(self, events: list[AuditEvent]) -> None:
        with self._lock:
            self._in_flight -= len(events)

    def _put_back(self, events: list[AuditEvent]) -> None:
        with self._lock:
            self._in_flight -= len(events)
            self._queue.extendleft(reversed(events))
            while len(self._queue) > MAX_QUEUED:
                self._queue.popleft()
                self.dropped += 1

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()


def purge(engine: Engine, retention: timedelta) -> int:
    """Delete audit rows older than ``retention`` (at least 180 days); return how many went.

    On PostgreSQL, MySQL/MariaDB and Oracle through RAI_AUDIT_PURGE (the module's account has no DELETE on
    RAI_AUDIT); the procedure applies the 180-day floor itself.
    """
    days = max(MIN_RETENTION_DAYS, int(retention.total_seconds() // 86400))
    cutoff = utcnow() - timedelta(days=days)
    dialect = name_of(engine)
    with engine.begin() as conn:
        count = int(conn.execute(select(func.count()).select_from(audit_table)
                                 .where(audit_table.c.audit_at < cutoff)).scalar() or 0)
        if not count:
            return 0
        if dialect == "sqlite":
            conn.execute(audit_table.delete().where(audit_table.c.audit_at < cutoff))
        else:
            conn.execute(procedure_call(dialect, PURGE_PROCEDURE, ["days"]), {"days": days})
    log.info("purged %d audit rows older than %d days", count, days, extra={"action": "audit_purged"})
    return count
