"""Benchmark (not a test): the SOAP look-up (``FindExams``) beside the JSON API (``GET /api/exams``), same run.

    python bench/soap_lookup.py [--db sqlite] [--exams 2000] [--requests 300]

A fresh database with the demo RIS and N exams; the module's web server (cheroot) in this process on a
loopback port, authenticated with an API token (Bearer). One client at a time, the same random accession
numbers for each way, interleaved (JSON, SOAP by zeep, SOAP as a prepared envelope) so a loaded machine
slows each alike: p50/p95 latency per way and the ratio to JSON. "zeep" includes the client's own XML
work; "envelope" is the server's cost alone (one requests.post of a ready envelope).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.web.auth import token_hash  # noqa: E402
from ris_ai_module.web.server import WebServer  # noqa: E402
from tests.dbs import engine_for, fresh_database  # noqa: E402
from tests.integration.tasks.conftest import make_ctx  # noqa: E402
from tests.support import free_port  # noqa: E402

TOKEN = "bench-token-0123456789abcdef0123456789abcdef"


def fill(engine, n: int) -> None:  # noqa: ANN001
    from sqlalchemy import text

    rows = [{"id": f"B{i:06d}", "pid": f"P{i:06d}", "name": "张三" if i % 2 else "欧阳娜娜", "acc": f"ACC{i:06d}"}
            for i in range(n)]
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_DATE, EXAM_ITEMS, "
            "MODALITY, EXAM_STATUS) VALUES (:id, :pid, :name, 'F', :acc, '2026-11-27 08:30:00', '心脏彩超', 'US', "
            "'REGISTERED')"), rows)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def run(kind: str, exams: int, count: int) -> None:
    import zeep

    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, directory=tmp) as url:
        engine = engine_for(url)
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True)
        fill(engine, exams)
        port = free_port()
        ctx = make_ctx(engine, "http://127.0.0.1:9/", storage={"root": str(Path(tmp) / "storage")},
                       http={"enabled": True, "host": "127.0.0.1", "port": port,
                             "tokens": [{"name": "bench", "token_hash": token_hash(TOKEN), "role": "viewer"}]})
        server = WebServer(ctx)
        server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            client = zeep.Client(f"{base}/soap?wsdl", transport=zeep.Transport(session=session))
            rng = random.Random(7)
            targets = [f"ACC{rng.randrange(exams):06d}" for _ in range(count)]
            times: dict[str, list[float]] = {"JSON GET /api/exams": [], "SOAP FindExams (zeep)": [],
                                             "SOAP FindExams (envelope)": []}
            for acc in targets[:10]:  # warm-up
                session.get(f"{base}/api/exams", params={"accession": acc}).raise_for_status()
                client.service.FindExams(accession=acc)
            for acc in targets:
                t = time.perf_counter()
                r = session.get(f"{base}/api/exams", params={"accession": acc})
                times["JSON GET /api/exams"].append(time.perf_counter() - t)
                assert r.status_code == 200 and r.json()["exams"][0]["accession_no"] == acc
                t = time.perf_counter()
                found = client.service.FindExams(accession=acc)
                times["SOAP FindExams (zeep)"].append(time.perf_counter() - t)
                assert found.exams[0].accession_no == acc
                envelope = zeep.wsdl.utils.etree.tostring(client.create_message(client.service, "FindExams", accession=acc))
                t = time.perf_counter()
                r = session.post(f"{base}/soap", data=envelope, headers={"Content-Type": "text/xml; charset=utf-8"})
                times["SOAP FindExams (envelope)"].append(time.perf_counter() - t)
                assert r.status_code == 200 and acc.encode() in r.content
            json_p50 = statistics.median(times["JSON GET /api/exams"])
            print(f"{kind}, {exams} exams, {count} look-ups by accession each, one client:")
            for name, values in times.items():
                print(f"  {name:28s} p50 {pct(values, 0.5):6.1f} ms  p95 {pct(values, 0.95):6.1f} ms  "
                      f"x{statistics.median(values) / json_p50:.2f} of JSON")
        finally:
            server.stop()
            ctx.engine.dispose()
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--exams", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    for kind in args.db.split(","):
        run(kind, args.exams, args.requests)


if __name__ == "__main__":
    main()
