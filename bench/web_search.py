"""Benchmark of the exam look-up (not a test): ``GET /api/exams`` over 100,000 exams in RAI_V_EXAM.

    python bench/web_search.py [--exams 100000] [--db sqlite,postgresql,mariadb] [--repeat 5]

For each database: a fresh database with the demo RIS and the view; N exams with random Chinese names
(common surnames, including polyphonic ones such as 曾, 单, 解) spread over the last 365 days; the API
served by cheroot on a free loopback port; each query sent over HTTP. The first request of a pinyin query
is "cold" (pinyin of every name computed); the median of the repeats is "warm".
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.web.auth import hash_password  # noqa: E402
from ris_ai_module.web.lookup import pinyin_keys  # noqa: E402
from ris_ai_module.web.server import WebServer  # noqa: E402
from tests.dbs import engine_for, fresh_database  # noqa: E402
from tests.integration.tasks.conftest import make_ctx  # noqa: E402
from tests.support import free_port  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解区仇朴查乐"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬飞鹏辉建波宁欣怡子涵浩然梓轩雨桐晨佳琪"


def names(n: int, rng: random.Random) -> list[str]:
    return [rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))) for _ in range(n)]


def fill(engine, n: int) -> list[str]:  # noqa: ANN001
    rng = random.Random(42)
    now = datetime.utcnow().replace(microsecond=0)
    people = names(n, rng)
    rows = [{"i": f"E{i:07d}", "p": f"P{i % (n // 2 or 1):07d}", "n": people[i], "a": f"A{i:07d}",
             "d": now - timedelta(seconds=rng.randrange(365 * 86400))} for i in range(n)]
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_DATE,"
                              " EXAM_STATUS, MODALITY) VALUES (:i, :p, :n, 'F', :a, :d, 'REGISTERED', 'US')"),
                         rows[start:start + 5000])
    return people


def timed(url: str, params: dict, auth: tuple[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    resp = requests.get(url, params=params, auth=auth, timeout=120)
    elapsed = time.perf_counter() - t0
    resp.raise_for_status()
    return elapsed * 1000, resp.json()["total"]


def run(kind: str, n: int, repeat: int) -> list[tuple[str, str, float, float, int]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, directory=Path(tmp)) as url:
        engine = engine_for(url)
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True)
        t0 = time.perf_counter()
        people = fill(engine, n)
        print(f"{kind}: {n} exams inserted in {time.perf_counter() - t0:.1f} s", flush=True)
        port = free_port()
        user = {"name": "bench", "password_hash": hash_password("bench-pass", 1000), "role": "viewer"}
        ctx = make_ctx(engine, "http://127.0.0.1:9/", storage={"root": str(Path(tmp) / "storage")},
                       http={"enabled": True, "port": port, "users": [user]})
        server = WebServer(ctx)
        server.start()
        base, auth = f"http://127.0.0.1:{port}/api/exams", ("bench", "bench-pass")
        target = people[n // 3]
        full, initials = pinyin_keys(target)
        today = datetime.utcnow().date()
        queries = [
            ("Chinese substring", {"name": target[1:]}),
            ("surname only (张)", {"name": "张"}),
            ("pinyin full", {"name": full}),
            ("pinyin initials", {"name": initials}),
            ("pinyin 曾 as zeng", {"name": "zeng"}),
            ("pinyin + 30 days", {"name": full, "from": (today - timedelta(days=30)).isoformat()}),
            ("patient ID", {"patient_id": f"P{(n // 3) % (n // 2 or 1):07d}"}),
            ("accession", {"accession": f"A{n // 3:07d}"}),
            ("date range 7 days", {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}),
            ("no filter, page 100", {"offset": 5000, "limit": 50}),
        ]
        try:
            pinyin_keys.cache_clear()
            for label, params in queries:
                cold, total = timed(base, params, auth)
                warm = statistics.median(timed(base, params, auth)[0] for _ in range(repeat))
                out.append((kind, label, cold, warm, total))
                print(f"  {label:24s} cold {cold:8.1f} ms  warm {warm:8.1f} ms  total {total}", flush=True)
        finally:
            server.stop()
            ctx.engine.dispose()
            engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exams", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgresql,mariadb")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = [r for kind in args.db.split(",") for r in run(kind, args.exams, args.repeat)]
    print("\n| database | query | first request (ms) | repeated, median (ms) | matches |\n|---|---|---:|---:|---:|")
    for kind, label, cold, warm, total in results:
        print(f"| {kind} | {label} | {cold:.0f} | {warm:.0f} | {total} |")


if __name__ == "__main__":
    main()
