"""Two ``ris-ai-module run`` processes on one PostgreSQL database at report time: the report is mailed once,
also when a process is killed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ris_ai_module.db.tables import report_sent
from tests.dbs import engine_for
from tests.support import wait_until


def _config(path: Path, db_url: str, smtp_port: int) -> Path:
    path.write_text(f'''
[module]
instance_name = "proc"
hospital_name = "测试医院"
[database]
url = "{db_url}"
[worker]
enabled = false
[logging]
file = ""
level = "WARNING"
[health]
echo_interval = "1s"
queue_interval = "1s"
report_check_interval = "1s"
lease = "5s"
report_time = "00:00"
report_to = ["it@hospital.example"]
report_folder = "{path.parent / 'reports'}"
[alerts.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_addr = "rai@hospital.example"
''', encoding="utf-8")
    return path


@pytest.fixture
def processes(tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []

    def _start(config: Path) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"run-{len(procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "-c", str(config), "run"],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=dict(os.environ))
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _sent(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(report_sent.c.owner, report_sent.c.status))]


def test_two_run_processes_send_the_report_once(pg_url, smtp_server, processes, tmp_path: Path) -> None:
    config = _config(tmp_path / "rai.toml", pg_url, smtp_server.port)
    first, second = processes(config), processes(config)
    smtp_server.wait_for(1, timeout=30)
    engine = engine_for(pg_url)
    try:
        time.sleep(3)  # both processes keep asking whether the report is due
        assert len(smtp_server.messages) == 1
        (owner, status), = _sent(engine)
        assert status == "SENT" and owner in (f"proc:{first.pid}", f"proc:{second.pid}")

        # the sender is killed at report time and started again; the other one stays up
        sender = first if owner.endswith(f":{first.pid}") else second
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
        restarted = processes(config)
        assert wait_until(lambda: (tmp_path / f"run-{2}.log").exists(), timeout=5)
        time.sleep(7)  # longer than the lease: whoever leads now asks again
        assert restarted.poll() is None, (tmp_path / "run-2.log").read_text()
        assert len(smtp_server.messages) == 1
        assert _sent(engine) == [(owner, "SENT")]
        assert smtp_server.messages[0]["Subject"].startswith("[ris-ai-module] 测试医院 每日运维报告")
    finally:
        engine.dispose()
