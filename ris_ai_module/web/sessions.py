"""Sessions of the status page in RAI_SESSION, so that a password is not sent with every request and
several instances behind one address agree on who is logged in.

The cookie holds 256 random bits; the table keeps only their SHA-256 (a leaked table opens no session).
A session ends after ``http.session_idle`` without a request (等保: idle timeout), at logout, or when its
account is no longer in the configuration. Each session has its own CSRF token, which the page sends
back in ``X-CSRF-Token`` on every state-changing request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.engine import read_only
from ris_ai_module.db.tables import web_session as ws

COOKIE = "rai_session"
#: last_seen_at is written at most this often per session (a page polling every few seconds
#: would otherwise write on every request).
TOUCH_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class Session:
    user_name: str
    role: str
    csrf_token: str
    session_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, idle_seconds: float) -> None:
        self.engine = engine
        self.idle = timedelta(seconds=idle_seconds)

    def create(self, user_name: str, role: str, source: str | None) -> tuple[str, Session]:
        """(cookie value, session): the value is given to the browser once and never stored."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
        row = {"session_hash": _hash(token), "user_name": user_name[:100], "role": role[:16], "csrf_token": csrf,
               "source": (source or "")[:45] or None, "created_at": now, "last_seen_at": now}
        with self.engine.begin() as conn:
            conn.execute(ws.insert().values(**row))
            conn.execute(delete(ws).where(ws.c.last_seen_at < now - self.idle))  # ended sessions go
        return token, Session(user_name, role, csrf, row["session_hash"])

    def get(self, token: str, now: datetime | None = None) -> Session | None:
        """The live session of a cookie value, its idle time restarted; None when unknown or idle too long."""
        if not token or len(token) > 100:
            return None
        now = now or utcnow()
        digest = _hash(token)
        with read_only(self.engine) as conn:  # every page request: not behind the write lock
            row = conn.execute(select(ws).where(ws.c.session_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.session_hash, digest):
            return None
        if row.last_seen_at < now - self.idle:
            self.end(token)
            return None
        if row.last_seen_at < now - TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(ws).where(ws.c.session_hash == digest).values(last_seen_at=now))
        return Session(row.user_name, row.role, row.csrf_token, digest)

    def end(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ws).where(ws.c.session_hash == _hash(token)))
