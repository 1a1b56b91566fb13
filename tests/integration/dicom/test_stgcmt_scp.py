"""Storage Commitment SCP (PS3.4 J.3) on SQLite, PostgreSQL and MariaDB (``any_db``), against a Storage
Commitment SCU written here from the standard with pynetdicom: N-ACTION (Action Type ID 1, Transaction UID,
Referenced SOP Sequence on the well-known instance 1.2.840.10008.1.20.1.1), then the N-EVENT-REPORT
(Event Type ID 1 all committed / 2 failures exist) on the same association, or on a new association to the
peer's own SCP (which the test runs) when the SCU does not take it on its association."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from sqlalchemy import String, column, create_engine, insert, select, table
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.tables import stgcmt, task, task_attempt
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import objects as make
from tests.support import wait_until

STGCMT = "1.2.840.10008.1.20.1"  # Storage Commitment Push Model SOP Class (PS3.4 J.3.5)
STGCMT_INSTANCE = "1.2.840.10008.1.20.1.1"  # its well-known SOP Instance
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"

ris_exam = table("ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
                 column("accession_no", String), column("exam_status", String))


class PeerScp:
    """The AI host's own SCP: takes our N-EVENT-REPORT on an association we start (our SCP role accepted)."""

    def __init__(self) -> None:
        self.reports: queue.Queue[tuple[int, Dataset, str]] = queue.Queue()
        self.ae = AE(ae_title="DEMO_AI")
        self.ae.add_supported_context(STGCMT, scu_role=True, scp_role=True)
        self.server = self.ae.start_server(("127.0.0.1", 0), block=False,
                                           evt_handlers=[(evt.EVT_N_EVENT_REPORT, self._report)])
        self.port = int(self.server.server_address[1])

    def _report(self, event: Any) -> tuple[int, None]:
        self.reports.put((int(event.request.EventTypeID), event.event_information,
                          str(event.assoc.requestor.ae_title).strip()))
        return 0x0000, None

    def close(self) -> None:
        self.server.shutdown()
        self.ae.shutdown()


@pytest.fixture
def rig(tmp_path: Path, any_db: Engine) -> Iterator[tuple[AppContext, StorageScp, PeerScp]]:
    with any_db.begin() as conn:
        conn.execute(insert(ris_exam).values(exam_id="E1", patient_id="P1", patient_name="Zhang^San",
                                             accession_no="ACC1", exam_status="REGISTERED"))
    peer = PeerScp()
    config = config_from_dict({
        "database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
        "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB"},
        "dicom": {"enabled": True, "ae_title": "RIS_AI", "host": "127.0.0.1", "port": 0, "acse_timeout": "5s",
                  "commitment": {"same_association_timeout": "2s", "timeout": "5s", "retry": {"initial": "1s"}},
                  "peers": [{"name": "demo-ai", "ae_title": "DEMO_AI", "addresses": ["127.0.0.1"],
                             "host": "127.0.0.1", "port": 9, "commitment_port": peer.port}]},
    })
    ctx = AppContext(config=config, engine=any_db)
    scp = StorageScp(ctx)
    scp.start()
    yield ctx, scp, peer
    scp.stop()
    peer.close()


def _ref(sop_class: str, sop: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop
    return item


def _scu(port: int, calling: str = "DEMO_AI", take_reports: bool = True) -> tuple[Any, Any, queue.Queue]:
    reports: queue.Queue[tuple[int, Dataset]] = queue.Queue()

    def on_report(event: Any) -> tuple[int, None]:
        reports.put((int(event.request.EventTypeID), event.event_information))
        return (0x0000 if take_reports else 0x0110), None  # 0x0110 processing failure: "not on this association"

    ae = AE(ae_title=calling)
    ae.add_requested_context(SC_CLASS)
    ae.add_requested_context(STGCMT)
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS_AI", evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    return ae, assoc, reports


def _ask(assoc: Any, uid: str, refs: list[Dataset]) -> int:
    info = Dataset()
    info.TransactionUID = uid
    info.ReferencedSOPSequence = refs
    status, _reply = assoc.send_n_action(info, 1, STGCMT, STGCMT_INSTANCE)
    return int(status.Status)


def _reported(ctx: Any, uid: str, within: float = 10.0) -> None:
    """Wait (bounded) until the SCP has the SCU's N-EVENT-REPORT response: the test's handler queues the report
    before pynetdicom sends its response, and a release sent in between leaves the commitment unconfirmed
    (PENDING, as it must: no response, no confirmation)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with ctx.engine.connect() as conn:
            if conn.execute(select(stgcmt.c.state).where(stgcmt.c.transaction_uid == uid)).scalar() == "REPORTED":
                return
        time.sleep(0.05)


def _uids(seq: Any) -> list[tuple[str, str]]:
    return [(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)) for i in (seq or [])]


def test_all_present_event_1_on_the_same_association(tmp_path: Path, rig) -> None:
    ctx, scp, _peer = rig
    sc = make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
    ae, assoc, reports = _scu(scp.port)
    try:
        assert assoc.is_established
        assert int(assoc.send_c_store(sc).Status) == 0x0000
        assert _ask(assoc, "1.2.3.4.1", [_ref(SC_CLASS, sc.SOPInstanceUID)]) == 0x0000
        event_type, info = reports.get(timeout=10)
        _reported(ctx, "1.2.3.4.1")
    finally:
        assoc.release()
        ae.shutdown()
    assert event_type == 1
    assert str(info.TransactionUID) == "1.2.3.4.1"
    assert _uids(info.ReferencedSOPSequence) == [(SC_CLASS, sc.SOPInstanceUID)]
    assert "FailedSOPSequence" not in info
    with ctx.engine.connect() as conn:
        row = conn.execute(select(stgcmt).where(stgcmt.c.transaction_uid == "1.2.3.4.1")).one()
    assert (row.direction, row.state, row.channel, row.event_type, row.peer_ae) == ("IN", "REPORTED", "SAME", 1, "DEMO_AI")
    # the task only notes the delivery
    assert wait_until(lambda: make_worker(ctx).run_once() is not None and _task(ctx, row.task_id).status == "DONE", 10)


def test_one_missing_one_of_another_class_event_2_with_failure_reasons(tmp_path: Path, rig) -> None:
    ctx, scp, _peer = rig
    sc = make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
    ae, assoc, reports = _scu(scp.port)
    try:
        assert int(assoc.send_c_store(sc).Status) == 0x0000
        refs = [_ref(SC_CLASS, sc.SOPInstanceUID), _ref(SC_CLASS, "1.2.3.999"), _ref(SR_CLASS, sc.SOPInstanceUID)]
        assert _ask(assoc, "1.2.3.4.2", refs) == 0x0000
        event_type, info = reports.get(timeout=10)
        _reported(ctx, "1.2.3.4.2")
    finally:
        assoc.release()
        ae.shutdown()
    assert event_type == 2
    assert _uids(info.ReferencedSOPSequence) == [(SC_CLASS, sc.SOPInstanceUID)]
    failed = {(str(i.ReferencedSOPInstanceUID), str(i.ReferencedSOPClassUID)): int(i.FailureReason)
              for i in info.FailedSOPSequence}
    # PS3.3 C.14.1.1: 0x0112 no such object instance, 0x0119 class / instance conflict
    assert failed == {("1.2.3.999", SC_CLASS): 0x0112, (sc.SOPInstanceUID, SR_CLASS): 0x0119}


def test_an_ae_not_whitelisted_is_rejected(rig) -> None:
    _ctx, scp, _peer = rig
    ae, assoc, _reports = _scu(scp.port, calling="STRANGER")
    try:
        assert assoc.is_rejected
        rj = assoc.acceptor.primitive
        assert (rj.result, rj.result_source, rj.diagnostic) == (0x01, 0x01, 0x03)  # permanent, user, calling AE
    finally:
        ae.shutdown()


def test_report_on_a_new_association_when_the_scu_does_not_take_it_on_its_own(tmp_path: Path, rig) -> None:
    ctx, scp, peer = rig
    sc = make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
    ae, assoc, reports = _scu(scp.port, take_reports=False)
    try:
        assert int(assoc.send_c_store(sc).Status) == 0x0000
        assert _ask(assoc, "1.2.3.4.3", [_ref(SC_CLASS, sc.SOPInstanceUID), _ref(SC_CLASS, "1.2.3.998")]) == 0x0000
        reports.get(timeout=10)  # offered on the association, refused there (0x0110)
    finally:
        assoc.release()
        ae.shutdown()
    with ctx.engine.connect() as conn:
        row = conn.execute(select(stgcmt).where(stgcmt.c.transaction_uid == "1.2.3.4.3")).one()
    assert row.state == "PENDING" and _task(ctx, row.task_id).exam_key == "E1"
    scp.stop()  # a restart between the N-ACTION and the report: a new process delivers it from RAI_STGCMT alone
    ctx = AppContext(config=ctx.config, engine=create_engine(ctx.engine.url))
    try:
        make_worker(ctx).run_once()
    finally:
        ctx.engine.dispose()
    event_type, info, calling = peer.reports.get(timeout=10)
    assert (event_type, calling, str(info.TransactionUID)) == (2, "RIS_AI", "1.2.3.4.3")
    assert _uids(info.ReferencedSOPSequence) == [(SC_CLASS, sc.SOPInstanceUID)]
    assert [(str(i.ReferencedSOPInstanceUID), int(i.FailureReason)) for i in info.FailedSOPSequence] == [("1.2.3.998", 0x0112)]
    with ctx.engine.connect() as conn:
        row = conn.execute(select(stgcmt).where(stgcmt.c.transaction_uid == "1.2.3.4.3")).one()
        attempts = list(conn.execute(select(task_attempt).where(task_attempt.c.task_id == row.task_id)))
    assert (row.state, row.channel, row.event_type) == ("REPORTED", "NEW", 2)
    assert json.loads(row.failures) == [[SC_CLASS, "1.2.3.998", 0x0112]]
    assert _task(ctx, row.task_id).status == "DONE"
    assert attempts[-1].status_text == "0x0000" and attempts[-1].target == f"DEMO_AI@127.0.0.1:{peer.port}"


def test_bad_requests_get_statuses_that_say_why(rig) -> None:
    _ctx, scp, _peer = rig
    ae, assoc, _reports = _scu(scp.port)
    try:
        no_uid = Dataset()
        no_uid.ReferencedSOPSequence = [_ref(SC_CLASS, "1.2.3")]
        status, _ = assoc.send_n_action(no_uid, 1, STGCMT, STGCMT_INSTANCE)
        assert int(status.Status) == 0x0115 and "Transaction UID" in str(status.ErrorComment)
        info = Dataset()
        info.TransactionUID = "1.2.3.4.5"
        info.ReferencedSOPSequence = [_ref(SC_CLASS, "1.2.3")]
        status, _ = assoc.send_n_action(info, 2, STGCMT, STGCMT_INSTANCE)
        assert int(status.Status) == 0x0123  # no such action
        status, _ = assoc.send_n_action(info, 1, STGCMT, "1.2.3.4.6")
        assert int(status.Status) == 0x0112  # not the well-known instance
    finally:
        assoc.release()
        ae.shutdown()


def _task(ctx: AppContext, task_id: int) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(task).where(task.c.task_id == task_id)).one()


def test_a_requester_that_releases_at_once_gets_its_report_exactly_once(tmp_path: Path, rig) -> None:
    """The SCU may release right after the N-ACTION response (PS3.4 J.3.2.1.2): the report then comes on a new
    association (or, when it won the race, on the old one) - one way, once."""
    ctx, scp, peer = rig
    sc = make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
    ae, assoc, reports = _scu(scp.port)
    try:
        assert int(assoc.send_c_store(sc).Status) == 0x0000
        assert _ask(assoc, "1.2.3.4.7", [_ref(SC_CLASS, sc.SOPInstanceUID)]) == 0x0000
        assoc.release()
    finally:
        ae.shutdown()
    with ctx.engine.connect() as conn:
        task_id = conn.execute(select(stgcmt.c.task_id).where(stgcmt.c.transaction_uid == "1.2.3.4.7")).scalar_one()

    def delivered() -> bool:
        make_worker(ctx).run_once()
        return _task(ctx, task_id).status == "DONE"
    assert wait_until(delivered, 20, 0.1)
    with ctx.engine.connect() as conn:
        row = conn.execute(select(stgcmt).where(stgcmt.c.transaction_uid == "1.2.3.4.7")).one()
    on_old, on_new = reports.qsize(), peer.reports.qsize()
    assert (row.state, on_old + on_new) == ("REPORTED", 1)
    assert row.channel == ("SAME" if on_old else "NEW")


@pytest.mark.parametrize("any_db", ["sqlite"], indirect=True)
def test_with_the_scp_off_a_request_is_refused_though_the_archive_may_report(any_db: Engine, tmp_path: Path) -> None:
    config = config_from_dict({
        "database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
        "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB"},
        "dicom": {"enabled": True, "ae_title": "RIS_AI", "host": "127.0.0.1", "port": 0,
                  "commitment": {"enabled": False},
                  "peers": [{"name": "demo-ai", "ae_title": "DEMO_AI", "addresses": ["127.0.0.1"]}]},
        "archive": {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": 9, "commitment": {"enabled": True}},
    })
    scp = StorageScp(AppContext(config=config, engine=any_db))
    scp.start()
    ae, assoc, _reports = _scu(scp.port)
    try:
        assert assoc.is_established
        assert _ask(assoc, "1.2.3.4.8", [_ref(SC_CLASS, "1.2.3")]) == 0x0124  # refused: not authorised
    finally:
        assoc.release()
        ae.shutdown()
        scp.stop()
    with any_db.connect() as conn:
        assert conn.execute(select(stgcmt)).first() is None
