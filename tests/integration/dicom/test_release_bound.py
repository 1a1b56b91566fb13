"""A release never hangs its caller: pynetdicom's ``Association.release()`` waits without limit for the
association's reactor to pause, and a reactor inside a slow event handler kept a task worker there (seen as a
hung Storage Commitment test under load). ``dicom.release.release`` aborts past its bound."""

from __future__ import annotations

import threading
import time

from pydicom.dataset import Dataset
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

from ris_ai_module.dicom.release import release

UID = StorageCommitmentPushModel


def _peer_that_reports_on_the_association() -> tuple[AE, int]:
    """An SCP that answers the N-ACTION, then sends the N-EVENT-REPORT on the same association (PS3.4 J.3.3)."""
    def on_action(event: evt.Event) -> tuple[int, None]:
        def report() -> None:
            info = Dataset()
            info.TransactionUID = event.action_information.TransactionUID
            event.assoc.send_n_event_report(info, 1, UID, "1.2.840.10008.1.20.1.1")
        threading.Thread(target=report, daemon=True).start()
        return 0x0000, None

    ae = AE(ae_title="PEER")
    ae.add_supported_context(UID, scp_role=True, scu_role=True)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_N_ACTION, on_action)])
    return ae, server.socket.getsockname()[1]


def test_a_reactor_stuck_in_a_handler_does_not_hold_the_release_for_ever() -> None:
    peer, port = _peer_that_reports_on_the_association()
    in_handler, let_go = threading.Event(), threading.Event()

    def slow_report(event: evt.Event) -> tuple[int, None]:
        in_handler.set()
        let_go.wait(60)  # the reactor thread is held here, as by a database that does not answer
        return 0x0000, None

    ae = AE(ae_title="RAI")
    ae.add_requested_context(UID)
    ae.acse_timeout = ae.dimse_timeout = 5
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title="PEER", ext_neg=[build_role(UID, scu_role=True, scp_role=True)],
                             evt_handlers=[(evt.EVT_N_EVENT_REPORT, slow_report)])
        assert assoc.is_established
        info = Dataset()
        info.TransactionUID = "2.25.1"
        info.ReferencedSOPSequence = []
        status, _ = assoc.send_n_action(info, 1, UID, "1.2.840.10008.1.20.1.1")
        assert status.Status == 0x0000
        assert in_handler.wait(10)
        started = time.monotonic()
        assert release(assoc, within=1.0) is False  # had to abort: the reactor never paused
        assert time.monotonic() - started < 5
        assert not assoc.is_established
    finally:
        let_go.set()
        ae.shutdown()
        peer.shutdown()


def test_a_normal_release_is_a_release() -> None:
    peer, port = _peer_that_reports_on_the_association()
    ae = AE(ae_title="RAI")
    ae.add_requested_context(UID)
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title="PEER")
        assert assoc.is_established
        assert release(assoc, within=10.0) is True
        assert assoc.is_released
    finally:
        ae.shutdown()
        peer.shutdown()
