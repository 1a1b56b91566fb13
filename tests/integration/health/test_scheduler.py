"""Several module instances on one database: one runs the jobs, a dead one is replaced, a report goes out once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from ris_ai_module.db.tables import check, report_sent
from ris_ai_module.health.lease import Lease
from ris_ai_module.health.scheduler import HealthScheduler, make_component
from tests.dbs import engine_for
from tests.integration.health.conftest import make_ctx
from tests.support import wait_until


def test_lease_is_exclusive_and_taken_over_after_its_holder_died(any_db) -> None:
    a = Lease(any_db, "test", "node-a", ttl=1.0)
    b = Lease(any_db, "test", "node-b", ttl=1.0)
    assert a.acquire() and not b.acquire()
    assert a.acquire()  # renewal
    # node-a dies without releasing: node-b gets the lease once it expired, not before
    assert wait_until(b.acquire, timeout=5, interval=0.2)
    assert not a.acquire()
    b.release()
    assert a.acquire()


@pytest.fixture
def instances(pg_url: str, smtp_server, storescp, tmp_path) -> Iterator:
    port = storescp("PACS")
    started: list[HealthScheduler] = []

    def _start(owner: str) -> HealthScheduler:
        engine = engine_for(pg_url)
        ctx = make_ctx(
            engine, owner=owner,
            dicom={"peers": [{"name": "PACS", "ae_title": "PACS", "host": "127.0.0.1", "port": port}]},
            health={"echo_interval": "1s", "queue_interval": "1s", "disk_interval": "1s", "http_interval": "1s",
                    "report_check_interval": "1s", "lease": "5s", "report_time": "00:00",
                    "report_to": ["it@hospital.example"], "report_folder": str(tmp_path / "reports")},
            alerts={"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                             "from_addr": "rai@hospital.example"}},
        )
        component = make_component(ctx)
        assert component is not None
        component.start()
        started.append(component)
        return component

    yield _start
    for component in started:
        component.stop()
        component.ctx.engine.dispose()


def _owners(engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(check.c.instance).where(check.c.target == "PACS").distinct())}


def test_two_instances_one_report_one_runner_and_takeover(instances, smtp_server) -> None:
    a = instances("node-a")
    time.sleep(0.3)
    b = instances("node-b")
    smtp_server.wait_for(1, timeout=15)
    assert wait_until(lambda: len(_owners(a.ctx.engine)) >= 1, timeout=10)
    time.sleep(3)  # several more report/check rounds on both instances
    assert len(smtp_server.messages) == 1
    engine = a.ctx.engine
    leader = _owners(engine)
    assert len(leader) == 1, f"checks ran on {leader}"
    with engine.connect() as conn:
        sent = conn.execute(select(report_sent.c.owner, report_sent.c.status)).all()
    assert sent == [(next(iter(leader)), "SENT")]

    # the leader stops (clean: it releases its lease); the other instance takes over the checks
    holder, other = (a, b) if leader == {"node-a"} else (b, a)
    holder.stop()
    assert wait_until(lambda: other.ctx.owner in _owners(engine), timeout=10)

    # the stopped instance comes back at report time: the report is not sent again
    instances(holder.ctx.owner)
    time.sleep(3)
    assert len(smtp_server.messages) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(report_sent)).scalar_one() == 1
