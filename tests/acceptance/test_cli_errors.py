"""The CLI's one error boundary: a database, OS or config problem is one line on stderr and an exit status
naming its kind (2 input/config, 3 database, 4 operating system), never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.dbs import fresh_database
from tests.support import free_port


def _database(kind: str, tmp_path: Path) -> AbstractContextManager[str]:
    """An empty database: a SQLite file, or a fresh one on the shared PostgreSQL/MariaDB server."""
    return fresh_database(kind, tmp_path)


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


def test_unreachable_database_names_where(tmp_path: Path) -> None:
    closed = free_port()
    config = _config(tmp_path, f"postgresql+psycopg://postgres:secret@127.0.0.1:{closed}/nodb")
    proc = _cli("--config", str(config), "tasks", cwd=tmp_path)
    assert proc.returncode == 3
    line = _one_line_no_traceback(proc)
    assert f"127.0.0.1:{closed}/nodb" in line and "secret" not in line, line


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_missing_module_table_is_exit_5_naming_it_and_init_db(tmp_path: Path, kind: str) -> None:
    with _database(kind, tmp_path) as url:
        config = _config(tmp_path, url)
        proc = _cli("--config", str(config), "tasks", cwd=tmp_path)
        assert proc.returncode == 5, proc.stderr
        line = _one_line_no_traceback(proc)
        assert "the module table RAI_TASK is missing" in line and "init-db" in line, line
        run = _cli("--config", str(config), "run", cwd=tmp_path)
        assert run.returncode == 5, run.stderr
        assert "Traceback" not in run.stderr and "init-db" in run.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_missing_exam_view_is_exit_5_naming_the_view_and_script(tmp_path: Path, kind: str) -> None:
    with _database(kind, tmp_path) as url:
        config = _config(tmp_path, url)
        assert _cli("--config", str(config), "init-db", cwd=tmp_path).returncode == 0
        proc = _cli("--config", str(config), "push", "E0001", cwd=tmp_path)  # reads RAI_V_EXAM
        assert proc.returncode == 5, proc.stderr
        line = _one_line_no_traceback(proc)
        assert "the view RAI_V_EXAM is missing" in line and "20_view_exam.sql" in line, line


def _occupy() -> tuple[socket.socket, int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, int(s.getsockname()[1])


@pytest.mark.parametrize("listener", ["dicom", "http"])
def test_port_in_use_is_exit_6_naming_the_listener_and_port(tmp_path: Path, listener: str) -> None:
    from ris_ai_module.demo import write_demo

    held, port = _occupy()
    try:
        dicom_port, http_port = (port, free_port()) if listener == "dicom" else (free_port(), port)
        config = write_demo(tmp_path / "demo", dicom_port, http_port, "http://127.0.0.1:9/api/exams")
        proc = _cli("--config", str(config), "run", cwd=tmp_path)
    finally:
        held.close()
    assert proc.returncode == 6, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # run logs to stderr before it
    name = "DICOM SCP (dicom.port)" if listener == "dicom" else "HTTP API (http.port)"
    assert last == f"system error: {name} port 127.0.0.1:{port} is already in use by another program", last


@pytest.mark.parametrize("command", [["hash-password"], ["account-add", "alice"], ["totp-enrol", "alice"]])
def test_no_terminal_for_a_prompt_is_exit_7_naming_stdin(tmp_path: Path, command: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "ris_ai_module", *command], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 7, (proc.returncode, proc.stderr)
    line = _one_line_no_traceback(proc)
    assert "no terminal to prompt for the" in line and "--stdin" in line, line


def test_a_path_that_does_not_exist_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    proc = _cli("--config", str(missing), "tasks", cwd=tmp_path)
    assert proc.returncode == 2 and str(missing) in _one_line_no_traceback(proc)
    proc = _cli("verify-audit-export", str(missing), cwd=tmp_path)
    assert proc.returncode == 4 and str(missing) in _one_line_no_traceback(proc)
    from ris_ai_module.demo import write_demo

    config = write_demo(tmp_path / "demo", free_port(), free_port(), "http://127.0.0.1:9/api/exams")
    proc = _cli("--config", str(config), "import-sr", str(missing), cwd=tmp_path)
    line = _one_line_no_traceback(proc)
    assert proc.returncode == 4, "a path problem on this machine (4), not a configuration error (2)"
    assert line == f"system error: No such file or directory: {missing}"
    proc = _cli("parse-sr", str(missing), cwd=tmp_path)
    line = _one_line_no_traceback(proc)
    assert proc.returncode == 4 and line.count(str(missing)) == 1, line  # the path named once
    assert line == f"{missing}: No such file or directory"


@pytest.mark.parametrize(("option", "value"), [
    ("--dicom-port", "99999"), ("--http-port", "0"), ("--http-port", "11112"), ("--ai-url", "ftp://x/"),
    ("--ai-url", "http://h:99x/"), ("--hl7", "nohost"),
])
def test_init_demo_checks_its_arguments_before_writing(tmp_path: Path, option: str, value: str) -> None:
    target = tmp_path / "demo"
    proc = _cli("init-demo", str(target), "--dicom-port", "11112", option, value, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert _one_line_no_traceback(proc).startswith(f"error: {option}: ")
    assert not target.exists()


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
