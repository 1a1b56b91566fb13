"""Benchmark of the exam look-up (not a test): ``GET /api/exams`` over N exams in RAI_V_EXAM.

    python bench/web_search.py [--exams 1000000] [--db sqlite,postgresql,mariadb] [--seconds 20]

For each database: a fresh database with the demo RIS and the view; N exams with random Chinese names
(common surnames, polyphonic ones such as 曾, 单, 解 among them) over the last three years; the name index
(RAI_NAME_KEY) built by a first rescan, then a rescan with nothing changed (what polling mode costs the RIS
database), then a rename found under its new name after the next rescan. The module then runs as its own
process (``ris-ai-module run``, HTTP only), authenticated with an API token (Bearer), and is measured:

* one client at a time: 30 different targets per kind of query, p50 and p95;
* 20 concurrent clients at an offered 50 requests/s in all (open loop: request i is due at i/50 s), the
  kinds mixed, p50/p95 and errors;
* the module process's peak resident memory (VmHWM).

Every answer is the first page of 50 plus the total, over the whole table (no date window).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ris_ai_module.config.schema import DatabaseConfig  # noqa: E402
from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.db.engine import make_engine  # noqa: E402
from ris_ai_module.db.tables import name_scan  # noqa: E402
from ris_ai_module.web import name_index  # noqa: E402
from ris_ai_module.web.auth import token_hash  # noqa: E402
from ris_ai_module.web.lookup import name_spellings  # noqa: E402
from tests.dbs import engine_for, fresh_database  # noqa: E402
from tests.support import free_port  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解区仇朴查乐"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬飞鹏辉建波宁欣怡子涵浩然梓轩雨桐晨佳琪"
TOKEN = "bench-token-0123456789abcdef0123456789abcdef"
KINDS = ("Chinese given name", "Chinese surname (1 char)", "pinyin full", "pinyin initials", "pinyin mixed",
         "patient ID", "accession")


def names(n: int, rng: random.Random) -> list[str]:
    return [rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))) for _ in range(n)]


def fill(engine, n: int) -> list[str]:  # noqa: ANN001
    rng = random.Random(42)
    now = datetime.utcnow().replace(microsecond=0)
    people = names(n, rng)
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            rows = [{"i": f"E{i:07d}", "p": f"P{i % (n // 2 or 1):07d}", "n": people[i], "a": f"A{i:07d}",
                     "d": now - timedelta(seconds=rng.randrange(3 * 365 * 86400))}
                    for i in range(start, min(n, start + 10_000))]
            conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_DATE,"
                              " EXAM_STATUS, MODALITY) VALUES (:i, :p, :n, 'F', :a, :d, 'REGISTERED', 'US')"), rows)
    return people


def query_for(kind: str, i: int, people: list[str], n: int) -> dict[str, str]:
    target = people[(i * 7919 + n // 3) % n]
    spelling = name_spellings(target)[0]
    if kind == "Chinese given name":
        return {"name": target[1:]}
    if kind == "Chinese surname (1 char)":
        return {"name": target[0]}
    if kind == "pinyin full":
        return {"name": "".join(spelling)}
    if kind == "pinyin initials":
        return {"name": "".join(s[0] for s in spelling)}
    if kind == "pinyin mixed":  # zhang s: the surname in full, the given name by initials
        return {"name": spelling[0] + " " + "".join(s[0] for s in spelling[1:])}
    index = (i * 7919 + n // 3) % n
    if kind == "patient ID":
        return {"patient_id": f"P{index % (n // 2 or 1):07d}"}
    return {"accession": f"A{index:07d}"}


def get(session: requests.Session, url: str, params: dict) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    resp = session.get(url, params=params, timeout=120)
    elapsed = (time.perf_counter() - t0) * 1000
    total = resp.json().get("total", -1) if resp.status_code == 200 else -1
    return elapsed, resp.status_code, total


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_module(url: str, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = tmp / "bench.toml"
    # 20 clients from one address: http.max_per_source raised to them (a department's are different hosts)
    config.write_text(f"""[database]
url = "{url}"
pool_size = 12
[worker]
enabled = false
[health]
enabled = false
[storage]
root = "{tmp / 'storage'}"
[logging]
file = "{tmp / 'module.log'}"
[http]
enabled = true
host = "127.0.0.1"
port = {port}
threads = 24
max_per_source = 20
name_rescan_interval = "1h"
[[http.tokens]]
name = "bench"
token_hash = "{token_hash(TOKEN)}"
role = "viewer"
""", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "ris_ai_module", "--config", str(config), "run"], cwd=tmp, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc, port
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"module did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


def concurrent(url: str, people: list[str], n: int, seconds: float, clients: int = 20,
               rate: float = 50.0) -> tuple[list[float], int, float]:
    """(latencies ms, errors, worst lateness s): request i is due at i/rate, sent by client i % clients."""
    count = int(seconds * rate)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    late = 0.0
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5

    def client(c: int) -> None:
        nonlocal errors, late
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for i in range(c, count, clients):
            due = t0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            kind = KINDS[i % len(KINDS)]
            elapsed, status, _ = get(session, url, query_for(kind, 1000 + i, people, n))
            with lock:
                late = max(late, time.perf_counter() - elapsed / 1000 - due)
                latencies.append(elapsed)
                errors += status != 200
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"  answers by status: {statuses}", flush=True)
    return latencies, errors, late


def run(kind: str, n: int, seconds: float) -> dict:
    result: dict = {"db": kind, "single": {}}
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, directory=Path(tmp)) as url:
        engine = engine_for(url)
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True, name_trigger=False)  # the name trigger after the bulk fill
        t0 = time.perf_counter()
        people = fill(engine, n)
        result["fill_s"] = time.perf_counter() - t0
        print(f"{kind}: {n} exams inserted in {result['fill_s']:.0f} s", flush=True)
        t0 = time.perf_counter()
        module_engine = make_engine(DatabaseConfig(url=url))  # built as the module builds it (SQLite: WAL, FULL)
        name_index.rescan(module_engine)
        result["build_s"] = time.perf_counter() - t0
        module_engine.dispose()
        with engine.connect() as conn:
            result["terms"] = conn.execute(text("SELECT COUNT(*) FROM rai_name_key")).scalar()
        print(f"  name index built in {result['build_s']:.0f} s ({result['terms']} terms)", flush=True)
        name_index.search_terms.cache_clear()
        t0 = time.perf_counter()
        seen, changed = name_index.rescan(engine)
        result["rescan_s"] = time.perf_counter() - t0
        print(f"  rescan, nothing changed: {result['rescan_s']:.1f} s ({seen} exams, {changed} rebuilt)", flush=True)
        with engine.begin() as conn:
            conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '曾改名' WHERE EXAM_ID = 'E0000001'"))
            conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID = 'E0000003'"))
        t0 = time.perf_counter()
        seen, changed = name_index.rescan(engine)
        result["rename_rescan_s"] = time.perf_counter() - t0
        print(f"  rescan after a rename and a delete: {result['rename_rescan_s']:.1f} s ({changed} rebuilt or dropped)",
              flush=True)
        scripts.apply_script(engine, scripts.script_path(scripts.folder_of(engine), scripts.NAME_TRIGGER))
        started = datetime.utcnow()
        proc, port = start_module(url, Path(tmp))
        try:
            while True:  # the module's own first rescan (nothing to rebuild) must not overlap the measurement
                with engine.connect() as conn:
                    row = conn.execute(select(name_scan)).first()
                if row and row.finished_at and row.finished_at >= row.started_at >= started - timedelta(seconds=5):
                    break
                time.sleep(0.5)
            base = f"http://127.0.0.1:{port}/api/exams"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            renamed = get(session, base, {"name": "zenggaiming"})
            result["rename_found"] = renamed[2] == 1
            print(f"  renamed exam found under its new pinyin (rescan path): {result['rename_found']}", flush=True)
            with engine.begin() as conn:  # the trigger path, through the running module's queue
                conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '解新名' WHERE EXAM_ID = 'E0000002'"))
            t0 = time.perf_counter()
            while get(session, base, {"name": "解新名"})[2] != 1:
                assert time.perf_counter() - t0 < 60, "renamed exam not found within a minute"
                time.sleep(0.2)
            result["trigger_rename_s"] = time.perf_counter() - t0
            print(f"  renamed exam found under its new name (trigger path) after {result['trigger_rename_s']:.1f} s",
                  flush=True)
            for label in KINDS:
                times, totals = [], []
                for i in range(30):
                    elapsed, status, total = get(session, base, query_for(label, i, people, n))
                    assert status == 200, (label, status)
                    times.append(elapsed)
                    totals.append(total)
                result["single"][label] = (p(times, 0.5), p(times, 0.95), statistics.median(totals))
                print(f"  {label:26s} p50 {p(times, 0.5):7.1f} ms  p95 {p(times, 0.95):7.1f} ms  "
                      f"median total {statistics.median(totals):.0f}", flush=True)
            latencies, errors, late = concurrent(base, people, n, seconds)
            result["concurrent"] = (p(latencies, 0.5), p(latencies, 0.95), len(latencies), errors, late)
            print(f"  20 clients at 50 req/s: p50 {p(latencies, 0.5):.1f} ms  p95 {p(latencies, 0.95):.1f} ms  "
                  f"{len(latencies)} requests, {errors} errors, worst start lateness {late:.2f} s", flush=True)
            result["memory"] = memory_kb(proc.pid)
            if errors:
                print((Path(tmp) / "module.log").read_text(encoding="utf-8")[-3000:], flush=True)
            print(f"  module memory: peak {result['memory']['VmHWM'] / 1024:.0f} MB", flush=True)
        finally:
            proc.terminate()
            proc.wait(30)
            engine.dispose()
    return result


def rescan_cost(kind: str, n: int) -> dict:
    """What the polling-mode rescan costs the RIS database at ``n`` exams, without building every term: the
    ledger is filled from the view by one INSERT ... SELECT (as a finished rescan leaves it), then the rescan
    is timed with nothing changed and after one rename and one delete (the database's diff does the work)."""
    result: dict = {"db": kind}
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, directory=Path(tmp)) as url:
        engine = engine_for(url)
        try:
            migrate.upgrade(engine)
            scripts.install(engine, demo_ris=True, name_trigger=False)
            fill(engine, n)
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO rai_name_index (exam_key, patient_name, exam_date, indexed_at) "
                                  "SELECT exam_key, patient_name, exam_date, exam_date FROM rai_v_exam"))
            for label in ("nothing changed", "again"):
                t0 = time.perf_counter()
                seen, changed = name_index.rescan(engine)
                result[label] = time.perf_counter() - t0
                print(f"{kind}: rescan at {seen} exams, {label}: {result[label]:.2f} s ({changed} rebuilt)", flush=True)
            with engine.begin() as conn:
                conn.execute(text("UPDATE ris_exam SET PATIENT_NAME = '曾改名' WHERE EXAM_ID = 'E0000001'"))
                conn.execute(text("DELETE FROM ris_exam WHERE EXAM_ID = 'E0000003'"))
            t0 = time.perf_counter()
            seen, changed = name_index.rescan(engine)
            result["rename"] = time.perf_counter() - t0
            print(f"{kind}: rescan after a rename and a delete: {result['rename']:.2f} s ({changed} rebuilt or dropped)",
                  flush=True)
        finally:
            engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exams", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql,mariadb")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the concurrent run")
    parser.add_argument("--rescan-only", action="store_true",
                        help="only what the polling rescan costs the RIS database (ledger filled by SQL)")
    args = parser.parse_args()
    if args.rescan_only:
        for kind in args.db.split(","):
            rescan_cost(kind, args.exams)
        return
    results = [run(kind, args.exams, args.seconds) for kind in args.db.split(",")]
    print(f"\n{args.exams} exams. Single client, 30 targets per kind (ms):\n")
    print("| query | " + " | ".join(f"{r['db']} p50 | {r['db']} p95" for r in results) + " |")
    print("|---|" + "---:|---:|" * len(results))
    for label in KINDS:
        print(f"| {label} | " + " | ".join(f"{r['single'][label][0]:.0f} | {r['single'][label][1]:.0f}"
                                           for r in results) + " |")
    print("\n| database | 20 clients at 50 req/s p50 / p95 (ms) | requests | errors | peak memory (MB) | index build (s) "
          "| terms | rescan, nothing changed (s) | rescan, 1 rename + 1 delete (s) | trigger rename found (s) | fill (s) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c = r["concurrent"]
        print(f"| {r['db']} | {c[0]:.0f} / {c[1]:.0f} | {c[2]} | {c[3]} | {r['memory']['VmHWM'] / 1024:.0f} "
              f"| {r['build_s']:.0f} | {r['terms']} | {r['rescan_s']:.1f} | {r['rename_rescan_s']:.1f} "
              f"| {r['trigger_rename_s']:.1f} | {r['fill_s']:.0f} |")


if __name__ == "__main__":
    main()
