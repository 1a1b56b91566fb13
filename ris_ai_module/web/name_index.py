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
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.dialects import bind_value, bulk_insert
from ris_ai_module.db.ris import exam_view
from ris_ai_module.db.tables import name_index as ni
from ris_ai_module.db.tables import name_key as nk
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
    hits = select(nk.c.exam_key, nk.c.exam_date).where(*conditions)
    if not pinyin and len(query) > MAX_CJK:  # longer than the indexed substrings: check the whole name
        hits = hits.join(ni, ni.c.exam_key == nk.c.exam_key).where(ni.c.patient_name.contains(query, autoescape=True))
    if campus is not None:
        hits = hits.join(exam_view, exam_view.c.exam_key == nk.c.exam_key).where(campus)
    if pinyin or len(query) > MAX_CJK:
        hits = hits.distinct()  # one exam can hold several terms with this prefix
    sub = hits.subquery()
    total = int(conn.execute(select(func.count()).select_from(sub)).scalar() or 0)
    page = conn.execute(select(sub.c.exam_key).order_by(sub.c.exam_date.desc(), sub.c.exam_key.desc())
                        .limit(limit).offset(offset))
    return [r.exam_key for r in page], total


def rescan(engine: Engine, chunk: int = CHUNK) -> tuple[int, int]:
    """Walk RAI_V_EXAM and rebuild the terms of exams new or changed since the last rescan.

    Returns (exams seen, exams re-indexed). Writes are committed every ``WRITE_BATCH`` exams: an interrupted
    rescan keeps what it did, and the next one continues from the ledger.
    """
    v = exam_view.c
    started = utcnow()
    with engine.begin() as conn:
        _mark(conn, started, None, None, None)
    seen = changed = 0
    last: str | None = None
    pending: list[tuple[list[Any], dict[str, Any]]] = []
    while True:
        with engine.connect() as conn:
            stmt = select(v.exam_key, v.patient_name, v.exam_date).order_by(v.exam_key).limit(chunk)
            if last is not None:
                stmt = stmt.where(v.exam_key > last)
            rows = conn.execute(stmt).all()
            if rows:
                last = rows[-1].exam_key
                seen += len(rows)
                keys = [str(r.exam_key) for r in rows]
                known = {r.exam_key: (r.patient_name, r.exam_date) for r in conn.execute(
                    select(ni.c.exam_key, ni.c.patient_name, ni.c.exam_date).where(ni.c.exam_key.in_(keys)))}
                stale = [r for r in rows if known.get(str(r.exam_key)) != (r.patient_name, _naive(r.exam_date))]
                if stale:
                    changed += len(stale)
                    pending.append((stale, known))
        if pending and (not rows or sum(len(p[0]) for p in pending) >= WRITE_BATCH):
            with engine.begin() as conn:  # one transaction per few thousand exams: few commits (fsyncs)
                for stale, known in pending:
                    _reindex(conn, stale, known)
            pending = []
        if not rows:
            break
    with engine.begin() as conn:
        _mark(conn, started, utcnow(), seen, changed)
    return seen, changed


def _naive(value: Any) -> Any:
    """Exam dates as stored in the ledger (a DATE column reads back as a datetime at midnight)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if value is not None and hasattr(value, "year"):
        return datetime(value.year, value.month, value.day)
    return value


def _reindex(conn: Connection, rows: list[Any], known: dict[str, Any]) -> None:
    keys = [str(r.exam_key) for r in rows]
    old = [k for k in keys if k in known]
    if old:
        conn.execute(delete(nk).where(nk.c.exam_key.in_(old)))
        conn.execute(delete(ni).where(ni.c.exam_key.in_(old)))
    now = bind_value(conn, ni.c.indexed_at, utcnow())
    terms: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    for r in rows:
        key, when = str(r.exam_key), _naive(r.exam_date)
        bound = bind_value(conn, nk.c.exam_date, when)
        ledger.append((key, r.patient_name, bound, now))
        if r.patient_name and when is not None:  # an exam without a date cannot be ordered: the fallback finds it
            terms.extend((t, bound, key) for t in search_terms(str(r.patient_name)))
    bulk_insert(conn, ni, ("exam_key", "patient_name", "exam_date", "indexed_at"), ledger)
    terms.sort()  # in index order: fewer pages touched per insert
    bulk_insert(conn, nk, ("term", "exam_date", "exam_key"), terms)


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
    """The rescan, at start and every ``http.name_rescan_interval``, while the HTTP API is on."""
    if not ctx.config.http.enabled:
        return None
    engine = ctx.engine

    def round_() -> None:
        t0 = utcnow()
        seen, changed = rescan(engine)
        log.info("name index: %d exams scanned, %d re-indexed in %.1fs", seen, changed,
                 (utcnow() - t0).total_seconds(), extra={"action": "name_index_rescan"})

    return PeriodicComponent("name-index", round_, float(ctx.config.http.name_rescan_interval), ctx.stop)
