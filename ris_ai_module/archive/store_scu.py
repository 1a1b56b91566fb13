"""One C-STORE of a stored file to the archive, as an SCU: the file's data set is sent as it is on disk (no
decode, byte-identical) when the archive accepts its transfer syntax; an uncompressed object goes in another
uncompressed syntax the archive accepts; the answer says what happened in words and a retry verdict."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt

from ris_ai_module.dicom import pynetdicom_adapter
from ris_ai_module.dicom.release import release

#: Uncompressed transfer syntaxes an uncompressed object may be re-encoded into (pynetdicom does that).
UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


@dataclass(frozen=True)
class StoreResult:
    """``ok``: stored (success or a warning); ``retry``: worth trying again later (the archive down or busy)."""

    ok: bool
    retry: bool
    status_text: str
    detail: str
    latency_ms: int
    status: int | None = None


def _category(code: int) -> tuple[bool, bool, str]:
    """(ok, retry, words) of a C-STORE status (PS3.4 Annex B.2.3, PS3.7 C.4.2)."""
    if code == 0x0000:
        return True, False, "success"
    if code in (0xB000, 0xB006, 0xB007) or (code & 0xF000) == 0xB000:
        return True, False, "warning (stored)"
    if (code & 0xFF00) == 0xA700:
        return False, True, "refused: out of resources"
    if code in (0x0110, 0x0213, 0x0212):  # processing failure, resource limitation
        return False, True, "failed: processing failure"
    if code == 0x0122 or code == 0x0211:
        return False, False, "refused: SOP class not supported"
    if (code & 0xFF00) == 0xA900:
        return False, False, "refused: data set does not match SOP class"
    if (code & 0xF000) == 0xC000:
        return False, False, "refused: cannot understand"
    return False, False, "failed"


def send_file(path: Path, sop_class: str, transfer_syntax: str | None, *, host: str, port: int, called: str,
              calling: str, timeout: float) -> StoreResult:
    """Associate, send one object, release. Never raises for a network problem or a refusal."""
    started = time.monotonic()

    def result(ok: bool, retry: bool, text: str, detail: str, status: int | None = None) -> StoreResult:
        return StoreResult(ok, retry, text, detail, int((time.monotonic() - started) * 1000), status)

    original = UID(transfer_syntax or ExplicitVRLittleEndian)
    ae = AE(ae_title=calling)
    ae.add_requested_context(sop_class, [original])
    fallback = [ts for ts in UNCOMPRESSED if ts != original]
    if not original.is_compressed and fallback:
        ae.add_requested_context(sop_class, fallback)
    for name in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, name, timeout)
    connected: list[bool] = []
    try:
        assoc = ae.associate(host, port, ae_title=called,
                             evt_handlers=[(evt.EVT_CONN_OPEN, lambda e: _connected(e, connected))])
    except (ValueError, OSError) as exc:
        ae.shutdown()
        return result(False, True, "cannot associate", str(exc))
    try:
        if not assoc.is_established:
            return _not_established(assoc, connected, host, port, result)
        accepted = {str(c.transfer_syntax[0]) for c in assoc.accepted_contexts if c.abstract_syntax == sop_class}
        if str(original) in accepted:
            status = assoc.send_c_store(str(path))  # the file's data set bytes, not decoded
        elif not original.is_compressed and accepted & {str(ts) for ts in UNCOMPRESSED}:
            status = assoc.send_c_store(dcmread(path))  # re-encoded into an accepted uncompressed syntax
        else:
            return result(False, False, "no presentation context",
                          f"the archive accepts {sop_class} in none of "
                          f"{', '.join([str(original)] + [str(t) for t in fallback if not original.is_compressed])}")
        if not status or "Status" not in status:
            return result(False, True, "no response", "no C-STORE response (connection lost or dimse timeout)")
        code = int(status.Status)
        ok, retry, words = _category(code)
        comment = str(status.get("ErrorComment", "") or "")
        return result(ok, retry, f"0x{code:04X}", words + (f": {comment}" if comment else ""), code)
    finally:
        release(assoc)
        ae.shutdown()


def _connected(event: object, connected: list[bool]) -> None:
    """Each PDU goes out at once (TCP_NODELAY) and the DUL polls every 0.2 ms: without them every small PDU of
    an association waits for Nagle + delayed ACK (~40 ms each on Linux; bench/forward.py)."""
    connected.append(True)
    try:
        raw = pynetdicom_adapter.raw_socket(event.assoc)  # type: ignore[attr-defined]
        if raw is not None:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pynetdicom_adapter.set_poll_delay(event.assoc, 0.0002)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        pass


def _not_established(assoc: object, connected: list[bool], host: str, port: int, result: object) -> StoreResult:
    if getattr(assoc, "is_rejected", False):
        rj = assoc.acceptor.primitive  # type: ignore[attr-defined]
        if rj is not None and getattr(rj, "result", None) is not None:
            permanent = rj.result == 0x01
            kind = "permanent" if permanent else "transient"
            return result(False, True, f"rejected ({kind})",  # type: ignore[operator]
                          f"association rejected ({kind}, {rj.source_str}): {rj.reason_str}")
        return result(False, True, "rejected", "association rejected")  # type: ignore[operator]
    if not connected:
        return result(False, True, "unreachable", f"no connection to {host}:{port}")  # type: ignore[operator]
    if getattr(assoc, "is_aborted", False):
        return result(False, True, "aborted", "association aborted by the archive")  # type: ignore[operator]
    return result(False, True, "no answer", f"no association answer from {host}:{port}")  # type: ignore[operator]
