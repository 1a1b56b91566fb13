"""The review queue over HTTP: an upload for another patient's exam is held, listed, and decided by an
operator (refused without a reason when forced, audited either way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import audit
from ris_ai_module.runtime import make_worker
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import VIEWER, Api
from tests.sr_fixtures import cases
from tests.support import as_patient

pytestmark = pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)


def test_upload_for_another_patient_is_held_then_confirmed(api: Api, any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "W1", status="REGISTERED")
    with any_db.connect() as conn:
        patient_id = conn.execute(text("SELECT PATIENT_ID FROM ris_exam WHERE EXAM_ID = 'W1'")).scalar()
    ds = as_patient(cases.adult_echo_full(), "OTHER-99", "李四")
    ds.save_as(tmp_path / "sr.dcm", enforce_file_format=True)

    resp = api.post("/api/sr?exam_key=W1", data=(tmp_path / "sr.dcm").read_bytes(),
                    headers={"Content-Type": "application/dicom"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["exam_key"] is None and body["task_id"] is None
    assert body["review"]["exam_key"] == "W1"
    assert f"Patient ID OTHER-99 is not the exam's ({patient_id})" in body["review"]["reason"]

    held = api.get("/api/review").json()["objects"]
    assert [o["sop_instance_uid"] for o in held] == [ds.SOPInstanceUID] and held[0]["exam_key"] == "W1"
    sop = ds.SOPInstanceUID
    assert api.post(f"/api/objects/{sop}/link", auth=VIEWER, json={"exam_key": "W1"}).status_code == 403
    plain = api.post(f"/api/objects/{sop}/link", json={"exam_key": "W1"})
    assert plain.status_code == 409 and plain.json()["field"] == "exam_key"
    no_reason = api.post(f"/api/objects/{sop}/link", json={"exam_key": "W1", "force": True})
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    bad = api.post(f"/api/objects/{sop}/link", json={"exam_key": "W1", "force": "yes"})
    assert bad.status_code == 400 and bad.json()["field"] == "force"
    assert api.post("/api/objects/1.2.3/link", json={"exam_key": "W1"}).status_code == 404

    ok = api.post(f"/api/objects/{sop}/link", json={"exam_key": "W1", "force": True, "reason": "患者改过 ID"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["action"] == "link_force" and ok.json()["task_ids"]
    assert api.get("/api/review").json()["objects"] == []
    make_worker(api.ctx).run_once()
    assert api.get("/api/exams/W1").json()["report"]["state"] == "APPLIED"
    with any_db.connect() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.ok).where(audit.c.target == sop)
                            .order_by(audit.c.audit_id)).all()
    assert [tuple(r) for r in rows] == [("sr_upload", 1), ("link", 0), ("link", 0), ("link_force", 1)]


def test_dry_run_upload_stores_nothing_and_the_real_one_is_applied(api: Api, any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "D1", status="REGISTERED", accession="AD1", patient_id="P0001")
    ds = as_patient(cases.adult_echo_full(), "P0001", "张三")
    ds.AccessionNumber = "AD1"
    ds.save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    data = (tmp_path / "sr.dcm").read_bytes()

    dry = api.post("/api/sr?dry_run=true", data=data, headers={"Content-Type": "application/dicom"})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["exam_key"], body["link_method"], body["state"]) == ("D1", "ACCESSION", "APPLIED")
    assert body["patient_check"]["ok"] is True
    assert {"key": "LVEF", "value": "60", "unit": "%"}.items() <= next(r for r in body["rows"] if r["key"] == "LVEF").items()
    assert "【AI测量】" in body["text"] and "待医生确认" in body["text"]
    with any_db.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rai_object")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM ris_report_measure WHERE EXAM_ID = 'D1'")).scalar() == 0
    assert not list((tmp_path / "storage").rglob("*.dcm"))
    bad = api.post("/api/sr?dry_run=maybe", data=data, headers={"Content-Type": "application/dicom"})
    assert bad.status_code == 400 and bad.json()["field"] == "dry_run"

    real = api.post("/api/sr", data=data, headers={"Content-Type": "application/dicom"})
    assert real.status_code == 201 and real.json()["duplicate"] is False  # not taken as a duplicate
    make_worker(api.ctx).run_once()
    assert api.get("/api/exams/D1").json()["report"]["state"] == "APPLIED"
