"""On the demo installation (init-demo): an SR imported for demo exam E0001 fills its report."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.demo import write_demo
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import load_config
from tests.integration.report.conftest import RIS_MEASURE, RIS_REPORT
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import DEMO_E0001, as_patient, free_port


def test_imported_sr_fills_the_demo_report(tmp_path: Path, capsys) -> None:
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    assert "[report]" in config.read_text(encoding="utf-8")
    sr = save(as_patient(adult_echo_full(), *DEMO_E0001), tmp_path / "echo.dcm")

    assert main(["--config", str(config), "import-sr", str(sr), "--exam", "E0001"]) == 0
    assert "SR_APPLY task" in capsys.readouterr().out
    ctx = make_context(load_config(config))
    try:
        assert make_worker(ctx, [SrApplyHandler(ctx)]).run_once() == 1
    finally:
        ctx.engine.dispose()

    engine = create_engine(f"sqlite:///{config.parent / 'ris.db'}")
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(select(RIS_MEASURE.c.item_key, RIS_MEASURE.c.item_value)
                                     .where(RIS_MEASURE.c.exam_id == "E0001")).all())
            report = conn.execute(select(RIS_REPORT).where(RIS_REPORT.c.exam_id == "E0001")).one()
    finally:
        engine.dispose()
    assert rows["LVEF"] == "60" and rows["LVIDd"] == "47.0" and len(rows) == 62
    assert report.report_status == "DRAFT"
    assert "左室射血分数60%" in report.findings

    assert main(["--config", str(config), "reports"]) == 0
    assert "E0001" in capsys.readouterr().out
