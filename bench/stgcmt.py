"""Benchmark of Storage Commitment (not a test): the round trip N-ACTION -> N-EVENT-REPORT, both directions.

    python bench/stgcmt.py [--n 200] [--refs 1,10]

SCP side: our DICOM SCP on a fresh SQLite demo RIS holding 10 stored SC objects; a pynetdicom SCU on one
association asks N times (Transaction UID, Referenced SOP Sequence of ``refs`` instances) and times each request
from sending the N-ACTION to receiving the N-EVENT-REPORT on that association (our side records the request and
its task, answers, decides each instance against RAI_OBJECT and the file, sends the report, records it).
Side by side, in the same run: a bare pynetdicom Storage Commitment SCP that answers and reports "all committed"
without a database or a file look-up (the floor of the protocol exchange on this machine).

SCU side: the STGCMT_REQUEST handler's handle() (RAI_STGCMT row, N-ACTION, the report on the association,
per-object columns) against that bare SCP acting as the archive, N times, beside a bare pynetdicom SCU doing only
associate + N-ACTION + wait for the report + release.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydicom.dataset import Dataset  # noqa: E402
from pynetdicom import AE, evt  # noqa: E402
from pynetdicom.sop_class import SecondaryCaptureImageStorage  # type: ignore[attr-defined]  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402

from ris_ai_module.archive.commitment import StgcmtRequestHandler  # noqa: E402
from ris_ai_module.context import AppContext  # noqa: E402
from ris_ai_module.db import migrate, scripts  # noqa: E402
from ris_ai_module.db.tables import task  # noqa: E402
from ris_ai_module.dicom.ingest import Received, ingest  # noqa: E402
from ris_ai_module.dicom.scp import StorageScp  # noqa: E402
from ris_ai_module.dicom.storage import StorageArea  # noqa: E402
from ris_ai_module.settings import config_from_dict  # noqa: E402
from ris_ai_module.tasks import queue  # noqa: E402
from ris_ai_module.tasks.model import Task, TaskKind  # noqa: E402
from tests.integration.dicom import objects as make  # noqa: E402

STGCMT, INSTANCE = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
SC = "1.2.840.10008.5.1.4.1.1.7"


class BareScp:
    """pynetdicom's minimum: answer the N-ACTION, then report every instance committed on the association."""

    def __init__(self) -> None:
        self.ae = AE(ae_title="ARCHIVE")
        self.ae.add_supported_context(STGCMT)
        self.ae.add_supported_context(SecondaryCaptureImageStorage)
        self._sent: dict[int, threading.Event] = {}
        self.server = self.ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[
            (evt.EVT_N_ACTION, self._action), (evt.EVT_DIMSE_SENT, self._on_sent)])
        self.port = int(self.server.server_address[1])

    def _on_sent(self, event: Any) -> None:
        if type(event.message).__name__ == "N_ACTION_RSP":
            self._sent.setdefault(id(event.assoc), threading.Event()).set()

    def _action(self, event: Any) -> tuple[int, None]:
        info, assoc = event.action_information, event.assoc
        ev = self._sent.setdefault(id(assoc), threading.Event())
        ev.clear()

        def report() -> None:
            ev.wait(5)
            while assoc._is_paused:  # until the reactor left the N-ACTION handler
                time.sleep(0.0001)
            out = Dataset()
            out.TransactionUID = info.TransactionUID
            out.ReferencedSOPSequence = info.ReferencedSOPSequence
            assoc.send_n_event_report(out, 1, STGCMT, INSTANCE)
        threading.Thread(target=report, daemon=True).start()
        return 0x0000, None

    def close(self) -> None:
        self.server.shutdown()
        self.ae.shutdown()


def _refs(sops: list[str]) -> list[Dataset]:
    out = []
    for sop in sops:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = SC, sop
        out.append(item)
    return out


def scu_round_trips(port: int, called: str, sops: list[str], n: int) -> list[float]:
    """One association, n requests; seconds from each N-ACTION to its N-EVENT-REPORT."""
    got = threading.Event()

    def on_report(_event: Any) -> tuple[int, None]:
        got.set()
        return 0x0000, None

    ae = AE(ae_title="DEMO_AI")
    ae.add_requested_context(STGCMT)
    assoc = ae.associate("127.0.0.1", port, ae_title=called, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    assert assoc.is_established
    times = []
    try:
        for i in range(n):
            info = Dataset()
            info.TransactionUID = f"2.25.{time.time_ns()}{i}"
            info.ReferencedSOPSequence = _refs(sops)
            got.clear()
            t0 = time.perf_counter()
            status, _ = assoc.send_n_action(info, 1, STGCMT, INSTANCE)
            assert int(status.Status) == 0
            assert got.wait(10), "no report"
            times.append(time.perf_counter() - t0)
    finally:
        assoc.release()
        ae.shutdown()
    return times


def bare_scu_cycle(port: int, n: int) -> list[float]:
    """associate + N-ACTION + report on the association + release, n times (the SCU floor)."""
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        got = threading.Event()
        ae = AE(ae_title="RIS_AI")
        ae.add_requested_context(STGCMT)
        assoc = ae.associate("127.0.0.1", port, ae_title="ARCHIVE",
                             evt_handlers=[(evt.EVT_N_EVENT_REPORT, lambda _e, got=got: (got.set(), (0, None))[1])])
        info = Dataset()
        info.TransactionUID = f"2.25.{time.time_ns()}{i}"
        info.ReferencedSOPSequence = _refs(["1.2.3.4"])
        assoc.send_n_action(info, 1, STGCMT, INSTANCE)
        got.wait(10)
        assoc.release()
        ae.shutdown()
        times.append(time.perf_counter() - t0)
    return times


def _fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    return (f"p50 {statistics.median(xs) * 1000:.1f} ms / p99 {xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000:.1f} ms, "
            f"{len(xs) / sum(xs):.0f}/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--refs", default="1,10")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = create_engine(f"sqlite:///{root / 'ris.db'}")
        migrate.upgrade(engine)
        scripts.install(engine, demo_ris=True)
        archive = BareScp()
        config = config_from_dict({
            "database": {"url": f"sqlite:///{root / 'ris.db'}"}, "worker": {"enabled": False},
            "storage": {"root": str(root / "storage"), "min_free": "1MB"},
            "dicom": {"enabled": True, "ae_title": "RIS_AI", "host": "127.0.0.1", "port": 0,
                      "peers": [{"name": "ai", "ae_title": "DEMO_AI", "addresses": ["127.0.0.1"]}]},
            "archive": {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": archive.port,
                        "commitment": {"enabled": True, "wait_on_association": "5s"}},
        })
        ctx = AppContext(config=config, engine=engine)
        area = StorageArea(root / "storage")
        area.prepare()
        sops = []
        for i in range(10):
            make.sc(root / f"sc{i}.dcm", accession="ACC1", patient_id="P1")
            with open(root / f"sc{i}.dcm", "rb") as fh:
                out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
            sops.append(out.sop_instance_uid)
        scp = StorageScp(ctx)
        scp.start()
        try:
            print(f"SCP round trip, N-ACTION -> N-EVENT-REPORT on the association, n={args.n} (SQLite):")
            for k in (int(x) for x in args.refs.split(",")):
                ours = scu_round_trips(scp.port, "RIS_AI", sops[:k], args.n)
                bare = scu_round_trips(archive.port, "ARCHIVE", sops[:k], args.n)
                ratio = statistics.median(ours) / statistics.median(bare)
                print(f"  {k:>2} instance(s): ours {_fmt(ours)}  |  bare pynetdicom SCP {_fmt(bare)}  |  x{ratio:.2f}")
            handler = StgcmtRequestHandler(engine, config)
            times = []
            for _ in range(args.n // 4):
                with engine.begin() as conn:
                    tid = queue.enqueue(conn, TaskKind.STGCMT_REQUEST, payload={"sop_instance_uid": sops[0]})
                    row = conn.execute(select(task).where(task.c.task_id == tid)).one()
                t0 = time.perf_counter()
                outcome = handler.handle(Task.from_row(row))
                times.append(time.perf_counter() - t0)
                assert outcome.kind.value == "DONE", outcome
            bare = bare_scu_cycle(archive.port, args.n // 4)
            ratio = statistics.median(times) / statistics.median(bare)
            print(f"SCU: STGCMT_REQUEST handle(), n={args.n // 4}: {_fmt(times)}  |  bare pynetdicom SCU cycle "
                  f"{_fmt(bare)}  |  x{ratio:.2f}")
        finally:
            scp.stop()
            archive.close()
            engine.dispose()



if __name__ == "__main__":
    main()
