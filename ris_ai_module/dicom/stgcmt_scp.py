"""Storage Commitment SCP (PS3.4 J.3): a peer (the AI host) asks whether we hold its objects durably.

N-ACTION (from a whitelisted peer, on the association its C-STOREs use): the transaction is written to
RAI_STGCMT with its STGCMT_REPORT task in one database transaction, and only then answered 0x0000 (so a
restart between the N-ACTION and the report loses nothing). Right after the response, on that association's
own thread, each instance is decided and the N-EVENT-REPORT sent there; when the association has closed or
the requester does not answer, the worker's STGCMT_REPORT task sends it on a new association to the peer's
``host`` / ``commitment_port`` (our SCP role proposed by role selection, PS3.4 J.3.3 note), retried by
``[dicom.commitment.retry]``.

We commit to an instance when: its RAI_OBJECT row exists (committed by ingest only after the file was
fsynced and renamed into place), the row's SOP Class is the one asked (else 0x0119), and the stored file is
there with the size recorded (else 0x0112). Not stored and of a class we do not accept: 0x0122.

N-EVENT-REPORT (the archive's answer to our own request, ``[archive.commitment]``): accepted only from the
archive's AE and addresses; matched by Transaction UID (unknown: 0x0115).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from sqlalchemy.engine import Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.dicom import index
from ris_ai_module.dicom import stgcmt as sc
from ris_ai_module.dicom.release import release
from ris_ai_module.dicom.section import DicomConfig, DicomPeerConfig
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import Attempt, Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

if TYPE_CHECKING:
    from ris_ai_module.dicom.handlers import ScpState
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

#: The whitelist's name for the archive admitted to send us its N-EVENT-REPORTs (nothing else).
ARCHIVE_PEER = "archive:commitment"
#: The association attribute holding the admitted peer's name (set in handlers.handle_requested).
PEER = "_rai_peer"

# N-ACTION / N-EVENT-REPORT statuses (PS3.7 C.4, PS3.4 J.3.2.1.1 / J.3.3.1.1)
SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
NO_SUCH_SOP_INSTANCE = 0x0112
NO_SUCH_EVENT_TYPE = 0x0113
INVALID_ARGUMENT = 0x0115
NO_SUCH_ACTION = 0x0123
NOT_AUTHORISED = 0x0124
RESOURCE_LIMITATION = 0x0213

TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


#: The association attribute holding every peer its AE title and address matched (whitelist.Admission.peers).
PEERS = "_rai_peers"


def peer_of(assoc: Any) -> str | None:
    return getattr(assoc, PEER, None)


def peers_of(assoc: Any) -> tuple[str, ...]:
    return tuple(getattr(assoc, PEERS, None) or ((peer_of(assoc),) if peer_of(assoc) else ()))


def archive_only(assoc: Any) -> bool:
    """Admitted as the archive's report entry and as nothing else: it may only send commitment results."""
    return peers_of(assoc) == (ARCHIVE_PEER,)


def is_archive_report_request(peers: tuple[str, ...], abstract_syntaxes: Sequence[str]) -> bool:
    """An A-ASSOCIATE-RQ of the archive bringing commitment results (let in below the free-space watermark): it
    matches only the archive's entry, or the archive's and an AI host's and proposes Storage Commitment and at
    most Verification, nothing that stores (PS3.4 J.3.3: the archive, as SCP of the Push Model, opens it to send
    N-EVENT-REPORT, proposing its SCP role)."""
    if peers == (ARCHIVE_PEER,):
        return True  # admitted for the results alone: it can store nothing whatever it proposes
    proposed = set(abstract_syntaxes)
    return ARCHIVE_PEER in peers and sc.SOP_CLASS in proposed and proposed <= {sc.SOP_CLASS, "1.2.840.10008.1.1"}


def archive_peer(config: Config) -> DicomPeerConfig | None:
    """The archive as a whitelist entry, when we ask it for commitment (its reports come on new associations)."""
    a = config.archive
    if not (a.enabled and a.commitment.enabled):
        return None
    return DicomPeerConfig(name=ARCHIVE_PEER, ae_title=a.report_ae, addresses=a.report_addresses())


def _status(code: int, comment: str) -> tuple[Dataset, None]:
    ds = Dataset()
    ds.Status = code
    ds.ErrorComment = comment[:64]
    return ds, None


# -- N-ACTION ----------------------------------------------------------------------------------------------


def handle_n_action(event: Any, state: ScpState) -> tuple[Any, Dataset | None]:
    """EVT_N_ACTION: a Storage Commitment Request.

    Returns
      * 0x0000: recorded durably (RAI_STGCMT and its STGCMT_REPORT task), the report follows;
      * 0x0124 Refused, not authorised: ``dicom.commitment.enabled`` is false (the context is offered for the
        archive's results), our own AE title (self-check) or the archive's report-only admission;
      * 0x0123 No such action: Action Type ID is not 1;
      * 0x0112 No such SOP instance: not the well-known instance 1.2.840.10008.1.20.1.1;
      * 0x0115 Invalid argument value: no Transaction UID, an empty or broken Referenced SOP Sequence, or a
        Transaction UID already used for another request;
      * 0x0213 Resource limitation: the database is unavailable (nothing recorded: ask again).
    """
    assoc, req = event.assoc, event.request
    cfg: DicomConfig = state.ctx.config.dicom
    peer = peer_of(assoc)
    if not cfg.commitment.enabled:  # the context is there for the archive's results only
        return _status(NOT_AUTHORISED, "storage commitment is off here (dicom.commitment.enabled)")
    if peer is None or archive_only(assoc):
        return _status(NOT_AUTHORISED, "this association may not request storage commitment")
    if int(req.ActionTypeID or 0) != sc.ACTION_REQUEST:
        return _status(NO_SUCH_ACTION, f"Action Type ID {req.ActionTypeID} (only 1: request commitment)")
    if str(req.RequestedSOPInstanceUID or "") != sc.SOP_INSTANCE:
        return _status(NO_SUCH_SOP_INSTANCE, f"Requested SOP Instance must be {sc.SOP_INSTANCE}")
    try:
        info = event.action_information
    except Exception:
        return _status(INVALID_ARGUMENT, "Action Information cannot be decoded")
    uid = str(info.get("TransactionUID", "") or "") if info is not None else ""
    refs = sc.read_refs(info)
    if not uid or len(uid) > 64:
        return _status(INVALID_ARGUMENT, "Transaction UID (0008,1195) missing")
    if not refs:
        return _status(INVALID_ARGUMENT, "Referenced SOP Sequence (0008,1150) empty or incomplete")
    from ris_ai_module.dicom import pynetdicom_adapter

    calling = str(assoc.requestor.ae_title or "").strip()
    address = str(assoc.requestor.address)
    grace = float(cfg.commitment.same_association_timeout) + 5.0
    try:
        with state.ctx.engine.begin() as conn:
            known = sc.get(conn, uid)
            if known is not None:
                if known.direction == sc.IN and known.peer_ae == calling and known.state != sc.REPORTED:
                    return SUCCESS, None  # the same request again (its response lost): the report is on its way
                return _status(INVALID_ARGUMENT, "Transaction UID already used")
            first = index.get_object(conn, refs[0][1])  # the exam whose trace shows the report task
            task_id = queue.enqueue(conn, TaskKind.STGCMT_REPORT, payload={"transaction_uid": uid},
                                    exam_key=first.exam_key if first is not None else None,
                                    run_at=utcnow() + timedelta(seconds=grace))
            hooked = pynetdicom_adapter.has_after_response(assoc)
            sc.add(conn, uid, sc.IN, sc.SENDING if hooked else sc.PENDING, calling, address, refs, task_id=task_id)
    except Exception as exc:
        log.error("storage commitment request %s from %s not recorded: %s", uid, calling, exc,
                  extra={"action": "stgcmt_not_recorded"})
        return _status(RESOURCE_LIMITATION, "database unavailable, nothing recorded")
    log.info("storage commitment request %s from %s (%d instances)", uid, calling, len(refs),
             extra={"action": "stgcmt_requested"})
    if hooked:
        pynetdicom_adapter.after_response(assoc, lambda: report_on_association(assoc, uid, state))
    return SUCCESS, None


def decide(conn: Any, area: StorageArea, cfg: DicomConfig, refs: Sequence[sc.Ref]) -> tuple[list[sc.Ref], list[sc.Failure]]:
    """Per instance: do we hold it durably? (committed, failed with a Failure Reason)."""
    committed: list[sc.Ref] = []
    failed: list[sc.Failure] = []
    for cls, sop in refs:
        obj = index.get_object(conn, sop)
        if obj is None:
            failed.append((cls, sop, sc.NO_SUCH_OBJECT if cls in cfg.sop_classes else sc.CLASS_NOT_SUPPORTED))
        elif obj.sop_class_uid != cls:
            failed.append((cls, sop, sc.CLASS_INSTANCE_CONFLICT))
        elif not _file_ok(area, obj.file_path, obj.file_size):
            failed.append((cls, sop, sc.NO_SUCH_OBJECT))
        else:
            committed.append((cls, sop))
    return committed, failed


def _file_ok(area: StorageArea, relative: str, size: int) -> bool:
    try:
        return area.path_of(relative).stat().st_size == int(size)
    except OSError:
        return False


def _event(committed: Sequence[sc.Ref], failed: Sequence[sc.Failure]) -> int:
    return sc.EVENT_FAILURES if failed else sc.EVENT_ALL_SUCCESS


def report_on_association(assoc: Any, uid: str, state: ScpState) -> None:
    """Right after the N-ACTION response, on the association's own thread: the N-EVENT-REPORT there. Nothing
    is committed to the database between the response and the report (the row was written SENDING with the
    request), so a requester that releases at once has seldom done so before the report left; if it has, or
    does while we wait for its answer, the wait ends and the report goes on a new association."""
    from ris_ai_module.dicom import pynetdicom_adapter

    cfg: DicomConfig = state.ctx.config.dicom
    engine = state.ctx.engine
    code: int | None = None
    released = False
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            t = sc.get(conn, uid)
            if t is None or t.state != sc.SENDING:
                return
            committed, failed = decide(conn, state.area, cfg, t.instances)
        event_type = _event(committed, failed)
        if assoc.is_established and not pynetdicom_adapter.release_requested(assoc):
            status, released = pynetdicom_adapter.send_event_report(
                assoc, sc.event_information(uid, committed, failed), event_type, sc.SOP_CLASS, sc.SOP_INSTANCE,
                float(cfg.commitment.same_association_timeout))
            code = int(status.Status) if status is not None and "Status" in status else None
        else:
            released = True
    except Exception as exc:
        log.warning("storage commitment report %s on the association failed: %s", uid, exc)
    ms = int((time.monotonic() - started) * 1000)
    with engine.begin() as conn:
        if code is not None and (code == 0x0000 or (code & 0xF000) == 0xB000):
            sc.move(conn, uid, [sc.SENDING], sc.REPORTED, event_type=event_type, failures=failed, channel=sc.SAME,
                    answered_at=utcnow(), detail=f"event {event_type} on the N-ACTION's association: "
                                                 f"0x{code:04X} in {ms} ms; {len(committed)} committed, {len(failed)} failed")
            log.info("storage commitment %s reported on the same association (event %d)", uid, event_type,
                     extra={"action": "stgcmt_reported"})
        else:
            answer = ("the requester released its association" if released
                      else "no response" if code is None else f"0x{code:04X}")
            sc.move(conn, uid, [sc.SENDING], sc.PENDING,
                    detail=f"on the N-ACTION's association: {answer}; a new association follows")
        t2 = sc.get(conn, uid)
        if t2 is not None and t2.task_id is not None:
            queue.run_now(conn, t2.task_id)
    state.ctx.wake.set()


# -- N-EVENT-REPORT from the archive -----------------------------------------------------------------------


def handle_n_event_report(event: Any, state: ScpState) -> tuple[Any, Dataset | None]:
    """EVT_N_EVENT_REPORT: the archive's Storage Commitment Result for one of our requests (OUT).

    Returns 0x0000 once recorded; 0x0110 Processing failure: not the archive's association, or the database
    is unavailable (the archive sends it again); 0x0113: Event Type ID not 1 or 2; 0x0112: not the well-known
    instance; 0x0115: no or an unknown Transaction UID.
    """
    assoc, req = event.assoc, event.request
    if ARCHIVE_PEER not in peers_of(assoc):  # the archive, even where its AE and address are an AI host's too
        return _status(PROCESSING_FAILURE, "storage commitment results are accepted from the archive only")
    event_type = int(req.EventTypeID or 0)
    if event_type not in (sc.EVENT_ALL_SUCCESS, sc.EVENT_FAILURES):
        return _status(NO_SUCH_EVENT_TYPE, f"Event Type ID {event_type} (1 or 2)")
    if str(req.AffectedSOPInstanceUID or "") != sc.SOP_INSTANCE:
        return _status(NO_SUCH_SOP_INSTANCE, f"Affected SOP Instance must be {sc.SOP_INSTANCE}")
    try:
        info = event.event_information
    except Exception:
        return _status(INVALID_ARGUMENT, "Event Information cannot be decoded")
    uid = str(info.get("TransactionUID", "") or "") if info is not None else ""
    if not uid:
        return _status(INVALID_ARGUMENT, "Transaction UID (0008,1195) missing")
    try:
        with state.ctx.engine.begin() as conn:
            t, what = sc.record_report(conn, uid, event_type, info, sc.NEW)
    except Exception as exc:
        log.error("storage commitment result %s not recorded: %s", uid, exc)
        return _status(PROCESSING_FAILURE, "database unavailable")
    if t is None:
        return _status(INVALID_ARGUMENT, "unknown Transaction UID")
    log.info("storage commitment result %s from the archive: %s", uid, what, extra={"action": "stgcmt_result"})
    state.ctx.wake.set()
    return SUCCESS, None


# -- STGCMT_REPORT: the report on a new association --------------------------------------------------------


class StgcmtReportHandler:
    """STGCMT_REPORT: deliver the N-EVENT-REPORT of one IN transaction (``payload.transaction_uid``)."""

    kind = TaskKind.STGCMT_REPORT

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.dicom = config.dicom
        self.area = StorageArea(config.storage.root)
        self.retry_policy = RetryPolicy.from_config(config.dicom.commitment.retry)

    def handle(self, task: Task) -> Outcome:
        uid = str(task.payload.get("transaction_uid") or "")
        with self.engine.connect() as conn:
            t = sc.get(conn, uid) if uid else None
        if t is None:
            return Outcome.failed(f"storage commitment transaction {uid or '(none)'} is not in RAI_STGCMT")
        peer, target = self._peer(t)
        if t.state == sc.REPORTED:
            return Outcome.done(Attempt(target=target, status_text=f"event {t.event_type} ({t.channel} association)",
                                        response=self._detail(uid)))
        stale = t.updated_at is not None and (utcnow() - t.updated_at).total_seconds() > \
            float(self.dicom.commitment.same_association_timeout) + float(self.dicom.commitment.timeout)
        if t.state == sc.SENDING and not stale:
            return Outcome.retry("the report is being sent on the N-ACTION's association", Attempt(target=target),
                                 after=float(self.dicom.commitment.same_association_timeout) + 1)
        if peer is None or not peer.host:
            return Outcome.retry(
                f"no address for {t.peer_ae}: set host (and commitment_port) of its [[dicom.peers]] entry",
                Attempt(target=target, status_text="no address"))
        with self.engine.begin() as conn:
            if not sc.move(conn, uid, [sc.PENDING, sc.SENDING], sc.SENDING, detail="sending on a new association"):
                return Outcome.retry("transaction changed meanwhile", Attempt(target=target), after=1)
            committed, failed = decide(conn, self.area, self.dicom, t.instances)
        event_type = _event(committed, failed)
        ok, status_text, detail, ms = send_report(peer, self.dicom, uid, event_type, committed, failed)
        with self.engine.begin() as conn:
            if ok:
                sc.move(conn, uid, [sc.SENDING], sc.REPORTED, event_type=event_type, failures=failed, channel=sc.NEW,
                        answered_at=utcnow(), detail=f"event {event_type} on a new association: {status_text}; "
                                                     f"{len(committed)} committed, {len(failed)} failed")
            else:
                sc.move(conn, uid, [sc.SENDING], sc.PENDING, detail=f"new association: {status_text} {detail}")
        attempt = Attempt(target=target, status_text=status_text, latency_ms=ms, response=detail)
        if ok:
            log.info("storage commitment %s reported to %s (event %d)", uid, target, event_type,
                     extra={"action": "stgcmt_reported", "task_id": task.task_id})
            return Outcome.done(attempt)
        return Outcome.retry(f"{target}: {status_text} {detail}", attempt)

    def _peer(self, t: sc.Transaction) -> tuple[DicomPeerConfig | None, str]:
        from ris_ai_module.dicom.whitelist import Whitelist

        for p in self.dicom.peers:
            if p.ae_title.strip() == (t.peer_ae or "") and Whitelist([p]).admit(p.ae_title, t.peer_address or "").accepted:
                return p, f"{p.ae_title}@{p.host}:{p.commitment_port or p.port}"
        return None, f"{t.peer_ae}@{t.peer_address}"

    def _detail(self, uid: str) -> str | None:
        from sqlalchemy import select

        from ris_ai_module.db.tables import stgcmt

        with self.engine.connect() as conn:
            return conn.execute(select(stgcmt.c.detail).where(stgcmt.c.transaction_uid == uid)).scalar()


def send_report(peer: DicomPeerConfig, cfg: DicomConfig, uid: str, event_type: int, committed: Sequence[sc.Ref],
                failed: Sequence[sc.Failure]) -> tuple[bool, str, str, int]:
    """Associate with the peer proposing our SCP role for Storage Commitment, send the N-EVENT-REPORT,
    release. (delivered?, status in words, detail, ms); never raises for a network problem."""
    started = time.monotonic()
    ae = commitment_ae(cfg.ae_title, float(cfg.commitment.timeout))

    def out(ok: bool, text: str, detail: str) -> tuple[bool, str, str, int]:
        return ok, text, detail, int((time.monotonic() - started) * 1000)

    assoc, words, detail = associate(ae, peer.host, peer.commitment_port or peer.port, peer.ae_title,
                                     ext_neg=[build_role(sc.SOP_CLASS, scp_role=True)])
    if assoc is None:
        return out(False, words, detail)
    try:
        cx = [c for c in assoc.accepted_contexts if c.abstract_syntax == sc.SOP_CLASS]
        if not cx or not cx[0].as_scp:
            return out(False, "SCP role refused", "the peer did not accept our SCP role for Storage Commitment")
        status, _reply = assoc.send_n_event_report(sc.event_information(uid, committed, failed), event_type,
                                                   sc.SOP_CLASS, sc.SOP_INSTANCE)
        if status is None or "Status" not in status:
            return out(False, "no response", "no N-EVENT-REPORT response")
        code = int(status.Status)
        return out(code == 0x0000 or (code & 0xF000) == 0xB000, f"0x{code:04X}",
                   str(status.get("ErrorComment", "") or ""))
    finally:
        release(assoc)
        ae.shutdown()


def commitment_ae(calling: str, timeout: float) -> AE:
    """An AE that proposes Storage Commitment, every timeout ``timeout`` seconds (one request or report)."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(sc.SOP_CLASS, list(TRANSFER_SYNTAXES))
    for name in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, name, timeout)
    return ae


def associate(ae: AE, host: str, port: int, called: str, evt_handlers: Sequence[Any] = (),
              **kwargs: Any) -> tuple[Any, str, str]:
    """(the established association, "", "") or (None, the trace's words, detail), the AE then shut down:
    "cannot associate" (bad address), "rejected", "unreachable" (no TCP connection) or "no association"."""
    connected: list[bool] = []
    try:
        assoc = ae.associate(host, port, ae_title=called, **kwargs,
                             evt_handlers=[*evt_handlers, (evt.EVT_CONN_OPEN, lambda _e: connected.append(True))])
    except (ValueError, OSError) as exc:
        ae.shutdown()
        return None, "cannot associate", str(exc)
    if not assoc.is_established:
        ae.shutdown()
        words = "rejected" if assoc.is_rejected else ("unreachable" if not connected else "no association")
        return None, words, f"{host}:{port}"
    return assoc, "", ""


def new_transaction_uid() -> str:
    """A UID for one of our own requests (2.25.<uuid>, PS3.5 B.2)."""
    return f"2.25.{uuid.uuid4().int}"
