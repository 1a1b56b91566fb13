"""The HTTP API as hospital IT and RIS staff use it: look-up, trace, resend, upload; errors that name the
field; authentication, roles, lockout and audit."""

from __future__ import annotations

import socket
import ssl
from datetime import datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import audit, dicom_object, task
from ris_ai_module.runtime import make_worker
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import MONITOR_TOKEN, OPERATOR, VIEWER, Api, start_api
from tests.sr_fixtures import cases
from tests.support import as_patient


def _exams(engine: Engine) -> None:
    rows = [("W1", "张三丰", "P100", "ACC-1", datetime(2026, 11, 20, 9)),
            ("W2", "欧阳娜娜", "P200", "ACC-2", datetime(2026, 11, 25, 10)),
            ("W3", "张小凡", "P300", "ACC-3", datetime(2026, 11, 26, 11)),
            ("W4", "李四", "P400", "ACC-4", datetime(2025, 1, 2, 8)),
            ("W5", "曾小贤", "P500", "ACC-5", datetime(2026, 11, 24, 8))]
    for key, name, pid, acc, when in rows:
        add_exam(engine, key, name=name, patient_id=pid, accession=acc)
        with engine.begin() as conn:
            conn.execute(text("UPDATE ris_exam SET EXAM_DATE = :d WHERE EXAM_ID = :k"), {"d": when, "k": key})


def _keys(resp) -> list[str]:  # noqa: ANN001
    assert resp.status_code == 200, resp.text
    return [e["exam_key"] for e in resp.json()["exams"]]


def test_exam_search_by_chinese_pinyin_id_accession_and_dates(api: Api, any_db: Engine) -> None:
    _exams(any_db)
    assert _keys(api.get("/api/exams", params={"name": "张"})) == ["W3", "W1"]  # newest first
    assert _keys(api.get("/api/exams", params={"name": "小"})) == ["W3", "W5"]
    assert _keys(api.get("/api/exams", params={"name": "ouyang", "from": "2026-01-01"})) == ["W2"]
    assert _keys(api.get("/api/exams", params={"name": "zsf", "from": "2026-01-01"})) == ["W1"]
    assert _keys(api.get("/api/exams", params={"name": "ZhangXiao", "from": "2026-01-01"})) == ["W3"]
    assert _keys(api.get("/api/exams", params={"name": "zeng", "from": "2026-01-01"})) == ["W5"], "曾 as a surname"
    assert _keys(api.get("/api/exams", params={"name": "x", "from": "2026-01-01", "limit": 1, "offset": 1})) == ["W5"]
    assert _keys(api.get("/api/exams", params={"patient_id": "P200"})) == ["W2"]
    assert _keys(api.get("/api/exams", params={"accession": "ACC-4"})) == ["W4"]
    assert _keys(api.get("/api/exams", params={"from": "2026-11-25", "to": "2026-11-25"})) == ["W2"]
    page = api.get("/api/exams", params={"limit": 2, "offset": 3}).json()
    assert page["total"] == 5 and [e["exam_key"] for e in page["exams"]] == ["W1", "W4"]
    windowed = api.get("/api/exams", params={"name": "lisi"}).json()
    assert windowed["exams"] == [] and "searched_from" in windowed, "pinyin without dates looks back a window"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-02-30"}, "from"), ({"to": "yesterday"}, "to"), ({"limit": "0"}, "limit"),
    ({"limit": "many"}, "limit"), ({"from": "2026-11-02", "to": "2026-11-01"}, "to"), ({"name": "x" * 65}, "name"),
])
def test_bad_query_is_a_400_naming_the_field(api: Api, query: dict, field: str) -> None:
    resp = api.get("/api/exams", params=query)
    assert resp.status_code == 400 and resp.json()["field"] == field and resp.json()["error"]


def test_query_values_are_read_as_utf8_text(api: Api, any_db: Engine) -> None:
    """A Chinese exam key in ``/api/tasks?exam_key=`` finds its task (read as the URL's bytes decoded as latin-1
    it matched nothing), a value's length is counted in characters, and bytes that are not UTF-8 are a 400
    naming the parameter."""
    add_exam(any_db, "超声0001", status="STARTED")
    found = api.get("/api/tasks", params={"exam_key": "超声0001"})
    assert found.status_code == 200, found.text
    assert [t["exam_key"] for t in found.json()["tasks"]] == ["超声0001"]
    ten = api.get("/api/tasks", params={"kind": "\U000d36ae" * 10})  # 10 characters, 40 bytes: within 20
    assert ten.status_code == 200 and ten.json()["tasks"] == []
    assert api.get("/api/tasks", params={"kind": "超" * 21}).json()["field"] == "kind"
    bad = api.get("/api/tasks?exam_key=%FF%FE")
    assert bad.status_code == 400 and bad.json() == {"error": "not valid UTF-8", "field": "exam_key"}
    bad = api.get("/api/exams?name=%C3%28")
    assert bad.status_code == 400 and bad.json()["field"] == "name"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    assert api.get("/healthz", auth=None).json() == {"status": "up"}
    missing = api.get("/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"]
    wrong = api.post("/api/exams")
    assert wrong.status_code == 405 and "error" in wrong.json()
    assert api.get("/api/exams/NOPE").status_code == 404


def test_authentication_roles_lockout_and_audit(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "A1")
    anonymous = api.get("/api/status", auth=None)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    assert api.get("/api/status", auth=(VIEWER[0], "wrong")).status_code == 401
    forbidden = api.post("/api/exams/A1/push", auth=VIEWER)
    assert forbidden.status_code == 403 and "operator" in forbidden.json()["error"]
    for _ in range(4):
        assert api.get("/api/status", auth=(OPERATOR[0], "guess")).status_code == 401
    assert api.get("/api/status", auth=(OPERATOR[0], "guess")).status_code == 429  # 5th failure locks
    locked = api.get("/api/status", auth=OPERATOR)
    assert locked.status_code == 429 and "locked" in locked.json()["error"], "even the right password waits"
    assert api.get("/api/status", auth=VIEWER).status_code == 200, "other accounts are not locked"
    with any_db.connect() as conn:
        rows = conn.execute(select(audit.c.actor, audit.c.action, audit.c.ok, audit.c.source, audit.c.detail)).all()
    failed = [r for r in rows if r.action == "login_failed"]
    # 1 viewer typo + 5 operator failures + 1 attempt while locked: every one is audited
    assert len(failed) == 7 and all(r.ok == 0 and r.source == "http:127.0.0.1" for r in failed)
    assert [r.detail for r in failed if r.actor == OPERATOR[0]].count("locked") == 2
    assert any(r.action == "forbidden" and r.actor == VIEWER[0] for r in rows)


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_api_token_for_monitoring_tools(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "T1")
    bearer = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
    assert api.get("/api/status", auth=None, headers=bearer).status_code == 200
    assert api.post("/api/exams/T1/push", auth=None, headers=bearer).status_code == 403, "a viewer token"
    wrong = api.get("/api/status", auth=None, headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad credentials"
    with any_db.connect() as conn:
        actions = conn.execute(select(audit.c.actor, audit.c.action)).all()
    assert ("monitor", "forbidden") in [tuple(a) for a in actions] and ("-", "login_failed") in [tuple(a) for a in actions]


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_every_answer_carries_security_headers(api: Api) -> None:
    for resp in (api.get("/api/status"), api.get("/api/status", auth=None), api.get("/api/nothing"),
                 api.get("/healthz", auth=None)):
        assert resp.headers["X-Content-Type-Options"] == "nosniff", resp.url
        assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Content-Type"].startswith("application/json")
    huge = api.get("/api/status", headers={"X-Padding": "x" * 100_000})
    assert 400 <= huge.status_code < 500, "oversized headers are refused"
    page = api.get("/")
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_resend_creates_a_new_task_with_a_new_key_and_is_audited(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "R1", status="STARTED")  # the trigger's task
    resp = api.post("/api/exams/R1/push")
    assert resp.status_code == 202
    with any_db.connect() as conn:
        keys = conn.execute(select(task.c.task_uuid).where(task.c.exam_key == "R1")).scalars().all()
        audited = conn.execute(select(audit.c.action, audit.c.target).where(audit.c.actor == OPERATOR[0])).all()
    assert len(keys) == 2 and len(set(keys)) == 2
    assert ("exam_resend", "R1") in [tuple(a) for a in audited]
    trace = api.get("/api/exams/R1").json()
    assert [t["status"] for t in trace["tasks"]] == ["SCHEDULED", "SCHEDULED"]
    assert trace["exam"]["patient_name"] == "张三"


def _sr_for(engine: Engine, exam_key: str, path: Path) -> bytes:
    ds = cases.adult_echo_full()
    with engine.connect() as conn:
        accession, patient_id, name = conn.execute(text(
            "SELECT ACCESSION_NO, PATIENT_ID, PATIENT_NAME FROM ris_exam WHERE EXAM_ID = :k"), {"k": exam_key}).one()
    ds.AccessionNumber = accession
    as_patient(ds, patient_id, name)
    ds.save_as(path, enforce_file_format=True)
    return path.read_bytes()


def test_manual_sr_upload_is_stored_linked_and_applied(api: Api, any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "U1", status="REGISTERED")
    with any_db.begin() as conn:
        conn.execute(text("INSERT INTO ris_report (EXAM_ID, FINDINGS, REPORT_STATUS) VALUES ('U1', '', 'DRAFT')"))
    data = _sr_for(any_db, "U1", tmp_path / "sr.dcm")
    resp = api.post("/api/sr", data=data, headers={"Content-Type": "application/dicom"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["exam_key"] == "U1" and body["link_method"] == "ACCESSION" and body["task_id"]
    make_worker(api.ctx).run_once()
    trace = api.get("/api/exams/U1").json()
    selected = {m["item_key"]: m["num_value"] for m in trace["measurements"] if m["selected"]}
    assert selected["LVIDd"] == 47.0 and selected["LVEF"] == 60.0
    assert trace["report"]["state"] == "APPLIED" and len(trace["objects"]) == 1
    again = api.post("/api/sr", data=data, headers={"Content-Type": "application/dicom"})
    assert again.status_code == 200 and again.json()["duplicate"] is True


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_bad_uploads_are_refused_and_nothing_is_stored(any_db: Engine, tmp_path: Path) -> None:
    api = start_api(any_db, tmp_path, max_upload=20_000)
    try:
        add_exam(any_db, "B1")
        big = _sr_for(any_db, "B1", tmp_path / "sr.dcm")
        assert len(big) > 20_000
        too_big = api.post("/api/sr", data=big, headers={"Content-Type": "application/dicom"})
        assert too_big.status_code == 413 and too_big.json()["field"] == "Content-Length"
        assert "http.max_upload" in too_big.json()["error"]  # answered on the headers, before the body is read
        not_dicom = api.post("/api/sr", data=b"hello" * 100, headers={"Content-Type": "application/dicom"})
        assert not_dicom.status_code == 415 and not_dicom.json() == {"error": "not a DICOM file", "field": "body"}
        wrong_type = api.post("/api/sr", data=b"x", headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415 and wrong_type.json()["field"] == "Content-Type"
        no_exam = api.post("/api/sr?exam_key=NOPE", data=b"x", headers={"Content-Type": "application/dicom"})
        assert no_exam.status_code == 404
        viewer = api.post("/api/sr", auth=VIEWER, data=b"x", headers={"Content-Type": "application/dicom"})
        assert viewer.status_code == 403
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
    with any_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dicom_object)).scalar() == 0
        refused = conn.execute(select(audit.c.ok, audit.c.detail).where(audit.c.action == "sr_upload")).all()
    # 413 is answered on the headers, before authentication (the body is never read): not a user's action.
    assert len(refused) == 3 and not any(r.ok for r in refused), "every refused authenticated upload is audited"
    assert not list((tmp_path / "storage").rglob("*.dcm")), "no file left behind"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_https_with_a_private_ca(any_db: Engine, tmp_path: Path) -> None:
    from tests.integration.tasks.test_exam_push import _make_ca

    ca, crt, key = _make_ca(tmp_path)
    api = start_api(any_db, tmp_path, tls_certificate=str(crt), tls_private_key=str(key))
    try:
        assert api.base.startswith("https://")
        resp = api.get("/api/status", verify=str(ca))
        assert resp.status_code == 200 and resp.headers["Strict-Transport-Security"].startswith("max-age=")
        with pytest.raises(requests.exceptions.SSLError):
            api.get("/api/status")  # the system trust store does not know the hospital's CA
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(str(ca))
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as raw, \
                old.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2", "TLS 1.2 clients (older Windows) still connect"
        assert api.server.server.ssl_adapter.context.minimum_version == ssl.TLSVersion.TLSv1_2
    finally:
        api.server.stop()
        api.ctx.engine.dispose()


def test_retry_a_failed_task_and_refusals_are_audited(api: Api, any_db: Engine) -> None:
    add_exam(any_db, "F1", status="STARTED")
    with any_db.begin() as conn:
        task_id = conn.execute(select(task.c.task_id).where(task.c.exam_key == "F1")).scalar_one()
        conn.execute(update(task).where(task.c.task_id == task_id).values(status="FAILED", attempts=5))
    failed = api.get("/api/tasks", params={"status": "FAILED"}).json()["tasks"]
    assert [t["task_id"] for t in failed] == [task_id]
    ok = api.post(f"/api/tasks/{task_id}/retry")
    assert ok.status_code == 200 and ok.json()["status"] == "SCHEDULED"
    again = api.post(f"/api/tasks/{task_id}/retry")
    assert again.status_code == 400 and again.json()["field"] == "task_id" and "SCHEDULED" in again.json()["error"]
    assert api.post("/api/tasks/999999/retry").status_code == 404
    assert api.post("/api/exams/NOPE/push").status_code == 404
    with any_db.connect() as conn:
        rows = conn.execute(select(audit.c.action, audit.c.target, audit.c.ok, audit.c.detail)
                            .where(audit.c.actor == OPERATOR[0]).order_by(audit.c.audit_id)).all()
    assert [(r.action, r.target, bool(r.ok)) for r in rows] == [
        ("task_retry", str(task_id), True), ("task_retry", str(task_id), False), ("task_retry", "999999", False),
        ("exam_resend", "NOPE", False)]
    assert rows[1].detail.startswith("refused:")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_status_says_503_when_the_database_is_unreachable(any_db: Engine, tmp_path: Path) -> None:
    gone = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'rai.db'}")
    api = start_api(gone, tmp_path)
    try:
        resp = api.get("/api/status", auth=None, headers={"Authorization": f"Bearer {MONITOR_TOKEN}"})
        assert resp.status_code == 503 and resp.json()["database"] == "unreachable" and resp.json()["error"]
        assert resp.json()["storage_free_bytes"] is None or resp.json()["storage_free_bytes"] > 0
        # a password login is checked against the lockout in the database: refused while it is away, and says so
        person = api.get("/api/status")
        assert person.status_code == 503 and "database" in person.json()["error"]
    finally:
        api.server.stop()
        api.ctx.engine.dispose()
