"""[dicom] and [storage]: the SCP hosted by `run` and where received objects are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import ByteSize, Duration, FilePath, RetryConfig
from ris_ai_module.errors import ConfigError

#: Storage SOP classes the SCP accepts by default: Secondary Capture (single and multi-frame), Ultrasound
#: Image and Multi-frame, and the SR classes an AI host writes (Basic, Enhanced, Comprehensive, Comprehensive 3D,
#: Extensible).
DEFAULT_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
    "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",
    "1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22", "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.88.72",
)

#: Transfer syntaxes accepted by default; objects are stored as received, never decoded or re-encoded.
DEFAULT_TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
)


#: Bounds of dicom.max_pdu and dicom.max_request_pdu (PS3.8 allows any 32-bit length; memory does not).
MIN_PDU = 4096
MAX_PDU = 64 * 1024 * 1024


@dataclass(frozen=True)
class DicomTlsConfig:
    """DICOM TLS on the SCP port (the whole port speaks TLS when enabled)."""

    enabled: bool = False
    certificate: FilePath = FilePath("")
    private_key: FilePath = FilePath("")
    #: Trusted CAs for client certificates.
    ca_file: FilePath = FilePath("")
    require_client_cert: bool = True
    min_version: Literal["TLSv1.2", "TLSv1.3"] = "TLSv1.2"


@dataclass(frozen=True)
class DicomPeerConfig:
    """A DICOM peer: who may send to us (ae_title + addresses), and where to C-ECHO it (host/port)."""

    name: str
    ae_title: str
    #: IP addresses or CIDR ranges the peer connects from; "0.0.0.0/0" admits any address.
    addresses: tuple[str, ...] = ()
    host: str = ""
    port: int = 104
    #: The campus (value of ``ris.campus_column``) this peer sends for: its objects link only to that
    #: campus's exams; empty: not known (then an ambiguous match across campuses is held for review).
    campus: str = ""
    #: Where the peer accepts the association that brings our Storage Commitment N-EVENT-REPORT when the
    #: N-ACTION's association has closed (PS3.4 J.3.3): ``host`` and this port (0: ``port``).
    commitment_port: int = 0


@dataclass(frozen=True)
class DicomCommitmentConfig:
    """``[dicom.commitment]``: the Storage Commitment Push Model SCP (PS3.4 Annex J) beside C-STORE, for the
    same peers: a peer asks (N-ACTION) whether we hold its objects durably before it deletes its own copy."""

    enabled: bool = True
    #: Longest wait for the requester's N-EVENT-REPORT response on the N-ACTION's own association.
    same_association_timeout: Duration = Duration(5)
    #: Longest wait for the connection, the association and the response on a new association.
    timeout: Duration = Duration(30)
    #: A report that could not be delivered (the peer's port closed) is tried again with this backoff.
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(initial=30, max_delay=1800, max_attempts=50))


@dataclass(frozen=True)
class DicomConfig:
    """The C-STORE/C-ECHO SCP hosted by ``run``."""

    enabled: bool = False
    ae_title: str = "RIS_AI"
    host: str = "0.0.0.0"
    port: int = 11112
    #: Admitted associations at the same time (connections still in the handshake do not count).
    max_associations: int = 10
    #: ARTIM (PS3.8 §9.1.5): a connection must deliver its whole A-ASSOCIATE-RQ within this time of opening,
    #: else it is closed; each PDU of an association gets this much plus its length at min_transfer_rate.
    acse_timeout: Duration = Duration(5)
    dimse_timeout: Duration = Duration(60)
    network_timeout: Duration = Duration(60)
    #: Largest PDU we accept once associated (announced in the A-ASSOCIATE-AC; PDUs are held in memory while
    #: they arrive, so this bounds memory per association). bench/ingest.py: 1 MB is as fast as unlimited.
    max_pdu: ByteSize = ByteSize(1024 * 1024)
    require_called_aet: bool = True
    sop_classes: tuple[str, ...] = DEFAULT_SOP_CLASSES
    transfer_syntaxes: tuple[str, ...] = DEFAULT_TRANSFER_SYNTAXES
    overwrite: Literal["NEVER", "ALWAYS", "SAME_SOURCE"] = "NEVER"
    tls: DicomTlsConfig = field(default_factory=DicomTlsConfig)
    peers: tuple[DicomPeerConfig, ...] = ()
    #: Largest PDU before the association is admitted: an A-ASSOCIATE-RQ is a few KB; User Identity
    #: (SAML, JWT) can make it larger. Larger ones are answered A-ASSOCIATE-RJ and the connection closed.
    max_request_pdu: ByteSize = ByteSize(256 * 1024)
    #: Connections accepted but not yet admitted (handshake), in total and per source address; more are
    #: closed at accept time without reading.
    max_handshakes: int = 64
    max_handshakes_per_source: int = 4
    #: Bytes per second every PDU must at least arrive at once associated (a stalled peer is aborted).
    #: 32KB/s (256 kbit/s) still lets a 151 MB multi-frame arrive over a very slow link (~80 minutes).
    min_transfer_rate: ByteSize = ByteSize(32 * 1024)
    commitment: DicomCommitmentConfig = field(default_factory=DicomCommitmentConfig)

    def validate(self) -> None:
        """Cross-key checks of [dicom]; each names the key at fault."""
        import ipaddress

        from ris_ai_module.config.types import is_valid_uid

        if not 1 <= len(self.ae_title.strip()) <= 16 or "\\" in self.ae_title:
            raise ConfigError("dicom.ae_title", f"expected 1 to 16 characters without a backslash, got {self.ae_title!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError("dicom.port", f"expected a TCP port, got {self.port}")
        if self.max_associations < 1:
            raise ConfigError("dicom.max_associations", "expected at least 1")
        for key in ("acse_timeout", "dimse_timeout", "network_timeout"):
            if getattr(self, key) < 1:
                raise ConfigError(f"dicom.{key}", "expected at least 1s")
        if not MIN_PDU <= self.max_pdu <= MAX_PDU:
            raise ConfigError("dicom.max_pdu", f"expected 4KB to 64MB, got {int(self.max_pdu)} (0, unlimited, is no "
                                               "longer accepted: every PDU is held in memory while it arrives)")
        if not MIN_PDU <= self.max_request_pdu <= MAX_PDU:
            raise ConfigError("dicom.max_request_pdu", f"expected 4KB to 64MB, got {int(self.max_request_pdu)}")
        for key in ("max_handshakes", "max_handshakes_per_source"):
            if getattr(self, key) < 1:
                raise ConfigError(f"dicom.{key}", "expected at least 1")
        if self.max_handshakes_per_source > self.max_handshakes:
            raise ConfigError("dicom.max_handshakes_per_source", "expected at most dicom.max_handshakes")
        if self.min_transfer_rate < 1024:
            raise ConfigError("dicom.min_transfer_rate", f"expected at least 1KB (per second), got {int(self.min_transfer_rate)}")
        for key in ("sop_classes", "transfer_syntaxes"):
            values = getattr(self, key)
            if not values:
                raise ConfigError(f"dicom.{key}", "expected at least one UID")
            for i, uid in enumerate(values):
                if not is_valid_uid(uid):
                    raise ConfigError(f"dicom.{key}[{i}]", f"not a valid UID: {uid!r}")
        if self.tls.enabled:
            for key in ("certificate", "private_key"):
                if not getattr(self.tls, key):
                    raise ConfigError(f"dicom.tls.{key}", "required when dicom.tls.enabled is true")
            if self.tls.require_client_cert and not self.tls.ca_file:
                raise ConfigError("dicom.tls.ca_file", "required when dicom.tls.require_client_cert is true")
        names = [p.name for p in self.peers]
        for i, peer in enumerate(self.peers):
            if not peer.name.strip() or names.count(peer.name) > 1:
                raise ConfigError(f"dicom.peers[{i}].name", f"expected a unique, non-empty name, got {peer.name!r}")
            if not 1 <= len(peer.ae_title.strip()) <= 16 or "\\" in peer.ae_title:
                raise ConfigError(f"dicom.peers[{i}].ae_title", f"expected 1 to 16 characters, got {peer.ae_title!r}")
            for j, address in enumerate(peer.addresses):
                try:
                    ipaddress.ip_network(address, strict=False)
                except ValueError:
                    raise ConfigError(f"dicom.peers[{i}].addresses[{j}]",
                                      f"expected an IP address or CIDR range like 10.1.2.0/24, got {address!r}") from None
            if not 1 <= peer.port <= 65535:
                raise ConfigError(f"dicom.peers[{i}].port", f"expected a TCP port, got {peer.port}")
            if not 0 <= peer.commitment_port <= 65535:
                raise ConfigError(f"dicom.peers[{i}].commitment_port", f"expected a TCP port or 0, got {peer.commitment_port}")
        for key in ("same_association_timeout", "timeout"):
            if float(getattr(self.commitment, key)) <= 0:
                raise ConfigError(f"dicom.commitment.{key}", "expected more than 0s")
        if self.enabled and not any(p.addresses for p in self.peers):
            raise ConfigError("dicom.peers", "while dicom.enabled is true, at least one peer needs ae_title and addresses "
                                             "(an SCP that admits nobody is a configuration mistake)")


@dataclass(frozen=True)
class StorageConfig:
    """Where received DICOM objects are kept (one file per SOP Instance)."""

    root: FilePath = FilePath("storage")
    #: Below this much free space a C-STORE is refused with 0xA700 (out of resources): the last line of defence.
    min_free: ByteSize = ByteSize(1024**3)
    #: Below this much free space (or ``watermark_percent`` of the volume) a new association is refused
    #: with A-ASSOCIATE-RJ rejected-transient, local-limit-exceeded, so that a peer retries later instead of
    #: having C-STOREs fail mid-transfer. 0 (and percent 0) = off. Never below ``min_free`` in effect: a lower
    #: value (an older configuration with a large min_free) is raised to it, not refused, so an upgrade starts.
    watermark_free: ByteSize = ByteSize(2 * 1024**3)
    #: The same as a percentage of the volume's size (0 = off); the watermark is whichever is higher.
    watermark_percent: float = 0.0
    #: Storage retention: how long a received object's file is kept after it is done (forwarded and, where
    #: asked, committed; applied; the report signed). 0 = keep every file (off). See retention/rule.py.
    keep_for: Duration = Duration(0)
    #: At most this many files deleted per retention run, and how often it runs (the housekeeping leader).
    purge_batch: int = 200
    purge_interval: Duration = Duration(3600)

    def validate(self) -> None:
        """Cross-key checks of [storage]; each names the key at fault."""
        if self.purge_batch < 1:
            raise ConfigError("storage.purge_batch", f"expected at least 1, got {self.purge_batch}")
        if self.purge_interval < 60:
            raise ConfigError("storage.purge_interval", f"expected at least 1m, got {float(self.purge_interval)}s")
        if self.keep_for and self.keep_for < 3600:
            raise ConfigError("storage.keep_for", f"expected 0 (keep every file) or at least 1h, got {float(self.keep_for)}s")
        if not 0.0 <= float(self.watermark_percent) < 100.0:
            raise ConfigError("storage.watermark_percent", f"expected 0 (off) to below 100, got {self.watermark_percent!r}")
