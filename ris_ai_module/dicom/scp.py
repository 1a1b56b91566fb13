"""The Storage + Verification SCP hosted by ``run``: AE set-up, presentation contexts, handler bindings.

Objects are received in pynetdicom's chunked mode (``STORE_RECV_CHUNKED_DATASET``): each C-STORE data set is
streamed PDU by PDU into a :class:`~ris_ai_module.dicom.storage.TempObject` under ``storage.root/.tmp`` (hashed
on the way), never held whole in memory and never decoded on the association thread; the handler then reads
only the header (``stop_before_pixels``) and renames the file into place.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
from datetime import datetime
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from ris_ai_module.dicom import handlers, pynetdicom_adapter, stgcmt, stgcmt_scp
from ris_ai_module.dicom.admission import AdmissionGate, Throttle, Ticket
from ris_ai_module.dicom.handlers import ScpState
from ris_ai_module.dicom.section import DicomConfig
from ris_ai_module.dicom.socket_reader import ReadLimits
from ris_ai_module.dicom.stats import ADDRESS_NOT_ALLOWED, HANDSHAKE_LIMIT, ScpStats
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.dicom.whitelist import Whitelist
from ris_ai_module.errors import PortInUse
from ris_ai_module.services import Running

log = logging.getLogger(__name__)

_install_lock = threading.Lock()


def event_handlers(state: ScpState) -> list[tuple[Any, Any, list[Any]]]:
    """The EVT_HANDLERS list: one handler per event, its dependency bound as an argument."""
    return [
        (evt.EVT_CONN_OPEN, handlers.handle_conn_open, [state]),
        (evt.EVT_CONN_CLOSE, handlers.handle_conn_close, [state]),
        (evt.EVT_REQUESTED, handlers.handle_requested, [state]),
        (evt.EVT_ACCEPTED, handlers.handle_accepted, [state]),
        (evt.EVT_C_ECHO, handlers.handle_echo, [state]),
        (evt.EVT_C_STORE, handlers.handle_store, [state]),
        (evt.EVT_N_ACTION, stgcmt_scp.handle_n_action, [state]),
        (evt.EVT_N_EVENT_REPORT, stgcmt_scp.handle_n_event_report, [state]),
    ]


def install_receiver(area: StorageArea) -> None:
    """Route pynetdicom's chunked C-STORE temp files into ``area`` (process-wide: one SCP per process).

    pynetdicom creates them with ``tempfile.NamedTemporaryFile`` in ``dimse_messages``; replacing that name
    puts them on the storage file system (rename, no copy) and hashes them while they are written.
    """
    with _install_lock:
        pynetdicom_adapter.enable_chunked_receive(area.new_temp)


#: pynetdicom's own association limit counts every connection thread, silent ones included; ours
#: (:class:`AdmissionGate`) counts only admitted associations, so pynetdicom's is set out of the way.
PYNETDICOM_ASSOCIATION_LIMIT = 100_000


def make_ae(cfg: DicomConfig, commitment: bool = False) -> AE:
    ae = AE(ae_title=cfg.ae_title)
    ae.maximum_associations = PYNETDICOM_ASSOCIATION_LIMIT
    ae.acse_timeout = float(cfg.acse_timeout)
    ae.dimse_timeout = float(cfg.dimse_timeout)
    ae.network_timeout = float(cfg.network_timeout)
    ae.maximum_pdu_size = int(cfg.max_pdu)
    ae.require_called_aet = False  # checked in handle_requested, so that the rejection is recorded
    ae.add_supported_context(Verification)
    for sop_class in cfg.sop_classes:
        ae.add_supported_context(sop_class, list(cfg.transfer_syntaxes))
    if commitment:
        # Storage Commitment Push Model: a peer's N-ACTION (we are SCP, the default roles), and the archive's
        # N-EVENT-REPORT on an association it starts proposing its SCP role (accepted: scp_role=True).
        ae.add_supported_context(stgcmt.SOP_CLASS, list(stgcmt_scp.TRANSFER_SYNTAXES), scu_role=True, scp_role=True)
    return ae


def make_ssl_context(cfg: DicomConfig) -> ssl.SSLContext | None:
    if not cfg.tls.enabled:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3 if cfg.tls.min_version == "TLSv1.3" else ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cfg.tls.certificate, cfg.tls.private_key)
    if cfg.tls.ca_file:
        context.load_verify_locations(cfg.tls.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED if cfg.tls.require_client_cert else ssl.CERT_OPTIONAL
    if not cfg.tls.ca_file:
        context.verify_mode = ssl.CERT_NONE
    return context


class DeferredHandshakeServer(ThreadedAssociationServer):
    """The accept loop only accepts, and refuses before reading anything:

    * an address that no peer's whitelist admits (and that is not this host, for the self-check C-ECHO);
    * a connection beyond ``dicom.max_handshakes`` / ``dicom.max_handshakes_per_source``.

    pynetdicom runs the TLS handshake in the accept loop, so one silent client would stall every new
    connection; here each connection's own thread does it, bounded by ``handshake_timeout``, and a failed
    handshake closes just that connection.
    """

    #: The listen backlog (socketserver's default is 5): during a port scan or a burst of connections from
    #: other hosts the legitimate peer's SYN would otherwise wait for a kernel retransmit (1 s and more).
    request_queue_size = 128
    handshake_timeout: float = 30.0
    admits_address: Any = staticmethod(lambda address: True)
    gate: AdmissionGate | None = None
    #: Counts each refusal for GET /metrics (in memory; the stats thread writes them).
    stats: ScpStats | None = None
    _local = threading.local()
    _throttle = Throttle()

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        return self.socket.accept()  # type: ignore[union-attr]

    def verify_request(self, request: Any, client_address: Any) -> bool:
        address = str(client_address[0])
        if not self.admits_address(address):
            self._refused(address, "no peer's whitelist admits this address", ADDRESS_NOT_ALLOWED)
            return False
        if self.gate is not None:
            ticket, why = self.gate.enter(address)
            if ticket is None:
                self._refused(address, why, HANDSHAKE_LIMIT)
                return False
            self._tickets[id(request)] = ticket
        return True

    def _refused(self, address: str, why: str, reason_code: str) -> None:
        if self.stats is not None:
            self.stats.refused_connection(reason_code)  # every one counted; the log line is throttled
        ok, suppressed = self._throttle.allow((address, why[:20]))
        if ok:
            more = f" ({suppressed} more suppressed)" if suppressed else ""
            log.warning("DICOM connection from %s refused at accept: %s%s", address, why, more,
                        extra={"action": "connection_refused"})

    @property
    def _tickets(self) -> dict[int, Ticket]:
        if not hasattr(self, "_ticket_map"):
            self._ticket_map: dict[int, Ticket] = {}
        return self._ticket_map

    def finish_request(self, request: Any, client_address: Any) -> None:
        ticket = self._tickets.pop(id(request), None)
        try:
            if self.ssl_context is not None:
                try:
                    request.settimeout(self.handshake_timeout)
                    request = self.ssl_context.wrap_socket(request, server_side=True)
                    request.settimeout(None)
                except (OSError, ssl.SSLError) as exc:
                    log.warning("TLS handshake with %s failed: %s", client_address[0], exc,
                                extra={"action": "tls_handshake_failed"})
                    request.close()
                    if ticket is not None and self.gate is not None:
                        self.gate.close(ticket)
                    return
            DeferredHandshakeServer._local.ticket = ticket  # picked up by handlers.handle_conn_open
            super().finish_request(request, client_address)
        except BaseException:
            if ticket is not None and self.gate is not None:
                self.gate.close(ticket)
            raise
        finally:
            DeferredHandshakeServer._local.ticket = None

    @classmethod
    def current_ticket(cls) -> Ticket | None:
        """The ticket of the connection being set up on this thread (during EVT_CONN_OPEN)."""
        return getattr(cls._local, "ticket", None)


def read_limits(cfg: DicomConfig) -> ReadLimits:
    return ReadLimits(request_max=int(cfg.max_request_pdu), association_max=int(cfg.max_pdu),
                      artim=float(cfg.acse_timeout), min_rate=int(cfg.min_transfer_rate))


class StorageScp:
    """A component for ``run``: name, start(), stop(timeout)."""

    name = "dicom-scp"

    def __init__(self, ctx: Running) -> None:
        cfg = ctx.config.dicom
        self.ctx = ctx
        self.area = StorageArea.from_config(ctx.config.storage)
        archive = stgcmt_scp.archive_peer(ctx.config)
        whitelist = Whitelist(cfg.peers + ((archive,) if archive else ()), own_addresses(cfg.host))
        self.gate = AdmissionGate(cfg.max_handshakes, cfg.max_handshakes_per_source, cfg.max_associations)
        self.state = ScpState(ctx=ctx, area=self.area, whitelist=whitelist, gate=self.gate,
                              limits=read_limits(cfg), current_ticket=DeferredHandshakeServer.current_ticket,
                              stats=ScpStats(ctx.engine))
        self.ae = make_ae(cfg, commitment=cfg.commitment.enabled or archive is not None)
        self._server: Any = None

    @property
    def port(self) -> int:
        """The bound port (useful when the configuration asked for port 0)."""
        return int(self._server.server_address[1]) if self._server else self.ctx.config.dicom.port

    def start(self) -> None:
        cfg = self.ctx.config.dicom
        pynetdicom_adapter.check()
        self.area.prepare(clean_older_than=0.0)
        install_receiver(self.area)
        try:
            server = self.ae.make_server(
                (cfg.host, cfg.port), evt_handlers=event_handlers(self.state), ssl_context=make_ssl_context(cfg),
                server_class=DeferredHandshakeServer,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse("DICOM SCP (dicom.port)", cfg.host, cfg.port) from exc
            raise
        server.handshake_timeout = float(cfg.acse_timeout)
        server.admits_address = self.state.whitelist.admits_address
        server.gate = self.gate
        server.stats = self.state.stats
        thread = threading.Thread(target=server.serve_forever, daemon=True,
                                  name=f"AcceptorServer@{datetime.now():%Y%m%d%H%M%S}")
        thread.start()
        pynetdicom_adapter.register_server(self.ae, server)
        self._server = server
        if self.state.stats is not None:
            self.state.stats.start()
        log.info("DICOM SCP %s listening on %s:%d%s", cfg.ae_title, cfg.host, self.port,
                 " (TLS)" if cfg.tls.enabled else "", extra={"action": "scp_listening"})

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting; associations in progress are aborted by pynetdicom's shutdown."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.ae.shutdown()
        if self.state.stats is not None:
            self.state.stats.stop()  # the last counts written before the process ends


def own_addresses(host: str) -> tuple[str, ...]:
    """Where this module's own self-check C-ECHO comes from: loopback, or the bind address when specific."""
    own = ["127.0.0.1", "::1"]
    if host not in ("", "0.0.0.0", "::"):
        own.append(host)
    return tuple(own)


def make_component(ctx: Running) -> StorageScp | None:
    """The SCP for ``run``, or None when ``dicom.enabled`` is false."""
    if not ctx.config.dicom.enabled:
        return None
    return StorageScp(ctx)
