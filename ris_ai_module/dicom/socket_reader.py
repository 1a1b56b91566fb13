"""Our PDU reads for SCP associations: size caps, deadlines, and memory proportional to what arrived.

pynetdicom's DUL reads a PDU as ``recv(6)`` (type and length) then ``recv(length)``, and holds the whole PDU in
memory. Its own ``recv`` asks for 4096 bytes per call and has no deadline: a header announcing 4 GB, or an
A-ASSOCIATE-RQ trickling in at one byte a second, would hold memory or the connection as long as the peer likes.
This reader (installed per association through :mod:`pynetdicom_adapter`) keeps pynetdicom's contract — return
exactly ``nr_bytes``, or fewer when the connection ended — and adds:

* a cap on the announced PDU length: ``dicom.max_request_pdu`` before the association is admitted, the
  negotiated maximum (our ``dicom.max_pdu``, PS3.8 §D.1) after; a PDU announcing more is answered with an
  A-ASSOCIATE-RJ (an A-ASSOCIATE-RQ before admission) or an A-ABORT, and the connection is closed unread;
* deadlines: the A-ASSOCIATE-RQ must be complete within the ARTIM time (``dicom.acse_timeout``) of the
  connection opening; once associated, each PDU within ARTIM plus its length at ``dicom.min_transfer_rate``;
* buffers that grow with the bytes that arrived (a 10-byte start of a 1 MB PDU costs a few KB, not 1 MB);
* reads of up to ``CHUNK`` bytes per call (a 1.4 MB image is a handful of calls, not 350).
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from ris_ai_module.dicom.admission import Throttle
from ris_ai_module.log import mark_connection_cut

log = logging.getLogger(__name__)

#: Largest single read; the loopback and LAN socket buffers rarely hold more.
CHUNK = 1024 * 1024
#: First allocation for a PDU body; it doubles as bytes arrive.
INITIAL = 4096

A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_ABORT = 0x07
#: PDU types of PS3.8 §9.3.1 (A-ASSOCIATE-RQ/AC/RJ, P-DATA-TF, A-RELEASE-RQ/RP, A-ABORT).
PDU_TYPES = frozenset(range(0x01, 0x08))
#: A-RELEASE-RQ, A-RELEASE-RP, A-ABORT: fixed length 4 (PS3.8 Tables 9-24 to 9-26).
FIXED_FOUR = frozenset({0x05, 0x06, 0x07})
#: A-ASSOCIATE-RJ for a request too large to read (PS3.8 §9.3.4): rejected-permanent, DICOM UL
#: service-provider (presentation related function), local-limit-exceeded.
RJ_TOO_LARGE = (0x01, 0x03, 0x02)
#: A-ASSOCIATE-RJ for a well-formed request lacking a mandatory item: rejected-permanent, service-provider (ACSE
#: related function), no-reason-given (PS3.8 Table 9-21; the AE-6 "otherwise" branch of Table 9-10).
RJ_INCOMPLETE = (0x01, 0x02, 0x01)
#: A-ABORT source: DICOM UL service-provider (PS3.8 §9.3.8); reasons: not specified, invalid PDU parameter value.
ABORT_USER = 0x00
ABORT_PROVIDER = 0x02
ABORT_NOT_SPECIFIED = 0x00
ABORT_UNRECOGNIZED_PDU = 0x01
ABORT_UNEXPECTED_PDU = 0x02
ABORT_INVALID_PARAMETER = 0x06

_throttle = Throttle()


@dataclass(frozen=True)
class ReadLimits:
    """From [dicom]: the caps and deadlines every SCP connection is read under."""

    #: Largest PDU before the association is admitted (an A-ASSOCIATE-RQ is a few KB; User Identity more).
    request_max: int
    #: Largest PDU once associated: the maximum length we announced in the A-ASSOCIATE-AC.
    association_max: int
    #: ARTIM: seconds from the connection opening to a complete A-ASSOCIATE-RQ; also each PDU's base time.
    artim: float
    #: Bytes per second a PDU must at least arrive at once associated.
    min_rate: int


def rj_pdu(result: int, source: int, reason: int) -> bytes:
    """An A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4): type 3, reserved, length 4, reserved, result, source, reason."""
    return struct.pack(">BBLBBBB", A_ASSOCIATE_RJ, 0, 4, 0, result, source, reason)


def abort_pdu(source: int, reason: int) -> bytes:
    """An A-ABORT PDU (PS3.8 §9.3.8): type 7, reserved, length 4, two reserved bytes, source, reason."""
    return struct.pack(">BBLBBBB", A_ABORT, 0, 4, 0, 0, source, reason)


class GuardedReader:
    """``recv(nr_bytes)`` for one association's :class:`AssociationSocket`."""

    def __init__(self, assoc_socket: Any, limits: ReadLimits, address: str = "?") -> None:
        self._owner = assoc_socket
        self.limits = limits
        self.address = address
        self.opened = time.monotonic()
        #: Set once the A-ASSOCIATE-RQ is admitted: the negotiated maximum and per-PDU deadlines apply.
        self.associated = False
        self._body: tuple[int, float, int] | None = None  # (expected length, deadline, PDU type) after a header
        self.cut: str | None = None  # why the reader closed the connection
        self.release_requested = False  # the peer sent A-RELEASE-RQ: only an A-ABORT may follow

    def admitted(self) -> None:
        self.associated = True

    def __call__(self, nr_bytes: int) -> bytearray:
        sock: socket.socket = self._owner.socket
        if self.cut is not None:
            return bytearray()
        now = time.monotonic()
        if self._body is not None and self._body[0] == nr_bytes:
            _length, deadline, pdu_type = self._body
            self._body = None
            data = self._read(sock, nr_bytes, deadline)
            if data is None:
                self._close(sock, "PDU not complete within its deadline", abort=self.associated)
                return bytearray()
            if pdu_type == A_ASSOCIATE_RQ and not self.associated and len(data) == nr_bytes:
                invalid = associate_rq_problem(data)
                if invalid is not None:
                    # Sta2 + Evt19 (invalid PDU) -> AA-1: A-ABORT of service-user source (PS3.8 Table 9-10)
                    self.abort(ABORT_USER, ABORT_NOT_SPECIFIED, invalid)
                    return bytearray()
                missing = associate_rq_missing(data)
                if missing is not None:
                    # AE-6, "not acceptable by the service-provider": A-ASSOCIATE-RJ, rejected-permanent,
                    # service-provider (ACSE related function), no-reason-given
                    self._send_and_close(sock, rj_pdu(*RJ_INCOMPLETE), f"{missing}: A-ASSOCIATE-RJ 1/2/1, connection closed")
                    return bytearray()
            if pdu_type == P_DATA_TF and len(data) == nr_bytes and not pdv_items_fit(data):
                self.abort(ABORT_PROVIDER, ABORT_INVALID_PARAMETER,
                           "a P-DATA-TF whose presentation data value items do not add up to its length")
                return bytearray()
            return data
        self._body = None
        deadline = self.opened + self.limits.artim if not self.associated else now + self.limits.artim
        data = self._read(sock, nr_bytes, deadline)
        if data is None:
            self._close(sock, "A-ASSOCIATE-RQ not complete within the ARTIM time" if not self.associated
                        else "PDU header not complete within its deadline", abort=self.associated)
            return bytearray()
        if nr_bytes == 6 and len(data) == 6:
            pdu_type, _, length = struct.unpack(">BBL", data)
            limit = self.limits.association_max if self.associated else self.limits.request_max
            if length > limit:
                self._refuse(sock, pdu_type, length, limit)
                return bytearray()
            wrong = self._wrong_pdu(pdu_type, length)
            if wrong is not None:
                self.abort(*wrong)
                return bytearray()
            if self.associated:
                body_deadline = time.monotonic() + self.limits.artim + length / max(1, self.limits.min_rate)
            else:
                body_deadline = self.opened + self.limits.artim
            self._body = (length, body_deadline, pdu_type)
        return data

    def _wrong_pdu(self, pdu_type: int, length: int) -> tuple[int, int, str] | None:
        """(abort source, reason, why) for a PDU header the state machine cannot take (PS3.8 Table 9-10):
        before the association (Sta2) an unknown type is Evt19 -> AA-1, an A-ABORT of service-user source
        (pynetdicom would wait for a body it never reads, until ARTIM); once associated (Sta6) AA-8, an
        A-ABORT of service-provider source with the reason of Table 9-26: unrecognized-PDU for an unknown
        type, unexpected-PDU for an A-ASSOCIATE-RQ/AC/RJ, invalid-PDU-parameter value for a release or abort
        PDU whose length is not 4."""
        if pdu_type not in PDU_TYPES:
            if not self.associated:
                return ABORT_USER, ABORT_NOT_SPECIFIED, f"a PDU of unknown type 0x{pdu_type:02X} before the association"
            return ABORT_PROVIDER, ABORT_UNRECOGNIZED_PDU, f"a PDU of unknown type 0x{pdu_type:02X}"
        if not self.associated:
            if pdu_type in (0x02, 0x03, 0x04, 0x05, 0x06):
                # Sta2 + Evt3/4/10/12/13: AA-1 (pynetdicom's handler of an A-ASSOCIATE-AC failed with a traceback first)
                names = {0x02: "A-ASSOCIATE-AC", 0x03: "A-ASSOCIATE-RJ", 0x04: "P-DATA-TF", 0x05: "A-RELEASE-RQ",
                         0x06: "A-RELEASE-RP"}
                return ABORT_USER, ABORT_NOT_SPECIFIED, f"an {names[pdu_type]} PDU before the association"
            return None  # A-ASSOCIATE-RQ goes to negotiation; an A-ABORT just closes (AA-2)
        if pdu_type in (0x01, 0x02, 0x03):
            what = {0x01: "A-ASSOCIATE-RQ", 0x02: "A-ASSOCIATE-AC", 0x03: "A-ASSOCIATE-RJ"}[pdu_type]
            return ABORT_PROVIDER, ABORT_UNEXPECTED_PDU, f"an {what} PDU inside an established association"
        if pdu_type in FIXED_FOUR and length != 4:
            return ABORT_PROVIDER, ABORT_INVALID_PARAMETER, f"a PDU of type 0x{pdu_type:02X} with length {length}, not 4"
        if self.release_requested and pdu_type != A_ABORT:
            # Sta8 (awaiting our A-RELEASE response) + Evt10/Evt12: AA-8; the SCP never requests a release itself,
            # so there is no release collision to allow for
            return ABORT_PROVIDER, ABORT_UNEXPECTED_PDU, f"a PDU of type 0x{pdu_type:02X} after the peer's A-RELEASE-RQ"
        if pdu_type == A_RELEASE_RQ:
            self.release_requested = True
        return None

    def abort(self, source: int, reason: int, why: str) -> None:
        """Send an A-ABORT (``source``, ``reason``) and close the connection; nothing more is read from it."""
        sock: socket.socket = self._owner.socket
        self._send_and_close(sock, abort_pdu(source, reason), f"{why}: A-ABORT (source {source}, reason {reason})")

    def _read(self, sock: socket.socket, nr_bytes: int, deadline: float) -> bytearray | None:
        """Exactly ``nr_bytes`` (fewer if the peer closed), or None when the deadline passed first."""
        out = bytearray(min(nr_bytes, INITIAL))
        filled = 0
        previous = sock.gettimeout()
        try:
            while filled < nr_bytes:
                if filled == len(out):
                    out.extend(bytes(min(nr_bytes - filled, max(len(out), INITIAL), CHUNK)))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                sock.settimeout(remaining)
                with memoryview(out) as view:
                    try:
                        got = sock.recv_into(view[filled:], min(len(out) - filled, CHUNK))
                    except TimeoutError:
                        return None
                if not got:
                    break  # connection closed: return what arrived, as pynetdicom does
                filled += got
        finally:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
        del out[filled:]
        return out

    def _refuse(self, sock: socket.socket, pdu_type: int, length: int, limit: int) -> None:
        phase = "negotiated maximum (dicom.max_pdu)" if self.associated else "limit before association (dicom.max_request_pdu)"
        if not self.associated and pdu_type == A_ASSOCIATE_RQ:
            answer, what = rj_pdu(*RJ_TOO_LARGE), "A-ASSOCIATE-RJ"
        else:
            answer, what = abort_pdu(ABORT_PROVIDER, ABORT_INVALID_PARAMETER), "A-ABORT"
        self._send_and_close(sock, answer, f"a PDU (type 0x{pdu_type:02X}) of {length} bytes exceeds the {phase} "
                                           f"of {limit} bytes: {what}, connection closed")

    def _close(self, sock: socket.socket, reason: str, abort: bool) -> None:
        if abort:
            self._send_and_close(sock, abort_pdu(ABORT_PROVIDER, ABORT_NOT_SPECIFIED), reason + ": A-ABORT")
        else:
            self._send_and_close(sock, b"", reason + ": connection closed")  # ARTIM expiry: AA-2, close only

    def _send_and_close(self, sock: socket.socket, pdu: bytes, reason: str) -> None:
        self.cut = reason
        mark_connection_cut()  # pynetdicom's own complaints on this thread about the cut are noise
        try:
            if pdu:
                sock.settimeout(1.0)
                sock.sendall(pdu)
        except OSError:
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        ok, suppressed = _throttle.allow((self.address, reason.split(":")[0][:40]))
        if ok:
            more = f" ({suppressed} more like it suppressed)" if suppressed else ""
            log.warning("DICOM connection from %s: %s%s", self.address, reason, more, extra={"action": "pdu_refused"})


def pdv_items_fit(body: bytes | bytearray) -> bool:
    """Do a P-DATA-TF's items (4-byte length, context ID, control header, fragment) fill it exactly (PS3.8
    §9.3.5.1)? An item is at least 2 bytes long."""
    offset, size = 0, len(body)
    while offset < size:
        if size - offset < 4:
            return False
        length = int.from_bytes(body[offset:offset + 4], "big")
        if length < 2 or offset + 4 + length > size:
            return False
        offset += 4 + length
    return size > 0


#: A-ASSOCIATE-RQ items (PS3.8 §9.3.2): application context 10H, presentation context 20H (its abstract and
#: transfer syntax sub-items 30H/40H follow 4 bytes of ID and reserved fields), user information 50H.
_RQ_FIXED = 68


def _items_fit(body: bytes | bytearray, start: int, end: int) -> list[tuple[int, int, int]] | None:
    """[(type, value start, value end)] of the items filling body[start:end] exactly, or None."""
    items, offset = [], start
    while offset < end:
        if end - offset < 4:
            return None
        length = int.from_bytes(body[offset + 2:offset + 4], "big")
        if offset + 4 + length > end:
            return None
        items.append((body[offset], offset + 4, offset + 4 + length))
        offset += 4 + length
    return items


def associate_rq_problem(body: bytes | bytearray) -> str | None:
    """What makes this A-ASSOCIATE-RQ an invalid PDU, or None: its items and the sub-items of its presentation
    context and user information items must fill it exactly (else pynetdicom's decoder fails with a
    traceback), and each presentation context ID must be an odd integer 1-255 used once (PS3.8 §9.3.2.2; an
    even one made pynetdicom's state machine fail with a traceback and no answer, a repeated one was
    answered once, for one of the two abstract syntaxes)."""
    if len(body) < _RQ_FIXED:
        return "an A-ASSOCIATE-RQ shorter than its fixed fields"
    items = _items_fit(body, _RQ_FIXED, len(body))
    if items is None:
        return "an A-ASSOCIATE-RQ whose items do not add up to its length"
    seen: set[int] = set()
    for item_type, start, end in items:
        if item_type == 0x20:
            if end - start < 4 or _items_fit(body, start + 4, end) is None:
                return "an A-ASSOCIATE-RQ whose presentation context sub-items do not add up"
            context_id = body[start]
            if context_id % 2 == 0 or context_id in seen:
                why = "even" if context_id % 2 == 0 else "used twice"
                return f"an A-ASSOCIATE-RQ with presentation context ID {context_id} ({why}; odd 1-255, once each)"
            seen.add(context_id)
        if item_type == 0x50 and _items_fit(body, start, end) is None:
            return "an A-ASSOCIATE-RQ whose user information sub-items do not add up"
    return None


def associate_rq_missing(body: bytes | bytearray) -> str | None:
    """The mandatory item a well-formed A-ASSOCIATE-RQ lacks, or None: at least one presentation context item
    (PS3.8 §9.3.2), the user information item with its maximum length (PS3.7 D.3.3.1) and implementation class
    UID (D.3.3.2) sub-items. (Without user information pynetdicom failed with a traceback and accepted.)"""
    items = _items_fit(body, _RQ_FIXED, len(body)) or []
    if not any(t == 0x20 for t, _s, _e in items):
        return "an A-ASSOCIATE-RQ without a presentation context item"
    user = [(s, e) for t, s, e in items if t == 0x50]
    if not user:
        return "an A-ASSOCIATE-RQ without a user information item"
    sub = {t for t, _s, _e in _items_fit(body, user[0][0], user[0][1]) or []}
    if 0x51 not in sub:
        return "an A-ASSOCIATE-RQ without a maximum length sub-item"
    if 0x52 not in sub:
        return "an A-ASSOCIATE-RQ without an implementation class UID sub-item"
    return None
