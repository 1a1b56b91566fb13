"""FHIR_REPORT against a real HTTP receiver on loopback that parses every posted Bundle with the fhir.resources
R4B models. Expected values are written by hand: the SR fixture adult_echo_full has LVEF 60 % (左室射血分数) and
LVIDd 47.0 mm (LOINC 29436-3); the receiver answers as a FHIR server would (OperationOutcome on a 4xx)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from ris_ai_module.db.tables import task
from ris_ai_module.fhir.bundle import build_bundle
from ris_ai_module.fhir.client import FhirClient
from ris_ai_module.fhir.handler import FhirReportHandler
from ris_ai_module.fhir.section import FhirConfig
from ris_ai_module.push.section import AuthConfig
from ris_ai_module.results.resultset import Code, ExamIdentity, ResultItem, ResultSet
from ris_ai_module.runtime import make_worker
from ris_ai_module.tasks.model import OutcomeKind, Task
from tests.integration.results.conftest import apply, ctx_with
from tests.sr_fixtures.cases import adult_echo_full


@dataclass
class Receiver:
    url: str
    #: Answers to give, in order (status, body); then 200.
    answers: list[tuple[int, str]] = field(default_factory=list)
    bundles: list[Bundle] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.headers.append(dict(self.headers))
            state.bundles.append(Bundle.model_validate_json(body))  # a server's own parse of what we sent
            status, text = state.answers.pop(0) if state.answers else (200, '{"resourceType": "Bundle", '
                                                                              '"type": "transaction-response"}')
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _result(status: str = "draft") -> ResultSet:
    exam = ExamIdentity(exam_key="E9", patient_id="P9", patient_name="欧阳明", sex="M", birth_date=None,
                        accession_no="A9", study_uid="1.2.3.4.5")
    items = [
        ResultItem(key="LVEF", base_key="LVEF", name_zh="左室射血分数", name_en="LV ejection fraction", value=62.0,
                   unit="%", display="62%", code=Code("LN", "10230-1", "Left ventricular Ejection fraction")),
        ResultItem(key="CCA_PSV_R", base_key="CCA_PSV", name_zh="颈总动脉收缩期峰值流速", name_en="CCA PSV",
                   value=85.5, unit="cm/s", display="85.5cm/s", site="颈总动脉", laterality="右"),
    ]
    return ResultSet(exam=exam, items=items, findings_text="左室射血分数62%。", status=status, deliverable=None,
                     version="v1", report_state="APPLIED")


def _resources(b: Bundle, kind: str) -> list[Any]:
    return [e.resource for e in b.entry if e.resource.get_resource_type() == kind]


def test_bundle_values_codes_and_chinese_reach_the_server(receiver: Receiver) -> None:
    cfg = FhirConfig(base_url=receiver.url, auth=AuthConfig(type="bearer", token="t0k"))
    out = FhirClient(cfg).post(build_bundle(cfg, _result()))
    assert out.kind is OutcomeKind.DONE and out.http_status == 200
    assert receiver.headers[0]["Authorization"] == "Bearer t0k"
    assert receiver.headers[0]["Content-Type"].startswith("application/fhir+json")
    b = receiver.bundles[0]
    assert b.type == "transaction"
    (report,) = _resources(b, "DiagnosticReport")
    assert report.status == "preliminary" and report.conclusion == "左室射血分数62%。"
    assert report.subject.display == "欧阳明" and report.subject.identifier.value == "P9"
    obs = {o.code.text: o for o in _resources(b, "Observation")}
    ef = obs["左室射血分数"]
    assert (ef.valueQuantity.value, ef.valueQuantity.code, ef.valueQuantity.system) == (62.0, "%",
                                                                                          "http://unitsofmeasure.org")
    assert (ef.code.coding[0].system, ef.code.coding[0].code) == ("http://loinc.org", "10230-1")
    assert ef.derivedFrom[0].identifier.value == "urn:oid:1.2.3.4.5" and ef.derivedFrom[0].type == "ImagingStudy"
    psv = obs["颈总动脉收缩期峰值流速"]
    assert psv.bodySite.text == "右 颈总动脉" and psv.valueQuantity.code == "cm/s"
    assert {r.reference for r in report.result} == {e.fullUrl for e in b.entry[1:]}
    assert b.entry[0].request.method == "PUT" and b.entry[0].request.url.endswith("|E9")


def test_signed_result_is_final(receiver: Receiver) -> None:
    cfg = FhirConfig(base_url=receiver.url)
    assert FhirClient(cfg).post(build_bundle(cfg, _result("signed"))).kind is OutcomeKind.DONE
    b = receiver.bundles[0]
    assert {_resources(b, "DiagnosticReport")[0].status} | {o.status for o in _resources(b, "Observation")} == {"final"}


def test_4xx_operation_outcome_fails_with_its_text(receiver: Receiver) -> None:
    receiver.answers.append((422, json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "Observation.subject: 未知患者 P9"}]},
        ensure_ascii=False)))
    cfg = FhirConfig(base_url=receiver.url)
    out = FhirClient(cfg).post(build_bundle(cfg, _result()))
    assert out.kind is OutcomeKind.FAILED
    assert out.error == "HTTP 422 Unprocessable Entity: error invalid: Observation.subject: 未知患者 P9"


def test_5xx_retries_and_network_error_retries(receiver: Receiver) -> None:
    receiver.answers.append((503, "busy"))
    cfg = FhirConfig(base_url=receiver.url)
    client = FhirClient(cfg)
    first = client.post(build_bundle(cfg, _result()))
    assert first.kind is OutcomeKind.RETRY and first.http_status == 503
    assert client.post(build_bundle(cfg, _result())).kind is OutcomeKind.DONE
    down = FhirClient(FhirConfig(base_url="http://127.0.0.1:9/fhir", connect_timeout=2))  # type: ignore[arg-type]
    assert down.post(build_bundle(cfg, _result())).kind is OutcomeKind.RETRY


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_applied_sr_is_delivered_by_the_worker_after_a_5xx(rig, receiver: Receiver) -> None:
    receiver.answers.append((500, "down"))
    rig.add_exam("F1", report_status="DRAFT")
    ctx = ctx_with(rig, fhir={"base_url": receiver.url, "retry": {"initial": "1s"}})
    apply(ctx, rig.store(adult_echo_full(), "F1"))
    with ctx.engine.connect() as conn:
        (row,) = conn.execute(select(task).where(task.c.kind == "FHIR_REPORT")).all()
    handler = FhirReportHandler(ctx.engine, ctx.config)
    t = Task(task_id=row.task_id, task_uuid=row.task_uuid, kind=row.kind, status="IN_PROCESS", exam_key="F1",
             attempts=1, lease_owner="test:1", payload=json.loads(row.payload))
    assert handler.handle(t).kind is OutcomeKind.RETRY
    assert make_worker(ctx, [handler]).run_once() == 1
    with ctx.engine.connect() as conn:
        assert conn.execute(select(task.c.status).where(task.c.task_id == row.task_id)).scalar() == "DONE"
    b = receiver.bundles[-1]
    obs = {o.code.text: o for o in _resources(b, "Observation")}
    assert obs["左室射血分数"].valueQuantity.value == 60.0 and obs["左室射血分数"].valueQuantity.code == "%"
    lvidd = next(o for o in obs.values() if any(c.code == "29436-3" for c in o.code.coding))
    assert (lvidd.valueQuantity.value, lvidd.valueQuantity.code) == (47.0, "mm")
    assert _resources(b, "DiagnosticReport")[0].subject.display == "张三"


def test_init_demo_fhir_switches_the_delivery_on(tmp_path) -> None:
    import subprocess
    import sys

    from ris_ai_module.settings import load_config

    folder = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "ris_ai_module", "init-demo", str(folder), "--fhir",
                           "http://127.0.0.1:9/fhir"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_config(folder / "ris-ai-module.toml").fhir.base_url == "http://127.0.0.1:9/fhir"
    bad = subprocess.run([sys.executable, "-m", "ris_ai_module", "init-demo", str(tmp_path / "d2"), "--fhir", "ftp://x"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--fhir" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True)
def test_signing_through_the_acceptance_pass_delivers_the_final_version_with_the_values_as_signed(
        rig, receiver: Receiver) -> None:
    """End to end: SR applied (preliminary delivered), the doctor edits LVEF 60 -> 55 and removes MV_E, signs;
    report/acceptance.compare_signed (the real signing path) queues the delivery; the worker posts it; the
    server gets DiagnosticReport final with LVEF 55 and no MV_E."""
    from sqlalchemy import delete, update

    from ris_ai_module.report.acceptance import compare_signed
    from tests.integration.report.conftest import RIS_MEASURE

    rig.add_exam("F2", report_status="DRAFT")
    ctx = ctx_with(rig, fhir={"base_url": receiver.url})
    apply(ctx, rig.store(adult_echo_full(), "F2"))
    handler = FhirReportHandler(ctx.engine, ctx.config)
    assert make_worker(ctx, [handler]).run_once() == 1
    first = receiver.bundles[-1]
    assert _resources(first, "DiagnosticReport")[0].status == "preliminary"
    assert {o.code.text: o for o in _resources(first, "Observation")}["左室射血分数"].valueQuantity.value == 60.0

    with rig.engine.begin() as conn:  # the doctor, in the RIS: LVEF 60 -> 55, MV_E removed; then signs
        conn.execute(update(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "F2", RIS_MEASURE.c.item_key == "LVEF")
                     .values(item_value="55"))
        conn.execute(delete(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "F2", RIS_MEASURE.c.item_key == "MV_E"))
    rig.set_status("F2", "SIGNED")
    assert compare_signed(ctx) == 1
    assert make_worker(ctx, [handler]).run_once() == 1
    final = receiver.bundles[-1]
    report = _resources(final, "DiagnosticReport")[0]
    assert report.status == "final"
    obs = {o.code.text: o for o in _resources(final, "Observation")}
    assert {o.status for o in obs.values()} == {"final"}
    assert obs["左室射血分数"].valueQuantity.value == 55.0 and obs["左室射血分数"].valueQuantity.code == "%"
    lvidd = next(o for o in obs.values() if any(c.code == "29436-3" for c in o.code.coding))
    assert lvidd.valueQuantity.value == 47.0  # accepted as written
    names = {o.code.text for o in _resources(first, "Observation")} - set(obs)
    assert len(names) == 1, names  # MV_E, removed by the doctor, is not in the final version
    assert final.entry[0].request.url == first.entry[0].request.url  # the same report, a new version
