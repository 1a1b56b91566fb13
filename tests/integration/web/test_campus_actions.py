"""Acting respects the campus: an account limited to a campus of a hospital group neither links another
campus's object (or into another campus's exam), nor places an SR into another campus's exam by its Study
Instance UID (HTTP, dry run, SOAP), nor retries another campus's task; its status counts, acceptance figures
and (an auditor) audit rows keep to its campus; /metrics (the whole group's figures) is refused. Two campuses
whose exam numbers collide (east:E0001, west:E0001), on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
import zeep
from pydicom.uid import generate_uid
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import audit, dicom_object, stgcmt, task
from ris_ai_module.web.audit_export import verify_csv
from ris_ai_module.web.auth import hash_password
from ris_ai_module.web.server import WebServer
from tests.integration.tasks.conftest import make_ctx
from tests.integration.tasks.test_campuses import _campus_view
from tests.sr_fixtures import cases
from tests.support import as_patient, free_port

PASSWORD = "Campus-pass-2026"
SECRETS = {"east-aud": pyotp.random_base32(), "group-aud": pyotp.random_base32()}
STUDY = {"east": "1.2.826.0.1.3680043.10.543.1", "west": "1.2.826.0.1.3680043.10.543.2"}
PATIENT = {"east": ("P-east", "东院张三"), "west": ("P-west", "西院李四")}
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"


class Group:
    def __init__(self, engine: Engine, tmp_path: Path) -> None:
        _campus_view(engine)
        with engine.begin() as conn:
            for campus, uid in STUDY.items():
                conn.execute(text("UPDATE ris_exam_group SET STUDY_UID = :u, EXAM_DATE = :d WHERE CAMPUS = :c"),
                             {"u": uid, "c": campus, "d": dt.datetime.now().replace(microsecond=0)})
        h = hash_password(PASSWORD, 1000)
        users = [{"name": "east-op", "password_hash": h, "role": "operator", "campuses": ["east"]},
                 {"name": "west-op", "password_hash": h, "role": "operator", "campuses": ["west"]},
                 {"name": "group-op", "password_hash": h, "role": "operator"},
                 {"name": "east-aud", "password_hash": h, "role": "auditadmin", "campuses": ["east"],
                  "totp_secret": SECRETS["east-aud"]},
                 {"name": "group-aud", "password_hash": h, "role": "auditadmin", "totp_secret": SECRETS["group-aud"]}]
        port = free_port()
        self.ctx = make_ctx(engine, "http://127.0.0.1:9/", storage={"root": str(tmp_path / "storage")},
                            ris={"campus_column": "CAMPUS"},
                            http={"enabled": True, "host": "127.0.0.1", "port": port, "users": users})
        self.base = f"http://127.0.0.1:{port}"
        self.tmp = tmp_path
        self.server = WebServer(self.ctx)
        self.server.start()

    @staticmethod
    def auth(name: str) -> tuple[str, str]:
        """Basic credentials; an administrator types the app's current TOTP code after the password."""
        return (name, PASSWORD + pyotp.TOTP(SECRETS[name]).now() if name in SECRETS else PASSWORD)

    def get(self, path: str, user: str, **kw: Any) -> requests.Response:
        return requests.get(self.base + path, auth=self.auth(user), timeout=30, **kw)

    def post(self, path: str, user: str, **kw: Any) -> requests.Response:
        return requests.post(self.base + path, auth=self.auth(user), timeout=30, **kw)

    def sr(self, campus: str) -> tuple[str, bytes]:
        """An SR of the campus's exam as its AI host makes it: its Study Instance UID and patient."""
        ds = as_patient(cases.adult_echo_full(), *PATIENT[campus])
        ds.StudyInstanceUID = STUDY[campus]
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = self.tmp / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        return ds.SOPInstanceUID, path.read_bytes()

    def objects(self) -> dict[str, tuple[Any, ...]]:
        o = dicom_object
        with self.ctx.engine.connect() as conn:
            return {r[0]: tuple(r[1:]) for r in conn.execute(
                select(o.c.sop_instance_uid, o.c.exam_key, o.c.review_state, o.c.review_exam_key))}

    def refusals(self, target: str) -> list[tuple[str, str, int]]:
        with self.ctx.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(audit.c.actor, audit.c.action, audit.c.ok)
                                                   .where(audit.c.target == target).order_by(audit.c.audit_id))]


@pytest.fixture
def group(any_db: Engine, tmp_path: Path) -> Iterator[Group]:
    running = Group(any_db, tmp_path)
    try:
        yield running
    finally:
        running.server.stop()
        running.ctx.engine.dispose()


def _object(conn: Any, sop: str, campus: str | None, *, linked: bool = False, sender: str = "AI-HOST") -> None:
    """An SR in RAI_OBJECT for campus's exam: linked to it, or held for review with it as the found exam."""
    key = f"{campus}:E0001" if campus else None
    pid, name = PATIENT[campus or "east"]
    conn.execute(dicom_object.insert().values(
        sop_instance_uid=sop, sop_class_uid=SR_CLASS, source="DICOM", sender_ae=sender, sender_address="127.0.0.1",
        patient_id=pid, patient_name=name, file_path=f"x/{sop}.dcm", file_size=1, sha256="0" * 64,
        received_at=dt.datetime.utcnow(), exam_key=key if linked else None, link_method="STUDY" if linked else None,
        review_state=None if linked else "NEEDS_REVIEW", review_exam_key=None if linked else key,
        review_reason=None if linked else "Patient name differs"))


def test_link_keeps_to_the_account_campus(group: Group) -> None:
    held_west, held_east, linked_west, unknown = "1.2.826.0.1.7.1", "1.2.826.0.1.7.2", "1.2.826.0.1.7.3", "1.2.826.0.1.7.4"
    with group.ctx.engine.begin() as conn:
        _object(conn, held_west, "west")
        _object(conn, held_east, "east")
        _object(conn, linked_west, "west", linked=True)
        _object(conn, unknown, None)  # no exam found, an AI host of no known campus
    before = group.objects()

    def link(user: str, sop: str, exam: str) -> requests.Response:
        return group.post(f"/api/objects/{sop}/link", user, json={"exam_key": exam})

    # another campus's object: the very answer of an object that does not exist
    absent = link("east-op", "1.2.826.0.1.7.99", "east:E0001")
    assert absent.status_code == 404
    for sop in (held_west, linked_west):
        refused = link("east-op", sop, "east:E0001")
        assert refused.status_code == 404, refused.text
        assert refused.json() == {"error": absent.json()["error"].replace("1.2.826.0.1.7.99", sop)}
    # one's own object into another campus's exam: as an exam that does not exist
    no_exam = link("east-op", held_east, "east:E0099")
    other_exam = link("east-op", held_east, "west:E0001")
    assert no_exam.status_code == other_exam.status_code == 404
    assert other_exam.json() == {"error": no_exam.json()["error"].replace("east:E0099", "west:E0001")}
    # an object whose campus cannot be told: refused, saying why
    unknown_answer = link("east-op", unknown, "east:E0001")
    assert unknown_answer.status_code == 403 and unknown_answer.json()["field"] == "sop_uid"
    assert "campus is not known" in unknown_answer.json()["error"]
    assert group.objects() == before  # nothing moved, no report touched
    with group.ctx.engine.connect() as conn:
        assert conn.execute(select(task.c.task_id).where(task.c.kind == "SR_APPLY")).first() is None
    for sop in (held_west, linked_west, unknown):
        assert group.refusals(sop) == [("east-op", "link", 0)]
    with group.ctx.engine.connect() as conn:
        detail = conn.execute(select(audit.c.detail).where(audit.c.target == held_west)).scalar()
    assert "not of this account's campuses" in detail

    assert link("east-op", held_east, "east:E0001").status_code == 200  # its own: linked as before
    assert link("group-op", held_west, "west:E0001").status_code == 200  # an account of every campus
    assert link("group-op", unknown, "east:E0001").status_code == 200  # an account of every campus decides
    after = group.objects()
    assert (after[held_east][0], after[held_west][0], after[unknown][0]) == ("east:E0001", "west:E0001", "east:E0001")


def test_sr_upload_without_exam_key_keeps_to_the_account_campus(group: Group) -> None:
    west_sop, west_sr = group.sr("west")
    dry = group.post("/api/sr?dry_run=true", "east-op", data=west_sr, headers={"Content-Type": "application/dicom"})
    assert dry.status_code == 404 and "west" not in dry.text and "西院" not in dry.text
    refused = group.post("/api/sr", "east-op", data=west_sr, headers={"Content-Type": "application/dicom"})
    assert refused.status_code == 404, refused.text
    assert refused.json()["field"] == "body" and "no exam of this account's campuses" in refused.json()["error"]
    assert west_sop not in group.objects()  # not stored, no SR_APPLY task
    with group.ctx.engine.connect() as conn:
        assert conn.execute(select(task.c.task_id).where(task.c.kind == "SR_APPLY")).first() is None
        rows = conn.execute(select(audit.c.actor, audit.c.action, audit.c.ok).where(audit.c.action == "sr_upload")).all()
    assert [tuple(r) for r in rows] == [("east-op", "sr_upload", 0)]

    session = requests.Session()
    session.auth = group.auth("east-op")
    client = zeep.Client(f"{group.base}/soap?wsdl", transport=zeep.Transport(session=session, timeout=30))
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.UploadSr(content=west_sr)
    assert fault.value.code.endswith("NotFound") and west_sop not in group.objects()

    east_sop, east_sr = group.sr("east")  # its own campus's SR: linked by its Study Instance UID as before
    mine = group.post("/api/sr", "east-op", data=east_sr, headers={"Content-Type": "application/dicom"})
    assert mine.status_code == 201 and mine.json()["exam_key"] == "east:E0001"
    assert mine.json()["link_method"] == "STUDY_UID"
    stored = group.post("/api/sr", "group-op", data=west_sr, headers={"Content-Type": "application/dicom"})
    assert stored.status_code == 201 and stored.json()["exam_key"] == "west:E0001"
    again = group.post("/api/sr", "east-op", data=west_sr, headers={"Content-Type": "application/dicom"})
    assert again.status_code == 404 and "west" not in again.text  # the stored copy's exam is not told


def test_status_retry_acceptance_metrics_keep_to_the_account_campus(group: Group) -> None:
    long_ago = dt.datetime.utcnow() - dt.timedelta(days=2)
    with group.ctx.engine.begin() as conn:  # the view's three EXAM_PUSH tasks: east, west, gone (no campus)
        ids = dict(conn.execute(select(task.c.exam_key, task.c.task_id)).all())
        conn.execute(task.update().where(task.c.exam_key != "west:E0001").values(status="DONE", finished_at=long_ago))
        conn.execute(task.update().where(task.c.exam_key == "west:E0001").values(status="FAILED", finished_at=long_ago))
        west_request = conn.execute(task.insert().values(
            kind="STGCMT_REQUEST", status="SCHEDULED", exam_key="west:E0001", payload="{}", attempts=0,
            task_uuid=generate_uid()[-36:], created_at=long_ago, updated_at=long_ago, next_run_at=long_ago,
        )).inserted_primary_key[0]
        conn.execute(stgcmt.insert().values(
            transaction_uid=generate_uid(), direction="OUT", state="REQUESTED", task_id=west_request, instances="[]",
            requested_at=long_ago, updated_at=long_ago))

    east = group.get("/api/status", "east-op").json()
    anyone = group.get("/api/status", "group-op").json()
    assert anyone["queue"]["counts"] == {"DONE": 2, "FAILED": 1, "SCHEDULED": 1}
    assert east["queue"]["counts"] == {"DONE": 1}
    assert east["queue"]["oldest_pending_age_s"] == 0.0 and anyone["queue"]["oldest_pending_age_s"] > 100_000
    assert anyone["commitment"]["waiting"] == 1 and east["commitment"]["waiting"] == 0

    west_task = ids["west:E0001"]
    refused = group.post(f"/api/tasks/{west_task}/retry", "east-op")  # as a task that does not exist
    absent = group.post("/api/tasks/999999/retry", "east-op")
    assert refused.status_code == absent.status_code == 404
    assert refused.json() == {"error": absent.json()["error"].replace("999999", str(west_task))}
    with group.ctx.engine.connect() as conn:
        assert conn.execute(select(task.c.status).where(task.c.task_id == west_task)).scalar() == "FAILED"
    assert group.post(f"/api/tasks/{west_task}/retry", "group-op").status_code == 200

    def missing(user: str) -> list[str]:
        resp = group.get("/api/acceptance", user)
        assert resp.status_code == 200, resp.text
        return sorted(m["exam_key"] for m in resp.json()["missing_results"])

    assert missing("group-op") == ["east:E0001", "gone:E0009"] and missing("east-op") == ["east:E0001"]
    metrics = group.get("/metrics", "east-op")
    assert metrics.status_code == 403 and metrics.json()["field"] == "campuses"
    assert group.get("/metrics", "group-op").status_code == 200


def test_a_campus_auditor_reads_only_its_campus_rows(group: Group) -> None:
    for user, east, west in (("east-op", 202, 404), ("west-op", 404, 202), ("group-op", 202, 202)):
        assert group.post("/api/exams/east:E0001/push", user).status_code == east
        assert group.post("/api/exams/west:E0001/push", user).status_code == west
    assert requests.get(f"{group.base}/api/exams", auth=("east-op", "wrong"), timeout=30).status_code == 401

    def actors(user: str) -> set[str]:
        resp = group.get("/api/audit", user)
        assert resp.status_code == 200, resp.text
        return {r["actor"] for r in resp.json()["rows"]}

    everyone = actors("group-aud")
    assert {"east-op", "west-op", "group-op"} <= everyone
    assert actors("east-aud") == {"east-op"}  # its own read is a row too, seen from the next read on
    assert actors("east-aud") == {"east-op", "east-aud"}
    export = group.get("/api/audit/export.csv", "east-aud")
    assert export.status_code == 200
    body = export.content.decode("utf-8-sig")
    assert verify_csv(body, export.headers["X-Audit-Chain-Head"])[0]
    lines = body.splitlines()[2:-1]
    assert lines and {line.split(",")[2] for line in lines} == {"east-op", "east-aud"}
    assert "group-op" not in body and "west-op" not in body
    page = group.get("/audit", "east-aud")
    assert page.status_code == 200 and "west-op" not in page.text and "group-op" not in page.text


def test_an_upload_by_an_account_of_one_campus_links_within_that_campus(group: Group) -> None:
    """Accession numbers collide across campuses; no Study Instance UID matches. An account of every campus
    cannot tell the exams apart (held for review, linked to none); the east account's upload is east's."""
    with group.ctx.engine.begin() as conn:
        conn.execute(text("UPDATE ris_exam_group SET ACCESSION_NO = 'A-COLLIDE'"))

    def sr() -> bytes:
        ds = as_patient(cases.adult_echo_full(), *PATIENT["east"])
        ds.AccessionNumber = "A-COLLIDE"
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = group.tmp / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        return path.read_bytes()

    dicom = {"Content-Type": "application/dicom"}
    held = group.post("/api/sr", "group-op", data=sr(), headers=dicom)
    assert held.status_code == 201 and held.json()["exam_key"] is None
    assert "campuses east, west" in held.json()["review"]["reason"]
    dry = group.post("/api/sr?dry_run=true", "east-op", data=sr(), headers=dicom)
    assert dry.status_code == 200 and dry.json()["exam_key"] == "east:E0001", dry.text
    mine = group.post("/api/sr", "east-op", data=sr(), headers=dicom)
    assert mine.status_code == 201, mine.text
    assert (mine.json()["exam_key"], mine.json()["link_method"]) == ("east:E0001", "ACCESSION")
