"""Polling mode (no trigger allowed): each started exam becomes one task, even with two pollers."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task
from ris_ai_module.push.poller import poll_started_exams
from tests.integration.tasks.conftest import add_exam, make_ctx, set_status


def _push_tasks(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(task.c.exam_key).where(task.c.kind == "EXAM_PUSH")).scalars())


def test_poller_creates_one_task_per_started_exam(any_db: Engine) -> None:
    add_exam(any_db, "P1", status="REGISTERED")
    add_exam(any_db, "P2", status="STARTED")
    add_exam(any_db, "P3", status="FINISHED")
    with any_db.begin() as conn:
        conn.execute(delete(task))  # as if no trigger had been installed
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", ris={"detect": "poll", "poll_lookback": "36500d"})
    assert poll_started_exams(ctx) == 1
    assert _push_tasks(any_db) == ["P2"]
    assert poll_started_exams(ctx) == 0, "never twice"
    set_status(any_db, "P1", "STARTED")
    with any_db.begin() as conn:
        conn.execute(delete(task).where(task.c.exam_key == "P1"))  # the trigger's; polling must find it alone
    assert poll_started_exams(ctx) == 1
    assert _push_tasks(any_db) == ["P1", "P2"]
    ctx.engine.dispose()


def test_exam_already_queued_by_the_trigger_is_not_queued_again(any_db: Engine) -> None:
    add_exam(any_db, "T1", status="STARTED")  # the trigger made its task
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", ris={"detect": "poll", "poll_lookback": "36500d"})
    assert poll_started_exams(ctx) == 0
    assert _push_tasks(any_db) == ["T1"]
    ctx.engine.dispose()


def test_two_pollers_racing_create_each_task_once(any_db: Engine) -> None:
    for i in range(40):
        add_exam(any_db, f"R{i:02d}", status="STARTED")
    with any_db.begin() as conn:
        conn.execute(delete(task))
    contexts = [make_ctx(any_db, "http://127.0.0.1:9/", ris={"detect": "poll", "poll_lookback": "36500d"})
                for _ in range(2)]
    barrier = threading.Barrier(2)
    created: list[int] = []

    def poll(ctx) -> None:  # noqa: ANN001
        barrier.wait(timeout=10)
        created.append(poll_started_exams(ctx))

    threads = [threading.Thread(target=poll, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(created) == 40
    with any_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(task)).scalar() == 40
    for c in contexts:
        c.engine.dispose()
