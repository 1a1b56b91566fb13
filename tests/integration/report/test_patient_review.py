"""Issue 9's first rule on the demo installation, with DCMTK storescu as the AI host: an object whose
patient is not the exam's never reaches that exam's report; it waits for review, and an operator's
confirmation or move is audited."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.db.tables import audit, dicom_object
from ris_ai_module.demo import write_demo
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.health.report import gather
from ris_ai_module.health.review_check import check_review
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import load_config
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import as_patient, free_port

#: From ris_ai_module/demo.py: E0001 is 张三 (P000123), E0004 王小丫 (P001024, accession A20261127004).
ZHANG = ("P000123", "Zhang^San")
WANG = ("P001024", "王小丫")
WANG_ACCESSION = "A20261127004"
WANG_STUDY = "1.2.826.0.1.3680043.10.1111.4"


@pytest.fixture
def demo(tmp_path: Path):
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    ris = create_engine(f"sqlite:///{config.parent / 'ris.db'}")
    with ris.begin() as conn:
        conn.execute(text("UPDATE ris_exam SET study_uid = :u WHERE exam_id = 'E0004'"), {"u": WANG_STUDY})
    ctx = make_context(load_config(config))
    scp = StorageScp(ctx)
    scp.start()
    try:
        yield config, ctx, scp.port, ris
    finally:
        scp.stop()
        ctx.engine.dispose()
        ris.dispose()


def _apply_all(ctx) -> None:
    worker = make_worker(ctx, [SrApplyHandler(ctx)])
    for _ in range(10):  # bounded: each round runs what is queued
        if worker.run_once() == 0:
            return


def _rows(ris, exam: str) -> dict[str, str]:
    with ris.connect() as conn:
        return dict(conn.execute(select(RIS_MEASURE.c.item_key, RIS_MEASURE.c.item_value)
                                 .where(RIS_MEASURE.c.exam_id == exam)).all())


def _object(ctx, sop: str):
    with ctx.engine.connect() as conn:
        return conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).one()


def test_wrong_patient_by_accession_or_study_uid_waits_for_review(demo, tmp_path: Path, capsys) -> None:
    config, ctx, port, ris = demo
    by_accession = adult_echo_full()
    by_accession.AccessionNumber = WANG_ACCESSION
    as_patient(by_accession, *ZHANG)  # 张三's SR carrying 王小丫's accession number (the story)
    by_study = adult_echo_full()
    by_study.StudyInstanceUID = WANG_STUDY
    as_patient(by_study, *ZHANG)
    right = adult_echo_full()
    right.AccessionNumber = WANG_ACCESSION
    as_patient(right, "P001024", "Wang^Xiaoya")  # her own SR, her name in pinyin: passes strict
    files = [save(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate((by_accession, by_study, right))]
    image = make.sc(tmp_path / "sc.dcm", patient_id=ZHANG[0], accession=WANG_ACCESSION)

    result = dcmtk.storescu(port, *files, tmp_path / "sc.dcm")
    assert dcmtk.store_statuses(result.stdout + result.stderr) == ["Success"] * 4, result.stderr
    _apply_all(ctx)

    for ds in (by_accession, by_study):
        row = _object(ctx, ds.SOPInstanceUID)
        assert (row.exam_key, row.review_state, row.review_exam_key) == (None, "NEEDS_REVIEW", "E0004")
        assert "Patient ID P000123 is not the exam's (P001024)" in row.review_reason
    sc_row = _object(ctx, image.SOPInstanceUID)  # images are checked too
    assert (sc_row.exam_key, sc_row.review_state) == (None, "NEEDS_REVIEW")
    assert _object(ctx, right.SOPInstanceUID).exam_key == "E0004"
    wang = _rows(ris, "E0004")
    assert wang["LVEF"] == "60"  # only her own SR's values: from one SR, none from the two held ones
    with ris.connect() as conn:
        sources = set(conn.execute(select(RIS_MEASURE.c.source_uid).where(RIS_MEASURE.c.exam_id == "E0004")).scalars())
    assert sources == {right.SOPInstanceUID}
    assert _rows(ris, "E0001") == {}

    with ctx.engine.connect() as conn:  # IT hears of it: the review target, the daily report
        assert check_review(conn, 3600).ok
        down = check_review(conn, 0)
        counts = gather(conn, date.today() - timedelta(days=1), date.today() + timedelta(days=1)).objects
    assert not down.ok and down.target == "review:queue" and "3 object(s) held" in down.error
    assert (counts["review"], counts["review_total"]) == (3, 3)

    assert main(["--config", str(config), "objects", "--review"]) == 0
    listed = capsys.readouterr().out
    assert by_accession.SOPInstanceUID in listed and image.SOPInstanceUID in listed
    assert right.SOPInstanceUID not in listed

    # the operator moves 张三's SR to his own exam (the check passes there) and confirms the other by force
    assert main(["--config", str(config), "link", by_accession.SOPInstanceUID, "E0001"]) == 0
    assert "moved to exam E0001" in capsys.readouterr().out
    assert main(["--config", str(config), "link", by_study.SOPInstanceUID, "E0004", "--force",
                 "--reason", "同一患者，AI 主机录错 ID"]) == 0
    _apply_all(ctx)
    assert _rows(ris, "E0001")["LVEF"] == "60"
    assert _object(ctx, by_accession.SOPInstanceUID).review_state == "MOVED"
    assert _object(ctx, by_study.SOPInstanceUID).review_state == "CONFIRMED"
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.target, audit.c.detail, audit.c.ok)
                            .where(audit.c.action.like("link%")).order_by(audit.c.audit_id)).all()
    assert [(r.action, r.target, r.ok) for r in rows] == [
        ("link_move", by_accession.SOPInstanceUID, 1), ("link_force", by_study.SOPInstanceUID, 1)]
    assert "同一患者，AI 主机录错 ID" in rows[1].detail


def test_api_says_held_for_review_with_the_reason_not_unlinked(tmp_path: Path) -> None:
    from ris_ai_module import api

    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    wrong = adult_echo_full()
    wrong.AccessionNumber = WANG_ACCESSION  # 王小丫's accession on 张三's SR: the link rule finds E0004
    as_patient(wrong, *ZHANG)
    path = save(wrong, tmp_path / "wrong.dcm")
    with api.opened(config) as m:
        applied = api.import_sr(m, path.read_bytes())
        again = api.apply_sr(m, wrong.SOPInstanceUID)
    for answer in (applied, again):
        assert (answer.state, answer.exam_key) == ("NEEDS_REVIEW", None), answer
        assert answer.detail.startswith("held for review (found exam E0004): ")
        assert "Patient ID P000123 is not the exam's (P001024)" in answer.detail
        assert "UNLINKED" not in answer.detail and "waiting for `link`" not in answer.detail
