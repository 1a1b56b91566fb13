"""Worker housekeeping a hospital relies on: purge by age, hand-back on stop, auth variants, masked logs."""

from __future__ import annotations

import base64
import logging
import ssl
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.log import setup_logging
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.worker import release
from tests.integration.tasks.conftest import add_exam, make_ctx
from tests.integration.tasks.test_exam_push import _make_ca


def _statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.exam_key: r.status for r in conn.execute(select(task.c.exam_key, task.c.status))}


def test_purge_removes_only_old_finished_tasks_and_their_attempts(any_db: Engine, stub: StubServer) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/",
                   worker={"purge_done_after": "1d", "purge_failed_after": "30d"})
    for key in ("OLD_DONE", "NEW_DONE", "OLD_FAILED", "MID_FAILED", "WAITING"):
        add_exam(any_db, key, status="STARTED")
    stub.state.status = 200
    make_worker(ctx).run_once()
    now = utcnow()
    with any_db.begin() as conn:
        conn.execute(update(task).where(task.c.exam_key.in_(["OLD_FAILED", "MID_FAILED"])).values(status="FAILED"))
        conn.execute(update(task).where(task.c.exam_key == "WAITING").values(status="SCHEDULED", finished_at=None))
        for key, age in (("OLD_DONE", 2), ("NEW_DONE", 0.5), ("OLD_FAILED", 31), ("MID_FAILED", 10)):
            conn.execute(update(task).where(task.c.exam_key == key).values(finished_at=now - timedelta(days=age)))
        purged = queue.purge(conn, now - timedelta(days=1), now - timedelta(days=30))
    assert purged == 2
    assert _statuses(any_db) == {"NEW_DONE": "DONE", "MID_FAILED": "FAILED", "WAITING": "SCHEDULED"}
    with any_db.connect() as conn:
        kept = set(conn.execute(select(task_attempt.c.task_id)).scalars())
        ids = set(conn.execute(select(task.c.task_id)).scalars())
    assert kept <= ids, "attempts of purged tasks are purged with them"
    ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_tasks_claimed_but_not_started_are_handed_back_on_stop(any_db: Engine, stub: StubServer) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/")
    for i in range(3):
        add_exam(any_db, f"S{i}", status="STARTED")
    claimed = queue.claim(ctx.engine, ctx.owner, 60, 10)
    assert len(claimed) == 3
    release(ctx.engine, ctx.owner, claimed)
    with any_db.connect() as conn:
        rows = conn.execute(select(task.c.status, task.c.attempts, task.c.lease_owner)).all()
    assert {(r.status, r.attempts, r.lease_owner) for r in rows} == {("SCHEDULED", 0, None)}
    ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        ({"type": "basic", "username": "ris", "password": "pw1"}, "Authorization",
         "Basic " + base64.b64encode(b"ris:pw1").decode()),
        ({"type": "header", "header_name": "X-Api-Key", "header_value": "k-123"}, "X-Api-Key", "k-123"),
    ],
)
def test_auth_variants_reach_the_ai_host(any_db: Engine, stub: StubServer, auth: dict, header: str,
                                         expected: str) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/", push={"auth": auth})
    add_exam(any_db, "AUTH1", status="STARTED")
    make_worker(ctx).run_once()
    assert stub.state.received[0].headers[header] == expected
    ctx.engine.dispose()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_mutual_tls_client_certificate(any_db: Engine, tmp_path: Path) -> None:
    from tests.support import client_cert

    ca, crt, key = _make_ca(tmp_path)
    client_crt, client_key = client_cert(tmp_path, ca)
    server = StubServer(certfile=str(crt), keyfile=str(key))
    context = server.socket.context  # type: ignore[attr-defined]
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(ca))
    server.start()
    try:
        add_exam(any_db, "MTLS", status="STARTED")
        without = make_ctx(any_db, f"https://127.0.0.1:{server.port}/", push={"ca_file": str(ca)})
        make_worker(without).run_once()
        assert _statuses(any_db)["MTLS"] == "SCHEDULED" and not server.state.received
        with any_db.begin() as conn:
            conn.execute(update(task).values(next_run_at=None))
        with_cert = make_ctx(any_db, f"https://127.0.0.1:{server.port}/",
                             push={"ca_file": str(ca), "client_cert": str(client_crt), "client_key": str(client_key)})
        make_worker(with_cert).run_once()
        assert _statuses(any_db)["MTLS"] == "DONE" and len(server.state.received) == 1
        without.engine.dispose()
        with_cert.engine.dispose()
    finally:
        server.stop()


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_logs_mask_patient_name_and_id(any_db: Engine, stub: StubServer, tmp_path: Path) -> None:
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/", logging={"file": str(tmp_path / "rai.log")})
    setup_logging(ctx.config.logging)
    try:
        add_exam(any_db, "LOG1", status="STARTED", name="诸葛孔明", patient_id="P98765432")
        make_worker(ctx).run_once()
        for h in logging.getLogger().handlers:
            h.flush()
        text = (tmp_path / "rai.log").read_text(encoding="utf-8")
        assert "LOG1" in text and "P9*****32" in text
        assert "P98765432" not in text and "诸葛孔明" not in text
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_rai", False):
                logging.getLogger().removeHandler(h)
                h.close()
        ctx.engine.dispose()
    with any_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(task).where(task.c.status == "DONE")).scalar() == 1


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_slow_ai_host_makes_the_worker_hand_back_the_rest_of_its_batch(any_db: Engine, stub: StubServer) -> None:
    """With the AI host taking 1 s per exam and a 6 s lease, a batch of 8 is not held past half the lease."""
    stub.state.delay = 1.0
    ctx = make_ctx(any_db, f"http://127.0.0.1:{stub.port}/", worker={"lease": "6s", "batch_size": 8})
    for i in range(8):
        add_exam(any_db, f"SLOW{i}", status="STARTED")
    assert make_worker(ctx).run_once() == 8
    with any_db.connect() as conn:
        rows = conn.execute(select(task.c.status, task.c.attempts, task.c.lease_owner)).all()
    done = [r for r in rows if r.status == "DONE"]
    waiting = [r for r in rows if r.status == "SCHEDULED"]
    assert 3 <= len(done) <= 5 and len(done) + len(waiting) == 8, rows
    assert all(r.attempts == 0 and r.lease_owner is None for r in waiting), "handed back, attempt not counted"
    ctx.engine.dispose()
