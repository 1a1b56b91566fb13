"""The name look-up at hospital scale: a module table of search terms, kept current by a rescan.

Database trigram and full-text indexes do not handle names of one or two Chinese characters portably, and
pinyin cannot be computed in SQL at all, so the module keeps its own table (RAI_NAME_KEY) of terms per exam:

* every substring of 1-4 characters of the name that holds a Chinese character (a query of 1-4 characters
  is one exact term; a longer one is its first four characters, then checked against the indexed name);
* pinyin keys, from each character on, for every reading of the name: full syllables for the first k
  characters and initials for the rest, for every k (张三丰: zhangsanfeng, zhangsf, zsf, sanfeng, sf, feng; a
  key ending in one initial, such as zhangsanf, is a prefix of the all-full key and left out). A pinyin query (spaces removed, lower case) is a prefix of one of them, which is a
  range of the binary-collated index: ``zhangsan``, ``zs``, ``zhang s`` (zhang + s…), ``san``.

Each term row carries the exam date, so "newest first, first page of 50" and the total are read from the
index alone. The rescan (every ``http.name_rescan_interval``, and at start) walks RAI_V_EXAM by exam key in
chunks and rebuilds the terms of every exam whose name or date differs from the ledger RAI_NAME_INDEX: a
name corrected in the RIS is found under its new name after the next rescan. Until a first rescan has
finished, the look-up falls back to reading the names (``web/lookup.py``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import (
    STAGED_FIRST_BUILD,
    bind_value,
    bulk_insert,
    instants_differ,
    lock_rows,
    name_of,
)
from ris_ai_module.db.ris import exam_view
from ris_ai_module.db.tables import name_index as ni
from ris_ai_module.db.tables import name_key as nk
from ris_ai_module.db.tables import name_queue as nq
from ris_ai_module.db.tables import name_scan
from ris_ai_module.periodic import PeriodicComponent
from ris_ai_module.services import Running
from ris_ai_module.web.spellings import name_spellings

log = logging.getLogger(__name__)

SCAN = "rescan"
#: Exams read per round trip (Oracle allows at most 1000 values in an IN list).
CHUNK = 1000
#: Exams re-indexed per transaction.
WRITE_BATCH = 10_000
#: Chinese substrings indexed up to this length; pinyin keys for the first this-many characters.
MAX_CJK = 4
MAX_PINYIN_CHARS = 8
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))


@lru_cache(maxsize=300_000)
def search_terms(name: str) -> frozenset[str]:
    """Every term a query can hit for this name (see the module docstring)."""
    text = "".join(name.split())
    terms: set[str] = set()
    for i in range(len(text)):
        for j in range(i + 1, min(len(text), i + MAX_CJK) + 1):
            piece = text[i:j]
            if _CJK.search(piece):
                terms.add(piece)
    for spelling in name_spellings(text[:MAX_PINYIN_CHARS]):
        n = len(spelling)
        for start in range(n):
            for k in range(n - start + 1):
                if k == n - start - 1:  # one trailing initial: a prefix of the all-full key, which is kept
                    continue
                terms.add(("".join(spelling[start:start + k]) + "".join(s[:1] for s in spelling[start + k:]))[:64])
    return frozenset(terms)


def _pinyin_range(query: str) -> ColumnElement[bool]:
    """term starts with ``query``: [query, query with its last letter + 1) on a binary collation."""
    upper = query[:-1] + chr(ord(query[-1]) + 1)
    return and_(nk.c.term >= query, nk.c.term < upper)


def ready(conn: Connection) -> bool:
    """True once a full rescan has finished (before it the table may miss exams)."""
    return conn.execute(select(name_scan.c.finished_at).where(name_scan.c.scan_name == SCAN)).scalar() is not None


def search_keys(conn: Connection, name: str, pinyin: bool, date_from: datetime | None, date_to: datetime | None,
                limit: int, offset: int, campus: ColumnElement[bool] | None = None) -> tuple[list[str], int]:
    """(exam keys of the page, newest first; total) for a name query, from the index (and, for an account
    limited to campuses, the view's campus column: ``campus``)."""
    if pinyin:
        query = "".join(name.split()).lower()
        condition: ColumnElement[bool] = _pinyin_range(query)
    else:
        query = "".join(name.split())
        condition = nk.c.term == query[:MAX_CJK]
    conditions = [condition]
    if date_from is not None:
        conditions.append(nk.c.exam_date >= date_from)
    if date_to is not None:
        conditions.append(nk.c.exam_date < date_to)
    distinct = pinyin or len(query) > MAX_CJK  # one exam can hold several terms with this prefix
    in_view: list[ColumnElement[bool]] = []  # what a hit's exam must also satisfy in RAI_V_EXAM
    if not pinyin and len(query) > MAX_CJK:  # longer than the indexed substrings: check the whole name
        in_view.append(exam_view.c.patient_name.contains(query, autoescape=True))
    if campus is not None:
        in_view.append(campus)
    total = None if in_view else _index_total(conn, conditions, distinct)
    if total is None:
        # Each hit checked against the view (campus, whole name, or a queue backlog): a correlated COUNT, not a
        # join, which no database turns into a hash join over the whole exam table (PostgreSQL did so with a
        # join or EXISTS, 100+ ms at 200,000 exams); one primary-key probe per hit.
        probe = select(func.count()).select_from(exam_view).where(exam_view.c.exam_key == nk.c.exam_key, *in_view)
        total = _count(conn, conditions, distinct, probe.scalar_subquery() > 0)
    return _page(conn, conditions, in_view, limit, offset), total


def _page(conn: Connection, conditions: Sequence[ColumnElement[bool]], in_view: Sequence[ColumnElement[bool]],
          limit: int, offset: int) -> list[str]:
    """The page's exam keys, newest first: the index's first hits in (exam date, key) order, each confirmed in
    RAI_V_EXAM (an exam no longer there is never shown, even before the trigger's queue or the rescan has removed
    its terms), read again with a larger window until the page is full or the hits run out.

    The window is read from the index alone: an exact Chinese term is a backward range of its primary key; a
    pinyin prefix spanning many terms (``jian``: 145,000 term rows of 90,000 exams at 1,000,000) a top-N sort.
    Confirming every hit before paging (a DISTINCT over probed hits) cost 1.7 s there on MariaDB.
    """
    need = offset + limit
    window = max(2 * need, 100)
    while True:
        rows = conn.execute(select(nk.c.exam_key).where(*conditions)
                            .order_by(nk.c.exam_date.desc(), nk.c.exam_key.desc()).limit(window)).scalars().all()
        candidates = list(dict.fromkeys(str(k) for k in rows))  # an exam's terms share its date: adjacent
        present: set[str] = set()
        for i in range(0, len(candidates), CHUNK):
            present.update(str(k) for k in conn.execute(select(exam_view.c.exam_key).where(
                exam_view.c.exam_key.in_(candidates[i:i + CHUNK]), *in_view)).scalars())
        confirmed = [k for k in candidates if k in present]
        if len(confirmed) >= need or len(rows) < window:
            return confirmed[offset:need]
        window *= 4


def _index_total(conn: Connection, conditions: Sequence[ColumnElement[bool]], distinct: bool) -> int | None:
    """The exams the index holds for the query, less those the RIS triggers queued as gone from the view; None
    when the queue holds a backlog (then every hit is checked against the view).

    Probing the view for each of 30,000 hits of a one-character given name cost 100-320 ms at 1,000,000 exams on
    MariaDB (random primary-key reads of the exam table); the index range alone is one covering scan. With the
    name trigger an exam deleted from the RIS is queued in the same transaction, so the total is exact; in polling
    mode (no trigger) a deleted exam, like a renamed one, is counted until the next rescan, never paged.
    """
    queued = [str(k) for k in conn.execute(select(nq.c.exam_key).distinct().limit(CHUNK + 1)).scalars()]
    if len(queued) > CHUNK:
        return None
    total = _count(conn, conditions, distinct)
    if queued:
        total -= _count(conn, conditions, distinct, nk.c.exam_key.in_(queued),
                        ~exists().where(exam_view.c.exam_key == nk.c.exam_key))
    return total


def _count(conn: Connection, conditions: Sequence[ColumnElement[bool]], distinct: bool,
           *extra: ColumnElement[bool]) -> int:
    """Exams among the index rows that meet ``conditions`` and ``extra``; COUNT(DISTINCT) where one exam holds
    several matching terms (5x a DISTINCT subquery on MariaDB over a pinyin range)."""
    counted = func.count(nk.c.exam_key.distinct()) if distinct else func.count()
    return int(conn.execute(select(counted).select_from(nk).where(*conditions, *extra)).scalar() or 0)


def rescan(engine: Engine, chunk: int = WRITE_BATCH) -> tuple[int, int]:
    """Bring the terms in line with RAI_V_EXAM: rebuild exams new or changed since the last rescan, drop
    exams no longer in the view. Returns (exams in the view, exams rebuilt or dropped).

    Incremental: the database compares the view with the ledger RAI_NAME_INDEX (an outer join, walked by
    exam key ``chunk`` differences at a time), so only the exams that differ cross the wire and are
    rebuilt; with nothing changed the RIS database does one pass over the view and the ledger and sends
    nothing back. Each chunk is committed on its own: an interrupted rescan keeps what it did.
    """
    v = exam_view.c
    started = utcnow()
    with engine.begin() as conn:
        _mark(conn, started, None, None, None)
    changed = 0
    if name_of(engine) in STAGED_FIRST_BUILD:
        from ris_ai_module.web import name_first_build

        changed += name_first_build.build(engine, chunk, rows_of, _lock)  # 0 unless empty; the diff finds the rest
    last: str | None = None
    differs = or_(ni.c.exam_key.is_(None), _differ(ni.c.patient_name, v.patient_name),
                  instants_differ(ni.c.exam_date, v.exam_date))
    while True:
        stmt = (select(v.exam_key, v.patient_name, v.exam_date, ni.c.exam_key.label("known"))
                .select_from(exam_view.outerjoin(ni, ni.c.exam_key == v.exam_key))
                .where(differs).order_by(v.exam_key).limit(chunk))
        if last is not None:
            stmt = stmt.where(v.exam_key > last)
        with engine.begin() as conn:
            rows = conn.execute(stmt).all()
            if rows:
                _lock(conn)
                _reindex(conn, rows, {str(r.exam_key) for r in rows if r.known is not None})
                changed += len(rows)
                last = rows[-1].exam_key
        if len(rows) < chunk:
            break
    last = None
    while True:  # exams deleted from the RIS (the look-up already hides them: it joins the view)
        gone_q = (select(ni.c.exam_key).where(~exists().where(v.exam_key == ni.c.exam_key))
                  .order_by(ni.c.exam_key).limit(chunk))
        if last is not None:
            gone_q = gone_q.where(ni.c.exam_key > last)
        with engine.begin() as conn:
            gone = [str(k) for k in conn.execute(gone_q).scalars()]
            if gone:
                _lock(conn)
                _remove(conn, gone)
                changed += len(gone)
                last = gone[-1]
        if len(gone) < chunk:
            break
    with engine.begin() as conn:
        seen = int(conn.execute(select(func.count()).select_from(exam_view)).scalar() or 0)
        _mark(conn, started, utcnow(), seen, changed)
    return seen, changed


def drain_queue(engine: Engine, chunk: int = CHUNK) -> int:
    """Apply what the RIS triggers queued in RAI_NAME_QUEUE (``sql/<dialect>/31_trigger_name_index.sql``:
    an exam inserted, its name or date changed, or deleted): each listed exam is read from the view and
    rebuilt, or dropped when it is gone. Returns the exams rebuilt or dropped. The queue rows are deleted
    by id in the same transaction, so a row the trigger adds meanwhile is kept for the next round."""
    v = exam_view.c
    done = 0
    while True:
        with engine.begin() as conn:
            queued = conn.execute(select(nq.c.queue_id, nq.c.exam_key).order_by(nq.c.queue_id).limit(chunk)).all()
            if not queued:
                return done
            _lock(conn)
            keys = sorted({str(r.exam_key) for r in queued})
            current = {str(r.exam_key): r for r in conn.execute(
                select(v.exam_key, v.patient_name, v.exam_date).where(v.exam_key.in_(keys)))}
            known = {str(r.exam_key): (r.patient_name, r.exam_date) for r in conn.execute(
                select(ni.c.exam_key, ni.c.patient_name, ni.c.exam_date).where(ni.c.exam_key.in_(keys)))}
            gone = [k for k in keys if k not in current and k in known]
            stale = [r for k, r in current.items() if known.get(k) != (r.patient_name, _naive(r.exam_date))]
            _remove(conn, gone)
            _reindex(conn, stale, set(known))
            conn.execute(delete(nq).where(nq.c.queue_id.in_([r.queue_id for r in queued])))
            done += len(gone) + len(stale)


def _differ(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[bool]:
    """a and b differ, NULL counting as a value (portable: Oracle has no IS DISTINCT FROM)."""
    return or_(a != b, and_(a.is_(None), b.is_not(None)), and_(a.is_not(None), b.is_(None)))


def _lock(conn: Connection) -> None:
    """Writers of the terms take the rescan's row first: two module instances on one database (or the
    queue and a rescan) never rebuild the same exam at once."""
    conn.execute(lock_rows(select(name_scan.c.scan_name).where(name_scan.c.scan_name == SCAN), conn.engine))


def _remove(conn: Connection, keys: list[str]) -> None:
    for i in range(0, len(keys), CHUNK):
        part = keys[i:i + CHUNK]
        conn.execute(delete(nk).where(nk.c.exam_key.in_(part)))
        conn.execute(delete(ni).where(ni.c.exam_key.in_(part)))


def _naive(value: Any) -> Any:
    """Exam dates as stored in the ledger (a DATE column reads back as a datetime at midnight)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if value is not None and hasattr(value, "year"):
        return datetime(value.year, value.month, value.day)
    return value


def _reindex(conn: Connection, rows: Sequence[Any], known: set[str]) -> None:
    """Rebuild the terms and ledger rows of ``rows`` (exam_key, patient_name, exam_date); ``known``: the
    keys that have a ledger row now."""
    if not rows:
        return
    _remove(conn, [str(r.exam_key) for r in rows if str(r.exam_key) in known])
    ledger, terms = rows_of(conn, rows)
    bulk_insert(conn, ni, LEDGER_COLUMNS, ledger)
    terms.sort()  # in index order: fewer pages touched per insert
    bulk_insert(conn, nk, TERM_COLUMNS, terms)


LEDGER_COLUMNS = tuple(ni.c.keys())
TERM_COLUMNS = tuple(nk.c.keys())


def rows_of(conn: Connection, rows: Sequence[Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(ledger rows, term rows), driver-ready, of exams (exam_key, patient_name, exam_date)."""
    now = bind_value(conn, ni.c.indexed_at, utcnow())
    processor = nk.c.exam_date.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)  # once, not per exam
    terms: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    for r in rows:
        key, when = str(r.exam_key), _naive(r.exam_date)
        bound = processor(when) if processor else when
        ledger.append((key, r.patient_name, bound, now))
        if r.patient_name and when is not None:  # an exam without a date cannot be ordered: the fallback finds it
            terms.extend([(t, bound, key) for t in search_terms(str(r.patient_name))])
    return ledger, terms


def _mark(conn: Connection, started: datetime, finished: datetime | None, exams: int | None,
          changed: int | None) -> None:
    """Record a rescan; ``finished_at`` keeps the last finished one until this one finishes."""
    row = conn.execute(select(name_scan).where(name_scan.c.scan_name == SCAN)).first()
    if row is None:
        conn.execute(name_scan.insert().values(scan_name=SCAN, started_at=started, finished_at=finished,
                                               exams=exams, changed=changed))
        return
    values: dict[str, Any] = {"started_at": started}
    if finished is not None:
        values.update(finished_at=finished, exams=exams, changed=changed)
    conn.execute(name_scan.update().where(name_scan.c.scan_name == SCAN).values(**values))


def make_component(ctx: Running) -> PeriodicComponent | None:
    """While the HTTP API is on: every ``http.name_queue_interval`` the triggers' queue is applied, and every
    ``http.name_rescan_interval`` (and at start) the rescan runs."""
    if not ctx.config.http.enabled:
        return None
    engine = ctx.engine
    every = float(ctx.config.http.name_rescan_interval)
    next_rescan = [0.0]

    def round_() -> None:
        t0 = time.monotonic()
        with engine.connect() as conn:  # before a first rescan it indexes every exam anyway (and on SQLite a
            built = ready(conn)         # queue applied first would fill the ledger: no staged first build)
        queued = drain_queue(engine) if built else 0
        if queued:
            log.info("name index: %d exams from the trigger queue applied", queued, extra={"action": "name_index_queue"})
        if t0 >= next_rescan[0]:
            seen, changed = rescan(engine)
            log.info("name index: %d exams scanned, %d re-indexed or dropped in %.1fs", seen, changed,
                     time.monotonic() - t0, extra={"action": "name_index_rescan"})
            next_rescan[0] = time.monotonic() + every

    return PeriodicComponent("name-index", round_, float(ctx.config.http.name_queue_interval), ctx.stop)
