"""Linking objects to exams, and the manual import path, on SQLite, PostgreSQL and MariaDB (fixture any_db)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import DateTime, String, column, insert, select, table
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, study_uid, task
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.linking import UNLINKED, Link, find_exam
from ris_ai_module.dicom.storage import StorageArea
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import make_config

ris_exam = table(
    "ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
    column("accession_no", String), column("study_uid", String), column("exam_status", String),
    column("exam_date", DateTime),
)

EXAMS = [
    {"exam_id": "E1", "patient_id": "P1", "accession_no": "ACC1", "study_uid": "1.2.826.0.1.1"},
    {"exam_id": "E2", "patient_id": "P2", "accession_no": "ACC2", "study_uid": None},
    {"exam_id": "E3", "patient_id": "P3", "accession_no": None, "study_uid": None,
     "exam_date": datetime(2026, 11, 20, 10, 30)},
    {"exam_id": "E4", "patient_id": "P4", "accession_no": "DUP", "study_uid": None},
    {"exam_id": "E5", "patient_id": "P5", "accession_no": "DUP", "study_uid": None},
    {"exam_id": "E6", "patient_id": "P6", "accession_no": None, "study_uid": None},
]


@pytest.fixture
def exams(any_db: Engine) -> Engine:
    with any_db.begin() as conn:
        for exam in EXAMS:
            row = {"patient_name": "张三", "exam_status": "REGISTERED", "exam_date": datetime(2026, 11, 27, 9)}
            row.update(exam)
            conn.execute(insert(ris_exam).values(**row))
        conn.execute(insert(study_uid).values(exam_key="E6", study_uid="2.25.123456", created_at=utcnow()))
    return any_db


@pytest.mark.parametrize(("study", "accession", "patient", "day", "expected"), [
    ("1.2.826.0.1.1", "ACC2", "P2", None, Link("E1", "STUDY_UID")),  # study UID wins over accession
    ("2.25.123456", None, None, None, Link("E6", "STUDY_UID")),  # the UID the module generated for E6
    ("9.9.9", "ACC2", None, None, Link("E2", "ACCESSION")),
    ("9.9.9", None, "P3", date(2026, 11, 20), Link("E3", "PATIENT_DATE")),
    ("9.9.9", None, "P3", date(2026, 11, 21), UNLINKED),  # another day
    ("9.9.9", "DUP", "P4", date(2026, 11, 27), Link("E4", "PATIENT_DATE")),  # ambiguous accession: next rule
    ("9.9.9", "DUP", None, None, UNLINKED),
    (None, None, None, None, UNLINKED),
])
def test_link_rules_in_order(exams: Engine, study, accession, patient, day, expected) -> None:
    with exams.connect() as conn:
        assert find_exam(conn, study, accession, patient, day) == expected


def test_import_stores_links_and_queues_apply_once(exams: Engine, tmp_path: Path) -> None:
    config = make_config(str(exams.url.render_as_string(hide_password=False)), tmp_path / "storage")
    ctx = AppContext(config=config, engine=exams)
    area = StorageArea(tmp_path / "storage")
    area.prepare()
    sr = make.sr(tmp_path / "sr.dcm", accession="ACC2", patient_id="P2")

    def run(exam_key: str | None = None):
        with open(tmp_path / "sr.dcm", "rb") as fh:
            return ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI",
                                              exam_key=exam_key))

    first = run()
    assert first.ok and not first.duplicate and (first.exam_key, first.link_method) == ("E2", "ACCESSION")
    second = run()
    assert second.ok and second.duplicate
    with exams.connect() as conn:
        [row] = conn.execute(select(dicom_object)).all()
        tasks = conn.execute(select(task).where(task.c.kind == "SR_APPLY")).all()
    assert (row.sop_instance_uid, row.source, row.exam_key) == (sr.SOPInstanceUID, "IMPORT", "E2")
    assert [json.loads(t.payload) for t in tasks] == [{"sop_instance_uid": sr.SOPInstanceUID}]
    assert tasks[0].exam_key == "E2" and tasks[0].status == "SCHEDULED"
    assert (tmp_path / "storage" / row.file_path).is_file()
    assert ctx.wake.is_set()
