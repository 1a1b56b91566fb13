"""Benchmark of archive forwarding (not a test): ARCHIVE_FORWARD objects/s and per-object latency, beside DCMTK
``storescu`` sending the same files to the same DCMTK ``storescp`` in the same run.

    python bench/forward.py [--objects 200] [--side 256] [--threads 1]

N Secondary Capture objects are stored by the real ingest path into a fresh SQLite demo RIS with ``[archive]``
on, which queues one ARCHIVE_FORWARD task per object; the worker (``Worker.run_once`` in a loop, ``--threads``
worker threads) drains them to a DCMTK storescp on loopback. Latency is one task's handle() time (read the row,
open an association, C-STORE the file as stored, release). Side by side, DCMTK storescu sends the same N files to
the same storescp: once in one association (the floor of the wire), once as one storescu process and association
per object (the same shape as a task). Ratios are module ÷ storescu (> 1: the module is faster).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import String, column, create_engine, func, insert, select, table  # noqa: E402

from ris_ai_module.archive.forward_handler import ArchiveForwardHandler  # noqa: E402
from ris_ai_module.context import AppContext  # noqa: E402
from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.db.tables import task  # noqa: E402
from ris_ai_module.dicom.ingest import Received, ingest  # noqa: E402
from ris_ai_module.dicom.storage import StorageArea  # noqa: E402
from ris_ai_module.runtime import make_worker  # noqa: E402
from ris_ai_module.settings import config_from_dict  # noqa: E402
from tests.integration.dicom import objects as make  # noqa: E402
from tests.integration.dicom.dcmtk import ENV, tool  # noqa: E402
from tests.support import free_port  # noqa: E402

ris_exam = table("ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
                 column("accession_no", String), column("exam_status", String))


class Timed:
    """A handler wrapper keeping each handle() time."""

    def __init__(self, inner):
        self.inner, self.kind, self.retry_policy, self.times = inner, inner.kind, inner.retry_policy, []
        self.lock = threading.Lock()

    def handle(self, t):
        t0 = time.perf_counter()
        out = self.inner.handle(t)
        with self.lock:
            self.times.append(time.perf_counter() - t0)
        return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def start_storescp(folder: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([tool("storescp"), "--aetitle", "ARCHIVE", "--output-directory", str(folder), str(port)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("storescp did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--side", type=int, default=256, help="SC rows = columns (bytes per object ~ side²)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rai_bench_forward_"))
    port = free_port()
    archive = start_storescp(work / "archive", port) if (work / "archive").mkdir() is None else None
    try:
        engine = create_engine(f"sqlite:///{work / 'ris.db'}")
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True)
        with engine.begin() as conn:
            conn.execute(insert(ris_exam).values(exam_id="E1", patient_id="P1", patient_name="Zhang^San",
                                                 accession_no="ACC1", exam_status="REGISTERED"))
        config = config_from_dict({
            "database": {"url": f"sqlite:///{work / 'ris.db'}"},
            "worker": {"enabled": False, "threads": args.threads, "batch_size": 20},
            "storage": {"root": str(work / "storage"), "min_free": "1MB"},
            "archive": {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": port, "timeout": "10s"},
        })
        ctx = AppContext(config=config, engine=engine)
        area = StorageArea(work / "storage")
        area.prepare()
        files = []
        (work / "in").mkdir()
        for i in range(args.objects):
            path = work / "in" / f"sc{i:05d}.dcm"
            make.sc(path, accession="ACC1", patient_id="P1", side=args.side)
            files.append(path)
            with open(path, "rb") as fh:
                out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="BENCH"))
            assert out.ok, out.comment
        size = files[0].stat().st_size
        print(f"{args.objects} SC objects of {size / 1024:.0f} KB, {args.threads} worker thread(s), storescp on :{port}")

        timed = Timed(ArchiveForwardHandler(engine, config))
        worker = make_worker(ctx, [timed])
        t0 = time.perf_counter()
        while True:
            worker.run_once()
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(task).where(
                    task.c.kind == "ARCHIVE_FORWARD", task.c.status.in_(("SCHEDULED", "IN_PROCESS")))).scalar_one()
            if not left:
                break
        module_s = time.perf_counter() - t0
        with engine.connect() as conn:
            done = conn.execute(select(func.count()).select_from(task).where(
                task.c.kind == "ARCHIVE_FORWARD", task.c.status == "DONE")).scalar_one()
        assert done == args.objects, f"only {done} of {args.objects} forwarded"

        t0 = time.perf_counter()
        one = subprocess.run([tool("storescu"), "-aec", "ARCHIVE", "127.0.0.1", str(port), *map(str, files)],
                             env=ENV, capture_output=True)
        one_s = time.perf_counter() - t0
        assert one.returncode == 0, one.stderr[-500:]

        per: list[float] = []
        t0 = time.perf_counter()
        for path in files:
            s = time.perf_counter()
            r = subprocess.run([tool("storescu"), "-aec", "ARCHIVE", "127.0.0.1", str(port), str(path)],
                               env=ENV, capture_output=True)
            per.append(time.perf_counter() - s)
            assert r.returncode == 0, r.stderr[-500:]
        per_s = time.perf_counter() - t0

        n = args.objects
        rows = [
            ("module ARCHIVE_FORWARD (one association per task)", n / module_s, timed.times),
            ("DCMTK storescu, one association for all", n / one_s, None),
            ("DCMTK storescu, one process + association per object", n / per_s, per),
        ]
        print("| sender | objects/s | latency p50 / p99 |")
        print("|---|---:|---|")
        for name, rate, lat in rows:
            latency = f"{statistics.median(lat) * 1000:.1f} ms / {pct(lat, 99) * 1000:.1f} ms" if lat else "-"
            print(f"| {name} | {rate:.1f} | {latency} |")
        print(f"ratio module ÷ storescu (one association): {rows[0][1] / rows[1][1]:.2f}×")
        print(f"ratio module ÷ storescu (one per object):  {rows[0][1] / rows[2][1]:.2f}×")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        engine.dispose()
    finally:
        if archive is not None:
            archive.terminate()
            archive.wait(10)
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
