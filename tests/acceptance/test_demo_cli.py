"""The README's first command works: init-demo, run, an exam started in the demo RIS reaches the AI host;
the hand tools (push, tasks, task, retry) work on the same installation."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ris_ai_module.sim.http_host import StubServer
from tests.integration.tasks.processes import start_run, stop
from tests.support import free_port, wait_until


def cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, StubServer]]:
    stub = StubServer().start()
    folder = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "ris_ai_module", "init-demo", str(folder), "--dicom-port", str(free_port()),
         "--http-port", str(free_port()), "--ai-url", f"http://127.0.0.1:{stub.port}/api/exams"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    try:
        yield folder / "ris-ai-module.toml", stub
    finally:
        stub.stop()


def _http_port(config: Path) -> int:
    import tomllib

    return int(tomllib.loads(config.read_text(encoding="utf-8"))["http"]["port"])


def _ready(config: Path) -> bool:
    """`run` has started every component once its HTTP API answers."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{_http_port(config)}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _start_exam(db: Path, exam_id: str) -> float:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE RIS_EXAM SET EXAM_STATUS = 'STARTED' WHERE EXAM_ID = ?", (exam_id,))
    return time.time()


def test_demo_runs_and_pushes_a_started_exam(demo: tuple[Path, StubServer]) -> None:
    config, stub = demo
    assert cli(config, "config", "check").returncode == 0
    proc = start_run(config)
    try:
        assert wait_until(lambda: _ready(config), timeout=60), "run did not come up"
        committed = _start_exam(config.parent / "ris.db", "E0001")
        assert wait_until(lambda: len(stub.state.received) == 1, timeout=20), stop(proc)
        latency = stub.state.received[0].at - committed
        body = stub.state.received[0].body
        assert body["patientName"] == "张三" and body["examKey"] == "E0001"
        assert body["studyInstanceUid"].startswith("2.25.")
        # Promptly, not after a poll period or a retry: the latency itself is bench/push.py's figure (a loaded
        # 2-core CI machine made a 2 s bound fail with the exam pushed at once).
        assert latency < 10.0, f"exam reached the AI host {latency:.2f}s after the commit"
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    tasks = json.loads(cli(config, "tasks", "--json").stdout)
    assert [(t["kind"], t["status"], t["exam_key"]) for t in tasks] == [("EXAM_PUSH", "DONE", "E0001")]


def test_manual_push_trace_and_retry(demo: tuple[Path, StubServer]) -> None:
    config, stub = demo
    stub.state.status = 400
    stub.state.response_body = '{"error": "unknown device"}'
    failed = cli(config, "push", "E0002")
    assert failed.returncode == 1 and "FAILED" in failed.stdout and "HTTP 400" in failed.stdout
    task_id = json.loads(cli(config, "tasks", "--json").stdout)[0]["task_id"]
    trace = cli(config, "task", str(task_id))
    assert trace.returncode == 0 and "FAILED" in trace.stdout and "400" in trace.stdout
    detail = json.loads(cli(config, "task", str(task_id), "--json").stdout)
    assert detail["attempts"][0]["http_status"] == 400
    assert "unknown device" in detail["attempts"][0]["response_body"]
    not_failed = cli(config, "retry", "999")
    assert not_failed.returncode == 2 and "does not exist" in not_failed.stderr
    stub.state.status = 200
    assert cli(config, "retry", str(task_id)).returncode == 0
    proc = start_run(config)
    try:
        assert wait_until(lambda: stub.state.unique_keys() == 1, timeout=20)
    finally:
        stop(proc)
    assert json.loads(cli(config, "tasks", "--status", "DONE", "--json").stdout)[0]["task_id"] == task_id
    unknown = cli(config, "push", "NO_SUCH_EXAM")
    assert unknown.returncode == 2 and "not in RAI_V_EXAM" in unknown.stderr


def test_run_refuses_a_database_without_tables(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[database]\nurl = "sqlite:///empty.db"\n[push]\nurl = "http://127.0.0.1:9/"\n', encoding="utf-8")
    done = cli(config, "run", timeout=60)
    assert done.returncode == 5  # the module tables are missing (cli.session.EXIT_SCHEMA)
    assert "init-db" in done.stderr and "Traceback" not in done.stderr
    assert cli(config, "init-db").returncode == 0
