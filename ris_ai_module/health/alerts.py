"""Alert state per target (RAI_ALERT_STATE): DOWN after N consecutive failures, RECOVERED on the next success.

Rules, in ``step`` and ``due`` (pure functions, unit-tested without a database):

* A target is UP until ``alerts.fail_threshold`` consecutive checks failed; then DOWN. One success makes it UP.
* Each change of state is announced once: the row remembers the state last announced (``sent_state``).
* Throttling: a RECOVERED is announced at once (it closes the incident IT is working on); a DOWN is
  announced only when ``alerts.throttle`` has passed since the last message about that target. A flapping
  link thus yields at most two messages per throttle period, and the state it ends in is always announced
  (the next check after the throttle period sends it, with the number of changes in between).
* A message is marked sent only after a channel delivered it; a failed delivery is tried again with the
  next check of that target.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import alert_state
from ris_ai_module.health.checks import CheckResult

log = logging.getLogger(__name__)

UP, DOWN = "UP", "DOWN"
EV_DOWN, EV_RECOVERED = "DOWN", "RECOVERED"


@dataclass(frozen=True)
class TargetState:
    """A row of RAI_ALERT_STATE."""

    target: str
    kind: str
    state: str = UP
    fail_count: int = 0
    changed_at: datetime | None = None
    last_error: str | None = None
    sent_state: str = UP
    sent_at: datetime | None = None
    changes: int = 0


@dataclass(frozen=True)
class Alert:
    """A change of state to announce. Times are naive UTC."""

    event: str  # DOWN or RECOVERED
    target: str
    kind: str
    at: datetime
    since: datetime | None  # when the target went into the announced state
    fail_count: int
    error: str | None
    changes: int  # state changes since the previous message (> 1 when it flapped)


def step(st: TargetState, ok: bool, error: str | None, threshold: int, now: datetime) -> TargetState:
    """The state after one more check result."""
    if ok:
        if st.state == DOWN:
            return dataclasses.replace(st, state=UP, fail_count=0, changed_at=now, changes=st.changes + 1)
        return dataclasses.replace(st, fail_count=0)
    failed = st.fail_count + 1
    if st.state == UP and failed >= threshold:
        return dataclasses.replace(st, state=DOWN, fail_count=failed, changed_at=now, last_error=error,
                                   changes=st.changes + 1)
    return dataclasses.replace(st, fail_count=failed, last_error=error)


def due(st: TargetState, throttle: float, now: datetime) -> bool:
    """Whether the current state should be announced now."""
    if st.state == st.sent_state:
        return False
    if st.state == UP:
        return True
    return st.sent_at is None or (now - st.sent_at).total_seconds() >= throttle


def alert_for(st: TargetState, now: datetime) -> Alert:
    return Alert(EV_DOWN if st.state == DOWN else EV_RECOVERED, st.target, st.kind, now, st.changed_at,
                 st.fail_count, st.last_error, st.changes)


#: Delivers one alert; True when at least one channel took it.
Deliver = Callable[[Alert], bool]


class AlertEngine:
    """Feeds check results through ``step`` and announces what ``due`` says, via ``deliver``."""

    def __init__(self, engine: Engine, threshold: int, throttle: float, deliver: Deliver,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.threshold, self.throttle, self.deliver, self.clock = engine, threshold, throttle, deliver, clock

    def observe(self, results: Sequence[CheckResult]) -> list[Alert]:
        """Update the state of each result's target; returns the alerts delivered."""
        now = self.clock()
        pending: list[tuple[TargetState, Alert]] = []
        with self.engine.begin() as conn:
            for r in results:
                old = _load(conn, r.target)
                new = step(old or TargetState(r.target, r.kind, changed_at=now), r.ok,
                           (r.error or "")[:1000] or None, self.threshold, now)
                _save(conn, old, new)
                if due(new, self.throttle, now):
                    pending.append((new, alert_for(new, now)))
        delivered = []
        for st, alert in pending:
            try:
                ok = self.deliver(alert)
            except Exception:  # noqa: BLE001 - a channel bug must not stop the checks
                log.exception("alert delivery failed", extra={"action": "alert_error"})
                ok = False
            if ok:
                with self.engine.begin() as conn:
                    _mark_sent(conn, st, now)
                delivered.append(alert)
        return delivered


def states(conn: Connection) -> list[TargetState]:
    return [_from_row(r) for r in conn.execute(select(alert_state).order_by(alert_state.c.target))]


def _from_row(row: object) -> TargetState:
    m = row._mapping  # type: ignore[attr-defined]
    return TargetState(m["target"], m["kind"], m["state"], m["fail_count"], m["changed_at"], m["last_error"],
                       m["sent_state"], m["sent_at"], m["changes"])


def _load(conn: Connection, target: str) -> TargetState | None:
    row = conn.execute(select(alert_state).where(alert_state.c.target == target)).first()
    return None if row is None else _from_row(row)


def _save(conn: Connection, old: TargetState | None, new: TargetState) -> None:
    values = {"kind": new.kind, "state": new.state, "fail_count": new.fail_count, "changed_at": new.changed_at,
              "last_error": new.last_error, "changes": new.changes}
    if old is None:
        conn.execute(insert(alert_state).values(target=new.target, sent_state=new.sent_state, sent_at=None, **values))
    elif old != new:
        conn.execute(update(alert_state).where(alert_state.c.target == new.target).values(**values))


def _mark_sent(conn: Connection, st: TargetState, now: datetime) -> None:
    """Guarded: only if the state is still the one announced (a newer check may have changed it meanwhile)."""
    conn.execute(
        update(alert_state)
        .where(alert_state.c.target == st.target, alert_state.c.state == st.state)
        .values(sent_state=st.state, sent_at=now, changes=0)
    )
