"""The WebService (SOAP) facade, called by the real SOAP client zeep from the served WSDL on loopback: look-up
with Chinese text, the SR upload applied, the exam's measurements and findings text, push status; a wrong
password is a Fault with HTTP 401, a bad argument a Fault naming the field; reads audited like the API's."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import zeep  # noqa: E402 - a missing zeep fails (the test extra), never skips
from requests.auth import HTTPBasicAuth
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ris_ai_module.db.tables import audit
from ris_ai_module.runtime import make_worker
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.conftest import MONITOR_TOKEN, OPERATOR, VIEWER, Api
from tests.integration.web.test_api import _sr_for


def _client(api: Api, auth: object) -> zeep.Client:
    session = requests.Session()
    session.auth = auth  # type: ignore[assignment]
    return zeep.Client(f"{api.base}/soap?wsdl", transport=zeep.Transport(session=session, timeout=30))


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def test_lookup_upload_result_and_push_status_through_the_wsdl(api: Api, any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "S1", name="欧阳娜娜", patient_id="P701", accession="ACC-S1", status="REGISTERED")
    with any_db.begin() as conn:
        conn.execute(text("INSERT INTO ris_report (EXAM_ID, FINDINGS, REPORT_STATUS) VALUES ('S1', '', 'DRAFT')"))
    viewer = _client(api, HTTPBasicAuth(*VIEWER))
    found = viewer.service.FindExams(name="欧阳", limit=10)
    assert found.total == 1 and [(e.exam_key, e.patient_name, e.accession_no) for e in found.exams] == [
        ("S1", "欧阳娜娜", "ACC-S1")]
    assert viewer.service.FindExams(accession="ACC-S1").exams[0].patient_id == "P701"

    operator = _client(api, HTTPBasicAuth(*OPERATOR))
    uploaded = operator.service.UploadSr(content=_sr_for(any_db, "S1", tmp_path / "sr.dcm"))
    assert (uploaded.exam_key, uploaded.link_method, uploaded.duplicate) == ("S1", "ACCESSION", "false")
    make_worker(api.ctx).run_once()

    result = _client(api, _Bearer(MONITOR_TOKEN)).service.GetExamResult(exam_key="S1")
    values = {m.key: m.value for m in result.measurements}
    names = {m.key: m.name_zh for m in result.measurements}
    assert float(values["LVEF"]) == 60.0 and float(values["LVIDd"]) == 47.0 and names["LVEF"] == "左室射血分数"
    assert result.report_state == "APPLIED" and result.findings_text and "射血分数" in result.findings_text

    assert viewer.service.GetPushStatus(exam_key="S1").tasks == []  # REGISTERED: never pushed
    resend = api.post("/api/exams/S1/push").json()["task_id"]
    pushes = viewer.service.GetPushStatus(exam_key="S1")
    assert [(t.task_id, t.status, t.attempts) for t in pushes.tasks] == [(resend, "SCHEDULED", 0)]
    _wait_audit(any_db, "exam_search", "SOAP: name=欧阳")


def _wait_audit(engine: Engine, action: str, detail_start: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            details = [r.detail or "" for r in conn.execute(select(audit).where(audit.c.action == action))]
        if any(d.startswith(detail_start) for d in details):
            return
        time.sleep(0.2)
    raise AssertionError(f"no {action} audit row starting {detail_start!r}: {details}")


def test_wrong_password_is_a_fault_with_401_and_audited(api: Api, any_db: Engine) -> None:
    client = _client(api, HTTPBasicAuth(VIEWER[0], "wrong"))  # the WSDL itself needs no credentials
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.FindExams(name="张")
    assert fault.value.message == "bad credentials"
    envelope = client.create_message(client.service, "FindExams", name="张")
    raw = requests.post(f"{api.base}/soap", data=zeep.wsdl.utils.etree.tostring(envelope),
                        headers={"Content-Type": "text/xml; charset=utf-8"}, auth=(VIEWER[0], "wrong"), timeout=30)
    assert raw.status_code == 401 and b"Fault" in raw.content
    with any_db.connect() as conn:
        assert conn.execute(select(audit).where(audit.c.action == "login_failed")).first() is not None


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("call", "args", "field"), [
    ("FindExams", {"date_from": "2026-13-01"}, "from"),
    ("FindExams", {"limit": 0}, "limit"),
    ("GetExamResult", {}, "exam_key"),
    ("UploadSr", {"content": b"not dicom at all"}, "content"),
])
def test_bad_argument_is_a_fault_naming_the_field(api: Api, call: str, args: dict, field: str) -> None:
    client = _client(api, HTTPBasicAuth(*OPERATOR))
    with pytest.raises(zeep.exceptions.Fault) as fault:
        getattr(client.service, call)(**args)
    assert fault.value.code.endswith("InvalidInput") and fault.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_a_viewer_may_not_upload(api: Api, tmp_path: Path, any_db: Engine) -> None:
    add_exam(any_db, "S2", status="REGISTERED")
    with pytest.raises(zeep.exceptions.Fault) as fault:
        _client(api, HTTPBasicAuth(*VIEWER)).service.UploadSr(content=_sr_for(any_db, "S2", tmp_path / "sr.dcm"))
    assert "operator role" in fault.value.message


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_without_spyne_the_route_says_which_extra_is_missing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from wsgiref.util import setup_testing_defaults

    from ris_ai_module.web.app import make_app

    for name in [n for n in sys.modules if n == "spyne" or n.startswith("spyne.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    monkeypatch.delitem(sys.modules, "ris_ai_module.web.soap_service", raising=False)
    app = make_app(api.ctx)
    environ: dict = {"PATH_INFO": "/soap", "QUERY_STRING": "wsdl"}
    setup_testing_defaults(environ)
    answer: dict = {}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answer.update(status=status)))
    assert answer["status"].startswith("501") and b"ris-ai-module[soap]" in body


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_where_spyne_cannot_import_the_route_says_why_and_the_rest_runs(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.13 has no cgi module, which spyne 2.14's SOAP protocol imports: /soap answers 501 naming it, the
    module's other routes answer as usual (before, the web server did not start: ModuleNotFoundError 'cgi')."""
    import sys
    from wsgiref.util import setup_testing_defaults

    from ris_ai_module.web.app import make_app

    for name in [n for n in sys.modules if n.startswith(("spyne.protocol.soap", "spyne.server.wsgi"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "ris_ai_module.web.soap_service", raising=False)
    monkeypatch.setitem(sys.modules, "cgi", None)  # as on Python 3.13
    app = make_app(api.ctx)

    def call(path: str, query: str = "") -> tuple[str, bytes]:
        environ: dict = {"PATH_INFO": path, "QUERY_STRING": query}
        setup_testing_defaults(environ)
        answer: dict = {}
        body = b"".join(app(environ, lambda status, headers, exc_info=None: answer.update(status=status)))
        return answer["status"], body

    status, body = call("/soap", "wsdl")
    assert status.startswith("501"), status
    assert b"imports the module cgi" in body and b"Python 3.10 or 3.11" in body, body
    status, _body = call("/openapi.json")
    assert status.startswith("200"), status


@pytest.mark.parametrize("broken, words", [
    ("spyne.util.six.moves", "its bundled six 1.14 has no find_spec"),  # Python 3.12 and newer
    ("cgi", "imports the module cgi"),  # Python 3.13
])
def test_config_check_names_what_the_soap_facade_lacks(tmp_path: Path, broken: str, words: str) -> None:
    import subprocess
    import sys

    config = tmp_path / "rai.toml"
    from ris_ai_module.web.auth import hash_password

    config.write_text('[database]\nurl = "sqlite:///ris.db"\n[push]\nurl = "http://127.0.0.1:9/"\n[http]\nenabled = true\n'
                      f'[[http.users]]\nname = "it"\npassword_hash = "{hash_password("it-pass-1", 1000)}"\n'
                      'role = "operator"\n', encoding="utf-8")
    script = (f"import sys; sys.modules[{broken!r}] = None; sys.argv = ['ris-ai-module', 'config', 'check', {str(config)!r}]; "
              "from ris_ai_module.cli.main import main; sys.exit(main())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    line = next(x for x in out.stdout.splitlines() if "SOAP facade (/soap)" in x)
    assert "off, spyne 2.14" in line and words in line and "Python 3.10 or 3.11" in line, line
    ok = subprocess.run([sys.executable, "-m", "ris_ai_module", "config", "check", str(config)],
                        capture_output=True, text=True, timeout=60)
    assert "SOAP facade (/soap): available" in ok.stdout, ok.stdout + ok.stderr
