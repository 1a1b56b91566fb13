"""The SCP's event handlers, bound in ``scp.EVT_HANDLERS`` with the running :class:`ScpState` as argument.

Each docstring lists what the handler answers and when (pynetdicom's ``doc_handle_*`` habit).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from ris_ai_module.dicom import dimse_guard, index, pynetdicom_adapter, statuses
from ris_ai_module.dicom.admission import AdmissionGate, Ticket
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.pdata_guard import PDataGuard
from ris_ai_module.dicom.socket_reader import GuardedReader, ReadLimits
from ris_ai_module.dicom.stats import ScpStats
from ris_ai_module.dicom.stgcmt import SOP_CLASS as STGCMT_SOP_CLASS
from ris_ai_module.dicom.stgcmt_scp import PEER, PEERS, archive_only, is_archive_report_request
from ris_ai_module.dicom.storage import StorageArea, TempObject
from ris_ai_module.dicom.whitelist import Whitelist
from ris_ai_module.services import Running

log = logging.getLogger(__name__)

#: A-ASSOCIATE-RJ parameters (PS3.8 §9.3.4): rejected-permanent, DICOM UL service-user, and the reason.
RJ_PERMANENT = 0x01
RJ_SERVICE_USER = 0x01
RJ_APPLICATION_CONTEXT_NOT_SUPPORTED = 0x02
RJ_CALLING_AE_NOT_RECOGNISED = 0x03
RJ_CALLED_AE_NOT_RECOGNISED = 0x07
#: The one application context name DICOM defines (PS3.7 Annex A.2.1).
DICOM_APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
#: Over ``dicom.max_associations``: rejected-transient, service-provider (presentation), local-limit-exceeded.
RJ_BUSY = (0x02, 0x03, 0x02)
#: The reason of each rejection as RAI_ASSOC_REJECT.REASON_CODE (what GET /metrics counts by).
REASON_CODES = {RJ_CALLING_AE_NOT_RECOGNISED: "CALLING_AE_NOT_RECOGNISED",
                RJ_CALLED_AE_NOT_RECOGNISED: "CALLED_AE_NOT_RECOGNISED",
                RJ_APPLICATION_CONTEXT_NOT_SUPPORTED: "APP_CONTEXT_NOT_SUPPORTED"}
LOCAL_LIMIT_EXCEEDED = "LOCAL_LIMIT_EXCEEDED"
#: Storage below the free-space watermark (PS3.8 Table 9-21): result 2 rejected-transient, source 3 DICOM UL
#: service-provider (presentation related function), reason 2 local-limit-exceeded. Transient: the peer
#: keeps its objects and retries, as it would for a busy SCP.
RJ_STORAGE_LOW = (0x02, 0x03, 0x02)

#: Seconds pynetdicom's DUL thread sleeps between socket polls when idle (its default is 0.001).
DUL_POLL_DELAY = 0.0002


@dataclass
class ScpState:
    """What the handlers need: the running services (engine, config, wake), the store, the compiled whitelist, the admission
    gate and the read limits. Each association carries its own ticket and reader (``ADMISSION`` attribute),
    so nothing here outlives it."""

    ctx: Running
    area: StorageArea
    whitelist: Whitelist
    gate: AdmissionGate | None = None
    limits: ReadLimits | None = None
    current_ticket: Callable[[], Ticket | None] = lambda: None
    #: C-STORE answers and refused presentation contexts, counted for GET /metrics (dicom/stats.py).
    stats: ScpStats | None = None


#: The attribute of an association holding (admission ticket, PDU reader).
ADMISSION = "_rai_admission"


def _admission(assoc: Any) -> tuple[Ticket | None, GuardedReader | None]:
    return getattr(assoc, ADMISSION, (None, None))


def handle_conn_open(event: Any, state: ScpState) -> None:
    """EVT_CONN_OPEN: bind the connection's admission ticket; read its PDUs with :class:`GuardedReader` (size
    caps, deadlines, large reads); answer every PDU at once (no Nagle delay); poll the socket more often than
    pynetdicom's 1 ms (``DUL_POLL_DELAY``: ~15 % more small objects per second in bench/ingest.py).
    """
    assoc = event.assoc
    ticket = state.current_ticket()
    if ticket is not None and state.gate is not None:
        state.gate.bind(ticket, assoc)
    reader = None
    if state.limits is not None and pynetdicom_adapter.association_socket(assoc) is not None:
        reader = GuardedReader(pynetdicom_adapter.association_socket(assoc), state.limits,
                               str(assoc.requestor.address))
        pynetdicom_adapter.install_recv(assoc, reader)
        guard = PDataGuard(lambda cx: pynetdicom_adapter.context_abstract_syntax(assoc, cx) is not None)

        def check(pdvs: list[tuple[int, bytes]], reader: GuardedReader = reader) -> bool:
            refused = guard.check(pdvs)
            if refused is not None:
                (source, reason), why = refused
                reader.abort(source, reason, why)
            return refused is None

        pynetdicom_adapter.install_pdata_check(assoc, check)
    setattr(assoc, ADMISSION, (ticket, reader))
    try:
        raw = pynetdicom_adapter.raw_socket(assoc)
        if raw is not None:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pynetdicom_adapter.set_poll_delay(assoc, DUL_POLL_DELAY)
    except (AttributeError, OSError):
        pass


def handle_conn_close(event: Any, state: ScpState) -> None:
    """EVT_CONN_CLOSE: free the connection's admission slot; a connection that closed before its
    A-ASSOCIATE-RQ arrived ends its acceptor thread now (not after the ARTIM time); a connection that died in
    the middle of an object leaves no temp file behind."""
    ticket, _reader = _admission(event.assoc)
    if ticket is not None and state.gate is not None:
        state.gate.close(ticket)
    if getattr(event.assoc.requestor, "primitive", None) is None:
        pynetdicom_adapter.end_acceptor_wait(event.assoc)
    removed = state.area.discard_unfinished(event.assoc.dul)
    if removed:
        log.warning("connection from %s closed during a transfer: %d partial object(s) removed",
                    event.assoc.requestor.address, removed, extra={"action": "partial_removed"})


def handle_requested(event: Any, state: ScpState) -> None:
    """EVT_REQUESTED: admit the association or reject it before negotiation.

    Admits our own AE title from this host's addresses (the health check's C-ECHO of this SCP; it may not store).
    Rejects (A-ASSOCIATE-RJ, rejected-permanent, service-user):
      * reason 2, application context name not supported: not the DICOM application context (PS3.7 A.2.1);
      * reason 3, calling AE title not recognised: the calling AE is not a peer's, or not from its addresses;
      * reason 7, called AE title not recognised: ``dicom.require_called_aet`` and the called AE is not ours;
    and, for a whitelisted request while ``dicom.max_associations`` are admitted or while the storage volume
    is below the free-space watermark (``storage.watermark_free``/``watermark_percent``), rejected-transient,
    service-provider (presentation), local-limit-exceeded. Below the watermark a C-ECHO-only association is
    refused too: a peer's monitoring C-ECHO must not say "up" while its stores would be refused. Our own
    self-check C-ECHO is still admitted (it tells that the SCP runs; the watermark has its own health check).
    Every rejection is recorded in RAI_ASSOC_REJECT (time, address, AEs, reason and its code for GET /metrics).
    """
    assoc = event.assoc
    calling = str(assoc.requestor.primitive.calling_ae_title or "").strip()
    called = str(assoc.requestor.primitive.called_ae_title or "").strip()
    address = str(assoc.requestor.address)
    cfg = state.ctx.config.dicom
    context_name = str(assoc.requestor.primitive.application_context_name or "")
    if context_name != DICOM_APPLICATION_CONTEXT:
        return _reject(assoc, state, address, calling, called, RJ_APPLICATION_CONTEXT_NOT_SUPPORTED,
                       f"application context {context_name!r} is not DICOM's ({DICOM_APPLICATION_CONTEXT})")
    if calling == cfg.ae_title.strip() and state.whitelist.is_own(address):
        # our own health check (C-ECHO of this SCP); it may not store anything, see handle_store
        return _admit(assoc, state, address, calling, called)
    if cfg.require_called_aet and called != cfg.ae_title.strip():
        diagnostic, reason = RJ_CALLED_AE_NOT_RECOGNISED, f"called AE title {called!r} is not {cfg.ae_title!r}"
    else:
        admission = state.whitelist.admit(calling, address)
        if admission.accepted:
            setattr(assoc, PEER, admission.peer)  # stgcmt_scp: who may ask for / report commitment
            setattr(assoc, PEERS, admission.peers)
            refusing = state.area.space().refusing
            # the archive's commitment reports store nothing, and retention needs them to free space
            proposed = [str(cx.abstract_syntax) for cx in
                        (assoc.requestor.primitive.presentation_context_definition_list or [])]
            if refusing is not None and not is_archive_report_request(admission.peers, proposed):
                return _reject_transient(assoc, state, address, calling, called,
                                         RJ_STORAGE_LOW, refusing + ": new associations refused")
            return _admit(assoc, state, address, calling, called)
        diagnostic, reason = RJ_CALLING_AE_NOT_RECOGNISED, admission.reason
    _reject(assoc, state, address, calling, called, diagnostic, reason)


def _reject(assoc: Any, state: ScpState, address: str, calling: str, called: str, diagnostic: int,
            reason: str) -> None:
    """A-ASSOCIATE-RJ rejected-permanent, service-user, ``diagnostic``; logged and recorded."""
    assoc.acse.send_reject(RJ_PERMANENT, RJ_SERVICE_USER, diagnostic)
    _wait_until_sent(assoc)
    log.warning("association from %s (%s -> %s) rejected: %s", address, calling, called, reason,
                extra={"action": "assoc_rejected"})
    index.record_rejection(state.ctx.engine, address, calling, called, reason, REASON_CODES[diagnostic])


def _admit(assoc: Any, state: ScpState, address: str, calling: str, called: str) -> None:
    """A whitelisted request: an association slot (``dicom.max_associations``), or A-ASSOCIATE-RJ transient
    "local limit exceeded"; once admitted, PDUs are read under the negotiated maximum."""
    ticket, reader = _admission(assoc)
    if ticket is not None and state.gate is not None and not state.gate.admit(ticket):
        reason = f"{state.gate.max_associations} associations in progress (dicom.max_associations)"
        return _reject_transient(assoc, state, address, calling, called, RJ_BUSY, reason)
    if reader is not None:
        reader.admitted()
    # the Storage Commitment report after the N-ACTION response; requests checked against their context first
    pynetdicom_adapter.install_after_response(assoc, guard=lambda msg, cx: guard_request(assoc, state, msg, cx))


def guard_request(assoc: Any, state: ScpState, msg: Any, context_id: int) -> bool:
    """Answer a request its presentation context may not carry (:mod:`dicom.dimse_guard`); True when answered.
    A context that was not accepted is left to pynetdicom (it aborts the association)."""
    context_class = pynetdicom_adapter.context_abstract_syntax(assoc, context_id)
    if context_class is None or not getattr(msg, "is_valid_request", False):
        return False
    kind = type(msg).__name__
    refused = dimse_guard.refusal(kind, dimse_guard.request_class(msg), context_class,
                                  state.ctx.config.dicom.sop_classes, STGCMT_SOP_CLASS)
    if refused is None:
        return False
    status, text = refused
    temp = pynetdicom_adapter.received_file(msg)
    if isinstance(temp, TempObject):
        temp.discard()
    log.warning("%s from %s on the %s context (id %d): 0x%04X %s", kind.replace("_", "-"), assoc.requestor.address,
                context_class, context_id, status, text, extra={"action": "dimse_refused"})
    pynetdicom_adapter.respond(assoc, msg, context_id, status, statuses.comment(text))
    if kind == "C_STORE" and state.stats is not None:
        state.stats.store(context_class, status, 0.0)
    return True


def _reject_transient(assoc: Any, state: ScpState, address: str, calling: str, called: str,
                      rj: tuple[int, int, int], reason: str) -> None:
    assoc.acse.send_reject(*rj)
    _wait_until_sent(assoc)
    log.warning("association from %s (%s -> %s) rejected: %s", address, calling, called, reason,
                extra={"action": "assoc_rejected"})
    index.record_rejection(state.ctx.engine, address, calling, called, reason, LOCAL_LIMIT_EXCEEDED)


def _wait_until_sent(assoc: Any, timeout: float = 2.0) -> None:
    """pynetdicom's DUL thread sends the A-ASSOCIATE-RJ asynchronously, while the association thread closes
    the socket as soon as this handler returns: without waiting, a DCMTK peer sees only a closed connection
    ("Peer aborted Association") instead of the rejection and its reason. Sta13 = RJ sent.
    """
    deadline = time.monotonic() + timeout
    fsm = getattr(assoc.dul, "state_machine", None)
    while fsm is not None and fsm.current_state != "Sta13" and time.monotonic() < deadline:
        time.sleep(0.001)


def handle_accepted(event: Any, state: ScpState) -> None:
    """EVT_ACCEPTED: count each SOP class the association proposed and got no presentation context for (not in
    ``dicom.sop_classes``, or none of its transfer syntaxes): the peer cannot send those objects at all. A peer
    proposes several contexts per class (one per transfer syntax group); the class counts once."""
    assoc = event.assoc
    accepted = {str(cx.abstract_syntax) for cx in getattr(assoc, "accepted_contexts", []) or []}
    refused: dict[str, int] = {}
    for cx in getattr(assoc, "rejected_contexts", []) or []:
        if str(cx.abstract_syntax) not in accepted:
            refused.setdefault(str(cx.abstract_syntax), int(cx.result or 0))
    if refused and state.stats is not None:
        state.stats.refused_sop_classes(refused)


def handle_echo(event: Any, state: ScpState) -> int:
    """EVT_C_ECHO: always 0x0000 (Success) on an admitted association."""
    return statuses.ECHO_SUCCESS


def handle_store(event: Any, state: ScpState) -> Dataset | int:
    """EVT_C_STORE: store durably, index, link; answer only then.

    Returns
      * 0x0000 Success: file fsynced in place and row committed, or the SOP Instance UID is already stored
        (``dicom.overwrite``: no second copy, no second task);
      * 0xA700 Refused, out of resources: the disk filled up, or free space is below ``storage.min_free``;
      * 0xA710 Refused, out of resources: the index database is unavailable (the file was removed);
      * 0xA7FF Refused: another local I/O failure;
      * 0xA900 Error, data set does not match SOP class: its SOP class is not the presentation context's
        abstract syntax, UIDs differ from the command, Type 1 UID missing;
      * 0xC000 Error, cannot understand: the data set cannot be parsed, or is not encoded in the context's
        transfer syntax (e.g. implicit VR bytes on an explicit VR context), or did not arrive whole (an
        element shorter than its length, a missing delimiter), or the request came without a data set;
      * 0xC010 Error, cannot understand: a UID is not a valid UID (read as sent: only the trailing NUL pad
        is allowed, a space is not trimmed);
      * 0x0122 Refused, SOP class not supported;
      * 0x0124 Refused, not authorized: a self-check association (our own AE title), which may only C-ECHO, and
        the archive's association, admitted only for Storage Commitment results (it said 0x0122, but the SOP
        class is supported: the association is what may not store).
    Every failure carries an Error Comment (0000,0902). Each answer is counted by the context's SOP class, its
    status and the time taken here (:mod:`dicom.stats`, GET /metrics).
    """
    started = time.perf_counter()
    answer = _store(event, state)
    if state.stats is not None:
        status = answer if isinstance(answer, int) else int(answer.Status)
        sop_class = str(getattr(event.context, "abstract_syntax", "") or "") or "other"
        state.stats.store(sop_class, status, time.perf_counter() - started)
    return answer


def _store(event: Any, state: ScpState) -> Dataset | int:
    request = event.request
    if str(event.assoc.requestor.ae_title or "").strip() == state.ctx.config.dicom.ae_title.strip():
        return _answer(statuses.NOT_AUTHORIZED, "own AE title: self-check associations only C-ECHO")
    if archive_only(event.assoc):
        return _answer(statuses.NOT_AUTHORIZED, "the archive is admitted for commitment results only")
    temp = pynetdicom_adapter.received_file(request)
    if temp is None and pynetdicom_adapter.chunked_receive_on():
        # Command Data Set Type 0101H: PS3.7 9.3.1.1 requires a data set with every C-STORE-RQ
        return _answer(statuses.CANNOT_UNDERSTAND, "C-STORE-RQ without a data set")
    if not isinstance(temp, TempObject):
        return _answer(statuses.STORE_FAILED, "receiver not installed")
    received = Received(
        temp=temp, source="DICOM", sender_ae=str(event.assoc.requestor.ae_title or "").strip(),
        sender_address=str(event.assoc.requestor.address),
        affected_sop_class=str(request.AffectedSOPClassUID or "") or None,
        affected_sop_instance=str(request.AffectedSOPInstanceUID or "") or None,
        context_sop_class=str(getattr(event.context, "abstract_syntax", "") or "") or None,
    )
    outcome = ingest(state.ctx, state.area, received)
    return _answer(outcome.status, outcome.comment, outcome.offending)


def _answer(status: int, comment: str, offending: str | None = None) -> Dataset | int:
    """The C-STORE response's status fields: Error Comment (0000,0902) always, Offending Element (0000,0901)
    for a refusal about one attribute (PS3.4 Table B.2-1 lists it for A9xx and Cxxx)."""
    if status == statuses.SUCCESS:
        return status
    ds = Dataset()
    ds.Status = status
    tag = tag_for_keyword(offending) if offending else None
    if tag is not None and (status & 0xF000 in (0xA000, 0xC000) and status & 0xFF00 != 0xA700):
        ds.OffendingElement = [tag]
    ds.ErrorComment = statuses.comment(comment)
    return ds
