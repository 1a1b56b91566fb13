"""The name index's first build on SQLite: the terms staged in TEMP tables, then written in index order.

Why: RAI_NAME_KEY's primary key (term, exam_date, exam_key) receives an exam's terms in random places. The
incremental rescan writes 10,000 exams (~140,000 terms) per transaction; once the index outgrows SQLite's page
cache (a few MB per connection) every such transaction touches nearly every page of the index and writes it
again (to the WAL or rollback journal, then to the database): at 1,000,000 exams ~14 M terms in 100
transactions, tens of GB written, and superlinear (the SQL alone: 27 s at 200,000 exams, 67 s at 400,000).
Staged (13 s and 23 s):

1. RAI_V_EXAM read by exam key, ``chunk`` exams per transaction, their ledger and term rows written into this
   connection's TEMP tables: deferred transactions (``engine.DEFERRED``) that take no lock on the database,
   so the worker, the SCP and the look-ups go on meanwhile;
2. the terms sorted into another TEMP table (SQLite's external sort, still no lock on the database);
3. under the write lock, ``MOVE_ROWS`` terms per transaction appended to the empty RAI_NAME_KEY in its own
   order, each page written once, its exam-key index dropped for the fill; then the ledger RAI_NAME_INDEX in
   one transaction (until the ledger is there the index counts as empty, so an interrupted build starts
   again); then the exam-key index created (one sort).

It runs only while the ledger is empty; terms without a ledger (an interrupted build's) are deleted first.
If another writer (a second module instance) fills the ledger or the terms meanwhile, this build gives up,
deletes the terms that have no ledger row, and the ordinary rescan goes on. Exams changed during the build
are then found by the rescan's diff, as always.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, func, insert, literal_column, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateTable, DropTable

from ris_ai_module.db.dialects import bulk_insert
from ris_ai_module.db.engine import DEFERRED
from ris_ai_module.db.ris import exam_view
from ris_ai_module.db.tables import name_index as ni
from ris_ai_module.db.tables import name_key as nk

#: (ledger rows, term rows) of exams, driver-ready, in the tables' column order (name_index.rows_of).
RowsOf = Callable[[Connection, Sequence[Any]], tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]
#: Takes the name index writers' lock (name_index._lock).
Lock = Callable[[Connection], None]

TERM_COLUMNS = tuple(nk.c.keys())
LEDGER_COLUMNS = tuple(ni.c.keys())

#: Terms appended per write transaction (about a second of the write lock on a quiet 2-core machine).
MOVE_ROWS = 1_000_000

_temp = MetaData()
stage_ledger = Table("rai_stage_ledger", _temp, Column("exam_key", String(64)), Column("patient_name", String(200)),
                     Column("exam_date", String(40)), Column("indexed_at", String(40)), prefixes=["TEMPORARY"])
stage_terms = Table("rai_stage_terms", _temp, Column("term", String(64)), Column("exam_date", String(40)),
                    Column("exam_key", String(64)), prefixes=["TEMPORARY"])
#: The terms in index order: ``seq`` (the rowid) numbers them, so the move reads consecutive ranges.
stage_sorted = Table("rai_stage_sorted", _temp, Column("seq", Integer, primary_key=True), Column("term", String(64)),
                     Column("exam_date", String(40)), Column("exam_key", String(64)), prefixes=["TEMPORARY"])


def _exam_key_index() -> object:
    return next(ix for ix in nk.indexes if ix.name == "rai_ix_name_key_exam")


def build(engine: Engine, chunk: int, rows_of: RowsOf, lock: Lock) -> int:
    """Build the whole index when its ledger is empty; the exams indexed (0 when it was not empty, or when
    another writer came in between and this build gave up)."""
    index = _exam_key_index()
    with engine.begin() as conn:
        if conn.execute(select(ni.c.exam_key).limit(1)).first() is not None:
            index.create(conn, checkfirst=True)  # type: ignore[attr-defined]  # a build stopped before its last step
            return 0
        lock(conn)
        conn.execute(delete(nk))  # an interrupted build's terms (every other writer writes the ledger too)
        index.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        conn.execution_options(**{DEFERRED: True})
        try:
            with conn.begin():
                for table in _temp.sorted_tables:
                    conn.execute(DropTable(table, if_exists=True))
                    conn.execute(CreateTable(table))
            exams = _stage(conn, chunk, rows_of)
            with conn.begin():  # sorted in the temp database: no lock on the RIS database yet
                cols = [stage_terms.c[c] for c in TERM_COLUMNS]
                conn.execute(insert(stage_sorted).from_select(list(TERM_COLUMNS),
                                                              select(*cols).order_by(*cols)))
                conn.execute(DropTable(stage_terms))
                total = int(conn.execute(select(func.max(stage_sorted.c.seq))).scalar() or 0)
            conn.execution_options(**{DEFERRED: False})
            return exams if _move(conn, total, lock) else 0
        finally:
            conn.execution_options(**{DEFERRED: True})
            with conn.begin():
                for table in _temp.sorted_tables:
                    conn.execute(DropTable(table, if_exists=True))


def _stage(conn: Connection, chunk: int, rows_of: RowsOf) -> int:
    """Every exam of the view into the TEMP tables, ``chunk`` per (lock-free) transaction; the exams staged."""
    v = exam_view.c
    exams, last = 0, None
    while True:
        with conn.begin():
            stmt = select(v.exam_key, v.patient_name, v.exam_date).order_by(v.exam_key).limit(chunk)
            if last is not None:
                stmt = stmt.where(v.exam_key > last)
            rows = conn.execute(stmt).all()
            ledger, terms = rows_of(conn, rows)
            bulk_insert(conn, stage_ledger, LEDGER_COLUMNS, ledger)
            bulk_insert(conn, stage_terms, TERM_COLUMNS, terms)
        exams += len(rows)
        if len(rows) < chunk:
            return exams
        last = rows[-1].exam_key


def _move(conn: Connection, total: int, lock: Lock) -> bool:
    """The sorted terms, then the ledger, then the exam-key index, into the database; False when another
    writer came in between (this build's terms are removed again)."""
    index = _exam_key_index()
    moved = 0
    cols = [stage_sorted.c[c] for c in TERM_COLUMNS]
    while moved < total:
        with conn.begin():
            if not _still_alone(conn, moved, lock):
                return _give_up(conn)
            if moved == 0:
                index.drop(conn, checkfirst=True)  # type: ignore[attr-defined]
            upto = min(total, moved + MOVE_ROWS)
            conn.execute(insert(nk).from_select(list(TERM_COLUMNS), select(*cols).where(
                stage_sorted.c.seq > moved, stage_sorted.c.seq <= upto).order_by(stage_sorted.c.seq)))
            moved = upto
    with conn.begin():
        if not _still_alone(conn, moved, lock):
            return _give_up(conn)
        ledger = [stage_ledger.c[c] for c in LEDGER_COLUMNS]
        conn.execute(insert(ni).from_select(list(LEDGER_COLUMNS), select(*ledger)))
    with conn.begin():
        index.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    return True


def _still_alone(conn: Connection, moved: int, lock: Lock) -> bool:
    """Under the write lock: the ledger is still empty and the terms are exactly the ``moved`` this build
    appended (rowids 1..moved of a table that was empty)."""
    lock(conn)
    if conn.execute(select(ni.c.exam_key).limit(1)).first() is not None:
        return False
    return int(conn.execute(select(func.max(literal_column("rowid"))).select_from(nk)).scalar() or 0) == moved


def _give_up(conn: Connection) -> bool:
    """Another writer indexed exams meanwhile: keep its work, remove the terms that have no ledger row."""
    _exam_key_index().create(conn, checkfirst=True)  # type: ignore[attr-defined]
    conn.execute(delete(nk).where(nk.c.exam_key.not_in(select(ni.c.exam_key))))
    return False
