"""Real ``run`` processes: two workers never deliver a task twice; a killed worker's task is taken over."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks import queue
from tests.integration.tasks.processes import start_run, stop, write_config
from tests.support import wait_until

SERVERS = [pytest.param("postgresql", marks=pytest.mark.postgres), pytest.param("mariadb", marks=pytest.mark.mariadb)]


def _count(engine: Engine, status: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(task).where(task.c.status == status)).scalar())


@pytest.mark.parametrize("any_db", SERVERS, indirect=True)
def test_two_worker_processes_drain_500_tasks_each_delivered_once(any_db: Engine, stub: StubServer,
                                                                 tmp_path: Path) -> None:
    with any_db.begin() as conn:
        for i in range(500):
            queue.enqueue(conn, "EXAM_PUSH", exam_key=f"X{i:04d}")
    # The exams exist in the view: the demo RIS holds them.
    from tests.integration.tasks.conftest import add_exam

    for i in range(500):
        add_exam(any_db, f"X{i:04d}", status="REGISTERED")
    url = any_db.url.render_as_string(hide_password=False)
    procs = [start_run(write_config(tmp_path / f"w{n}.toml", url, f"http://127.0.0.1:{stub.port}/api"))
             for n in range(2)]
    try:
        assert wait_until(lambda: _count(any_db, "DONE") == 500, timeout=120, interval=0.2), \
            f"DONE={_count(any_db, 'DONE')}"
    finally:
        outputs = [stop(p) for p in procs]
    assert stub.state.unique_keys() == 500
    assert stub.state.duplicates() == 0, "a task was delivered twice"
    assert len(stub.state.received) == 500
    with any_db.connect() as conn:
        owners = conn.execute(select(task.c.task_uuid)).scalars().all()
    assert len(set(owners)) == 500
    assert all("Traceback" not in o for o in outputs), outputs


@pytest.mark.parametrize("any_db", ["sqlite", *SERVERS], indirect=True)
def test_worker_killed_mid_push_is_taken_over_after_lease_expiry(any_db: Engine, stub: StubServer,
                                                                tmp_path: Path) -> None:
    from tests.integration.tasks.conftest import add_exam

    add_exam(any_db, "K1", status="STARTED", name="司马懿")
    stub.state.delay = 2.5  # the AI host is slow: the worker is killed while it waits
    url = any_db.url.render_as_string(hide_password=False)
    first = start_run(write_config(tmp_path / "a.toml", url, f"http://127.0.0.1:{stub.port}/api", lease="5s"))
    try:
        assert wait_until(lambda: _count(any_db, "IN_PROCESS") == 1, timeout=30)
        time.sleep(0.5)  # the request is in flight
    finally:
        stop(first, signal.SIGKILL)
    stub.state.delay = 0
    claimed_at = time.monotonic()
    second = start_run(write_config(tmp_path / "b.toml", url, f"http://127.0.0.1:{stub.port}/api", lease="5s"))
    try:
        assert wait_until(lambda: _count(any_db, "DONE") == 1, timeout=30)
        waited = time.monotonic() - claimed_at
    finally:
        stop(second)
    with any_db.connect() as conn:
        row = conn.execute(select(task)).one()._mapping
    assert row["attempts"] == 2 and row["lease_owner"] is None
    keys = {r.headers["Idempotency-Key"] for r in stub.state.received}
    assert keys == {row["task_uuid"]}, "the take-over resends under the same idempotency key"
    assert stub.state.unique_keys() == 1
    assert waited >= 1.0, "the task was taken over only after its lease expired"
