"""C-ECHO as an SCU: "can this DICOM peer be reached, and does it accept us?".

Used by ``ris-ai-module echo`` and by the scheduled health checks. The answer always carries a reason a
person can act on: connection refused, timed out, association rejected (with the standard reason), or the
C-ECHO status.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from dataclasses import dataclass

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from ris_ai_module.dicom.release import release

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EchoResult:
    """Outcome of one C-ECHO. ``latency_ms`` is association + C-ECHO round trip (None when it failed early)."""

    ok: bool
    latency_ms: float | None
    reason: str
    status: int | None = None


def echo(
    host: str,
    port: int,
    called_aet: str,
    calling_aet: str = "RIS_AI",
    timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
) -> EchoResult:
    """Associate, send one C-ECHO, release. Never raises for a network problem: the reason is in the result."""
    ae = AE(ae_title=calling_aet)
    ae.add_requested_context(Verification)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    ae.connection_timeout = timeout
    tls_args = (ssl_context, host) if ssl_context is not None else None
    connected: list[bool] = []
    handlers = [(evt.EVT_CONN_OPEN, lambda _event: connected.append(True))]
    started = time.perf_counter()
    try:
        assoc = ae.associate(host, port, ae_title=called_aet, tls_args=tls_args, evt_handlers=handlers)
    except (ValueError, OSError) as exc:  # bad AE title or host name
        return EchoResult(False, None, f"cannot associate: {exc}")
    try:
        if assoc.is_established:
            status = assoc.send_c_echo()
            latency = (time.perf_counter() - started) * 1000.0
            if not status or "Status" not in status:
                return EchoResult(False, None, "timeout: no C-ECHO response (connection lost or dimse timeout)")
            code = int(status.Status)
            if code == 0x0000:
                return EchoResult(True, round(latency, 2), "ok", code)
            return EchoResult(False, round(latency, 2), f"C-ECHO failed with status 0x{code:04X}", code)
        if assoc.is_rejected:
            rj = assoc.acceptor.primitive
            if rj is not None and getattr(rj, "result", None) is not None:
                kind = "permanent" if rj.result == 0x01 else "transient"
                return EchoResult(
                    False, None,
                    f"rejected ({kind}, {rj.source_str}): {rj.reason_str}",
                )
            return EchoResult(False, None, "rejected")
        if not connected:
            return EchoResult(False, None, _why_unreachable(host, port, timeout))
        if assoc.is_aborted:
            return EchoResult(False, None, "aborted by peer (no accepted presentation context, or a protocol error)")
        if time.perf_counter() - started >= timeout * 0.9:
            return EchoResult(False, None, f"timeout: no association answer from {host}:{port} within {timeout:g}s")
        return EchoResult(False, None, f"connection to {host}:{port} closed before an association answer")
    finally:
        release(assoc)
        ae.shutdown()


def _why_unreachable(host: str, port: int, timeout: float) -> str:
    """pynetdicom only logs why a connection failed; a second, plain connect tells the user."""
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)):
            pass
    except ConnectionRefusedError:
        return f"refused: nothing listens on {host}:{port}"
    except TimeoutError:
        return f"timeout: no TCP answer from {host}:{port} within {timeout:g}s"
    except OSError as exc:
        return f"unreachable: {host}:{port}: {exc.strerror or exc}"
    return f"unreachable: the connection to {host}:{port} failed (it works now: retry)"
