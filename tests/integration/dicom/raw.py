"""Raw DICOM upper-layer bytes for abuse tests and bench/abuse.py: what a scanner or a broken peer sends.

Built with pynetdicom's own PDU encoders (so a valid A-ASSOCIATE-RQ is valid), sent over plain sockets from
any loopback source address (127.0.0.2 and up play the hospital LAN's other hosts).
"""

from __future__ import annotations

import socket
import struct
import time

from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.transport import AddressInformation

VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def associate_rq(calling: str = "DEMO_AI", called: str = "RIS_AI", contexts: tuple[str, ...] = (VERIFICATION,),
                 max_pdu: int = 16384) -> bytes:
    """An encoded A-ASSOCIATE-RQ proposing ``contexts`` (explicit VR little endian)."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    primitive.calling_presentation_address = AddressInformation("127.0.0.1", 0)
    primitive.called_presentation_address = AddressInformation("127.0.0.1", 0)
    items = []
    for i, uid in enumerate(contexts):
        cx = build_context(uid, [EXPLICIT_LE])
        cx.context_id = 1 + 2 * i
        items.append(cx)
    primitive.presentation_context_definition_list = items
    ml = MaximumLengthNotification()
    ml.maximum_length_received = max_pdu
    from pynetdicom.pdu_primitives import ImplementationClassUIDNotification

    impl = ImplementationClassUIDNotification()
    impl.implementation_class_uid = "1.2.826.0.1.3680043.9.3811.1"
    primitive.user_information = [ml, impl]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return pdu.encode()


def header(pdu_type: int, length: int) -> bytes:
    """A PDU header: type, reserved, 32-bit big-endian length."""
    return struct.pack(">BBL", pdu_type, 0, length)


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))


def read_pdu(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes] | None:
    """(type, body) of the next PDU, or None when the connection closed first."""
    sock.settimeout(timeout)
    head = _exactly(sock, 6)
    if head is None:
        return None
    pdu_type, _, length = struct.unpack(">BBL", head)
    body = _exactly(sock, length)
    return None if body is None else (pdu_type, body)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the peer closed the connection (reading and dropping whatever it sends), or None."""
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        except TimeoutError:
            return None
    return None


def associated(port: int, source: str = "127.0.0.1", calling: str = "DEMO_AI",
               contexts: tuple[str, ...] = (VERIFICATION,)) -> socket.socket:
    """A socket with an accepted association (A-ASSOCIATE-AC read), ready for raw P-DATA."""
    sock = connect(port, source)
    sock.sendall(associate_rq(calling, contexts=contexts))
    answer = read_pdu(sock)
    if answer is None or answer[0] != 0x02:
        sock.close()
        raise AssertionError(f"association not accepted: {answer!r}")
    return sock


def _exactly(sock: socket.socket, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))
        except (ConnectionResetError, TimeoutError):
            return None
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def c_store(sock: socket.socket, dataset_bytes: bytes, sop_class: str, sop_instance: str, context_id: int = 1,
            max_pdu: int = 16384, timeout: float = 30.0) -> int | None:
    """Send one C-STORE-RQ on presentation context ``context_id`` whatever it was negotiated for (the command
    says ``sop_class``), with ``dataset_bytes`` exactly as given; the response status, or None if none came."""
    from io import BytesIO

    from pynetdicom.dimse_messages import C_STORE_RQ
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.pdu import P_DATA_TF

    primitive = C_STORE()
    primitive.MessageID = 1
    primitive.AffectedSOPClassUID = sop_class
    primitive.AffectedSOPInstanceUID = sop_instance
    primitive.Priority = 0
    primitive.DataSet = BytesIO(dataset_bytes)
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    for p_data in message.encode_msg(context_id, max_pdu):
        pdu = P_DATA_TF()
        pdu.from_primitive(p_data)
        sock.sendall(pdu.encode())
    command = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = read_pdu(sock, timeout=max(0.1, deadline - time.monotonic()))
        if answer is None or answer[0] != 0x04:
            return None
        body = answer[1]
        # P-DATA-TF: PDV items (4-byte length, context id, control header, fragment)
        offset = 0
        while offset < len(body):
            (length,) = struct.unpack(">L", body[offset:offset + 4])
            control = body[offset + 5]
            command += body[offset + 6:offset + 4 + length]
            offset += 4 + length
            if control & 0x01 and control & 0x02:  # last fragment of a command
                return _status(bytes(command))
    return None


def _status(command: bytes) -> int | None:
    """(0000,0900) Status from an implicit VR little endian command set."""
    marker = b"\x00\x00\x00\x09\x02\x00\x00\x00"
    at = command.find(marker)
    return None if at < 0 else struct.unpack("<H", command[at + 8:at + 10])[0]


def release(sock: socket.socket) -> None:
    """A-RELEASE-RQ; waits briefly for the A-RELEASE-RP."""
    try:
        sock.sendall(bytes([0x05, 0x00, 0, 0, 0, 4, 0, 0, 0, 0]))
        read_pdu(sock, timeout=5)
    except OSError:
        pass
