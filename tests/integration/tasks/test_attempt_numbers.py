"""The trace of a task a person retried: attempt numbers go on (1, 2 after a retry), never restart at 1,
and each attempt keeps the AI host's reply body (bounded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.runtime import make_worker
from ris_ai_module.sim.http_host import StubServer
from ris_ai_module.tasks import queue
from tests.integration.tasks.conftest import add_exam, make_ctx


def test_attempt_numbers_go_on_across_a_manual_retry(any_db: Engine, tmp_path: Path) -> None:
    host = StubServer().start()
    try:
        host.state.status = 400  # refused for good: FAILED after one attempt
        host.state.response_body = {"error": "patientName missing"}
        ctx = make_ctx(any_db, f"http://127.0.0.1:{host.port}/api/exams")
        add_exam(any_db, "AN1", status="STARTED")
        worker = make_worker(ctx)
        worker.run_once()
        with any_db.begin() as conn:
            task_id = conn.execute(select(task.c.task_id).where(task.c.exam_key == "AN1")).scalar_one()
            assert conn.execute(select(task.c.status).where(task.c.task_id == task_id)).scalar() == "FAILED"
            queue.requeue(conn, task_id)
        host.state.status, host.state.response_body = 200, None
        worker.run_once()
        with any_db.connect() as conn:
            rows = conn.execute(select(task_attempt.c.attempt_no, task_attempt.c.outcome, task_attempt.c.response_body)
                                .where(task_attempt.c.task_id == task_id).order_by(task_attempt.c.attempt_id)).all()
        assert [(r.attempt_no, r.outcome) for r in rows] == [(1, "FAILED"), (2, "DONE")]
        assert "patientName missing" in (rows[0].response_body or ""), "the AI host's reply is kept"
        ctx.engine.dispose()
        config = tmp_path / "rai.toml"
        config.write_text(f'[database]\nurl = "{any_db.url.render_as_string(hide_password=False)}"\n'
                          f'[push]\nurl = "http://127.0.0.1:{host.port}/api/exams"\n', encoding="utf-8")
        shown = subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), "task", str(task_id)],
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert "attempt 1 reply" in shown.stdout and "patientName missing" in shown.stdout, shown.stdout
    finally:
        host.stop()
