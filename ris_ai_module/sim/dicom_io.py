"""The simulator's DICOM side: C-STORE of its objects (with retries, as an AI host does) and its own SCP that
answers C-ECHO, so that the module's health check can echo it and it can echo the module."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from ris_ai_module.dicom.release import release

Log = Callable[[str], None]


@dataclass(frozen=True)
class StoreResult:
    sop_instance_uid: str
    sop_class_uid: str
    ok: bool
    status: int | None
    reason: str
    attempts: int


def _assoc_reason(assoc: object, host: str, port: int) -> str:
    if getattr(assoc, "is_rejected", False):
        rj = assoc.acceptor.primitive  # type: ignore[attr-defined]
        if rj is not None and getattr(rj, "result", None) is not None:
            return f"association rejected ({rj.source_str}): {rj.reason_str}"
        return "association rejected"
    from ris_ai_module.dicom.echo import _why_unreachable

    reason = _why_unreachable(host, port, 5.0)
    if "it works now" in reason:  # the port answers: the peer itself ended the association
        return "association aborted by the peer (no accepted presentation context, or a protocol error)"
    return reason


def send_objects(objects: Sequence[Dataset], host: str, port: int, called_aet: str, calling_aet: str,
                 attempts: int = 3, backoff: float = 1.0, timeout: float = 30.0, log: Log | None = None) -> list[StoreResult]:
    """C-STORE every object in one association; objects not stored are retried in a new association after
    ``backoff`` seconds (doubling), up to ``attempts`` associations. A failure status from the SCP that says
    the object itself is wrong (0xA9xx, 0xCxxx) is not retried."""
    pending = list(objects)
    results: dict[str, StoreResult] = {}
    delay = backoff
    for attempt in range(1, attempts + 1):
        ae = AE(ae_title=calling_aet)
        for sop_class in sorted({str(ds.SOPClassUID) for ds in pending}):
            ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
        ae.connection_timeout = min(timeout, 10.0)
        retry: list[Dataset] = []
        try:
            assoc = ae.associate(host, port, ae_title=called_aet)
        except (OSError, ValueError) as exc:
            assoc = None
            reason = f"cannot associate: {exc}"
        if assoc is not None and assoc.is_established:
            try:
                for ds in pending:
                    status = assoc.send_c_store(ds)
                    sop = str(ds.SOPInstanceUID)
                    code = int(status.Status) if status and "Status" in status else None
                    comment = str(status.get("ErrorComment", "")) if status else ""
                    ok = code is not None and (code == 0 or 0xB000 <= code <= 0xBFFF)
                    why = "stored" if ok else (f"status 0x{code:04X}" + (f" {comment}" if comment else "")
                                                if code is not None else "no answer (connection lost or timeout)")
                    results[sop] = StoreResult(sop, str(ds.SOPClassUID), ok, code, why, attempt)
                    if log:
                        log(f"C-STORE {_kind(ds)} {sop} -> {called_aet}@{host}:{port}: {why}")
                    if not ok and (code is None or not (0xA900 <= code <= 0xA9FF or 0xC000 <= code <= 0xCFFF)):
                        retry.append(ds)
            finally:
                release(assoc)
        else:
            reason = reason if assoc is None else _assoc_reason(assoc, host, port)
            for ds in pending:
                sop = str(ds.SOPInstanceUID)
                results[sop] = StoreResult(sop, str(ds.SOPClassUID), False, None, reason, attempt)
            retry = list(pending)
            if log:
                log(f"C-STORE to {called_aet}@{host}:{port} failed (attempt {attempt}/{attempts}): {reason}")
            if assoc is not None and assoc.is_rejected:
                retry = [] if assoc.acceptor.primitive and assoc.acceptor.primitive.result == 0x01 else retry
        ae.shutdown()
        pending = retry
        if not pending or attempt == attempts:
            break
        time.sleep(delay)
        delay *= 2
    return [results[str(ds.SOPInstanceUID)] for ds in objects]


def _kind(ds: Dataset) -> str:
    return "SR" if str(ds.SOPClassUID).startswith("1.2.840.10008.5.1.4.1.1.88.") else "SC"


class EchoScp:
    """A Verification SCP on ``host:port`` (0 = a free port) that logs who echoed it."""

    def __init__(self, ae_title: str, host: str = "127.0.0.1", port: int = 0, log: Log | None = None) -> None:
        self.ae_title = ae_title
        self.log = log
        self.echoes: list[tuple[str, str]] = []
        self._ae = AE(ae_title=ae_title)
        self._ae.add_supported_context(Verification)
        self._ae.require_called_aet = True
        self._server = self._ae.start_server(
            (host, port), block=False, evt_handlers=[(evt.EVT_C_ECHO, self._on_echo)])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _on_echo(self, event: evt.Event) -> int:
        calling = event.assoc.requestor.ae_title
        address = event.assoc.requestor.address
        self.echoes.append((calling, address))
        if self.log:
            self.log(f"C-ECHO received from {calling} at {address}: answered 0x0000")
        return 0x0000

    def stop(self) -> None:
        self._server.shutdown()
        self._ae.shutdown()
