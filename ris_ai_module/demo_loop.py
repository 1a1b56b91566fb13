"""``ris-ai-module demo``: the whole loop in one command, on a fresh install, with no other tool.

A demo installation in a temporary folder (or ``--keep DIR``); the module (``run``, a child process) and the
simulated AI host (in this process) on free loopback ports; three exams registered and started in the demo RIS
(adult echo, OB, carotid); then each exam goes out, the AI answers with SC pages and an SR, the module stores
them and fills the report. Prints each filled report and one timing line per step, exits 0 when all three
reports are written. With ``--keep DIR`` the module and the simulator keep running until Ctrl-C.

``demo-exam register|start|show`` are the same steps by hand, for the README's walk-through.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from ris_ai_module.demo import CONFIG_NAME, write_demo
from ris_ai_module.demo_ris import NewExam, format_report, read_report, register_exam, start_exam

#: The three exams the demo registers (adult echo, OB, carotid), patients shaped like a Chinese RIS's.
DEMO_LOOP_EXAMS = (
    NewExam("E1001", "P100001", "赵建国", "M", "1961-04-18", "A20261202101", "心脏彩超", "超声心动图（经胸）"),
    NewExam("E1002", "P100002", "孙丽娟", "F", "1994-09-03", "A20261202102", "产科超声", "中孕期胎儿系统超声"),
    NewExam("E1003", "P100003", "周德明", "M", "1952-12-11", "A20261202103", "颈部血管彩超", "双侧颈动脉超声"),
)
WAIT_SECONDS = 50.0
#: Start-up of `run` (imports, migrations check, SCP, API) gets its own allowance on a loaded machine.
START_SECONDS = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoSetup:
    folder: Path
    config: Path
    http_port: int
    dicom_port: int
    sim_http_port: int
    sim_dicom_port: int


def prepare(folder: Path) -> DemoSetup:
    """init-demo in ``folder`` with free ports, the simulator as the AI host (pushes, C-ECHO peer)."""
    http_port, dicom_port, sim_http, sim_dicom = (free_port() for _ in range(4))
    config = write_demo(folder, dicom_port, http_port, f"http://127.0.0.1:{sim_http}/api/exams", force=True)
    text = config.read_text(encoding="utf-8")
    # the simulator has a C-ECHO SCP: the module's health checks echo it (C-ECHO both ways)
    marker = 'host = ""'
    if marker in text:
        head, _, tail = text.partition(marker)
        text = head + f'host = "127.0.0.1"\nport = {sim_dicom}' + tail
    config.write_text(text, encoding="utf-8")
    return DemoSetup(folder, config, http_port, dicom_port, sim_http, sim_dicom)


def start_module(config: Path) -> subprocess.Popen:
    """``ris-ai-module run`` as a child process, importing this very tree (installed or not)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(config.parent / "logs" / "run-console.log", "ab")  # noqa: SIM115 - closed once the child has it
    kwargs: dict[str, Any] = {"start_new_session": True} if os.name != "nt" else {
        "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    try:
        return subprocess.Popen([sys.executable, "-m", "ris_ai_module", "--config", str(config), "run"],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(config.parent), **kwargs)
    finally:
        log.close()  # the child has its own copy of the handle


def stop_module(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def module_ready(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _epoch(value: Any) -> float | None:
    """RAI_* timestamps are naive UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc).timestamp()


def progress(engine: Engine, keys: list[str]) -> dict[str, dict[str, float | None]]:
    """Per exam: when it was pushed (task done), when its last object arrived, when its report was written."""
    from ris_ai_module.db.tables import dicom_object, report_state, task, task_attempt

    out: dict[str, dict[str, float | None]] = {k: {"pushed": None, "stored": None, "written": None, "objects": 0}
                                              for k in keys}
    with engine.connect() as conn:
        for row in conn.execute(select(task.c.exam_key, task_attempt.c.started_at)
                                .join(task_attempt, task_attempt.c.task_id == task.c.task_id)
                                .where(task.c.kind == "EXAM_PUSH", task_attempt.c.outcome == "DONE",
                                       task.c.exam_key.in_(keys))):
            out[row.exam_key]["pushed"] = _epoch(row.started_at)
        for row in conn.execute(select(dicom_object.c.exam_key, dicom_object.c.received_at).where(
                dicom_object.c.exam_key.in_(keys))):
            entry = out[row.exam_key]
            entry["objects"] = (entry["objects"] or 0) + 1
            at = _epoch(row.received_at)
            entry["stored"] = max(entry["stored"] or 0.0, at or 0.0)
        for row in conn.execute(select(report_state.c.exam_key, report_state.c.state, report_state.c.updated_at)
                                .where(report_state.c.exam_key.in_(keys))):
            if row.state == "APPLIED":
                out[row.exam_key]["written"] = _epoch(row.updated_at)
    return out


def run_demo(keep: Path | None = None, out: TextIO | None = None, wait: float = WAIT_SECONDS) -> int:
    from ris_ai_module.sim.host import SimConfig, Simulator

    out = out or sys.stdout
    began = time.time()
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="ris-ai-demo-"))
    say = _printer(out)
    say(f"演示 demo: 目录 folder {folder}")
    setup = prepare(folder)
    say(f"演示 RIS 与配置已生成 demo RIS and configuration written ({time.time() - began:.1f}s)")
    sim_log = io.StringIO() if keep is None else out
    sim = Simulator(SimConfig(
        http_port=setup.sim_http_port, dicom_port=setup.sim_dicom_port, send_host="127.0.0.1",
        send_port=setup.dicom_port, send_aet="RIS_AI", ae_title="DEMO_AI", result_delay=0.5, seed=1,
    ), out=sim_log).start()
    proc = start_module(setup.config)
    engine = create_engine(f"sqlite:///{folder / 'ris.db'}")
    ok = False
    try:
        deadline = time.monotonic() + START_SECONDS
        while not module_ready(setup.http_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                console = folder / "logs" / "run-console.log"
                tail = console.read_text(encoding="utf-8", errors="replace")[-2000:] if console.exists() else ""
                say("模块未能启动 the module did not start"
                    + (f" (exit status {proc.returncode})" if proc.poll() is not None else f" within {START_SECONDS:.0f}s")
                    + (":\n" + tail if tail else ""))
                return 1
            time.sleep(0.1)
        say(f"模块已运行 module running: SCP RIS_AI@127.0.0.1:{setup.dicom_port}, "
            f"API http://127.0.0.1:{setup.http_port}/; 模拟 AI 主机 simulated AI host "
            f"http://127.0.0.1:{setup.sim_http_port}/ ({time.time() - began:.1f}s)")
        started: dict[str, float] = {}
        for exam in DEMO_LOOP_EXAMS:
            register_exam(engine, exam)
        for exam in DEMO_LOOP_EXAMS:
            start_exam(engine, exam.exam_id)
            started[exam.exam_id] = time.time()
            say(f"检查已登记并开始 registered and started: {exam.exam_id} {exam.exam_items} ({exam.accession_no})")
        keys = [e.exam_id for e in DEMO_LOOP_EXAMS]
        deadline = time.monotonic() + wait
        state = progress(engine, keys)
        last = ""
        while time.monotonic() < deadline:
            state = progress(engine, keys)
            line = _progress_line(state, sim)
            if line != last:
                say(line)
                last = line
            if all(s["written"] for s in state.values()):
                ok = True
                break
            time.sleep(0.1)
        say("")
        for exam in DEMO_LOOP_EXAMS:
            say(format_report(read_report(engine, exam.exam_id),
                              f"{exam.exam_id} {exam.exam_items} {exam.patient_name} ({exam.patient_id})"))
            say("")
        say("耗时 timing (from the exam's start / 自检查开始):")
        for exam in DEMO_LOOP_EXAMS:
            say(_timing_line(exam, started[exam.exam_id], state[exam.exam_id], sim))
        total = time.time() - began
        if not ok:
            waiting = [k for k, s in state.items() if not s["written"]]
            say(f"未完成 not complete after {wait:.0f}s: no report written for {', '.join(waiting)}; "
                f"logs in {folder / 'logs'}")
            if keep is None:
                out.write(sim_log.getvalue())  # type: ignore[union-attr]
            return 1
        say(f"演示完成 demo complete: 3 reports written in {total:.1f}s")
        if keep is not None:
            if threading.current_thread() is threading.main_thread():  # SIGTERM stops both, like Ctrl-C
                signal.signal(signal.SIGTERM, _interrupt)
            say(f"状态页 status page: http://127.0.0.1:{setup.http_port}/  账号 account: demo  密码 password: demo")
            say(f"配置 configuration: {setup.config}  (Ctrl-C 停止 stops the module and the simulator)")
            try:
                while proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        stop_module(proc)
        sim.stop()
        engine.dispose()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _printer(out: TextIO):  # noqa: ANN202
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()
    return say


def _progress_line(state: dict[str, dict[str, float | None]], sim: Any) -> str:
    n = len(state)
    received = sum(1 for r in sim.records.values() if r.exam_key in state)
    return (f"等待 waiting: 已推送 pushed {sum(1 for s in state.values() if s['pushed'])}/{n}, "
            f"AI 已接收 AI received {received}/{n}, "
            f"已存储 SC/SR stored {sum(1 for s in state.values() if (s['objects'] or 0) >= 2)}/{n}, "
            f"报告已写入 reports written {sum(1 for s in state.values() if s['written'])}/{n}")


def _timing_line(exam: NewExam, started: float, s: dict[str, float | None], sim: Any) -> str:
    rec = sim.records.get(exam.exam_id)

    def step(at: float | None) -> str:
        return f"{at - started:.2f}s" if at else "-"

    return (f"  {exam.exam_id} {exam.exam_items}: started 0.00s → pushed {step(s['pushed'])} → "
            f"AI received {step(rec.received_at if rec else None)} → SC/SR stored {step(s['stored'])} → "
            f"report written {step(s['written'])}")


# --------------------------------------------------------------------------------------------- CLI


def cmd_demo(args: argparse.Namespace) -> int:
    keep = Path(args.keep) if args.keep else None
    if keep is not None and (keep / CONFIG_NAME).exists() and not args.force:
        print(f"error: {keep / CONFIG_NAME} exists (use --force to rebuild the demo there)", file=sys.stderr)
        return 2
    return run_demo(keep)


def _demo_engine(args: argparse.Namespace) -> Engine:
    from ris_ai_module.db.engine import make_engine
    from ris_ai_module.startup import load_checked

    return make_engine(load_checked(getattr(args, "config_file", None) or getattr(args, "config", None)).database)


def cmd_demo_exam_register(args: argparse.Namespace) -> int:
    engine = _demo_engine(args)
    try:
        register_exam(engine, NewExam(args.exam_id, args.patient_id, args.patient_name, args.sex, args.birth_date or "",
                                      args.accession or args.exam_id, args.items, args.description or ""))
    finally:
        engine.dispose()
    print(f"exam {args.exam_id} registered (REGISTERED); start it with: demo-exam start {args.exam_id}")
    return 0


def cmd_demo_exam_start(args: argparse.Namespace) -> int:
    engine = _demo_engine(args)
    try:
        start_exam(engine, args.exam_id)
    finally:
        engine.dispose()
    print(f"exam {args.exam_id} STARTED: the running module pushes it to the AI host now")
    return 0


def cmd_demo_exam_show(args: argparse.Namespace) -> int:
    from ris_ai_module.demo_ris import require_demo_database

    engine = _demo_engine(args)
    try:
        require_demo_database(engine)
        print(format_report(read_report(engine, args.exam_id)))
    finally:
        engine.dispose()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="the whole loop in one command: exams out, AI results in, reports filled / 一键演示")
    p.add_argument("--keep", metavar="DIR", help="build the demo in DIR and keep module and simulator running")
    p.add_argument("--force", action="store_true", help="with --keep: rebuild an existing demo in DIR")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("demo-exam", help="register / start an exam, show its report (demo RIS only) / 演示检查")
    dsub = p.add_subparsers(dest="demo_exam_command", metavar="register|start|show")
    r = dsub.add_parser("register", help="register a new exam in the demo RIS")
    r.add_argument("exam_id")
    r.add_argument("--patient-id", required=True)
    r.add_argument("--patient-name", required=True)
    r.add_argument("--sex", default="", help="M / F / 男 / 女")
    r.add_argument("--birth-date", help="YYYY-MM-DD")
    r.add_argument("--accession", help="accession number (default: the exam id)")
    r.add_argument("--items", required=True, help="检查项目, e.g. 心脏彩超 / 产科超声 / 颈部血管彩超 / 甲状腺彩超")
    r.add_argument("--description")
    r.set_defaults(func=cmd_demo_exam_register)
    s = dsub.add_parser("start", help="mark an exam STARTED (the module pushes it)")
    s.add_argument("exam_id")
    s.set_defaults(func=cmd_demo_exam_start)
    s = dsub.add_parser("show", help="print the exam's report (findings and measurements)")
    s.add_argument("exam_id")
    s.set_defaults(func=cmd_demo_exam_show)
