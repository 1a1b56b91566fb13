"""`acceptance` against the demo's module and simulator: every item passes; against a closed port, a
rejecting AE and an AI host answering 500 it fails the right item with a clear reason; `--cleanup` leaves no
test data behind (objects, files, measurements, tasks, report rows, report state, generated study UID)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ris_ai_module.sim.http_host import AiHostHttp
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow
TEST_EXAM = "T0001"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`demo --keep DIR` running (module + simulator), with a test patient's exam registered."""
    folder = tmp_path_factory.mktemp("acc") / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "demo", "--keep", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        assert wait_until(lambda: any("status page" in line for line in lines), timeout=90, interval=0.2), "".join(lines)
        config = folder / "ris-ai-module.toml"
        done = _cli(config, "demo-exam", "register", TEST_EXAM, "--patient-id", "TEST0001", "--patient-name", "验收测试",
                    "--sex", "男", "--items", "心脏彩超", "--accession", "ACC-TEST-1")
        assert done.returncode == 0, done.stderr
        yield config
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0, "".join(lines[-20:])


def _cli(config: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout)


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _test_data(db: Path) -> dict[str, int]:
    e = f"'{TEST_EXAM}'"
    return {
        "objects": _count(db, f"SELECT COUNT(*) FROM rai_object WHERE exam_key = {e}"),
        "measurements": _count(db, f"SELECT COUNT(*) FROM rai_measurement WHERE exam_key = {e}"),
        "tasks": _count(db, f"SELECT COUNT(*) FROM rai_task WHERE exam_key = {e}"),
        "report_state": _count(db, f"SELECT COUNT(*) FROM rai_report_state WHERE exam_key = {e}"),
        "study_uid": _count(db, f"SELECT COUNT(*) FROM rai_study_uid WHERE exam_key = {e}"),
        "report": _count(db, f"SELECT COUNT(*) FROM ris_report WHERE exam_id = {e}"),
        "report_rows": _count(db, f"SELECT COUNT(*) FROM ris_report_measure WHERE exam_id = {e}"),
        "report_images": _count(db, f"SELECT COUNT(*) FROM ris_report_image WHERE exam_id = {e}"),  # issue 14
    }


def _files(folder: Path) -> set[Path]:
    jpegs = set((folder / "images").rglob("*.jpg"))  # the demo's key image renditions (issue 14)
    return {p for p in (folder / "storage").rglob("*.dcm") if ".tmp" not in p.parts} | jpegs


def _items(stdout: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] in ("PASS", "FAIL", "SKIP"):
            out[parts[1]] = (parts[0], parts[2])
    return out


def _derived(config: Path, name: str, old: str, new: str) -> Path:
    text = config.read_text(encoding="utf-8")
    assert old in text
    path = config.parent / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _push_url(config: Path) -> str:
    import tomllib

    return tomllib.loads(config.read_text(encoding="utf-8"))["push"]["url"]


def test_every_item_passes_and_cleanup_leaves_nothing(demo: Path) -> None:
    folder, db, out = demo.parent, demo.parent / "ris.db", demo.parent / "acc-pass"
    before_files = _files(folder)
    assert _test_data(db) == dict.fromkeys(_test_data(db), 0)
    done = _cli(demo, "acceptance", "--exam", TEST_EXAM, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    items = _items(done.stdout)
    assert set(items) == {"exam", "tcp:ai-http", "tcp:ai-dicom:demo-ai", "tcp:scp", "tcp:api", "echo:ai:demo-ai",
                          "echo:self", "push", "store:sc", "store:sr", "report", "inbound:ai"}
    assert {s for s, _ in items.values()} == {"PASS"}, done.stdout
    assert "read back equal" in items["report"][1] and "ALL PASSED" in done.stdout
    html = next(out.glob("acceptance-*.html")).read_text(encoding="utf-8")
    md = next(out.glob("acceptance-*.md")).read_text(encoding="utf-8")
    for text in (html, md):
        assert "验收测试记录" in text and "通过 PASS" in text and "医院方 Hospital" in text and "供应商 Vendor" in text
        assert "pbkdf2" not in text.lower() and "password_hash" not in text  # no secrets in the record
    # the simulator answers the test push with its own SC pages and SR: wait for them, they are test data too
    assert wait_until(lambda: _test_data(db)["objects"] >= 2 + 3, timeout=30, interval=0.2)
    assert _test_data(db)["report_rows"] > 0
    assert wait_until(lambda: _test_data(db)["report_images"] > 0, timeout=30, interval=0.2)  # and their JPEGs
    cleaned = _cli(demo, "acceptance", "--cleanup", "--out", str(out))
    assert cleaned.returncode == 0 and "cannot be taken back" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert _test_data(db) == dict.fromkeys(_test_data(db), 0)
    assert _files(folder) == before_files
    assert "nothing to clean up" in _cli(demo, "acceptance", "--cleanup", "--out", str(out)).stdout


def test_a_closed_ai_host_port_fails_reachability_and_push(demo: Path) -> None:
    closed = free_port()
    url = _push_url(demo)
    config = _derived(demo, "closed.toml", url, f"http://127.0.0.1:{closed}/api/exams")
    out = demo.parent / "acc-closed"
    done = _cli(config, "acceptance", "--exam", TEST_EXAM, "--out", str(out), "--timeout", "5")
    items = _items(done.stdout)
    assert done.returncode == 1
    assert items["tcp:ai-http"] == ("FAIL", items["tcp:ai-http"][1]) and "refused" in items["tcp:ai-http"][1]
    assert items["push"][0] == "FAIL" and "connection failed" in items["push"][1]
    assert items["store:sr"][0] == items["report"][0] == "PASS"  # the inbound path is not affected
    assert "FAILED: tcp:ai-http, push" in done.stdout
    assert _cli(config, "acceptance", "--cleanup", "--out", str(out)).returncode == 0
    assert _test_data(demo.parent / "ris.db") == dict.fromkeys(_test_data(demo.parent / "ris.db"), 0)


def test_a_rejected_calling_ae_fails_the_store_items_with_the_reason(demo: Path) -> None:
    out = demo.parent / "acc-reject"
    done = _cli(demo, "acceptance", "--exam", TEST_EXAM, "--out", str(out), "--calling-aet", "UNKNOWN_AI")
    items = _items(done.stdout)
    assert done.returncode == 1
    for key in ("store:sc", "store:sr"):
        assert items[key][0] == "FAIL" and "calling ae title not recognised" in items[key][1].lower(), items[key]
    assert items["report"] == ("FAIL", items["report"][1]) and "not stored" in items["report"][1]
    assert items["push"][0] == items["echo:self"][0] == "PASS"
    record = next(out.glob("acceptance-*.md")).read_text(encoding="utf-8")
    assert "不通过 FAIL" in record and "[[dicom.peers]]" in record  # what to do about it
    # the simulator's own answer to the push arrives; cleanup removes it with the rest
    assert wait_until(lambda: _test_data(demo.parent / "ris.db")["objects"] >= 3, timeout=30, interval=0.2)
    assert _cli(demo, "acceptance", "--cleanup", "--out", str(out)).returncode == 0
    assert _test_data(demo.parent / "ris.db") == dict.fromkeys(_test_data(demo.parent / "ris.db"), 0)


def test_an_ai_host_answering_500_fails_the_push_with_the_status(demo: Path) -> None:
    host = AiHostHttp().start()
    host.state.status = 500
    try:
        config = _derived(demo, "http500.toml", _push_url(demo), f"http://127.0.0.1:{host.port}/api/exams")
        out = demo.parent / "acc-500"
        done = _cli(config, "acceptance", "--exam", TEST_EXAM, "--out", str(out))
    finally:
        host.stop()
    items = _items(done.stdout)
    assert done.returncode == 1
    assert items["tcp:ai-http"][0] == "PASS"
    assert items["push"][0] == "FAIL" and "HTTP 500" in items["push"][1]
    assert "FAILED: push" in done.stdout
    assert len(host.state.received) == 1  # one attempt, not the worker's retries
    assert _cli(config, "acceptance", "--cleanup", "--out", str(out)).returncode == 0
    assert _test_data(demo.parent / "ris.db") == dict.fromkeys(_test_data(demo.parent / "ris.db"), 0)


def test_a_dry_run_writes_no_ris_table(demo: Path) -> None:
    host = AiHostHttp().start()  # an AI host that accepts the push and sends nothing back
    db = demo.parent / "ris.db"
    try:
        config = _derived(demo, "dry.toml", _push_url(demo), f"http://127.0.0.1:{host.port}/api/exams")
        out = demo.parent / "acc-dry"
        done = _cli(config, "acceptance", "--exam", TEST_EXAM, "--out", str(out), "--dry-run")
    finally:
        host.stop()
    items = _items(done.stdout)
    assert done.returncode == 0, done.stdout
    assert items["store:sc"][0] == "PASS" and items["store:sr"][0] == "SKIP"
    # the report item runs the preview: the real targets in a transaction that is rolled back
    assert items["report"][0] == "PASS" and "dry run (preview, nothing written)" in items["report"][1]
    assert re.search(r"would write [1-9]\d* rows", items["report"][1]), items["report"][1]
    data = _test_data(db)
    assert (data["report"], data["report_rows"], data["report_state"]) == (0, 0, 0)
    assert _cli(config, "acceptance", "--cleanup", "--out", str(out)).returncode == 0
    assert _test_data(db) == dict.fromkeys(data, 0)


def test_send_test_from_the_ai_hosts_place_is_seen_as_inbound_and_cleaned_up(demo: Path) -> None:
    import tomllib

    port = tomllib.loads(demo.read_text(encoding="utf-8"))["dicom"]["port"]
    sent = subprocess.run([sys.executable, "-m", "ris_ai_module", "simulate-ai", "--send-test", "--send-to",
                           f"127.0.0.1:{port}", "--ae-title", "DEMO_AI", "--patient-id", "TEST0001",
                           "--patient-name", "验收测试", "--accession", "ACC-TEST-1", "--kind", "carotid"],
                          capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "C-ECHO DEMO_AI -> RIS_AI" in sent.stdout and "send-test PASS" in sent.stdout
    db = demo.parent / "ris.db"
    assert wait_until(lambda: _test_data(db)["objects"] == 2, timeout=20)  # linked by accession number
    out = demo.parent / "acc-send-test"
    host = AiHostHttp().start()
    try:
        config = _derived(demo, "send-test.toml", _push_url(demo), f"http://127.0.0.1:{host.port}/api/exams")
        done = _cli(config, "acceptance", "--exam", TEST_EXAM, "--out", str(out))
    finally:
        host.stop()
    assert done.returncode == 0, done.stdout
    assert _cli(config, "acceptance", "--cleanup", "--out", str(out)).returncode == 0
    left = _test_data(db)
    assert left.pop("report") <= 1  # the module created the draft report row before the run: it stays, emptied
    assert left == dict.fromkeys(left, 0)
    with sqlite3.connect(db) as conn:
        findings = conn.execute("SELECT FINDINGS FROM RIS_REPORT WHERE EXAM_ID = ?", (TEST_EXAM,)).fetchone()
    assert findings is None or not findings[0] or "【AI测量】" not in findings[0]


def test_the_simulator_refuses_a_send_test_without_a_patient(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ris_ai_module", "simulate-ai", "--send-test", "--send-to",
                           "127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--patient-id" in done.stderr and "Traceback" not in done.stderr
