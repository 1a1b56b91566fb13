"""SR_APPLY in the process pool used by ``run``: the same report as in-thread, and a dead pool process costs
nothing (the pool is replaced and the task tried again in the new one)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from sqlalchemy import create_engine, select

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.demo import write_demo
from ris_ai_module.report.apply_pool import ApplyPool
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import load_config
from ris_ai_module.tasks.model import TaskKind
from ris_ai_module.tasks.queue import enqueue
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import DEMO_E0001, as_patient, free_port


def _measures(config: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{config.parent / 'ris.db'}")
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(RIS_MEASURE.c.item_key, RIS_MEASURE.c.item_value)
                                     .where(RIS_MEASURE.c.exam_id == "E0001")).all())
    finally:
        engine.dispose()


def _import(config: Path, sr: Path) -> None:
    assert main(["--config", str(config), "import-sr", str(sr), "--exam", "E0001"]) == 0


def test_pool_applies_like_in_thread_and_survives_a_kill(tmp_path: Path, caplog) -> None:
    sr = save(as_patient(adult_echo_full(), *DEMO_E0001), tmp_path / "echo.dcm")
    plain = write_demo(tmp_path / "plain", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    _import(plain, sr)
    ctx = make_context(load_config(plain))
    try:
        assert make_worker(ctx, [SrApplyHandler(ctx)]).run_once() == 1  # in-thread: no pool
    finally:
        ctx.engine.dispose()
    expected = _measures(plain)
    assert expected

    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    ctx = make_context(load_config(config))
    pool = ApplyPool(ctx.config, str(config))  # the child loads the configuration by its file name
    pool.start()
    try:
        assert pool.pid is not None and pool.pid != os.getpid()
        worker = make_worker(ctx, [SrApplyHandler(ctx, pool=pool)])
        _import(config, sr)
        with caplog.at_level(logging.INFO):
            assert worker.run_once() == 1
        assert _measures(config) == expected
        assert any("SR " in r.getMessage() and "APPLIED" in r.getMessage() and r.process == pool.pid
                   for r in caplog.records), "the child's log records are logged by the parent"

        old = pool.pid
        os.kill(old, signal.SIGKILL)
        with ctx.engine.begin() as conn:  # the same SR once more (SR_APPLY is idempotent)
            sop = conn.execute(select(dicom_object.c.sop_instance_uid)).scalar_one()
            enqueue(conn, TaskKind.SR_APPLY, exam_key="E0001", payload={"sop_instance_uid": sop})
        with caplog.at_level(logging.WARNING):
            assert worker.run_once() == 1
        assert any(getattr(r, "action", "") == "sr_apply_pool_replaced" for r in caplog.records)
        with ctx.engine.connect() as conn:
            assert conn.execute(select(task.c.status).where(task.c.kind == "SR_APPLY")).scalars().all() \
                == ["DONE", "DONE"]
        assert _measures(config) == expected
        assert pool.pid is not None and pool.pid != old, "a new pool process took over"
    finally:
        pool.stop()
        ctx.engine.dispose()
    assert pool.pid is None


def test_without_a_pool_sr_apply_runs_in_thread(tmp_path: Path) -> None:
    """A pool that cannot start (or library mode) leaves SR_APPLY to the worker thread: nothing waits."""
    sr = save(as_patient(adult_echo_full(), *DEMO_E0001), tmp_path / "echo.dcm")
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    ctx = make_context(load_config(config))
    pool = ApplyPool(ctx.config, str(tmp_path / "no-such-config.toml"))
    pool.start()  # the child cannot load its configuration: logged, no pool
    try:
        assert pool.pid is None
        _import(config, sr)
        assert make_worker(ctx, [SrApplyHandler(ctx, pool=pool)]).run_once() == 1
        assert _measures(config)
    finally:
        pool.stop()
        ctx.engine.dispose()


def test_a_pool_that_does_not_answer_is_replaced_and_the_task_retried(tmp_path: Path, monkeypatch, caplog) -> None:
    """The pool's process is stuck (here: the database held by another writer): after ANSWER_TIMEOUT it is
    killed, a new pool takes over and the task is tried once more; still stuck, the task is RETRY (the
    queue schedules it again), and once the database is free the same SR applies."""
    import sqlite3

    from ris_ai_module.report import apply_pool
    from ris_ai_module.tasks import queue
    from ris_ai_module.tasks.model import OutcomeKind

    sr = save(as_patient(adult_echo_full(), *DEMO_E0001), tmp_path / "echo.dcm")
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    _import(config, sr)
    ctx = make_context(load_config(config))
    pool = ApplyPool(ctx.config, str(config))
    pool.start()
    blocker = sqlite3.connect(config.parent / "ris.db", timeout=5, isolation_level=None)
    try:
        first = pool.pid
        assert first is not None
        normal = apply_pool.ANSWER_TIMEOUT
        monkeypatch.setattr(apply_pool, "ANSWER_TIMEOUT", 1.5)
        claimed = queue.claim(ctx.engine, ctx.owner, 60.0, 1)
        assert len(claimed) == 1
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database: the pool's apply waits
        with caplog.at_level(logging.WARNING):
            outcome = SrApplyHandler(ctx, pool=pool).handle(claimed[0])
        assert outcome.kind is OutcomeKind.RETRY and "failed twice" in (outcome.error or "")
        replaced = [r for r in caplog.records if getattr(r, "action", "") == "sr_apply_pool_replaced"]
        assert len(replaced) == 2 and "no answer within" in replaced[0].getMessage()
        assert pool.pid is not None and pool.pid != first, "a new pool process took over"
        blocker.execute("ROLLBACK")
        monkeypatch.setattr(apply_pool, "ANSWER_TIMEOUT", normal)  # a loaded machine may need more than 1.5 s
        assert SrApplyHandler(ctx, pool=pool).handle(claimed[0]).kind is OutcomeKind.DONE
        assert _measures(config)
    finally:
        blocker.close()
        pool.stop()
        ctx.engine.dispose()
