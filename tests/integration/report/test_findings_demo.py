"""On the demo installation: a thyroid, breast, OB or vascular SR fills the findings paragraph of its
exam's report, with the categories in the key/value table and in RAI_MEASUREMENT (issue 8 items 9, 11).

Real path: ``init-demo`` config and SQLite RIS, ``import-sr`` CLI, the SR_APPLY worker, the report
writer. Expected text by hand from the fixtures and the built-in templates.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.db.tables import measurement, report_state
from ris_ai_module.demo import DEMO_EXAMS, write_demo
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import load_config
from tests.integration.report.conftest import RIS_MEASURE, RIS_REPORT
from tests.sr_fixtures import cases, findings_cases
from tests.sr_fixtures.build import save
from tests.support import free_port

CASES = {  # case -> (demo exam, lines the findings block must contain)
    "thyroid_tirads": ("E0003", [
        "甲状腺右叶中部结节 12.0×8.0×7.0 mm，实性，低回声，垂直位（高大于宽），边缘模糊，点状强回声，C-TIRADS 4A类，ACR TI-RADS TR5。",
        "甲状腺左叶上部结节 6.0×5.0×4.0 mm，囊实性，等回声，C-TIRADS 3类。"]),
    "breast_birads": ("E0002", [
        "左乳2点钟方向见乳腺囊肿，大小8.0×6.0×5.0mm，椭圆形，边缘光整，无回声，后方回声增强，BI-RADS 2类。"]),
    "ob_twins": ("E0002", ["胎儿A：双顶径85.0mm，头围320.0mm，腹围301.0mm，股骨长64.0mm。",
                           "胎儿B：双顶径83.0mm，头围320.0mm，腹围301.0mm，股骨长62.0mm。"]),
    "carotid": ("E0003", ["右侧颈内动脉：收缩期峰值流速120cm/s，舒张末期流速25cm/s。"]),
}


def _apply(tmp_path: Path, case: str) -> tuple[Path, str]:
    exam, *_ = CASES[case]
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    ds = {**cases.CASES, **findings_cases.CASES}[case]()
    _key, patient_id, name, *_rest = next(e for e in DEMO_EXAMS if e[0] == exam)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientID, ds.PatientName = patient_id, name  # the exam's own patient: nothing held for review
    sr = save(ds, tmp_path / f"{case}.dcm")
    assert main(["--config", str(config), "import-sr", str(sr), "--exam", exam]) == 0
    ctx = make_context(load_config(config))
    try:
        assert make_worker(ctx, [SrApplyHandler(ctx)]).run_once() == 1
    finally:
        ctx.engine.dispose()
    return config, exam


@pytest.mark.parametrize("case", sorted(CASES))
def test_findings_paragraph_reaches_the_demo_report(tmp_path, case, capsys):
    config, exam = _apply(tmp_path, case)
    engine = create_engine(f"sqlite:///{config.parent / 'ris.db'}")
    try:
        with engine.connect() as conn:
            findings = conn.execute(select(RIS_REPORT.c.findings).where(RIS_REPORT.c.exam_id == exam)).scalar()
    finally:
        engine.dispose()
    block = findings.split("【AI测量】", 1)[1].split("【/AI测量】", 1)[0]
    for line in CASES[case][1]:
        assert line in block.splitlines()


def test_categories_are_rows_of_the_key_value_table_and_keep_their_codes(tmp_path, capsys):
    config, exam = _apply(tmp_path, "breast_birads")
    ris = create_engine(f"sqlite:///{config.parent / 'ris.db'}")
    try:
        with ris.connect() as conn:
            rows = {r.item_key: (r.item_name, r.item_value, r.item_unit) for r in conn.execute(
                select(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == exam))}
    finally:
        ris.dispose()
    birads = {k: v for k, v in rows.items() if k.startswith("BIRADS")}
    assert sorted(v[1] for v in birads.values()) == ["2类", "4B类"]
    assert all(v[0].startswith("BI-RADS分类") and not v[2] for v in birads.values())
    ctx = make_context(load_config(config))
    try:
        with ctx.engine.connect() as conn:
            stored = conn.execute(select(measurement).where(measurement.c.exam_key == exam,
                                                            measurement.c.item_key == "BIRADS")).all()
            state = conn.execute(select(report_state.c.state, report_state.c.detail)
                                 .where(report_state.c.exam_key == exam)).one()
    finally:
        ctx.engine.dispose()
    coded = sorted((r.value_type, r.value_scheme, r.value_code, r.value_zh, r.num_value) for r in stored)
    assert coded == [("CODE", "BI", "MA.II.A.5.4B", "4B类", None), ("CODE", "SCT", "397141009", "2类", None)]
    assert state.state == "APPLIED" and "findings template" not in (state.detail or "")
