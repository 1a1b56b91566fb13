"""SR_APPLY in the helper process used by ``run``: the same report as in-process, and a dead helper costs
nothing (the task runs in-process, a new helper takes over)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from sqlalchemy import create_engine, select

from ris_ai_module.cli.main import main
from ris_ai_module.config.load import load_config
from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.demo import write_demo
from ris_ai_module.report import apply_process
from ris_ai_module.report.apply import run_sr_apply
from ris_ai_module.tasks.model import TaskKind
from ris_ai_module.tasks.queue import enqueue
from ris_ai_module.tasks.worker import Worker
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import free_port


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


def test_helper_applies_like_in_process_and_survives_a_kill(tmp_path: Path, caplog) -> None:
    sr = save(adult_echo_full(), tmp_path / "echo.dcm")
    plain = write_demo(tmp_path / "plain", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    _import(plain, sr)
    ctx = make_context(load_config(plain))
    try:
        assert Worker(ctx, handlers={"SR_APPLY": run_sr_apply}).run_once() == 1  # in-process: no helper
    finally:
        ctx.engine.dispose()
    expected = _measures(plain)
    assert expected

    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    ctx = make_context(load_config(config))
    component = apply_process.make_component(ctx)
    assert component is not None
    component.start()
    try:
        helper = apply_process._helper
        assert helper is not None and helper.pid is not None and helper.pid != os.getpid()
        _import(config, sr)
        with caplog.at_level(logging.INFO):
            assert Worker(ctx, handlers={"SR_APPLY": run_sr_apply}).run_once() == 1
        assert _measures(config) == expected
        assert any("SR " in r.getMessage() and "APPLIED" in r.getMessage() for r in caplog.records), \
            "the helper's log records are logged by the parent"

        old = helper.pid
        os.kill(old, signal.SIGKILL)
        helper._process.wait(10)
        with ctx.engine.begin() as conn:  # the same SR once more (SR_APPLY is idempotent)
            sop = conn.execute(select(dicom_object.c.sop_instance_uid)).scalar_one()
            enqueue(conn, TaskKind.SR_APPLY, exam_key="E0001", payload={"sop_instance_uid": sop})
        assert Worker(ctx, handlers={"SR_APPLY": run_sr_apply}).run_once() == 1  # ran in-process
        with ctx.engine.connect() as conn:
            assert conn.execute(select(task.c.status).where(task.c.kind == "SR_APPLY")).scalars().all() \
                == ["DONE", "DONE"]
        assert _measures(config) == expected
        assert helper.pid is not None and helper.pid != old, "a new helper took over"
    finally:
        component.stop()
        ctx.engine.dispose()
    assert apply_process._helper is None
