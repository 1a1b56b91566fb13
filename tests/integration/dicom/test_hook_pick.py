"""A hospital's ``pick_exam`` hook cannot put an object into the wrong patient's report: DCMTK storescu sends
an SR the link rules cannot link to our SCP (SQLite, PostgreSQL, MariaDB); the hook's choice passes the
full patient check (``dicom/patient_check.py``, link method HOOK) before anything is linked or queued."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Date, DateTime, String, column, insert, select, table
from sqlalchemy.engine import Engine

from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import dicom_section

ris_exam = table(
    "ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
    column("birth_date", Date), column("accession_no", String), column("exam_status", String),
    column("exam_date", DateTime),
)

# One patient ID, two exams: the patient's own (张三, matches the SR's Zhang^San) and one registered under the
# same number for somebody else (李四, another birth date): a RIS typing error the hook cannot see.
PATIENT = "PH0042"
EXAMS = [
    {"exam_id": "HK-RIGHT", "patient_name": "张三", "birth_date": date(1970, 3, 1)},
    {"exam_id": "HK-WRONG", "patient_name": "李四", "birth_date": date(1988, 9, 9)},
]

# The hook decides by the accession number the test puts on each SR (no exam has it: the rules find nothing).
HOOK = '''
def pick_exam(obj, candidates):
    by_key = {c["exam_key"]: c for c in candidates}
    assert obj["patient_id"] == "PH0042" and set(by_key) == {"HK-RIGHT", "HK-WRONG"}, (obj, candidates)
    how = obj["accession_no"]
    if how == "PICK-WRONG":
        return "HK-WRONG"
    if how == "PICK-RIGHT":
        return "HK-RIGHT"
    if how == "PICK-RAISE":
        raise RuntimeError("the hospital rule engine is down")
    if how == "PICK-UNKNOWN":
        return "NO-SUCH-EXAM"
    if how == "PICK-OTHER":
        return "HK-OTHER"  # the exam of another patient ID
    return None
'''


@pytest.fixture
def hooked_scp(any_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with any_db.begin() as conn:
        for exam in EXAMS:
            conn.execute(insert(ris_exam).values(patient_id=PATIENT, accession_no=None, exam_status="STARTED",
                                                 exam_date=datetime(2026, 11, 20, 9), **exam))
        conn.execute(insert(ris_exam).values(exam_id="HK-OTHER", patient_id="PH0099", patient_name="王五",
                                             birth_date=date(1990, 1, 1), accession_no=None, exam_status="STARTED",
                                             exam_date=datetime(2026, 11, 27, 9)))
    name = f"rai_test_hook_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(HOOK, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "hooks": {"module": name, "timeout": "5s"}}  # review.patient_check: the default, strict
    raw.update(dicom_section(tmp_path / "storage"))
    ctx = make_context(config_from_dict(raw))
    assert ctx.hooks is not None and ctx.hooks.has("pick_exam")
    scp = StorageScp(ctx)
    scp.start()
    try:
        yield scp, ctx
    finally:
        scp.stop()
        ctx.engine.dispose()


def _send(scp: StorageScp, tmp_path: Path, how: str) -> str:
    path = tmp_path / f"{how}.dcm"
    # another day than both exams (no patient + date match), an unknown accession, a fresh Study UID
    ds = make.sr(path, patient_id=PATIENT, accession=how, study_date="20261127")
    out = dcmtk.storescu(scp.port, path)
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"], out.stdout + out.stderr
    return str(ds.SOPInstanceUID)


def _row_and_tasks(engine: Engine, sop: str):
    with engine.connect() as conn:
        row = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).one()
        tasks = conn.execute(select(task).where(task.c.kind == "SR_APPLY")).all()
    return row, tasks


def test_hook_pick_of_same_id_other_patient_is_held(hooked_scp, tmp_path: Path) -> None:
    scp, ctx = hooked_scp
    sop = _send(scp, tmp_path, "PICK-WRONG")
    row, tasks = _row_and_tasks(ctx.engine, sop)
    assert row.exam_key is None and row.link_method is None
    assert row.review_state == "NEEDS_REVIEW"
    assert row.review_exam_key == "HK-WRONG" and row.review_method == "HOOK"
    assert "Patient ID matches" in row.review_reason and "names contradict" in row.review_reason, row.review_reason
    assert tasks == []  # nothing queued for the report


def test_hook_pick_of_the_right_exam_links_it(hooked_scp, tmp_path: Path) -> None:
    scp, ctx = hooked_scp
    sop = _send(scp, tmp_path, "PICK-RIGHT")
    row, tasks = _row_and_tasks(ctx.engine, sop)
    assert (row.exam_key, row.link_method, row.review_state) == ("HK-RIGHT", "HOOK", None)
    assert [t.exam_key for t in tasks] == ["HK-RIGHT"]
    assert sop in (tasks[0].payload or "")


@pytest.mark.parametrize("how", ["PICK-RAISE", "PICK-NONE"])
def test_hook_that_fails_or_gives_no_answer_leaves_it_unlinked(hooked_scp, tmp_path: Path, how: str) -> None:
    scp, ctx = hooked_scp
    sop = _send(scp, tmp_path, how)
    row, tasks = _row_and_tasks(ctx.engine, sop)
    assert (row.exam_key, row.link_method, row.review_state) == (None, None, None)
    assert tasks == []
    stats = ctx.hooks.stats["pick_exam"]
    assert stats.calls == 1
    assert stats.failures == (1 if how == "PICK-RAISE" else 0)


@pytest.mark.parametrize(("how", "exam", "reason"), [
    ("PICK-OTHER", "HK-OTHER", f"Patient ID {PATIENT} is not the exam's (PH0099)"),
    ("PICK-UNKNOWN", "NO-SUCH-EXAM", "exam NO-SUCH-EXAM is not in RAI_V_EXAM"),
])
def test_hook_pick_of_another_patients_or_an_unknown_exam_is_held(hooked_scp, tmp_path: Path, how: str,
                                                                  exam: str, reason: str) -> None:
    """Not among the candidates: the patient check says why, and the object waits for an operator."""
    scp, ctx = hooked_scp
    sop = _send(scp, tmp_path, how)
    row, tasks = _row_and_tasks(ctx.engine, sop)
    assert (row.exam_key, row.link_method, row.review_state) == (None, None, "NEEDS_REVIEW")
    assert (row.review_exam_key, row.review_method) == (exam, "HOOK")
    assert row.review_reason == f"pick_exam hook chose exam {exam}: {reason}"
    assert tasks == []
