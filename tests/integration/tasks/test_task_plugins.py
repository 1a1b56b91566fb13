"""A task kind is a plug-in: the worker serves whatever handlers it is given, records each attempt in
protocol-neutral columns, and honours a handler's own retry time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.registry import HandlerRegistry
from ris_ai_module.tasks.retry import RetryPolicy
from tests.integration.tasks.conftest import add_exam, make_ctx


class FakeMllp:
    """A delivery that is not HTTP: its answer fits the same attempt record."""

    kind = TaskKind.SR_APPLY
    retry_policy = RetryPolicy(initial=1, multiplier=1, max_delay=1, max_attempts=3)

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle(self, task: Task) -> Outcome:
        self.seen.append(task.task_id)
        return Outcome.failed("application reject", Attempt(target="mllp://10.0.0.9:2575", status_text="AR",
                                                             latency_ms=12, response="MSA|AR|" + "x" * 5000))


def test_attempt_record_is_protocol_neutral_and_bounded(any_db: Engine) -> None:
    ctx = make_ctx(any_db, "http://127.0.0.1:9/api")
    with any_db.begin() as conn:
        task_id = queue.enqueue(conn, TaskKind.SR_APPLY, payload={"sop_instance_uid": "1.2.3"})
    handler = FakeMllp()
    assert make_worker(ctx, [handler]).run_once() == 1
    assert handler.seen == [task_id]
    with any_db.connect() as conn:
        row = conn.execute(select(task_attempt)).one()._mapping
        status = conn.execute(select(task.c.status)).scalar_one()
    assert status == "FAILED"
    assert row["target"] == "mllp://10.0.0.9:2575" and row["status_text"] == "AR"
    assert row["http_status"] is None and row["latency_ms"] == 12 and row["error"] == "application reject"
    assert row["response_body"].startswith("MSA|AR|") and len(row["response_body"]) == 4000
    ctx.engine.dispose()


def test_http_attempt_names_target_and_status_and_honours_retry_after(any_db: Engine, stub: StubServer) -> None:
    url = f"http://127.0.0.1:{stub.port}/api/exams"
    ctx = make_ctx(any_db, url)  # [push.retry] initial = 50ms
    add_exam(any_db, "E1", status="STARTED")
    stub.state.status = 503
    stub.state.response_headers = {"Retry-After": "120"}
    assert make_worker(ctx).run_once() == 1
    with any_db.connect() as conn:
        a = conn.execute(select(task_attempt)).one()._mapping
        t = conn.execute(select(task)).one()._mapping
    assert a["target"] == url and a["status_text"] == "HTTP 503 Service Unavailable" and a["http_status"] == 503
    assert t["status"] == "SCHEDULED"
    wait = t["next_run_at"] - a["started_at"]
    assert timedelta(seconds=119) <= wait <= timedelta(seconds=125), "the peer's Retry-After, not the 50ms policy"
    ctx.engine.dispose()


def test_a_kind_has_exactly_one_handler_and_unserved_kinds_wait(any_db: Engine) -> None:
    with pytest.raises(ValueError, match="already has a handler"):
        HandlerRegistry([FakeMllp(), FakeMllp()])
    with pytest.raises(TypeError, match="not a TaskHandler"):
        HandlerRegistry([object()])  # type: ignore[list-item]
    ctx = make_ctx(any_db, "http://127.0.0.1:9/api")
    with any_db.begin() as conn:
        queue.enqueue(conn, TaskKind.EXAM_PUSH, exam_key="E9")
    assert make_worker(ctx, [FakeMllp()]).run_once() == 0, "no handler for EXAM_PUSH here: not claimed"
    with any_db.connect() as conn:
        assert conn.execute(select(task.c.status)).scalar_one() == "SCHEDULED"
    ctx.engine.dispose()
