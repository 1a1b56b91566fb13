"""The CLI's one error boundary: a database, OS or config problem is one line on stderr and an exit status
naming its kind (2 input/config, 3 database, 4 operating system), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import free_port


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ris_ai_module", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[database]\nurl = "{url}"\nconnect_timeout = "2s"\n[worker]\nenabled = false\n',
                    encoding="utf-8")
    return path


def _one_line_no_traceback(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_unreachable_database_is_exit_3(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    config = _config(tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{closed}/nodb")
    for command in (["tasks"], ["task", "1"], ["retry", "1"], ["init-db"], ["checks"]):
        proc = _cli("--config", str(config), *command, cwd=tmp_path)
        assert proc.returncode == 3, (command, proc.returncode, proc.stderr)
        assert _one_line_no_traceback(proc).startswith("database error: "), command


def test_missing_module_tables_is_exit_3(tmp_path: Path) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    proc = _cli("--config", str(config), "tasks", cwd=tmp_path)
    assert proc.returncode == 3
    assert "no such table" in _one_line_no_traceback(proc)


def test_operating_system_error_is_exit_4(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    proc = _cli("init-demo", str(blocker / "demo"), cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    line = _one_line_no_traceback(proc)
    assert line.startswith("system error: ") and str(blocker) in line


def test_configuration_error_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[worker]\nthreads = "two"\n', encoding="utf-8")
    proc = _cli("--config", str(path), "tasks", cwd=tmp_path)
    assert proc.returncode == 2
    assert _one_line_no_traceback(proc).startswith("configuration error: worker.threads: ")


def test_operator_actions_on_the_cli_are_audited_done_or_refused(tmp_path: Path) -> None:
    import getpass
    import sqlite3

    from ris_ai_module.demo import write_demo

    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    refused = _cli("--config", str(config), "push", "NO_SUCH_EXAM", cwd=tmp_path)
    assert refused.returncode == 2
    queued = _cli("--config", str(config), "push", "E0001", "--queue-only", cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr
    listed = _cli("--config", str(config), "tasks", cwd=tmp_path)  # a read: not an operator action
    assert listed.returncode == 0
    db = sqlite3.connect(tmp_path / "demo" / "ris.db")
    try:
        rows = db.execute("SELECT ACTOR, SOURCE, ACTION, TARGET, OK, DETAIL FROM RAI_AUDIT"
                          " WHERE ACTION LIKE 'cli_%' ORDER BY AUDIT_ID").fetchall()
    finally:
        db.close()
    assert [(r[2], r[3], r[4]) for r in rows] == [("cli_push", "NO_SUCH_EXAM", 0), ("cli_push", "E0001", 1)]
    assert all(r[0] == getpass.getuser() and r[1].startswith("cli:") for r in rows)
    assert "not in RAI_V_EXAM" in rows[0][5]
