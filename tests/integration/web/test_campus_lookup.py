"""Look-up respects the campus: two campuses whose exam numbers collide (east:E0001, west:E0001); the exam
search takes a campus filter, an account limited to a campus never sees the other's exams (search by name,
pinyin through the term table, by key, resend, SOAP), on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
import zeep
from requests.auth import HTTPBasicAuth
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ris_ai_module.web import name_index
from ris_ai_module.web.auth import hash_password, token_hash
from ris_ai_module.web.server import WebServer
from tests.integration.tasks.conftest import make_ctx
from tests.integration.tasks.test_campuses import _campus_view
from tests.support import free_port

EAST_USER = ("east-viewer", "east-pass-1")
ANY_USER = ("group-viewer", "group-pass-1")
WEST_TOKEN = "west-token-0123456789abcdef0123456789abcdef"


@pytest.fixture
def group_api(any_db: Engine, tmp_path: Path) -> Iterator[tuple[str, object]]:
    _campus_view(any_db)
    with any_db.begin() as conn:
        conn.execute(text("UPDATE ris_exam_group SET EXAM_DATE = :d"), {"d": datetime.now().replace(microsecond=0)})
    port = free_port()
    users = [{"name": EAST_USER[0], "password_hash": hash_password(EAST_USER[1], 1000), "role": "operator",
              "campuses": ["east"]},
             {"name": ANY_USER[0], "password_hash": hash_password(ANY_USER[1], 1000), "role": "viewer"}]
    tokens = [{"name": "west-tool", "token_hash": token_hash(WEST_TOKEN), "role": "viewer", "campuses": ["west"]}]
    ctx = make_ctx(any_db, "http://127.0.0.1:9/", storage={"root": str(tmp_path / "storage")},
                   ris={"campus_column": "CAMPUS"},
                   http={"enabled": True, "host": "127.0.0.1", "port": port, "users": users, "tokens": tokens})
    server = WebServer(ctx)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", ctx
    finally:
        server.stop()
        ctx.engine.dispose()


def _keys(base: str, auth: object, **params: str) -> list[str]:
    resp = requests.get(f"{base}/api/exams", params=params, auth=auth, timeout=30)  # type: ignore[arg-type]
    assert resp.status_code == 200, resp.text
    return sorted(e["exam_key"] for e in resp.json()["exams"])


class _Bearer(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {WEST_TOKEN}"
        return r


def test_campus_filter_and_accounts_limited_to_campuses(group_api) -> None:  # noqa: ANN001
    base, ctx = group_api
    anyone, east, west = HTTPBasicAuth(*ANY_USER), HTTPBasicAuth(*EAST_USER), _Bearer()
    assert _keys(base, anyone, patient_id="P-east") == ["east:E0001"]
    assert _keys(base, anyone, name="院") == ["east:E0001", "west:E0001"]
    assert _keys(base, anyone, name="院", campus="west") == ["west:E0001"]
    assert _keys(base, east, name="院") == ["east:E0001"]
    assert _keys(base, west, name="院") == ["west:E0001"]
    name_index.rescan(ctx.engine)  # the pinyin term table answers now: still only the account's campus
    assert _keys(base, anyone, name="XiYuan") == ["west:E0001"]
    assert _keys(base, east, name="xiyuan") == [] and _keys(base, west, name="xy") == ["west:E0001"]
    refused = requests.get(f"{base}/api/exams", params={"campus": "west"}, auth=east, timeout=30)
    assert refused.status_code == 400 and refused.json()["field"] == "campus"
    assert requests.get(f"{base}/api/exams/west:E0001", auth=east, timeout=30).status_code == 404
    assert requests.get(f"{base}/api/exams/east:E0001", auth=east, timeout=30).status_code == 200
    resend = requests.post(f"{base}/api/exams/west:E0001/push", auth=east, timeout=30)
    assert resend.status_code == 404
    upload = requests.post(f"{base}/api/sr", params={"exam_key": "west:E0001"}, data=b"DICM",
                           headers={"Content-Type": "application/dicom"}, auth=east, timeout=30)
    assert upload.status_code == 404, upload.text

    session = requests.Session()
    session.auth = west
    client = zeep.Client(f"{base}/soap?wsdl", transport=zeep.Transport(session=session, timeout=30))
    assert [e.exam_key for e in client.service.FindExams(name="院").exams] == ["west:E0001"]
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.GetPushStatus(exam_key="east:E0001")
    assert fault.value.code.endswith("NotFound")
    assert client.service.GetPushStatus(exam_key="west:E0001").exam_key == "west:E0001"


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_account_campuses_need_the_campus_column(any_db: Engine, tmp_path: Path) -> None:
    from ris_ai_module.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        make_ctx(any_db, "http://127.0.0.1:9/", http={"enabled": True, "port": free_port(), "users": [
            {"name": "a", "password_hash": hash_password("x-pass-1", 1000), "campuses": ["east"]}]})
    assert err.value.key == "http.users[0].campuses"


def test_task_list_and_recent_failures_keep_to_the_account_campuses(group_api) -> None:  # noqa: ANN001
    from ris_ai_module.db.tables import task

    base, ctx = group_api
    with ctx.engine.begin() as conn:  # east:E0001, west:E0001 and gone:E0009 (its exam left the view), all failed
        conn.execute(task.update().values(status="FAILED", last_error="HTTP 422"))

    def seen(auth: object, path: str, key: str) -> list[str]:
        resp = requests.get(f"{base}{path}", auth=auth, timeout=30)  # type: ignore[arg-type]
        assert resp.status_code == 200, resp.text
        return sorted(t["exam_key"] for t in resp.json()[key])

    anyone, east, west = HTTPBasicAuth(*ANY_USER), HTTPBasicAuth(*EAST_USER), _Bearer()
    everything = ["east:E0001", "gone:E0009", "west:E0001"]
    assert seen(anyone, "/api/tasks", "tasks") == everything
    assert seen(anyone, "/api/status", "recent_failures") == everything
    for auth, mine in ((east, ["east:E0001"]), (west, ["west:E0001"])):  # an exam not in the view: no campus
        assert seen(auth, "/api/tasks", "tasks") == mine
        assert seen(auth, "/api/tasks?status=FAILED", "tasks") == mine
        assert seen(auth, "/api/status", "recent_failures") == mine


def test_review_queue_and_unmapped_list_keep_to_the_account_campuses(group_api) -> None:  # noqa: ANN001
    from ris_ai_module.db.tables import dicom_object, measurement

    base, ctx = group_api
    now = datetime.utcnow()
    with ctx.engine.begin() as conn:
        for i, found in enumerate(("east:E0001", "west:E0001", None)):  # held; the exam the link rules found
            conn.execute(dicom_object.insert().values(
                sop_instance_uid=f"1.2.826.0.1.9.{i}", sop_class_uid="1.2.840.10008.5.1.4.1.1.88.33", source="DICOM",
                file_path=f"x/{i}.dcm", file_size=1, sha256="0" * 64, received_at=now, review_state="NEEDS_REVIEW",
                review_exam_key=found, review_reason="Patient ID differs"))
        for i, (exam, code) in enumerate((("east:E0001", "E-1"), ("west:E0001", "W-1"), (None, "N-1"))):
            conn.execute(measurement.insert().values(sop_instance_uid=f"1.2.826.0.1.8.{i}", exam_key=exam,
                                                     concept_scheme="99LOCAL", concept_code=code,
                                                     concept_meaning=code, created_at=now))

    def seen(auth: object, path: str, key: str, field: str) -> list[object]:
        resp = requests.get(f"{base}{path}", auth=auth, timeout=30)  # type: ignore[arg-type]
        assert resp.status_code == 200, resp.text
        return sorted(str(x[field]) for x in resp.json()[key])

    anyone, east, west = HTTPBasicAuth(*ANY_USER), HTTPBasicAuth(*EAST_USER), _Bearer()
    assert seen(anyone, "/api/review", "objects", "exam_key") == ["None", "east:E0001", "west:E0001"]
    assert seen(anyone, "/api/unmapped", "concepts", "code") == ["E-1", "N-1", "W-1"]
    assert seen(east, "/api/review", "objects", "exam_key") == ["east:E0001"]
    assert seen(west, "/api/review", "objects", "exam_key") == ["west:E0001"]
    assert seen(east, "/api/unmapped", "concepts", "code") == ["E-1"]
    assert seen(west, "/api/unmapped", "concepts", "code") == ["W-1"]
