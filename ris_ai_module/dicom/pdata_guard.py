"""The P-DATA fragments of each DIMSE message, checked before pynetdicom decodes them (on the DUL thread).

pynetdicom trusts them: a fragment on a presentation context that was never accepted raised ``KeyError`` in its
state machine (a traceback in the log, the connection dropped without an A-ABORT), a C-STORE command without its
Affected SOP Instance UID an ``AttributeError``, an unknown Command Field or a Priority of 7 a traceback, and a
data set whose fragments came on another context than its command was stored. Here, per PS3.8 §9.3.5 and PS3.7
§6.3.1 / Annex E, a message is one command (fragments with bit 0 of the Message Control Header set, the last
with bit 1) and, when its Command Data Set Type is not 0101H, one data set, all on one accepted presentation
context. What breaks that is answered by an A-ABORT and the connection closed, with one log line saying why:

* a PDV on a presentation context that was not accepted, or an empty PDV: the P-DATA-TF carries an invalid
  parameter value, a UL protocol error: A-ABORT source 2 (UL service-provider), reason 6 (invalid-PDU-parameter
  value, PS3.8 Table 9-26);
* fragments of one message on two contexts, a data set before its command, a command that cannot be decoded, an
  unknown Command Field, a mandatory command field missing or invalid (PS3.7 §9.3, §10.3): a DIMSE protocol
  error, detected above the upper layer: A-ABORT source 0 (UL service-user), as DCMTK's SCPs answer a command
  they cannot parse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from pydicom.filereader import read_dataset

#: Command Field values of PS3.7 §9.3 and §10.3 (requests and responses).
COMMAND_FIELDS = frozenset({0x0001, 0x8001, 0x0020, 0x8020, 0x0010, 0x8010, 0x0021, 0x8021, 0x0030, 0x8030, 0x0FFF,
                            0x0100, 0x8100, 0x0110, 0x8110, 0x0120, 0x8120, 0x0130, 0x8130, 0x0140, 0x8140, 0x0150,
                            0x8150})
C_STORE_RQ = 0x0001
C_ECHO_RQ = 0x0030
NO_DATA_SET = 0x0101
#: PS3.7 §9.1.1.1 Priority: MEDIUM, HIGH, LOW.
PRIORITIES = frozenset({0x0000, 0x0001, 0x0002})
#: Request commands with a Priority field (C-STORE, C-FIND, C-GET, C-MOVE).
WITH_PRIORITY = frozenset({0x0001, 0x0020, 0x0010, 0x0021})
#: A command set is a few hundred bytes; a bound for hostile input (the whole PDU is already capped).
MAX_COMMAND = 64 * 1024

#: (abort source, reason): UL protocol error, DIMSE protocol error.
PROVIDER_INVALID = (0x02, 0x06)
USER = (0x00, 0x00)


@dataclass
class _Message:
    context_id: int
    command: bytearray
    command_done: bool = False


class PDataGuard:
    """Per association: follows the messages in progress; ``check`` returns None for a P-DATA that may go on to
    pynetdicom, else ((source, reason), why) for the A-ABORT."""

    def __init__(self, accepted: Callable[[int], bool]) -> None:
        self._accepted = accepted
        self._message: _Message | None = None

    def check(self, pdvs: list[tuple[int, bytes]]) -> tuple[tuple[int, int], str] | None:
        for context_id, data in pdvs:
            if not self._accepted(context_id):
                return PROVIDER_INVALID, f"a P-DATA fragment on presentation context {context_id}, which was not accepted"
            if not data:
                return PROVIDER_INVALID, "an empty presentation data value (no Message Control Header)"
            control = data[0]
            is_command, last = bool(control & 0x01), bool(control & 0x02)
            message = self._message
            if message is not None and message.context_id != context_id:
                return USER, (f"fragments of one DIMSE message on presentation contexts {message.context_id} and "
                              f"{context_id}")
            if not is_command:
                if message is None or not message.command_done:
                    return USER, "a data set fragment before its command"
                if last:
                    self._message = None
                continue
            if message is None:
                message = self._message = _Message(context_id, bytearray())
            elif message.command_done:
                return USER, "a command fragment inside a data set"
            message.command += data[1:]
            if len(message.command) > MAX_COMMAND:
                return USER, f"a command set longer than {MAX_COMMAND} bytes"
            if last:
                problem, has_data = command_problem(bytes(message.command))
                if problem is not None:
                    return USER, problem
                message.command_done = True
                if not has_data:
                    self._message = None
        return None


def command_problem(encoded: bytes) -> tuple[str | None, bool]:
    """(what is wrong with this implicit VR little endian command set or None, whether a data set follows)."""
    try:
        cs = read_dataset(BytesIO(encoded), is_implicit_VR=True, is_little_endian=True)
        field = cs.get("CommandField")
        data_type = cs.get("CommandDataSetType")
        priority = cs.get("Priority")
        affected_class = cs.get("AffectedSOPClassUID")
        affected_instance = cs.get("AffectedSOPInstanceUID")
        message_id = cs.get("MessageID")
    except Exception as exc:
        return f"a command set that cannot be decoded ({exc.__class__.__name__})", False
    if not isinstance(field, int) or field not in COMMAND_FIELDS:
        return f"an unknown Command Field {field!r}", False
    if not isinstance(data_type, int):
        return "a command without Command Data Set Type (0000,0800)", False
    has_data = data_type != NO_DATA_SET
    if field & 0x8000 == 0 and field != 0x0FFF and not isinstance(message_id, int):
        return "a request without Message ID (0000,0110)", has_data
    if field in WITH_PRIORITY and priority not in PRIORITIES:
        return f"a request with Priority {priority!r} (0000,0700): 0, 1 or 2", has_data
    if field == C_ECHO_RQ and has_data:
        return "a C-ECHO-RQ announcing a data set (Command Data Set Type must be 0101H)", False
    if field == C_STORE_RQ:
        if not affected_class:
            return "a C-STORE-RQ without Affected SOP Class UID (0000,0002)", has_data
        if not affected_instance:
            return "a C-STORE-RQ without Affected SOP Instance UID (0000,1000)", has_data
    return None, has_data

