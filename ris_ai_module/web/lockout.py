"""Failed logins counted in RAI_LOGIN_FAILURE, per account and per client address (等保 身份鉴别).

Kept in the database, not in memory, so that a lockout survives a restart and holds for every instance
behind one address. An account is locked after ``http.lockout_failures`` failures in a row, a client
address after ``http.lockout_address_failures`` (an address guessing across many account names, or a
nurses' station shared by several people, which is why its limit is higher); either lock lasts
``http.lockout_time``. Failures older than ``lockout_time`` no longer count. Increments are single UPDATE
statements, so two instances counting at once lose no failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.engine import read_only
from ris_ai_module.db.tables import login_failure as lf


def account_key(name: str) -> str:
    return "account:" + name[:140]


def address_key(address: str) -> str:
    return "address:" + address[:140]


class LoginFailures:
    def __init__(self, engine: Engine, account_limit: int, address_limit: int, lock_seconds: float) -> None:
        self.engine = engine
        self.limits = {"account": account_limit, "address": address_limit}
        self.lock = timedelta(seconds=lock_seconds)
        self._calls = 0

    def locked(self, name: str, address: str, now: datetime | None = None) -> str | None:
        """"account" or "address" when that one is locked now, else None."""
        now = now or utcnow()
        keys = [account_key(name), address_key(address)]
        with read_only(self.engine) as conn:  # every Basic-auth request: not behind the write lock
            rows = conn.execute(select(lf.c.fail_key).where(lf.c.fail_key.in_(keys), lf.c.locked_until > now)).all()
        found = {r.fail_key for r in rows}
        return "account" if keys[0] in found else "address" if keys[1] in found else None

    def failed(self, name: str, address: str, now: datetime | None = None) -> bool:
        """Count one failure for the account and the address; True when this failure locked either."""
        now = now or utcnow()
        self._calls += 1
        if self._calls % 100 == 0:
            self.forget_stale(now)
        locked = False
        for scope, key in (("account", account_key(name)), ("address", address_key(address))):
            locked = self._count(key, self.limits[scope], now) or locked
        return locked

    def succeeded(self, name: str) -> None:
        """A right password clears the account's count (not the address's: it may be shared)."""
        with self.engine.begin() as conn:
            conn.execute(delete(lf).where(lf.c.fail_key == account_key(name), or_(lf.c.locked_until.is_(None),
                                                                                    lf.c.locked_until <= utcnow())))

    def locked_now(self, now: datetime | None = None) -> dict[str, int]:
        """Every locked key (``account:NAME``, ``address:IP``) with its seconds left, for the security administrator."""
        now = now or utcnow()
        with read_only(self.engine) as conn:
            rows = conn.execute(select(lf.c.fail_key, lf.c.locked_until).where(lf.c.locked_until > now)).all()
        return {r.fail_key: max(0, int((r.locked_until.replace(tzinfo=None) - now.replace(tzinfo=None))
                                       .total_seconds())) for r in rows}

    def unlock(self, key: str) -> bool:
        """Lift a lock (the security administrator's action); True when ``key`` was locked."""
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(lf).where(lf.c.fail_key == key, lf.c.locked_until.is_not(None)))
                        .rowcount)

    def forget_stale(self, now: datetime | None = None) -> int:
        """Delete counters neither locked nor touched for a day (bounded table whatever names are tried)."""
        now = now or utcnow()
        with self.engine.begin() as conn:
            return conn.execute(delete(lf).where(lf.c.last_failed_at < now - timedelta(days=1),
                                                 or_(lf.c.locked_until.is_(None), lf.c.locked_until < now))).rowcount

    def _count(self, key: str, limit: int, now: datetime) -> bool:
        with self.engine.begin() as conn:
            # a failure older than the lock time starts a new series
            conn.execute(update(lf).where(lf.c.fail_key == key, lf.c.last_failed_at < now - self.lock,
                                          or_(lf.c.locked_until.is_(None), lf.c.locked_until <= now))
                         .values(fail_count=0, first_failed_at=now))
            done = conn.execute(update(lf).where(lf.c.fail_key == key)
                                .values(fail_count=lf.c.fail_count + 1, last_failed_at=now)).rowcount
            if not done:
                try:
                    with conn.begin_nested():
                        conn.execute(lf.insert().values(fail_key=key, fail_count=1, first_failed_at=now,
                                                        last_failed_at=now))
                except IntegrityError:  # another instance inserted it meanwhile
                    conn.execute(update(lf).where(lf.c.fail_key == key)
                                 .values(fail_count=lf.c.fail_count + 1, last_failed_at=now))
            locked = conn.execute(update(lf).where(lf.c.fail_key == key, lf.c.fail_count >= limit)
                                  .values(fail_count=0, locked_until=now + self.lock)).rowcount
            return bool(locked)
