"""C-STORE, refused-SOP-class and accept-time refusal counts, kept by the SCP and added to module tables in batches.

``GET /metrics`` may be served by another process than the SCP (or by several instances on one database), and
its figures must survive a restart, so the counts live in RAI_CSTORE_STAT / RAI_CONTEXT_REJECT_STAT /
RAI_REFUSAL_STAT (connections closed at accept, before any byte is read: a port scan must cost no database
round trip per connection, and the accept loop is one thread). An
answer is counted in memory at once (never a database round trip on the association thread) and the batch
is added about once a second (``UPDATE ... SET events = events + :n``, an INSERT for a new key, the UPDATE
again if another process inserted it first). While the database is down the counts wait in memory (the
keys are bounded: configured SOP classes × statuses × buckets); a crash loses at most the last second.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from pydicom.uid import UID
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import context_reject_stat, cstore_stat, refusal_stat

log = logging.getLogger(__name__)

#: Handling-time bucket bounds, ms (GET /metrics shows them in seconds); ABOVE_ALL for the rest.
BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
ABOVE_ALL = 2_147_483_647
#: How often a running SCP adds its counts to the tables, seconds.
FLUSH_EVERY = 1.0
#: Why a connection was closed at accept (RAI_REFUSAL_STAT.REASON_CODE, a reason of rai_association_rejections).
ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"
HANDSHAKE_LIMIT = "HANDSHAKE_LIMIT"


def bucket_of(ms: float) -> int:
    return next((b for b in BUCKETS_MS if ms <= b), ABOVE_ALL)


def counted_sop_class(uid: str) -> str:
    """A proposed abstract syntax as a label: a UID of the DICOM dictionary, else ``other`` (a peer must not
    grow the table or the metric with made-up UIDs)."""
    return uid if uid and UID(uid).name != uid else "other"


class ScpStats:
    """Thread-safe pending counts and their flusher thread (``start``/``stop`` with the SCP)."""

    def __init__(self, engine: Engine, every: float = FLUSH_EVERY) -> None:
        self.engine = engine
        self.every = every
        self._lock = threading.Lock()
        self._stores: Counter[tuple[str, int, int]] = Counter()
        self._store_ms: Counter[tuple[str, int, int]] = Counter()
        self._contexts: Counter[tuple[str, int]] = Counter()
        self._refusals: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def store(self, sop_class: str, status: int, seconds: float) -> None:
        ms = seconds * 1000.0
        key = (sop_class[:64], int(status), bucket_of(ms))
        with self._lock:
            self._stores[key] += 1
            self._store_ms[key] += ms

    def refused_sop_classes(self, refused: dict[str, int]) -> None:
        """SOP classes an accepted association got no presentation context for: {UID: PS3.8 result}."""
        with self._lock:
            for uid, result in refused.items():
                self._contexts[(counted_sop_class(uid), int(result))] += 1

    def refused_connection(self, reason_code: str) -> None:
        """A connection closed at accept (``ADDRESS_NOT_ALLOWED``, ``HANDSHAKE_LIMIT``): in memory only."""
        with self._lock:
            self._refusals[reason_code[:32]] += 1

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scp-stats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()

    def flush(self) -> bool:
        """Add what is pending to the tables; on a database error keep it for the next flush."""
        with self._lock:
            stores, store_ms, contexts, refusals = self._stores, self._store_ms, self._contexts, self._refusals
            self._stores, self._store_ms, self._contexts, self._refusals = Counter(), Counter(), Counter(), Counter()
        if not stores and not contexts and not refusals:
            return True
        try:
            for _try in range(2):  # a key another process inserted between our UPDATE and INSERT: once more
                try:
                    with self.engine.begin() as conn:
                        _add(conn, stores, store_ms, contexts, refusals)
                    return True
                except IntegrityError:
                    continue
        except SQLAlchemyError as exc:
            log.warning("C-STORE counts not yet written (kept for the next try): %s", exc,
                        extra={"action": "stats_not_written"})
        with self._lock:
            self._stores.update(stores)
            self._store_ms.update(store_ms)
            self._contexts.update(contexts)
            self._refusals.update(refusals)
        return False


def _add(conn: Connection, stores: Counter[tuple[str, int, int]], store_ms: Counter[tuple[str, int, int]],
         contexts: Counter[tuple[str, int]], refusals: Counter[str] | None = None) -> None:
    now = utcnow()
    t = cstore_stat
    for (sop, status, le), n in stores.items():
        ms = float(store_ms[(sop, status, le)])
        done = conn.execute(update(t).where(t.c.sop_class_uid == sop, t.c.status == status, t.c.le_ms == le)
                            .values(events=t.c.events + n, sum_ms=t.c.sum_ms + ms, updated_at=now)).rowcount
        if not done:
            conn.execute(insert(t).values(sop_class_uid=sop, status=status, le_ms=le, events=n, sum_ms=ms,
                                          updated_at=now))
    c = context_reject_stat
    for (sop, result), n in contexts.items():
        done = conn.execute(update(c).where(c.c.sop_class_uid == sop, c.c.result == result)
                            .values(events=c.c.events + n, updated_at=now)).rowcount
        if not done:
            conn.execute(insert(c).values(sop_class_uid=sop, result=result, events=n, updated_at=now))
    r = refusal_stat
    for code, n in (refusals or Counter()).items():
        done = conn.execute(update(r).where(r.c.reason_code == code)
                            .values(events=r.c.events + n, updated_at=now)).rowcount
        if not done:
            conn.execute(insert(r).values(reason_code=code, events=n, updated_at=now))
