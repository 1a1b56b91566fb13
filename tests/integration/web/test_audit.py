"""The audit trail an assessor (等保三级 安全审计) checks: reads of patient data are recorded within a second,
rows wait out a database outage, and the module's own account cannot change or delete them except
through the retention purge, which never takes a row younger than 180 days."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from ris_ai_module import audit
from ris_ai_module.audit import AuditEvent, AuditLog
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import audit as audit_table
from tests.dbs import engine_for
from tests.integration.db.test_sql_grants import SERVERS, accounts, denied  # noqa: F401 - fixture
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import VIEWER, Api


def _rows(engine: Engine, action: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(audit_table).where(audit_table.c.action == action)
                            .order_by(audit_table.c.audit_id)).all()


def _wait_for(engine: Engine, action: str, deadline: float) -> tuple[list, float]:
    while True:
        rows = _rows(engine, action)
        if rows or time.monotonic() > deadline:
            return rows, time.monotonic()
        time.sleep(0.02)


def test_searches_and_opened_exams_are_in_the_audit_within_a_second(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "R1", name="王小明", patient_id="P777")
    resp = api.get("/api/exams", params={"name": "王", "from": "2026-01-01"})
    answered = time.monotonic()
    assert resp.status_code == 200 and resp.json()["total"] == 1
    rows, seen = _wait_for(any_db, "exam_search", answered + 1.0)
    assert rows, "the search is in RAI_AUDIT within a second of the answer"
    assert seen - answered <= 1.0
    row = rows[0]
    assert (row.actor, row.source, row.ok, row.target) == (VIEWER[0], "http:127.0.0.1", 1, None)
    assert row.detail == "name=王 from=2026-01-01T00:00:00 -> 1 exams", "what was searched and how much it found"

    assert api.get("/api/exams/R1").status_code == 200
    assert api.get("/api/exams/NOPE").status_code == 404
    opened, _ = _wait_for(any_db, "exam_view", time.monotonic() + 1.0)
    deadline = time.monotonic() + 1.0
    while len(opened) < 2 and time.monotonic() < deadline:
        opened = _rows(any_db, "exam_view")
    assert [(r.actor, r.target, r.detail) for r in opened] == [(VIEWER[0], "R1", None), (VIEWER[0], "NOPE", "not found")]


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_queued_rows_wait_out_an_outage_and_keep_their_order(any_db: Engine, tmp_path: Path) -> None:
    down = engine_for(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")  # its folder does not exist
    log = AuditLog(down, flush_interval=0.05)
    try:
        for i in range(3):
            log.record(AuditEvent("nurse", "http:10.0.0.8", "exam_view", f"E{i}"))
        time.sleep(0.3)
        assert log.pending() == 3, "nothing lost while the database does not answer"
        log.engine = any_db  # the database answers again
        deadline = time.monotonic() + 2.0
        while log.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [r.target for r in _rows(any_db, "exam_view")] == ["E0", "E1", "E2"]
        log.write(AuditEvent("it", "cli:host", "task_retry", "7"))
        assert [r.target for r in _rows(any_db, "task_retry")] == ["7"], "write() is committed when it returns"
    finally:
        log.close()
        down.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_rows_of_a_flush_still_failing_count_as_pending(any_db: Engine, tmp_path: Path) -> None:
    """While the writer thread is inside a flush that will fail (the database slow to refuse), its rows are
    still pending: the count said 0 then, as if they were written (a CI failure of the test above)."""
    down = engine_for(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    inside = threading.Event()

    @event.listens_for(down, "do_connect")
    def _slow_refusal(*_args: object) -> None:
        inside.set()
        time.sleep(0.5)

    log = AuditLog(down, flush_interval=0.05)
    try:
        for i in range(3):
            log.record(AuditEvent("nurse", "http:10.0.0.8", "exam_view", f"E{i}"))
        assert inside.wait(5), "the writer thread tried to flush"
        assert log.pending() == 3, "rows in a flush not yet committed are pending"
    finally:
        log.engine = any_db
        log.close()
        down.dispose()
    assert log.pending() == 0 and [r.target for r in _rows(any_db, "exam_view")] == ["E0", "E1", "E2"]


def _age(engine: Engine, days: int, target: str) -> None:
    with engine.begin() as conn:
        audit.insert(conn, [AuditEvent("old", "cli:h", "exam_view", target, at=utcnow() - timedelta(days=days))])


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_purge_on_sqlite_keeps_at_least_180_days(any_db: Engine) -> None:
    _age(any_db, 400, "ancient")
    _age(any_db, 179, "recent")
    assert audit.purge(any_db, timedelta(days=30)) == 1, "a shorter retention is raised to 180 days"
    assert [r.target for r in _rows(any_db, "exam_view")] == ["recent"]


@pytest.mark.parametrize("any_db", SERVERS, indirect=True)
def test_module_account_appends_audit_rows_and_purges_only_through_the_procedure(
        any_db: Engine, accounts: tuple[Engine, Engine]) -> None:  # noqa: F811
    module, _ = accounts
    _age(any_db, 400, "ancient")
    _age(any_db, 200, "old")
    _age(any_db, 170, "young")
    log = AuditLog(module)
    log.write(AuditEvent("op", "http:127.0.0.1", "exam_view", "fresh"))
    log.close()
    assert denied(module, "UPDATE rai_audit SET actor = 'someone else'")
    assert denied(module, "DELETE FROM rai_audit")
    # asked for 1 day, the procedure still keeps 180
    with module.begin() as conn:
        conn.execute(text("CALL rai_audit_purge(1)"))
    assert sorted(r.target for r in _rows(any_db, "exam_view")) == ["fresh", "young"]
    _age(any_db, 365, "older")
    assert audit.purge(module, timedelta(days=180)) == 1
    with any_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_table)).scalar() == 2
