"""The Storage + Verification SCP hosted by ``run``: AE set-up, presentation contexts, handler bindings.

Objects are received in pynetdicom's chunked mode (``STORE_RECV_CHUNKED_DATASET``): each C-STORE data set is
streamed PDU by PDU into a :class:`~ris_ai_module.dicom.storage.TempObject` under ``storage.root/.tmp`` (hashed
on the way), never held whole in memory and never decoded on the association thread; the handler then reads
only the header (``stop_before_pixels``) and renames the file into place.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from datetime import datetime
from typing import Any

from pynetdicom import AE, _config, dimse_messages, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from ris_ai_module.config.schema import DicomConfig
from ris_ai_module.context import AppContext
from ris_ai_module.dicom import handlers
from ris_ai_module.dicom.handlers import ScpState
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.dicom.whitelist import Whitelist

log = logging.getLogger(__name__)

_install_lock = threading.Lock()


def event_handlers(state: ScpState) -> list[tuple[Any, Any, list[Any]]]:
    """The EVT_HANDLERS list: one handler per event, its dependency bound as an argument."""
    return [
        (evt.EVT_CONN_OPEN, handlers.handle_conn_open, [state]),
        (evt.EVT_CONN_CLOSE, handlers.handle_conn_close, [state]),
        (evt.EVT_REQUESTED, handlers.handle_requested, [state]),
        (evt.EVT_C_ECHO, handlers.handle_echo, [state]),
        (evt.EVT_C_STORE, handlers.handle_store, [state]),
    ]


def install_receiver(area: StorageArea) -> None:
    """Route pynetdicom's chunked C-STORE temp files into ``area`` (process-wide: one SCP per process).

    pynetdicom creates them with ``tempfile.NamedTemporaryFile`` in ``dimse_messages``; replacing that name
    puts them on the storage file system (rename, no copy) and hashes them while they are written.
    """
    with _install_lock:
        _config.STORE_RECV_CHUNKED_DATASET = True
        dimse_messages.NamedTemporaryFile = area.new_temp  # type: ignore[attr-defined,assignment]


def make_ae(cfg: DicomConfig) -> AE:
    ae = AE(ae_title=cfg.ae_title)
    ae.maximum_associations = cfg.max_associations
    ae.acse_timeout = float(cfg.acse_timeout)
    ae.dimse_timeout = float(cfg.dimse_timeout)
    ae.network_timeout = float(cfg.network_timeout)
    ae.maximum_pdu_size = int(cfg.max_pdu)
    ae.require_called_aet = False  # checked in handle_requested, so that the rejection is recorded
    ae.add_supported_context(Verification)
    for sop_class in cfg.sop_classes:
        ae.add_supported_context(sop_class, list(cfg.transfer_syntaxes))
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
    """pynetdicom runs the TLS handshake in the accept loop, so one silent client stalls every new connection.
    Here the accept loop only accepts; each connection's own thread does the handshake, bounded by
    ``handshake_timeout``, and a failed handshake closes just that connection.
    """

    handshake_timeout: float = 30.0

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        return self.socket.accept()  # type: ignore[union-attr]

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            try:
                request.settimeout(self.handshake_timeout)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError) as exc:
                log.warning("TLS handshake with %s failed: %s", client_address[0], exc,
                            extra={"action": "tls_handshake_failed"})
                request.close()
                return
        super().finish_request(request, client_address)


class StorageScp:
    """A component for ``run``: name, start(), stop(timeout)."""

    name = "dicom-scp"

    def __init__(self, ctx: AppContext) -> None:
        cfg = ctx.config.dicom
        self.ctx = ctx
        self.area = StorageArea(ctx.config.storage.root, ctx.config.storage.min_free)
        self.state = ScpState(ctx=ctx, area=self.area, whitelist=Whitelist(cfg.peers))
        self.ae = make_ae(cfg)
        self._server: Any = None

    @property
    def port(self) -> int:
        """The bound port (useful when the configuration asked for port 0)."""
        return int(self._server.server_address[1]) if self._server else self.ctx.config.dicom.port

    def start(self) -> None:
        cfg = self.ctx.config.dicom
        self.area.prepare(clean_older_than=0.0)
        install_receiver(self.area)
        server = self.ae.make_server(
            (cfg.host, cfg.port), evt_handlers=event_handlers(self.state), ssl_context=make_ssl_context(cfg),
            server_class=DeferredHandshakeServer,
        )
        server.handshake_timeout = float(cfg.acse_timeout)
        thread = threading.Thread(target=server.serve_forever, daemon=True,
                                  name=f"AcceptorServer@{datetime.now():%Y%m%d%H%M%S}")
        thread.start()
        self.ae._servers.append(server)  # so that ae.shutdown() stops it, as start_server would
        self._server = server
        log.info("DICOM SCP %s listening on %s:%d%s", cfg.ae_title, cfg.host, self.port,
                 " (TLS)" if cfg.tls.enabled else "", extra={"action": "scp_listening"})

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting; associations in progress are aborted by pynetdicom's shutdown."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.ae.shutdown()


def make_component(ctx: AppContext) -> StorageScp | None:
    """The SCP for ``run``, or None when ``dicom.enabled`` is false."""
    if not ctx.config.dicom.enabled:
        return None
    return StorageScp(ctx)
