"""The public API from a separate host process (a RIS vendor's program): every function and every hook,
including a hook that raises and one that hangs, against the demo installation and real peers (DCMTK
echoscu, an HTTP AI host on loopback)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from ris_ai_module.demo import write_demo
from ris_ai_module.sim.http_host import StubServer
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import free_port

HOOKS = '''
import time

def build_push_payload(exam, payload):
    return dict(payload, hospitalSystem="HIS-X", examDescHook=exam["exam_desc"])

def pick_exam(obj, candidates):
    # A hospital rule the module does not know. For patient P000789 it picks another patient's exam:
    # the patient check must refuse that.
    if obj["patient_id"] == "P000789":
        return "E0001"
    return candidates[0]["exam_key"] if candidates else None

def render_findings(items, text):
    return text + " [hooked LVIDd=" + items["LVIDd"]["display"] + "]"

def may_write_report(exam_key, items):
    if exam_key == "E0002":
        raise ValueError("the hospital's rule engine is down")
    return exam_key == "E0001"

def after_apply(exam_key, sop_uid, state, detail):
    time.sleep(30)  # hangs: abandoned after [hooks] timeout, counted, disabled after 2 in a row
'''

HOST = '''
import json, logging, signal, subprocess, sys, time
from ris_ai_module import api

logging.basicConfig(level=logging.WARNING)
config, sr1, sr2, sr3, dicom_port = sys.argv[1:6]
handlers_before = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)]
out = {}
with api.opened(config) as m:
    out["parse_path"] = len(api.parse_sr(sr1).measurements)
    with open(sr1, "rb") as fh:
        out["parse_bytes"] = len(api.parse_sr(fh.read()).measurements)
    exams, total = api.search_exams(m, name="zhangsan")
    out["search"] = [[e["exam_key"] for e in exams], total]
    out["search_id"] = [e["exam_key"] for e in api.search_exams(m, patient_id="P000456")[0]]
    push = api.push_exam(m, "E0001")
    out["push"] = [push.kind.value, push.attempt.http_status, push.attempt.target]
    pv = api.preview_sr(m, sr1, "E0001")
    out["preview"] = [pv.would_write, pv.reason, {i.key: i.display for i in pv.items}.get("LVIDd")]
    pv2 = api.preview_sr(m, sr1, "E0003")
    out["preview_other"] = [pv2.would_write, pv2.reason]
    started = time.monotonic()
    a1 = api.import_sr(m, sr1)
    with open(sr2, "rb") as fh:
        a2 = api.import_sr(m, fh.read())
    a3 = api.import_sr(m, sr3)
    out["imports_took"] = time.monotonic() - started
    out["applied"] = [[a.exam_key, a.state, a.detail] for a in (a1, a2, a3)]
    out["again"] = api.apply_sr(m, a1.sop_instance_uid).state
    stats = api.hook_stats(m)
    out["stats"] = {k: [v.calls, v.failures, v.timeouts, v.disabled] for k, v in stats.items()}
    service = api.start(m, config)
    out["components"] = service.components
    echo = subprocess.run(["echoscu", "-aet", "DEMO_AI", "-aec", "RIS_AI", "127.0.0.1", dicom_port],
                          capture_output=True, text=True, timeout=30)
    out["echo"] = echo.returncode
    service.stop()
out["signals_untouched"] = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)] == handlers_before
print(json.dumps(out))
'''


#: The demo RIS's patients (ris_ai_module/demo.py DEMO_EXAMS): the SR carries its patient's own name.
DEMO_NAMES = {"P000123": "张三", "P000456": "李四芳", "P000789": "欧阳明", "P001024": "王小丫"}


def _sr(folder: Path, name: str, patient_id: str, accession: str) -> Path:
    ds = adult_echo_full()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientID, ds.PatientName = patient_id, DEMO_NAMES.get(patient_id, "Test^Patient")
    ds.AccessionNumber = accession
    return save(ds, folder / name)


def test_a_host_process_uses_every_api_function_and_hook(tmp_path: Path) -> None:
    stub = StubServer().start()
    try:
        dicom_port = free_port()
        config = write_demo(tmp_path / "demo", dicom_port, free_port(), f"http://127.0.0.1:{stub.port}/api/exams")
        with config.open("a", encoding="utf-8") as fh:
            fh.write('\n[hooks]\nmodule = "host_hooks"\ntimeout = "500ms"\nmax_failures = 2\n')
        hooks_dir = tmp_path / "site"
        hooks_dir.mkdir()
        (hooks_dir / "host_hooks.py").write_text(HOOKS, encoding="utf-8")
        (tmp_path / "host.py").write_text(HOST, encoding="utf-8")
        sr1 = _sr(tmp_path, "e1.dcm", "P000123", "A20261127001")  # links to E0001 by accession
        sr2 = _sr(tmp_path, "e2.dcm", "P000456", "NO-SUCH")  # the rules cannot link it; the hook picks E0002
        sr3 = _sr(tmp_path, "e3.dcm", "P000789", "NO-SUCH-2")  # the hook picks another patient's exam
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hooks_dir), os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run([sys.executable, str(tmp_path / "host.py"), str(config), str(sr1), str(sr2), str(sr3),
                               str(dicom_port)], capture_output=True, text=True, timeout=180, env=env,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        received = list(stub.state.received)
    finally:
        stub.stop()

    assert out["parse_path"] == out["parse_bytes"] > 0
    assert out["search"] == [["E0001"], 1], "pinyin of 张三"
    assert out["search_id"] == ["E0002"]
    assert out["push"] == ["DONE", 200, f"http://127.0.0.1:{stub.port}/api/exams"]
    assert received[0].body["hospitalSystem"] == "HIS-X" and received[0].body["examDescHook"] == "超声心动图（经胸）"
    assert received[0].body["examKey"] == "E0001", "the hook amends; the module's fields stay"
    assert out["preview"][0] is True and out["preview"][1] is None and out["preview"][2] == "47.0mm"
    assert out["preview_other"][0] is False and "may_write_report" in out["preview_other"][1]

    (k1, s1, _d1), (k2, s2, d2), (k3, s3, d3) = out["applied"]
    assert (k1, s1) == ("E0001", "APPLIED")
    assert (k2, s2) == ("E0002", "HELD"), "a hook that raises means: not written (fail safe)"
    assert "no answer" in d2
    assert (k3, s3) == (None, "NEEDS_REVIEW"), "the hook's choice of another patient's exam is refused: no exam"
    assert d3.startswith("held for review"), d3  # held by the patient check, with its reason (not "unlinked")
    assert out["again"] == "APPLIED"
    stats = out["stats"]
    assert stats["after_apply"][2] == 2 and stats["after_apply"][3] is True, "two hangs: abandoned, disabled"
    assert stats["may_write_report"][1] == 1 and stats["may_write_report"][3] is False
    assert stats["pick_exam"][0] == 2
    assert out["imports_took"] < 10, "a hanging hook costs its timeout, not its hang"
    assert "ALERT: hook host_hooks.after_apply disabled" in proc.stderr

    assert {"sr-apply-pool", "worker", "dicom-scp"} <= set(out["components"])
    assert out["echo"] == 0, "the service's SCP answered DCMTK echoscu while hosted"
    assert out["signals_untouched"] is True

    db = sqlite3.connect(tmp_path / "demo" / "ris.db")
    try:
        findings = db.execute("SELECT FINDINGS FROM RIS_REPORT WHERE EXAM_ID = 'E0001'").fetchone()[0]
        held = db.execute("SELECT COUNT(*) FROM RIS_REPORT_MEASURE WHERE EXAM_ID = 'E0002'").fetchone()[0]
        link = db.execute("SELECT EXAM_KEY, LINK_METHOD FROM RAI_OBJECT WHERE PATIENT_ID = 'P000456'").fetchone()
        held_pick = db.execute("SELECT EXAM_KEY, REVIEW_STATE, REVIEW_EXAM_KEY, REVIEW_REASON FROM RAI_OBJECT "
                               "WHERE PATIENT_ID = 'P000789'").fetchone()
    finally:
        db.close()
    assert "[hooked LVIDd=47.0mm]" in findings
    assert held == 0, "nothing written for the exam the hook did not allow"
    assert link == ("E0002", "HOOK")
    assert held_pick == (None, "NEEDS_REVIEW", "E0001",
                         "pick_exam hook chose exam E0001: Patient ID P000789 is not the exam's (P000123)")
