"""Benchmark of the exam-out path (not a test): queue drain rate and commit -> AI-host latency.

    python bench/push.py [--tasks 10000] [--samples 200] [--db sqlite,postgresql]

For each database: a fresh database with the RAI_* tables, the demo RIS, view and trigger; the module
runs as a real `ris-ai-module run` process; the AI host is the stub receiver in this process.
1. Drain: N exams are started in one UPDATE (the trigger queues N tasks), the module is started, and
   the time until the receiver has N distinct idempotency keys gives tasks/s.
2. Latency: with the module idle, exams are started one by one (one commit each, 30 ms apart); the
   time from commit to the request arriving at the receiver gives p50/p99. On PostgreSQL both with
   LISTEN/NOTIFY wake-up and with polling alone.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.sim.http_host import StubServer  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_db(kind: str, folder: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / ('bench-' + secrets.token_hex(4) + '.db')}", lambda: None
    name = f"rai_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def prepare(url: str, n: int, with_uid: bool = True) -> None:
    engine = create_engine(url)
    migrate.upgrade(engine)
    scripts.install(engine, demo_ris=True)
    with engine.begin() as c:
        c.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_STATUS, "
                       "MODALITY, STUDY_UID) VALUES (:i, :p, '张三', 'M', :a, 'REGISTERED', 'US', :u)"),
                  [{"i": f"B{i:06d}", "p": f"P{i:06d}", "a": f"A{i:06d}",
                    "u": f"1.2.826.0.1.3680043.10.1.{i}" if with_uid else None} for i in range(n)])
    engine.dispose()


def config(folder: Path, url: str, push_url: str, notify: bool, threads: int = 2) -> Path:
    path = folder / f"bench-{int(notify)}.toml"
    path.write_text(f"""
[database]
url = "{url}"
[worker]
threads = {threads}
batch_size = 50
idle_wait = "200ms"
pg_notify = {str(notify).lower()}
[push]
url = "{push_url}"
[logging]
level = "WARNING"
""", encoding="utf-8")
    return path


def start(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ris_ai_module", "--config", str(cfg), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(pred, timeout: float) -> bool:  # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def drain(kind: str, n: int, folder: Path, threads: int = 2, with_uid: bool = True) -> dict:
    url, drop = fresh_db(kind, folder)
    stub = StubServer().start()
    try:
        prepare(url, n, with_uid)
        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text("UPDATE ris_exam SET EXAM_STATUS = 'STARTED'"))
        engine.dispose()
        proc = start(config(folder, url, f"http://127.0.0.1:{stub.port}/api", True, threads))
        t0 = time.monotonic()
        ok = wait_for(lambda: stub.state.unique_keys() >= n, timeout=600)
        elapsed = time.monotonic() - t0
        proc.terminate()
        proc.wait(30)
        return {"db": kind, "threads": threads, "ris_uids": with_uid, "tasks": n, "seconds": round(elapsed, 2), "tasks_per_s": round(n / elapsed, 1),
                "complete": ok, "duplicates": stub.state.duplicates()}
    finally:
        stub.stop()
        drop()


def latency(kind: str, samples: int, folder: Path, notify: bool) -> dict:
    url, drop = fresh_db(kind, folder)
    stub = StubServer().start()
    try:
        prepare(url, samples)
        proc = start(config(folder, url, f"http://127.0.0.1:{stub.port}/api", notify))
        time.sleep(3)  # let it start
        engine = create_engine(url)
        committed: dict[str, float] = {}
        for i in range(samples):
            key = f"B{i:06d}"
            with engine.begin() as c:
                c.execute(text("UPDATE ris_exam SET EXAM_STATUS = 'STARTED' WHERE EXAM_ID = :k"), {"k": key})
            committed[key] = time.time()
            time.sleep(0.03)
        wait_for(lambda: stub.state.unique_keys() >= samples, timeout=60)
        proc.terminate()
        proc.wait(30)
        engine.dispose()
        lat = sorted((r.at - committed[r.body["examKey"]]) * 1000 for r in stub.state.received)
        return {"db": kind, "wake": "NOTIFY" if notify and kind == "postgresql" else "polling",
                "samples": len(lat), "p50_ms": round(statistics.median(lat), 1),
                "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1)}
    finally:
        stub.stop()
        drop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--threads", default="2", help="comma-separated worker thread counts to compare")
    ap.add_argument("--no-ris-uids", action="store_true", help="exams without StudyInstanceUID (module generates)")
    args = ap.parse_args()
    print(f"# bench/push.py on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in args.db.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                print(drain(kind, args.tasks, folder, threads, not args.no_ris_uids), flush=True)
            for notify in ([True, False] if kind == "postgresql" else [False]):
                print(latency(kind, args.samples, folder, notify), flush=True)


if __name__ == "__main__":
    main()
