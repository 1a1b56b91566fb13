"""Every pynetdicom internal the module touches, in one place, each checked at start-up.

pynetdicom's public API has no hook for streaming a C-STORE into our own file, for reading PDUs ourselves
(size caps, deadlines), or for running a server we built. The module needs those, so it reaches into a few
private names; they live only here. :func:`check` runs when the SCP starts: an installed pynetdicom that
lacks one of them stops start-up with a message naming the hook, instead of failing later on a peer's
association. ``setup.cfg`` pins pynetdicom to the range these hooks were tested with (``TESTED``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from pynetdicom import AE, _config, dimse_messages, dimse_primitives, fsm, pdu_primitives
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket, ThreadedAssociationServer

from ris_ai_module.errors import RaiError

#: The pynetdicom versions these hooks were tested with (keep in step with setup.cfg).
TESTED = "pynetdicom >=3.0.4,<3.1"


class PynetdicomMismatch(RaiError):
    """The installed pynetdicom lacks an internal the SCP relies on."""


def _uses(function: Any, *names: str) -> bool:
    """True when ``function``'s code refers to every one of ``names`` (attribute or global names)."""
    code = getattr(function, "__code__", None)
    return code is not None and all(n in code.co_names for n in names)


#: hook name -> (what it is for, a check that is True when the installed pynetdicom still has it).
HOOKS: dict[str, tuple[str, Callable[[], bool]]] = {
    "_config.STORE_RECV_CHUNKED_DATASET": (
        "stream each C-STORE data set to a file instead of memory",
        lambda: isinstance(getattr(_config, "STORE_RECV_CHUNKED_DATASET", None), bool),
    ),
    "dimse_messages.NamedTemporaryFile": (
        "create the chunked C-STORE file in the storage area (rename, no copy)",
        lambda: callable(getattr(dimse_messages, "NamedTemporaryFile", None))
        and _uses(dimse_messages.DIMSEMessage.decode_msg, "NamedTemporaryFile"),
    ),
    "C_STORE._dataset_file": (
        "the C-STORE handler finds the received file on the request",
        lambda: hasattr(dimse_primitives.C_STORE, "_dataset_file")
        and _uses(dimse_messages.DIMSEMessage.message_to_primitive, "_dataset_file"),
    ),
    "ae._servers": (
        "a server built with our own class is stopped by ae.shutdown()",
        lambda: isinstance(getattr(AE(), "_servers", None), list),
    ),
    "dul._run_loop_delay": (
        "poll the socket more often than every 1 ms",
        lambda: _uses(DULServiceProvider.__init__, "_run_loop_delay")
        and _uses(DULServiceProvider.run_reactor, "_run_loop_delay"),
    ),
    "AssociationSocket.recv (per connection)": (
        "read PDUs ourselves: size caps before negotiation, the negotiated maximum, deadlines",
        lambda: _uses(DULServiceProvider._read_pdu_data, "recv")
        and callable(getattr(AssociationSocket, "recv", None))
        and not hasattr(AssociationSocket, "__slots__"),
    ),
    "dul.to_user_queue": (
        "end the acceptor's wait for an A-ASSOCIATE-RQ when the connection closed first",
        lambda: _uses(DULServiceProvider.__init__, "to_user_queue")
        and _uses(Association.run_reactor, "receive_pdu"),
    ),
    "Association._serve_request/_is_paused": (
        "send the Storage Commitment N-EVENT-REPORT on the N-ACTION's association right after its response, "
        "on the association's own thread",
        lambda: _uses(Association._run_reactor, "_serve_request")
        and _uses(Association.send_n_event_report, "_is_paused", "_reactor_checkpoint", "_get_valid_context")
        and callable(getattr(DULServiceProvider, "peek_next_pdu", None))
        and hasattr(dimse_primitives.N_EVENT_REPORT(), "EventInformation"),
    ),
    "Association._accepted_cx/dimse.send_msg": (
        "answer a request its presentation context does not carry with a response of its own type",
        lambda: _uses(Association._serve_request, "_accepted_cx")
        and callable(getattr(DIMSEServiceProvider, "send_msg", None)),
    ),
    "dimse.receive_primitive (per association)": (
        "check each P-DATA's presentation context IDs and command before pynetdicom decodes it",
        lambda: _uses(fsm.DT_2, "receive_primitive")
        and callable(getattr(DIMSEServiceProvider, "receive_primitive", None))
        and hasattr(pdu_primitives.P_DATA(), "presentation_data_value_list"),
    ),
    "ThreadedAssociationServer.get_request/finish_request/verify_request": (
        "refuse addresses at accept time, TLS handshakes off the accept loop",
        lambda: all(callable(getattr(ThreadedAssociationServer, n, None))
                    for n in ("get_request", "finish_request", "verify_request", "process_request")),
    ),
}


def missing_hooks() -> list[str]:
    """The hooks the installed pynetdicom lacks (empty when all are there)."""
    missing = []
    for name, (_why, present) in HOOKS.items():
        try:
            ok = bool(present())
        except Exception:
            ok = False
        if not ok:
            missing.append(name)
    return missing


def check() -> None:
    """Raise :class:`PynetdicomMismatch` naming every missing hook and what it is for."""
    missing = missing_hooks()
    if missing:
        import pynetdicom

        detail = "; ".join(f"{name} ({HOOKS[name][0]})" for name in missing)
        raise PynetdicomMismatch(
            f"the installed pynetdicom {pynetdicom.__version__} lacks what the DICOM SCP relies on: {detail}. "
            f"Install a tested version ({TESTED}).")


# -- the hooks -------------------------------------------------------------------------------------------


def enable_chunked_receive(new_temp: Callable[..., Any]) -> None:
    """Stream C-STORE data sets into files made by ``new_temp`` (process-wide: one SCP per process)."""
    _config.STORE_RECV_CHUNKED_DATASET = True
    dimse_messages.NamedTemporaryFile = new_temp  # type: ignore[attr-defined,assignment]


def chunked_receive_on() -> bool:
    return bool(getattr(_config, "STORE_RECV_CHUNKED_DATASET", False))


def received_file(request: Any) -> Any:
    """The file the chunked receive wrote for this C-STORE request (None when not in chunked mode)."""
    return getattr(request, "_dataset_file", None)


def register_server(ae: AE, server: Any) -> None:
    """So that ``ae.shutdown()`` stops ``server``, as it would one made by ``ae.start_server``."""
    ae._servers.append(server)


def set_poll_delay(assoc: Any, seconds: float) -> None:
    """How long this association's DUL thread sleeps between socket polls when idle."""
    assoc.dul._run_loop_delay = seconds


def association_socket(assoc: Any) -> Any:
    """The association's :class:`AssociationSocket` (None before it has one)."""
    return getattr(assoc.dul, "socket", None)


def raw_socket(assoc: Any) -> socket.socket | None:
    sock = association_socket(assoc)
    return getattr(sock, "socket", None) if sock is not None else None


def install_recv(assoc: Any, reader: Callable[[int], bytearray]) -> None:
    """Replace this association's PDU reads (an instance attribute: pynetdicom's class is untouched).
    The DUL calls ``recv(6)`` for a PDU header, then ``recv(length)`` for the rest."""
    sock = association_socket(assoc)
    if sock is not None:
        sock.recv = reader


def install_pdata_check(assoc: Any, check: Callable[[list[tuple[int, bytes]]], bool]) -> None:
    """Run ``check(presentation data value list)`` on each P-DATA before pynetdicom decodes it (an instance
    attribute of this association's DIMSE provider, on the DUL thread); a P-DATA it returns False for is
    dropped (``check`` has aborted the association)."""
    dimse = assoc.dimse
    original = dimse.receive_primitive

    def receive(primitive: Any) -> None:
        if check(list(primitive.presentation_data_value_list)):
            original(primitive)

    dimse.receive_primitive = receive


def end_acceptor_wait(assoc: Any) -> None:
    """The acceptor waits ``acse_timeout`` for an A-ASSOCIATE-RQ even when the connection already closed;
    an empty item ends that wait at once (pynetdicom treats it as "timed out": kill and close)."""
    assoc.dul.to_user_queue.put(None)


#: Per association: jobs to run on its own thread after the response to the request being served.
_AFTER = "_rai_after_response"


def install_after_response(assoc: Any, guard: Callable[[Any, int], bool] | None = None) -> None:
    """Wrap this association's ``_serve_request`` (an instance attribute) so that jobs queued by
    :func:`after_response` run right after the response left, on the reactor thread: nothing else reads the
    association's messages meanwhile (a ``send_*`` from another thread could take a request's place), and the
    job's ``send_*`` calls see the reactor paused (as pynetdicom does for the handlers of C-GET).
    ``guard(request, context_id)`` runs first; when it returns True it has answered the request itself."""
    if _AFTER in assoc.__dict__:
        return
    jobs: list[Callable[[], None]] = []
    setattr(assoc, _AFTER, jobs)
    original = assoc._serve_request

    def serve(msg: Any, context_id: int) -> None:
        if guard is not None and guard(msg, context_id):
            return
        original(msg, context_id)
        while jobs:
            job = jobs.pop(0)
            assoc._is_paused = True
            try:
                job()
            except Exception:  # a job's failure must never end the association's thread
                import logging

                logging.getLogger(__name__).exception("job after a DIMSE response failed")
            finally:
                assoc._is_paused = False

    assoc._serve_request = serve


def has_after_response(assoc: Any) -> bool:
    return _AFTER in assoc.__dict__


def after_response(assoc: Any, job: Callable[[], None]) -> bool:
    """Queue ``job`` for after the current request's response; False when the association has no hook."""
    jobs = assoc.__dict__.get(_AFTER)
    if jobs is None:
        return False
    jobs.append(job)
    return True


def release_requested(assoc: Any) -> bool:
    """Has the peer sent A-RELEASE-RQ? Only looks (``acse.is_release_requested`` takes the request off the
    queue, and the association would then never answer it)."""
    from pynetdicom.pdu_primitives import A_RELEASE

    primitive = assoc.dul.peek_next_pdu()
    return isinstance(primitive, A_RELEASE) and primitive.result is None


def send_event_report(assoc: Any, dataset: Any, event_type: int, class_uid: str, instance_uid: str,
                      timeout: float) -> tuple[Any, bool]:
    """N-EVENT-REPORT on an association whose reactor is paused on this thread (an :func:`after_response`
    job), waiting at most ``timeout`` for the response but no longer once the peer asks to release (an SCU
    may release right after the N-ACTION response; pynetdicom's ``send_n_event_report`` would wait and then
    abort the association). Returns (the response's status data set or None, released?)."""
    import time as _time
    from io import BytesIO

    from pydicom.uid import UID
    from pynetdicom.dsutils import encode

    context = assoc._get_valid_context(class_uid, "", None)
    ts = context.transfer_syntax[0]
    req = dimse_primitives.N_EVENT_REPORT()
    req.MessageID = getattr(assoc, "_rai_message_id", 0) % 65535 + 1  # our requests on this association: 1, 2, ...
    assoc._rai_message_id = req.MessageID
    req.AffectedSOPClassUID = UID(class_uid)
    req.AffectedSOPInstanceUID = UID(instance_uid)
    req.EventTypeID = event_type
    req.EventInformation = BytesIO(encode(dataset, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated))
    assoc._reactor_checkpoint.clear()
    try:
        assoc.dimse.send_msg(req, context.context_id)
        deadline = _time.monotonic() + timeout
        while _time.monotonic() < deadline and assoc.is_established:
            _cx, rsp = assoc.dimse.get_msg(block=False)
            if rsp is not None:
                if getattr(rsp, "MessageIDBeingRespondedTo", None) == req.MessageID and rsp.is_valid_response:
                    from pydicom.dataset import Dataset

                    status = Dataset()
                    status.Status = rsp.Status
                    return status, False
                return None, False  # something else than our response: leave the report to a new association
            if release_requested(assoc):
                return None, True
            _time.sleep(0.0005)
        return None, False
    finally:
        assoc._reactor_checkpoint.set()


def context_abstract_syntax(assoc: Any, context_id: int) -> str | None:
    """The abstract syntax of an accepted presentation context (None: not accepted on this association)."""
    cx = assoc._accepted_cx.get(context_id)
    return None if cx is None else str(cx.abstract_syntax)


def respond(assoc: Any, request: Any, context_id: int, status: int, comment: str) -> None:
    """Answer ``request`` with a response of its own type carrying ``status`` and an Error Comment, on the
    reactor thread (inside ``_serve_request``, where pynetdicom's service classes send theirs)."""
    rsp = type(request)()
    rsp.MessageIDBeingRespondedTo = request.MessageID
    rsp.Status = status
    for target, source in (("AffectedSOPClassUID", "AffectedSOPClassUID"),
                           ("AffectedSOPClassUID", "RequestedSOPClassUID"),
                           ("AffectedSOPInstanceUID", "AffectedSOPInstanceUID"),
                           ("AffectedSOPInstanceUID", "RequestedSOPInstanceUID")):
        value = getattr(request, source, None)
        if value and hasattr(rsp, target) and not getattr(rsp, target, None):
            try:
                setattr(rsp, target, value)
            except (ValueError, TypeError):
                pass
    if hasattr(rsp, "ErrorComment"):
        rsp.ErrorComment = comment
    assoc.dimse.send_msg(rsp, context_id)
