"""Exam start in the RIS -> the AI host receives the exam once, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import ssl
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import study_uid as study_uid_table
from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks.worker import Worker
from tests.integration.tasks.conftest import add_exam, make_ctx, set_status
from tests.support import free_port, wait_until


def _drain(worker: Worker, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not worker.run_once():
            return


def _tasks(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(task).order_by(task.c.task_id))]


def test_started_exam_reaches_ai_host_once_with_all_fields(any_db: Engine, stub: StubServer) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/api/exams",
                   push={"auth": {"type": "bearer", "token": "t0ken"}, "constant_fields": {"hospitalCode": "H01"}})
    add_exam(any_db, "E100", name="欧阳娜娜", study_uid="1.2.826.0.1.3680043.8.498.1")
    set_status(any_db, "E100", "STARTED")
    worker = make_worker(ctx)
    _drain(worker)
    assert len(stub.state.received) == 1
    got = stub.state.received[0]
    assert got.path == "/api/exams"
    assert got.body == {
        "patientName": "欧阳娜娜", "patientId": "P0001", "sex": "F", "birthDate": "1980-02-29",
        "accessionNumber": "AE100", "studyDate": "2026-11-27T08:30:00", "studyDescription": "超声心动图（经胸）",
        "studyInstanceUid": "1.2.826.0.1.3680043.8.498.1", "examItems": "心脏彩超", "modality": "US",
        "examKey": "E100", "hospitalCode": "H01",
    }
    assert got.headers["Authorization"] == "Bearer t0ken"
    assert "charset=utf-8" in got.headers["Content-Type"]
    rows = _tasks(any_db)
    assert [r["status"] for r in rows] == ["DONE"]
    assert got.headers["Idempotency-Key"] == rows[0]["task_uuid"]
    _drain(worker)
    assert len(stub.state.received) == 1, "a finished task is never sent again"
    ctx.engine.dispose()


def test_missing_study_uid_is_generated_once_and_kept(any_db: Engine, stub: StubServer) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/")
    add_exam(any_db, "E200", study_uid=None)
    set_status(any_db, "E200", "STARTED")
    set_status(any_db, "E200", "FINISHED")
    set_status(any_db, "E200", "STARTED")  # re-started: a second push, same generated UID
    _drain(make_worker(ctx))
    uids = [r.body["studyInstanceUid"] for r in stub.state.received]
    assert len(uids) == 2 and uids[0] == uids[1]
    assert uids[0].startswith("2.25.") and len(uids[0]) <= 64 and uids[0][5:].isdigit()
    with any_db.connect() as conn:
        assert conn.execute(select(study_uid_table.c.study_uid)).scalars().all() == [uids[0]]
    ctx.engine.dispose()


def test_ai_host_down_then_up_delivers_everything_with_attempts_recorded(any_db: Engine) -> None:
    port = free_port()
    ctx = make_ctx(any_db, f"http://127.0.0.1:{port}/api", push={"retry": {"initial": "10ms", "max_delay": "20ms",
                                                                           "max_attempts": 50}})
    for i in range(5):
        add_exam(any_db, f"E3{i:02d}", status="STARTED")
    worker = make_worker(ctx)
    for _ in range(3):
        worker.run_once()
        wait_until(lambda: False, timeout=0.03)
    assert {r["status"] for r in _tasks(any_db)} == {"SCHEDULED"}
    assert all("connection failed" in r["last_error"] for r in _tasks(any_db))
    server = StubServer(port=port).start()
    try:
        assert wait_until(lambda: (worker.run_once() or True) and {r["status"] for r in _tasks(any_db)} == {"DONE"},
                          timeout=10)
        assert server.state.unique_keys() == 5 and server.state.duplicates() == 0
    finally:
        server.stop()
    with any_db.connect() as conn:
        attempts = [dict(r._mapping) for r in conn.execute(select(task_attempt))]
    by_task: dict[int, list] = {}
    for a in attempts:
        by_task.setdefault(a["task_id"], []).append(a)
    for rows in by_task.values():
        outcomes = [a["outcome"] for a in sorted(rows, key=lambda a: a["attempt_no"])]
        assert outcomes[-1] == "DONE" and set(outcomes[:-1]) == {"RETRY"} and len(outcomes) >= 2
        assert [a["attempt_no"] for a in sorted(rows, key=lambda a: a["attempt_no"])] == list(range(1, len(rows) + 1))
    ctx.engine.dispose()


def test_non_retryable_4xx_fails_at_once_with_the_body_kept(any_db: Engine, stub: StubServer) -> None:
    stub.state.status = 422
    stub.state.response_body = '{"error": "patientId 格式错误"}'
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/api")
    add_exam(any_db, "E400", status="STARTED")
    _drain(make_worker(ctx))
    (row,) = _tasks(any_db)
    assert row["status"] == "FAILED" and row["attempts"] == 1 and "HTTP 422" in row["last_error"]
    with any_db.connect() as conn:
        attempt = conn.execute(select(task_attempt)).one()._mapping
    assert attempt["http_status"] == 422 and "patientId 格式错误" in attempt["response_body"]
    ctx.engine.dispose()


def test_retryable_status_then_gives_up_after_max_attempts(any_db: Engine, stub: StubServer) -> None:
    stub.state.status = 503
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/api",
                   push={"retry": {"initial": "1ms", "max_delay": "1ms", "max_attempts": 3}})
    add_exam(any_db, "E503", status="STARTED")
    worker = make_worker(ctx)
    assert wait_until(lambda: (worker.run_once() or True) and _tasks(any_db)[0]["status"] == "FAILED", timeout=10)
    (row,) = _tasks(any_db)
    assert row["attempts"] == 3 and "gave up after 3 attempts" in row["last_error"]
    assert len({r.headers["Idempotency-Key"] for r in stub.state.received}) == 1
    ctx.engine.dispose()


def _make_ca(tmp: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1, as a hospital's own PKI would issue."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    ca_key, ca_crt = tmp / "ca.key", tmp / "ca.crt"
    key, csr, crt, ext = tmp / "srv.key", tmp / "srv.csr", tmp / "srv.crt", tmp / "ext.cnf"
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2",
        "-subj", "/CN=Test Hospital CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(crt), "-days", "2", "-extfile", str(ext))
    return ca_crt, crt, key


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_https_verified_against_the_configured_ca(any_db: Engine, tmp_path: Path) -> None:
    ca, crt, key = _make_ca(tmp_path)
    server = StubServer(certfile=str(crt), keyfile=str(key)).start()
    try:
        add_exam(any_db, "E443", status="STARTED", name="李雷")
        trusting = make_ctx(any_db, f"https://127.0.0.1:{server.port}/api", push={"ca_file": str(ca)})
        untrusting = make_ctx(any_db, f"https://127.0.0.1:{server.port}/api")
        make_worker(untrusting).run_once()
        (row,) = _tasks(any_db)
        assert row["status"] == "SCHEDULED" and "TLS error" in row["last_error"] and not server.state.received
        with any_db.begin() as conn:
            conn.execute(task.update().values(next_run_at=datetime.now(timezone.utc).replace(tzinfo=None)
                                              - timedelta(seconds=1)))
        make_worker(trusting).run_once()
        assert _tasks(any_db)[0]["status"] == "DONE"
        assert server.state.received[0].body["patientName"] == "李雷"
        trusting.engine.dispose()
        untrusting.engine.dispose()
    finally:
        server.stop()
    assert isinstance(ssl.OPENSSL_VERSION, str)


def test_exam_missing_from_view_fails_with_a_reason(any_db: Engine, stub: StubServer) -> None:
    from ris_ai_module.tasks import queue

    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/api")
    with any_db.begin() as conn:
        queue.enqueue(conn, "EXAM_PUSH", exam_key="NOPE")
    _drain(make_worker(ctx))
    (row,) = _tasks(any_db)
    assert row["status"] == "FAILED" and "not in RAI_V_EXAM" in row["last_error"]
    assert json.dumps(row["last_error"])
    ctx.engine.dispose()
