"""Storage Commitment towards the archive (``[archive.commitment]``) on SQLite, PostgreSQL and MariaDB
(``any_db``): an object is forwarded (ARCHIVE_FORWARD), then a STGCMT_REQUEST asks the archive (a pynetdicom
Storage Commitment SCP written here from PS3.4 J.3) and keeps its answer per object. The archive answers
success on a new association to our SCP, failure on the N-ACTION's own association, or never."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import SecondaryCaptureImageStorage  # type: ignore[attr-defined]
from sqlalchemy import String, column, insert, select, table, update
from sqlalchemy.engine import Engine

from ris_ai_module.archive.commitment import is_committed
from ris_ai_module.context import AppContext
from ris_ai_module.db.tables import dicom_object, stgcmt, task, task_attempt
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import objects as make
from tests.support import wait_until

STGCMT = "1.2.840.10008.1.20.1"
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"

ris_exam = table("ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
                 column("accession_no", String), column("exam_status", String))


class Archive:
    """A PACS archive: C-STORE SCP and Storage Commitment SCP. ``mode``: "new" (event 1 on a new association to
    our SCP, proposing its SCP role), "same" (event 2, 0x0112 for every instance, on the N-ACTION's association
    once its response left), "never" (answers the N-ACTION, never reports)."""

    def __init__(self, mode: str) -> None:
        self.mode, self.our_port = mode, 0
        self.actions: list[Dataset] = []
        self.report_status: list[int] = []
        self.done = threading.Event()
        self.ae = AE(ae_title="ARCHIVE")
        self.ae.add_supported_context(SecondaryCaptureImageStorage)
        self.ae.add_supported_context(STGCMT)
        self.server = self.ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[
            (evt.EVT_C_STORE, lambda _e: 0x0000), (evt.EVT_N_ACTION, self._action), (evt.EVT_DIMSE_SENT, self._sent)])
        self.port = int(self.server.server_address[1])
        self._responded: dict[int, threading.Event] = {}

    def _sent(self, event: Any) -> None:
        if type(event.message).__name__ == "N_ACTION_RSP":
            self._responded.setdefault(id(event.assoc), threading.Event()).set()

    def _action(self, event: Any) -> tuple[int, None]:
        info = event.action_information
        self.actions.append(info)
        if self.mode in ("new", "partial"):
            threading.Thread(target=self._report_new, args=(info,), daemon=True).start()
        elif self.mode == "same":
            threading.Thread(target=self._report_same, args=(event.assoc, info), daemon=True).start()
        return 0x0000, None

    def _report_new(self, info: Dataset) -> None:
        ae = AE(ae_title="ARCHIVE")
        ae.add_requested_context(STGCMT)
        assoc = ae.associate("127.0.0.1", self.our_port, ae_title="RIS_AI", ext_neg=[build_role(STGCMT, scp_role=True)])
        try:
            ev = Dataset()
            ev.TransactionUID = info.TransactionUID
            refs = list(info.ReferencedSOPSequence)
            event = 1
            if self.mode == "partial" and len(refs) > 1:  # PS3.4 J.3.3: event 2, the failed one in Failed SOP Sequence
                last = refs.pop()
                item = Dataset()
                item.ReferencedSOPClassUID = last.ReferencedSOPClassUID
                item.ReferencedSOPInstanceUID = last.ReferencedSOPInstanceUID
                item.FailureReason = 0x0213
                ev.FailedSOPSequence = [item]
                event = 2
            ev.ReferencedSOPSequence = refs
            status, _ = assoc.send_n_event_report(ev, event, STGCMT, STGCMT_INSTANCE)
            self.report_status.append(int(status.Status))
        finally:
            assoc.release()
            ae.shutdown()
            self.done.set()

    def _report_same(self, assoc: Any, info: Dataset) -> None:
        responded = self._responded.setdefault(id(assoc), threading.Event())
        assert responded.wait(5)
        assert wait_until(lambda: not assoc._is_paused, 5, 0.0001)  # the reactor left the N-ACTION's handler
        ev = Dataset()
        ev.TransactionUID = info.TransactionUID
        failed = []
        for ref in info.ReferencedSOPSequence:
            item = Dataset()
            item.ReferencedSOPClassUID = ref.ReferencedSOPClassUID
            item.ReferencedSOPInstanceUID = ref.ReferencedSOPInstanceUID
            item.FailureReason = 0x0112
            failed.append(item)
        ev.FailedSOPSequence = failed
        status, _ = assoc.send_n_event_report(ev, 2, STGCMT, STGCMT_INSTANCE)
        self.report_status.append(int(status.Status))
        self.done.set()

    def close(self) -> None:
        self.server.shutdown()
        self.ae.shutdown()


@pytest.fixture
def rig(tmp_path: Path, any_db: Engine) -> Iterator[Any]:
    started: list[tuple[StorageScp, Archive]] = []

    def start(mode: str, peers: list[dict[str, Any]] | None = None, **commitment: Any) -> tuple[AppContext, Archive, Any]:
        with any_db.begin() as conn:
            conn.execute(insert(ris_exam).values(exam_id="E1", patient_id="P1", patient_name="Zhang^San",
                                                 accession_no="ACC1", exam_status="REGISTERED"))
        archive = Archive(mode)
        config = config_from_dict({
            "database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
            "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB"},
            "dicom": {"enabled": True, "ae_title": "RIS_AI", "host": "127.0.0.1", "port": 0,
                      "peers": [{"name": "demo-ai", "ae_title": "DEMO_AI", "addresses": ["127.0.0.1"]}, *(peers or [])]},
            "archive": {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": archive.port, "timeout": "5s",
                        "commitment": {"enabled": True, "wait_on_association": "3s", "timeout": "60s",
                                       "retry": {"initial": "1s", "max_attempts": 3}, **commitment}},
        })
        ctx = AppContext(config=config, engine=any_db)
        scp = StorageScp(ctx)
        scp.start()
        archive.our_port = scp.port
        started.append((scp, archive))
        area = StorageArea(tmp_path / "storage")
        make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
        with open(tmp_path / "sc.dcm", "rb") as fh:
            out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
        assert out.ok
        return ctx, archive, out

    def more(ctx: AppContext, name: str, accession: str = "ACC1", patient: str = "P1") -> Any:
        """Another object received (an exam's burst), as the first one."""
        area = StorageArea(tmp_path / "storage")
        make.sc(tmp_path / f"{name}.dcm", accession=accession, patient_id=patient)
        with open(tmp_path / f"{name}.dcm", "rb") as fh:
            out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
        assert out.ok and out.exam_key
        return out

    start.more = more  # type: ignore[attr-defined]
    yield start
    for scp, archive in started:
        scp.stop()
        archive.close()


def _tasks(ctx: AppContext, kind: str) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(task).where(task.c.kind == kind).order_by(task.c.task_id)))


def _object(ctx: AppContext, sop: str) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).one()


def _run_until(ctx: AppContext, done: Any, timeout: float = 20) -> bool:
    worker = make_worker(ctx)

    def step() -> bool:
        with ctx.engine.begin() as conn:
            conn.execute(update(task).where(task.c.status == "SCHEDULED").values(next_run_at=datetime(2000, 1, 1)))
        worker.run_once()
        return bool(done())
    return wait_until(step, timeout, 0.05)


def test_committed_on_a_new_association_to_our_scp(rig) -> None:
    ctx, archive, out = rig("new")
    sop = out.sop_instance_uid
    assert _run_until(ctx, lambda: [t.status for t in _tasks(ctx, "STGCMT_REQUEST")] == ["DONE"])
    assert archive.report_status == [0x0000]  # our SCP took the archive's N-EVENT-REPORT
    assert [t.status for t in _tasks(ctx, "ARCHIVE_FORWARD")] == ["DONE"]
    obj = _object(ctx, sop)
    assert obj.committed_at is not None and obj.commit_failure is None and obj.commit_requested_at is not None
    with ctx.engine.connect() as conn:
        assert is_committed(conn, sop)
        (tx,) = conn.execute(select(stgcmt).where(stgcmt.c.direction == "OUT"))
    assert (tx.state, tx.channel, tx.event_type, tx.transaction_uid) == ("COMMITTED", "NEW", 1, obj.commit_uid)
    assert [str(r.ReferencedSOPInstanceUID) for r in archive.actions[0].ReferencedSOPSequence] == [sop]
    # the object replaced by new content (dicom.overwrite): the commitment was for the old one
    from ris_ai_module.dicom import index

    with ctx.engine.begin() as conn:
        index.replace_object(conn, index.get_object(conn, sop))
    with ctx.engine.connect() as conn:
        assert not is_committed(conn, sop)


def test_failure_on_the_same_association_fails_the_task_with_the_reason(rig) -> None:
    ctx, archive, out = rig("same")
    assert _run_until(ctx, lambda: [t.status for t in _tasks(ctx, "STGCMT_REQUEST")] == ["FAILED"])
    assert archive.report_status == [0x0000]
    (t,) = _tasks(ctx, "STGCMT_REQUEST")
    assert "0x0112 no such object instance" in t.last_error
    obj = _object(ctx, out.sop_instance_uid)
    assert obj.committed_at is None and obj.commit_failure == "0x0112 no such object instance"
    with ctx.engine.connect() as conn:
        assert not is_committed(conn, out.sop_instance_uid)
        (tx,) = conn.execute(select(stgcmt).where(stgcmt.c.direction == "OUT"))
        attempts = list(conn.execute(select(task_attempt).where(task_attempt.c.task_id == t.task_id)))
    assert (tx.channel, tx.event_type) == ("SAME", 2)
    assert attempts[-1].status_text == "event 2 (SAME association)"


def test_an_archive_that_never_answers_is_asked_again_then_shown_as_failed(rig) -> None:
    ctx, archive, out = rig("never", wait_on_association="0.2s")

    def expire_requests() -> None:  # as if commitment.timeout had passed since each N-ACTION
        with ctx.engine.begin() as conn:
            conn.execute(update(stgcmt).values(requested_at=datetime(2000, 1, 1)))

    def failed() -> bool:
        expire_requests()
        return [t.status for t in _tasks(ctx, "STGCMT_REQUEST")] == ["FAILED"]
    assert _run_until(ctx, failed)
    assert len(archive.actions) == 2  # max_attempts 3: asked twice, the third attempt only looks
    assert len({str(a.TransactionUID) for a in archive.actions}) == 2  # a new Transaction UID each time
    (t,) = _tasks(ctx, "STGCMT_REQUEST")
    assert "no N-EVENT-REPORT" in t.last_error
    obj = _object(ctx, out.sop_instance_uid)
    assert obj.committed_at is None and obj.commit_failure.startswith("no N-EVENT-REPORT")
    with ctx.engine.connect() as conn:
        states = sorted(r.state for r in conn.execute(select(stgcmt).where(stgcmt.c.direction == "OUT")))
    assert states == ["EXPIRED", "EXPIRED"]

    # the archive answers at last, for the first request, on a new association: committed, and the task agrees
    ae = AE(ae_title="ARCHIVE")
    ae.add_requested_context(STGCMT)
    assoc = ae.associate("127.0.0.1", archive.our_port, ae_title="RIS_AI", ext_neg=[build_role(STGCMT, scp_role=True)])
    try:
        ev = Dataset()
        ev.TransactionUID = archive.actions[0].TransactionUID
        ev.ReferencedSOPSequence = archive.actions[0].ReferencedSOPSequence
        status, _ = assoc.send_n_event_report(ev, 1, STGCMT, STGCMT_INSTANCE)
        assert int(status.Status) == 0x0000
    finally:
        assoc.release()
        ae.shutdown()
    assert _object(ctx, out.sop_instance_uid).committed_at is not None
    assert _run_until(ctx, lambda: [t.status for t in _tasks(ctx, "STGCMT_REQUEST")] == ["DONE"])
    assert len(archive.actions) == 2, "not asked again"


def test_a_report_for_an_unknown_transaction_is_refused(tmp_path: Path, rig) -> None:
    ctx, archive, _out = rig("never")
    ae = AE(ae_title="ARCHIVE")
    ae.add_requested_context(STGCMT)
    ae.add_requested_context(SecondaryCaptureImageStorage)
    assoc = ae.associate("127.0.0.1", archive.our_port, ae_title="RIS_AI", ext_neg=[build_role(STGCMT, scp_role=True)])
    try:
        ev = Dataset()
        ev.TransactionUID = "1.2.3.404"
        status, _ = assoc.send_n_event_report(ev, 1, STGCMT, STGCMT_INSTANCE)
        assert int(status.Status) == 0x0115  # invalid argument value: not one of our Transaction UIDs
        # and the archive's admission is for commitment results only: its C-STORE is refused
        other = make.sc(tmp_path / "other.dcm", accession="ACC1", patient_id="P1")
        assert int(assoc.send_c_store(other).Status) == 0x0124  # Refused: Not authorized (PS3.7 C.5)
    finally:
        assoc.release()
        ae.shutdown()


def _forward_all(ctx: AppContext) -> None:
    """The ARCHIVE_FORWARD tasks first (a burst), as a worker does while the requests wait their batch_delay."""
    worker = make_worker(ctx)
    ids = [t.task_id for t in _tasks(ctx, "ARCHIVE_FORWARD")]
    assert wait_until(lambda: (worker.run_once(ids), all(t.status == "DONE" for t in _tasks(ctx, "ARCHIVE_FORWARD")))[1],
                      20, 0.05)


def test_one_request_lists_the_exams_objects_and_each_keeps_its_answer(rig, tmp_path: Path, capsys) -> None:
    """PS3.4 J.3.2: one N-ACTION's Referenced SOP Sequence lists many instances. The exam's three objects are asked
    in one request (a second exam's object in its own); the archive commits two and fails one (event 2, Failed SOP
    Sequence, 0x0213 resource limitation): each object's task and row keep its own answer."""
    ctx, archive, first = rig("partial")
    with ctx.engine.begin() as conn:
        conn.execute(insert(ris_exam).values(exam_id="E2", patient_id="P2", patient_name="Zhang^San",
                                             accession_no="ACC2", exam_status="REGISTERED"))
    others = [rig.more(ctx, f"b{i}") for i in range(2)]
    alone = rig.more(ctx, "c", accession="ACC2", patient="P2")
    _forward_all(ctx)
    assert all(t.status == "SCHEDULED" for t in _tasks(ctx, "STGCMT_REQUEST"))
    assert _run_until(ctx, lambda: all(t.status in ("DONE", "FAILED") for t in _tasks(ctx, "STGCMT_REQUEST")))
    lists = sorted(sorted(str(r.ReferencedSOPInstanceUID) for r in a.ReferencedSOPSequence) for a in archive.actions)
    e1 = sorted([first.sop_instance_uid] + [o.sop_instance_uid for o in others])
    assert lists == sorted([e1, [alone.sop_instance_uid]])  # one request per exam, not one per object
    (batch,) = [a for a in archive.actions if len(a.ReferencedSOPSequence) == 3]
    refused = str(batch.ReferencedSOPSequence[-1].ReferencedSOPInstanceUID)
    by_sop = {t.payload and __import__("json").loads(t.payload)["sop_instance_uid"]: t
              for t in _tasks(ctx, "STGCMT_REQUEST")}
    for sop in e1 + [alone.sop_instance_uid]:
        obj = _object(ctx, sop)
        if sop == refused:
            assert by_sop[sop].status == "FAILED" and "0x0213 resource limitation" in by_sop[sop].last_error
            assert obj.committed_at is None and obj.commit_failure == "0x0213 resource limitation"
        else:
            assert by_sop[sop].status == "DONE", (sop, by_sop[sop].last_error)
            assert obj.committed_at is not None and obj.commit_failure is None
    with ctx.engine.connect() as conn:
        txs = list(conn.execute(select(stgcmt).where(stgcmt.c.direction == "OUT")))
    assert sorted(t.state for t in txs) == ["COMMITTED", "FAILED"]
    _cli_and_daily_report_show_it(ctx, archive, tmp_path, capsys, refused, len(e1) + 1)

    # retry of the refused one asks for it alone, in a new request
    from ris_ai_module.tasks import queue

    with ctx.engine.begin() as conn:
        queue.requeue(conn, by_sop[refused].task_id)
    assert _run_until(ctx, lambda: len(archive.actions) == 3)
    assert [str(r.ReferencedSOPInstanceUID) for r in archive.actions[-1].ReferencedSOPSequence] == [refused]


def test_an_archive_ae_that_is_also_an_ai_peer_has_its_reports_accepted(rig, tmp_path: Path) -> None:
    """The archive's AE title and address also match an AI host's [[dicom.peers]] entry (one PACS AE that sends
    images too): its N-EVENT-REPORT on a new association (Storage Commitment with its SCP role, PS3.4 J.3.3) is
    still recognised as the archive's and recorded; the same AE's C-STORE is still the AI peer's."""
    ctx, archive, out = rig("new", peers=[{"name": "pacs-as-ai", "ae_title": "ARCHIVE", "addresses": ["127.0.0.0/8"]}])
    assert _run_until(ctx, lambda: [t.status for t in _tasks(ctx, "STGCMT_REQUEST")] == ["DONE"])
    assert archive.report_status == [0x0000]  # refused 0x0110 "from the archive only" before
    assert _object(ctx, out.sop_instance_uid).committed_at is not None
    ae = AE(ae_title="ARCHIVE")  # as the AI peer it also is: its images are stored
    ae.add_requested_context(SecondaryCaptureImageStorage)
    assoc = ae.associate("127.0.0.1", archive.our_port, ae_title="RIS_AI")
    try:
        assert assoc.is_established
        image = make.sc(tmp_path / "from-pacs.dcm", accession="ACC1", patient_id="P1")
        assert int(assoc.send_c_store(image).Status) == 0x0000
    finally:
        assoc.release()
        ae.shutdown()


def _cli_and_daily_report_show_it(ctx: AppContext, archive: Archive, tmp_path: Path, capsys: Any, refused: str,
                                  objects: int) -> None:
    """`objects` shows each object's commitment (committed / failed with the reason, times in module.timezone);
    `health-report` has the forwarding and commitment section, counting objects over the local day."""
    import csv
    import io
    import json
    from zoneinfo import ZoneInfo

    from ris_ai_module.cli.main import main

    url = ctx.engine.url.render_as_string(hide_password=False)
    cfg = tmp_path / "cli.toml"
    cfg.write_text(f"""
[module]
timezone = "Asia/Shanghai"
[database]
url = "{url}"
[worker]
enabled = false
[storage]
root = "{(tmp_path / 'storage').as_posix()}"
min_free = "1MB"
[archive]
ae_title = "ARCHIVE"
host = "127.0.0.1"
port = {archive.port}
[archive.commitment]
enabled = true
""", encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(cfg), "objects", "--json"]) == 0
    rows = {r["sop_instance_uid"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == objects
    assert rows[refused]["commitment_state"] == "failed"
    assert rows[refused]["commitment_reason"] == "0x0213 resource limitation"
    committed = [r for k, r in rows.items() if k != refused]
    assert {r["commitment_state"] for r in committed} == {"committed"}
    assert all(r["commitment_at"].endswith("+08:00") for r in committed)
    assert main(["--config", str(cfg), "objects"]) == 0
    table = capsys.readouterr().out
    assert "failed: 0x0213 resource limitation" in table and "committed " in table

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the hospital's day, not UTC's
    assert main(["--config", str(cfg), "health-report", "--since", today, "--format", "csv"]) == 0
    found = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
             if r["section"] == "archive"}
    assert found == {"forwarded": str(objects), "forward_failed": "0", "forward_pending": "0",
                     "committed": str(objects - 1), "commit_failed": "1", "commit_waiting": "0",
                     "not_committed": "1", "commit_requests": "2"}
    assert main(["--config", str(cfg), "health-report", "--since", today]) == 0
    text = capsys.readouterr().out
    assert f"objects forwarded {objects}" in text and f"objects committed {objects - 1}" in text
    assert "commitment failed 1" in text and "requests sent (N-ACTION) 2" in text
    assert main(["--config", str(cfg), "health-report", "--since", today, "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert "归档转发（Archive forwarding）" in html and f'<td class="num">{objects - 1}</td>' in html
