"""Unknown codes on the demo installation, through the real command line: preview an SR (nothing written),
import it, see the unknown concept with `unmapped`, write it as a draft overlay (refused until completed,
named by file and line), complete it, `reapply` (a signed report is listed, not touched), and `exam KEY`.
Bad input gets a clear message and writes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object, measurement
from ris_ai_module.demo import write_demo
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import load_config
from tests.integration.dicom import objects as make
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.build import FINDINGS, IMAGE_MODE, c, code, container, document, num, save
from tests.sr_fixtures.cases import ECHO, EF
from tests.support import as_patient, free_port

STRAIN = c("99ACME:STRAIN7", "Apical 4C longitudinal strain")
DOPPLER = c("SCT:359982000", "Doppler")


def _sr(path: Path, patient: tuple[str, str], accession: str) -> Path:
    ds = document(ECHO, [container(FINDINGS, num(EF, 60, "%"), num(STRAIN, -18.0, "%", code(IMAGE_MODE, DOPPLER)))],
                  accession=accession)
    return save(as_patient(ds, *patient), path)


def _worker(config: Path) -> None:
    ctx = make_context(load_config(config))
    try:
        while make_worker(ctx, [SrApplyHandler(ctx)]).run_once():
            pass
    finally:
        ctx.engine.dispose()


def _rows(db: Path, exam: str) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(RIS_MEASURE.c.item_key, RIS_MEASURE.c.item_value)
                                     .where(RIS_MEASURE.c.exam_id == exam)).all())
    finally:
        engine.dispose()


def _count(db: Path, table) -> int:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_preview_unmapped_overlay_reapply_end_to_end(tmp_path: Path, capsys) -> None:
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    db = config.parent / "ris.db"
    cfg = ["--config", str(config)]
    sr = _sr(tmp_path / "e1.dcm", ("P000123", "张三"), "A20261127001")  # demo exam E0001

    # preview: the exam, the check, the rows and the findings block; nothing stored or written
    assert main([*cfg, "parse-sr", str(sr), "--preview"]) == 0
    out = capsys.readouterr().out
    assert "exam E0001 via ACCESSION" in out and "patient check: ok" in out and "would be: APPLIED" in out
    assert "row   LVEF" in out and "unmapped 99ACME:STRAIN7 Apical 4C longitudinal strain = -18" in out
    assert "左室射血分数60%" in out and "待医生确认" in out
    assert main([*cfg, "parse-sr", str(sr), "--preview", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["value"], r["unit"]) for r in answer["rows"]] == [("LVEF", "60", "%")]
    assert _count(db, dicom_object) == 0 and _count(db, measurement) == 0 and _rows(db, "E0001") == {}

    # the real import is applied (not a duplicate of the preview)
    assert main([*cfg, "import-sr", str(sr)]) == 0
    assert "linked to exam E0001 (ACCESSION)" in capsys.readouterr().out
    _worker(config)
    assert _rows(db, "E0001") == {"LVEF": "60"}

    # a second exam whose report the doctor has signed
    sr2 = _sr(tmp_path / "e2.dcm", ("P000456", "李四芳"), "A20261127002")
    assert main([*cfg, "import-sr", str(sr2)]) == 0
    _worker(config)
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE ris_report SET REPORT_STATUS = 'SIGNED' WHERE EXAM_ID = 'E0002'"))
    engine.dispose()
    capsys.readouterr()

    assert main([*cfg, "unmapped"]) == 0
    out = capsys.readouterr().out
    assert "99ACME:STRAIN7" in out and "E0001" in out and "E0002" in out and "-18" in out
    assert "成像模式 image_mode" in out
    draft = tmp_path / "overlay.csv"
    assert main([*cfg, "unmapped", "--as-overlay", str(draft)]) == 0
    rows = list(csv.DictReader(draft.open(encoding="utf-8")))
    assert [(r["key"], r["concept"], r["unit"], r["name_en"]) for r in rows] == [
        ("", "99ACME:STRAIN7", "%", "Apical 4C longitudinal strain")]
    assert main([*cfg, "unmapped", "--as-overlay", str(draft)]) == 2  # never overwritten silently
    assert "exists" in capsys.readouterr().err

    # the draft is refused until completed, naming the file and the line
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[sr]\ncatalog_overlay = "{draft}"\n')
    assert main(["config", "check", str(config)]) == 2
    err = capsys.readouterr().err
    assert "sr.catalog_overlay" in err and "overlay.csv:2: a rule needs a key" in err  # file and line
    rows[0].update(key="GLS_A4C", name_zh="心尖四腔纵向应变")
    with draft.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["config", "check", str(config)]) == 0
    capsys.readouterr()

    assert main([*cfg, "reapply"]) == 0
    out = capsys.readouterr().out
    assert "E0001: APPLIED" in out and "E0002: not touched (report status is SIGNED" in out
    assert _rows(db, "E0001") == {"LVEF": "60", "GLS_A4C": "-18"}
    assert "GLS_A4C" not in _rows(db, "E0002")  # signed: not touched

    assert main([*cfg, "exam", "E0001"]) == 0
    out = capsys.readouterr().out
    assert "GLS_A4C" in out and "心尖四腔纵向应变" in out and "当前 current" in out


def test_bad_input_gets_a_clear_message_and_writes_nothing(tmp_path: Path, capsys) -> None:
    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    cfg = ["--config", str(config)]
    assert main([*cfg, "exam", "NOPE"]) == 2
    assert "exam NOPE is not in RAI_V_EXAM" in capsys.readouterr().err
    assert main([*cfg, "reapply", "--exam", "NOPE"]) == 2
    assert "exam NOPE is not in RAI_V_EXAM" in capsys.readouterr().err
    assert main([*cfg, "unmapped", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
    (tmp_path / "junk.dcm").write_bytes(b"not dicom at all")
    make.sc(tmp_path / "sc.dcm", patient_id="P000123")
    assert main([*cfg, "parse-sr", str(tmp_path / "junk.dcm"), "--preview"]) == 1
    assert "not a DICOM file" in capsys.readouterr().err
    assert main([*cfg, "parse-sr", str(tmp_path / "sc.dcm"), "--preview"]) == 1
    assert "not an SR document" in capsys.readouterr().err
    sr = _sr(tmp_path / "e1.dcm", ("P000123", "张三"), "A20261127001")
    assert main([*cfg, "parse-sr", str(sr), "--preview", "--exam", "NOPE"]) == 2
    assert "exam NOPE is not in RAI_V_EXAM" in capsys.readouterr().err
    db = config.parent / "ris.db"
    assert _count(db, dicom_object) == 0 and _count(db, measurement) == 0
