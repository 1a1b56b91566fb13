"""/api/status shows Storage Commitment (SQLite, PostgreSQL, MariaDB): the archive's answers to our requests
and the reports we still owe to peers, counted from RAI_STGCMT."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import dicom_object
from ris_ai_module.dicom import stgcmt as sc
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.browser import chromium
from tests.integration.web.conftest import VIEWER, Api, start_api


def test_status_counts_commitment_states(api: Api, any_db: Engine) -> None:
    rows = [(sc.OUT, sc.COMMITTED), (sc.OUT, sc.COMMITTED), (sc.OUT, sc.FAILED), (sc.OUT, "CLOSED"),
            (sc.OUT, sc.REQUESTED), (sc.OUT, sc.EXPIRED), (sc.IN, sc.PENDING), (sc.IN, sc.SENDING), (sc.IN, sc.REPORTED)]
    with any_db.begin() as conn:
        for n, (direction, state) in enumerate(rows):
            sc.add(conn, f"1.2.3.{n}", direction, state, "PEER", "127.0.0.1", [("1.2.840.10008.5.1.4.1.1.7", f"1.9.{n}")])
    body = api.get("/api/status").json()
    assert body["commitment"] == {"committed": 2, "failed": 2, "waiting": 1, "expired": 1, "reports_owed": 2,
                                  "reported": 1}


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_status_page_and_trace_show_the_archives_commitment(any_db: Engine, tmp_path: Path) -> None:
    """In headless Chromium: the status page's tiles, and the exam summary 'Committed n/m: first reason'."""
    add_exam(any_db, "C1", name="张三", status="STARTED")
    now = datetime(2026, 12, 2, 8)
    with any_db.begin() as conn:
        for n, (committed, failure) in enumerate([(now, None), (None, "0x0112 no such object instance")]):
            conn.execute(insert(dicom_object).values(
                sop_instance_uid=f"1.9.{n}", sop_class_uid="1.2.840.10008.5.1.4.1.1.7", exam_key="C1", source="DICOM",
                file_path=f"x/{n}.dcm", file_size=1, sha256="0" * 64, received_at=now, commit_requested_at=now,
                committed_at=committed, commit_failure=failure))
        sc.add(conn, "1.2.3.1", sc.OUT, sc.COMMITTED, "PACS", "127.0.0.1", [("1.2.840.10008.5.1.4.1.1.7", "1.9.0")])
        sc.add(conn, "1.2.3.2", sc.OUT, sc.FAILED, "PACS", "127.0.0.1", [("1.2.840.10008.5.1.4.1.1.7", "1.9.1")])
    api = start_api(any_db, tmp_path)
    try:
        base = f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/"
        status = chromium(tmp_path, base, "--dump-dom")
        trace = chromium(tmp_path, base + "?exam=C1", "--dump-dom")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    assert 'id="stgcmt-committed"><b>1</b><span>归档已确认 Committed</span>' in status
    assert 'class="count bad" id="stgcmt-failed"><b>1</b>' in status
    assert "stgcmt-waiting" not in status, "a state with no request is not shown"
    assert "（归档确认 Committed 1/2：0x0112 no such object instance）" in trace


def test_finished_transactions_are_purged_after_the_audit_retention(any_db: Engine) -> None:
    from datetime import timedelta

    from sqlalchemy import select, update

    from ris_ai_module.db.clock import utcnow
    from ris_ai_module.db.tables import stgcmt
    from ris_ai_module.dicom import stgcmt_purge

    with any_db.begin() as conn:
        for uid, state in (("1.1", sc.REPORTED), ("1.2", sc.PENDING), ("1.3", sc.COMMITTED), ("1.4", sc.REQUESTED)):
            sc.add(conn, uid, sc.OUT if state in (sc.COMMITTED, sc.REQUESTED) else sc.IN, state, "P", "127.0.0.1",
                   [("1.2.840.10008.5.1.4.1.1.7", "1.9")])
        conn.execute(update(stgcmt).values(updated_at=utcnow() - timedelta(days=200)))
        sc.add(conn, "1.5", sc.IN, sc.REPORTED, "P", "127.0.0.1", [("1.2.840.10008.5.1.4.1.1.7", "1.9")])
        assert stgcmt_purge.purge(conn, utcnow() - timedelta(days=180)) == 2
        left = sorted(r[0] for r in conn.execute(select(stgcmt.c.transaction_uid)))
    assert left == ["1.2", "1.4", "1.5"], "open transactions and recent ones stay"
