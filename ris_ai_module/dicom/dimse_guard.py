"""Which DIMSE requests a presentation context may carry, and the standard answer to one that it may not.

pynetdicom picks the service for a request by the SOP Class UID in its command, not by the presentation context
it came on: an N-ACTION naming Secondary Capture reached the C-STORE handler and was answered with a C-STORE-RSP,
a C-FIND on a storage context or a C-ECHO naming a storage class aborted the association with a traceback in the
log. Here each request is checked against its context's abstract syntax first (PS3.7 §9.1, §10.1):

* an operation the context's SOP class does not have (C-FIND on a storage context, C-STORE on the Verification
  context, N-GET on Storage Commitment, ...): a response of the request's own type, 0x0211 Unrecognized operation
  (PS3.7 C.5.16: "the operation is not one of those agreed between the DIMSE-service-users");
* a C-ECHO whose Affected SOP Class is not Verification: 0x0122 Refused: SOP Class not supported;
* an N-ACTION / N-EVENT-REPORT naming another class than its context: 0x0118 No such SOP Class;
* a C-STORE whose Affected SOP Class differs from its context: 0xA900 (Data Set does not match SOP Class), as
  :func:`ingest._check` answers a data set of another class; the received file is removed.
"""

from __future__ import annotations

from collections.abc import Collection

from ris_ai_module.dicom import statuses

VERIFICATION = "1.2.840.10008.1.1"
UNRECOGNIZED_OPERATION = 0x0211
NO_SUCH_SOP_CLASS = 0x0118

#: Which request each kind of context carries (we are SCP; N-EVENT-REPORT comes from the archive).
_VERIFICATION_OPS = frozenset({"C_ECHO"})
_STORAGE_OPS = frozenset({"C_STORE"})
_COMMITMENT_OPS = frozenset({"N_ACTION", "N_EVENT_REPORT"})

#: Readable names for the log and the Error Comment.
_NAMES = {"C_ECHO": "C-ECHO", "C_STORE": "C-STORE", "C_FIND": "C-FIND", "C_GET": "C-GET", "C_MOVE": "C-MOVE",
          "N_EVENT_REPORT": "N-EVENT-REPORT", "N_GET": "N-GET", "N_SET": "N-SET", "N_ACTION": "N-ACTION",
          "N_CREATE": "N-CREATE", "N_DELETE": "N-DELETE"}


def request_class(msg: object) -> str:
    """The SOP Class UID a request names: Affected (DIMSE-C, N-EVENT-REPORT, N-CREATE) or Requested (N-GET, ...)."""
    for name in ("AffectedSOPClassUID", "RequestedSOPClassUID"):
        value = getattr(msg, name, None)
        if value:
            return str(value)
    return ""


def refusal(kind: str, named_class: str, context_class: str, storage_classes: Collection[str],
            commitment_class: str) -> tuple[int, str] | None:
    """(status, Error Comment) for a request of ``kind`` (the primitive's class name, e.g. "C_FIND") naming
    ``named_class`` on a context of ``context_class``; None when the request belongs there."""
    if context_class == VERIFICATION:
        allowed = _VERIFICATION_OPS
    elif context_class == commitment_class:
        allowed = _COMMITMENT_OPS
    elif context_class in storage_classes:
        allowed = _STORAGE_OPS
    else:
        allowed = frozenset()
    name = _NAMES.get(kind, kind)
    if kind not in allowed:
        return UNRECOGNIZED_OPERATION, f"{name} is not an operation of this context's SOP class"
    if named_class == context_class:
        return None
    if kind == "C_ECHO":
        return statuses.SOP_CLASS_NOT_SUPPORTED, "C-ECHO is only for the Verification SOP class"
    if kind == "C_STORE":
        return statuses.DATASET_MISMATCH, "Affected SOP Class differs from the presentation context's"
    return NO_SUCH_SOP_CLASS, f"{name} names another SOP class than its context"
