"""The exam trace in real headless Chromium after two SRs of one AI host: every value with its source SR,
the older SR's replaced value greyed as superseded, an unmapped item with its context, units as doctors
read them, and the provenance the SR carries (device, software, TID 4019 algorithm, observer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ris_ai_module.runtime import make_worker
from tests.integration.tasks.conftest import add_exam
from tests.integration.web.browser import chromium_page, without_credentials
from tests.integration.web.conftest import VIEWER, start_api
from tests.sr_fixtures.build import FINDINGS, IMAGE_MODE, c, code, container, document, num, text
from tests.sr_fixtures.cases import ECHO, EF, LVIDD
from tests.support import as_patient

UNKNOWN = c("99ACME:STRAIN7", "Apical 4C longitudinal strain")
DOPPLER = c("SCT:359982000", "Doppler")


def _sr(content_time: str, ef: float, lvidd_cm: float, extra: list, algorithm: tuple[str, str] | None = None):
    kids = [num(LVIDD, lvidd_cm, "cm"), num(EF, ef, "%"), *extra]
    if algorithm:
        kids += [text(c("DCM:111001", "Algorithm Name"), algorithm[0], rel="mod"),
                 text(c("DCM:111003", "Algorithm Version"), algorithm[1], rel="mod")]
    ds = document(ECHO, [
        code(c("DCM:121005", "Observer Type"), c("DCM:121007", "Device"), rel="obs"),
        text(c("DCM:121013", "Device Observer Name"), "ECHO-AI-01", rel="obs"),
        container(FINDINGS, *kids),
    ], manufacturer="Acme Medical", model="EchoAI")
    ds.SoftwareVersions = "3.2.1"
    ds.DeviceSerialNumber = "SN-0042"
    ds.AccessionNumber = "AT1"
    ds.ContentDate, ds.ContentTime = "20261127", content_time
    return as_patient(ds, "P0001", "张三")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_trace_shows_source_superseded_unmapped_and_provenance(any_db: Engine, tmp_path: Path) -> None:
    add_exam(any_db, "T9", name="张三", status="STARTED", accession="AT1", patient_id="P0001")
    first = _sr("091000", 60, 4.7, [num(UNKNOWN, -18.5, "%", code(IMAGE_MODE, DOPPLER))])
    second = _sr("094000", 55, 5.2, [], algorithm=("LV Auto EF", "2.4.0"))
    api = start_api(any_db, tmp_path)
    try:
        for i, ds in enumerate((first, second)):
            ds.save_as(tmp_path / f"{i}.dcm", enforce_file_format=True)
            up = api.post("/api/sr", data=(tmp_path / f"{i}.dcm").read_bytes(),
                          headers={"Content-Type": "application/dicom"})
            assert up.status_code == 201, up.text
            make_worker(api.ctx).run_once()
        trace = api.get("/api/exams/T9").json()
        url = f"http://{VIEWER[0]}:{VIEWER[1]}@127.0.0.1:{api.server.port}/?exam=T9"
        plain, credentials = without_credentials(url)
        with chromium_page(tmp_path) as browser:  # log in through the form, as a person does
            browser.open(plain)
            browser.log_in(*credentials)
            browser.open(plain)
            browser.wait("!document.getElementById('detail').hidden && "
                         "document.getElementById('detail-sources').children.length > 1")
            dom = browser.settled_dom()
            browser.screenshot(tmp_path / "trace.png")
    finally:
        api.server.stop()
        api.ctx.engine.dispose()

    by = {(m["sop_instance_uid"], m["key"]): m for m in trace["measurements"]}
    old, new = first.SOPInstanceUID, second.SOPInstanceUID
    assert by[(new, "LVEF")]["state"] == "current" and by[(new, "LVEF")]["unit_display"] == "%"
    assert by[(old, "LVEF")]["state"] == "superseded" and by[(old, "LVEF")]["superseded_by"] == new
    unmapped = [m for m in trace["measurements"] if m["state"] == "unmapped"]
    assert [m["concept_code"] for m in unmapped] == ["STRAIN7"]
    assert "成像模式 image_mode" in unmapped[0]["context_text"]
    sources = {s["sop_instance_uid"]: s for s in trace["sources"]}
    assert (sources[new]["algorithm_name"], sources[new]["algorithm_version"]) == ("LV Auto EF", "2.4.0")
    assert sources[old]["observer"]["device_name"] == "ECHO-AI-01"

    detail = dom.split('id="detail"')[1]
    assert '<tr class="superseded"><td>LVEF</td>' in detail, "the older SR's LVEF is greyed"
    assert "已取代 Superseded → …" + new[-12:] in detail
    assert '<tr class="unmapped"><td>STRAIN7</td>' in detail and "99ACME STRAIN7 Apical 4C longitudinal strain" in detail
    assert "Acme Medical EchoAI SN-0042" in detail and "<td>3.2.1</td>" in detail
    assert "<td>LV Auto EF 2.4.0</td>" in detail and "device_name: ECHO-AI-01" in detail
    assert "待医生确认" in detail
