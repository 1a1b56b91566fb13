"""Benchmark of the result deliveries (not a test): OUTBOX and HL7_ORU tasks/s and per-task latency.

    python bench/deliveries.py [--exams 200]

On a fresh SQLite demo RIS, N exams each get the 62-value adult echo SR applied by the real SR_APPLY handler,
which queues one OUTBOX and one HL7_ORU task per exam (the after-apply trigger). Then, on one worker thread
(``Worker.run_once`` in a loop), the OUTBOX tasks are drained into a temporary folder and the HL7_ORU tasks
to an hl7apy MLLPServer on loopback that answers AA. Latency is one task's handle() time (read the result set,
render, write+fsync+rename / build, send and wait for the ACK). Side by side, the floor of each: the same
files written from a result set read once (no database per task), and one prebuilt message sent N times over
MLLP; and the time hl7apy takes to build one message (what dominates an HL7 delivery).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from ris_ai_module.context import AppContext  # noqa: E402
from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.db.clock import utcnow  # noqa: E402
from ris_ai_module.db.tables import dicom_object  # noqa: E402
from ris_ai_module.report.handler import SrApplyHandler  # noqa: E402
from ris_ai_module.results.hl7_handler import Hl7OruHandler  # noqa: E402
from ris_ai_module.results.hl7_message import build_oru, encode  # noqa: E402
from ris_ai_module.results.mllp import exchange  # noqa: E402
from ris_ai_module.results.outbox import write_outbox  # noqa: E402
from ris_ai_module.results.outbox_handler import OutboxHandler  # noqa: E402
from ris_ai_module.results.resultset import read_result_set  # noqa: E402
from ris_ai_module.runtime import make_worker  # noqa: E402
from ris_ai_module.settings import config_from_dict  # noqa: E402
from ris_ai_module.tasks.model import Task  # noqa: E402
from tests.integration.results.mllp_peers import mllp_peer  # noqa: E402
from tests.sr_fixtures.build import save  # noqa: E402
from tests.sr_fixtures.cases import adult_echo_full  # noqa: E402
from tests.support import as_patient  # noqa: E402


class Timed:
    """A handler wrapper keeping each handle() time."""

    def __init__(self, inner):
        self.inner, self.kind, self.retry_policy, self.times = inner, inner.kind, inner.retry_policy, []
        self.lock = threading.Lock()

    def handle(self, task):
        t0 = time.perf_counter()
        out = self.inner.handle(task)
        with self.lock:
            self.times.append(time.perf_counter() - t0)
        return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def drain(ctx, handler, n):
    timed = Timed(handler)
    worker = make_worker(ctx, [timed])
    t0 = time.perf_counter()
    while worker.run_once():
        pass
    took = time.perf_counter() - t0
    done = ctx.engine.connect().execute(text("SELECT COUNT(*) FROM rai_task WHERE kind = :k AND status = 'DONE'"),
                                        {"k": handler.kind.value}).scalar()
    return took, timed.times, done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exams", type=int, default=200)
    n = ap.parse_args().exams
    with tempfile.TemporaryDirectory() as tmp, mllp_peer("AA", whole=False) as peer:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        engine = create_engine(url)
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True)
        storage, out = folder / "storage", folder / "outbox"
        storage.mkdir()
        out.mkdir()
        with engine.begin() as c:
            c.execute(text("INSERT INTO ris_exam (EXAM_ID, PATIENT_ID, PATIENT_NAME, SEX, ACCESSION_NO, EXAM_STATUS, "
                           "MODALITY) VALUES (:i, :p, '张三', 'M', :a, 'FINISHED', 'US')"),
                      [{"i": f"B{i:06d}", "p": f"P{i:06d}", "a": f"A{i:06d}"} for i in range(n)])
        now = utcnow()
        sops = []
        for i in range(n):
            ds = as_patient(adult_echo_full(), f"P{i:06d}", "张三")
            rel = f"{i}.dcm"
            save(ds, storage / rel)
            data = (storage / rel).read_bytes()
            with engine.begin() as c:
                c.execute(insert(dicom_object).values(
                    sop_instance_uid=str(ds.SOPInstanceUID), sop_class_uid=str(ds.SOPClassUID), exam_key=f"B{i:06d}",
                    link_method="STUDY_UID", source="DICOM", file_path=rel, file_size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), received_at=now + timedelta(seconds=i)))
            sops.append(str(ds.SOPInstanceUID))
        raw = {"database": {"url": url}, "storage": {"root": str(storage)}, "logging": {"level": "WARNING"},
               "worker": {"batch_size": 50}, "push": {"url": "http://127.0.0.1:9/api/exams"}, "outbox": {"folder": str(out)},
               "hl7": {"host": "127.0.0.1", "port": peer.port, "timeout": "10s"}}
        ctx = AppContext(config=config_from_dict(raw), engine=engine, owner="bench:1")
        apply = SrApplyHandler(ctx)
        t0 = time.perf_counter()
        for sop in sops:
            apply.handle(Task(0, "u", "SR_APPLY", "IN_PROCESS", None, 1, "bench", {"sop_instance_uid": sop}))
        applied = time.perf_counter() - t0

        rows = []
        took, times, done = drain(ctx, OutboxHandler(engine, ctx.config), n)
        rows.append(("OUTBOX (3 files: json, csv, xml)", done, took, times))
        took, times, done = drain(ctx, Hl7OruHandler(engine, ctx.config), n)
        rows.append(("HL7_ORU (MLLP, AA)", done, took, times))

        with engine.connect() as conn:
            rs = read_result_set(conn, ctx.config, "B000000")
        floor_dir = folder / "floor"
        floor_dir.mkdir()
        t0 = time.perf_counter()
        for _ in range(n):
            write_outbox(rs, floor_dir, ("json", "csv", "xml"))
        floor_out = time.perf_counter() - t0
        msg = encode(build_oru(rs, ctx.config.hl7, "FLOOR", utcnow()), "utf-8")
        t0 = time.perf_counter()
        for _ in range(n):
            exchange("127.0.0.1", peer.port, msg, 10.0)
        floor_hl7 = time.perf_counter() - t0
        builds = []
        for _ in range(10):
            t0 = time.perf_counter()
            build_oru(rs, ctx.config.hl7, "B", utcnow()).to_er7()
            builds.append(time.perf_counter() - t0)
        engine.dispose()

    print(f"{n} exams, 62 values each; SR apply (queues both deliveries): {n / applied:.0f} SRs/s")
    print("| delivery | done | tasks/s | latency p50 / p99 | floor, same work without the task table | ratio |")
    print("|---|---|---|---|---|---|")
    for (name, done, took, times), floor in zip(rows, (floor_out, floor_hl7), strict=True):
        print(f"| {name} | {done}/{n} | {n / took:.0f} | {pct(times, 50):.1f} ms / {pct(times, 99):.1f} ms | "
              f"{n / floor:.0f}/s | {(n / took) / (n / floor):.2f} |")
    print(f"building one 63-OBX ORU^R01 with hl7apy: p50 {pct(builds, 50):.0f} ms (10 builds)")
    print(f"(mean handle {statistics.mean(rows[0][3]) * 1000:.1f} ms outbox, {statistics.mean(rows[1][3]) * 1000:.1f} ms hl7)")


if __name__ == "__main__":
    main()
