"""The configuration schema: one frozen dataclass per section; the only place defaults live.

``example.toml`` beside this file documents every key (a test checks it covers every field).
Lists are tuples and tables are read-only mappings so that a loaded Config cannot change under a
running component.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from ris_ai_module.config.types import ByteSize, Duration
from ris_ai_module.errors import ConfigError


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ModuleConfig:
    """Identity of this running instance (lease owner names, logs, reports)."""

    instance_name: str = field(default_factory=socket.gethostname)
    hospital_name: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    """The RIS database that also holds the module's RAI_* tables."""

    url: str
    password: str = ""
    pool_size: int = 5
    connect_timeout: Duration = Duration(10)
    echo_sql: bool = False


@dataclass(frozen=True)
class RisConfig:
    """How exam starts are found in the RIS."""

    started_status: str = "STARTED"
    detect: Literal["trigger", "poll"] = "trigger"
    poll_interval: Duration = Duration(2)
    poll_lookback: Duration = Duration(3 * 86400)


@dataclass(frozen=True)
class WorkerConfig:
    """The task worker that drains RAI_TASK."""

    enabled: bool = True
    threads: int = 2
    batch_size: int = 20
    idle_wait: Duration = Duration(0.2)
    lease: Duration = Duration(120)
    purge_done_after: Duration = Duration(7 * 86400)
    purge_failed_after: Duration = Duration(90 * 86400)
    purge_interval: Duration = Duration(3600)
    pg_notify: bool = True


@dataclass(frozen=True)
class RetryConfig:
    """Exponential backoff: initial, doubled (multiplier) each attempt, capped at max_delay."""

    initial: Duration = Duration(30)
    multiplier: float = 2.0
    max_delay: Duration = Duration(600)
    max_attempts: int = 20


@dataclass(frozen=True)
class AuthConfig:
    type: Literal["none", "bearer", "basic", "header"] = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    header_name: str = ""
    header_value: str = ""


@dataclass(frozen=True)
class PushConfig:
    """The AI host's exam API."""

    url: str = ""
    method: Literal["POST", "PUT"] = "POST"
    connect_timeout: Duration = Duration(5)
    read_timeout: Duration = Duration(30)
    verify_tls: bool = True
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    auth: AuthConfig = field(default_factory=AuthConfig)
    headers: Mapping[str, str] = field(default_factory=_empty)
    field_names: Mapping[str, str] = field(default_factory=_empty)
    constant_fields: Mapping[str, str] = field(default_factory=_empty)
    omit_fields: tuple[str, ...] = ()
    retry: RetryConfig = field(default_factory=RetryConfig)
    keep_response_bytes: int = 4000


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str = ""
    max_bytes: ByteSize = ByteSize(20 * 1024 * 1024)
    backup_count: int = 10
    mask_phi: bool = True


@dataclass(frozen=True)
class HttpCheckConfig:
    """One HTTP(S) endpoint checked on schedule (the AI host's API, a PACS web front end)."""

    name: str
    url: str
    method: Literal["GET", "HEAD", "POST", "OPTIONS"] = "GET"
    expect_status: tuple[int, ...] = (200,)
    connect_timeout: Duration = Duration(5)
    read_timeout: Duration = Duration(10)
    verify_tls: bool = True
    ca_file: str = ""


@dataclass(frozen=True)
class HealthConfig:
    """Scheduled checks, their retention, and the daily IT report."""

    enabled: bool = True
    echo_interval: Duration = Duration(60)
    echo_timeout: Duration = Duration(10)
    echo_peers: tuple[str, ...] = ()
    echo_calling_aet: str = ""
    self_check: bool = True
    http_interval: Duration = Duration(60)
    http: tuple[HttpCheckConfig, ...] = ()
    queue_interval: Duration = Duration(60)
    queue_max_age: Duration = Duration(600)
    queue_failed_window: Duration = Duration(86400)
    disk_interval: Duration = Duration(300)
    disk_paths: tuple[str, ...] = ()
    disk_min_free: ByteSize = ByteSize(2 * 1024**3)
    cert_interval: Duration = Duration(6 * 3600)
    cert_files: tuple[str, ...] = ()
    cert_warn_days: int = 30
    retention: Duration = Duration(180 * 86400)
    lease: Duration = Duration(60)
    report_time: str = "07:30"
    report_to: tuple[str, ...] = ()
    report_folder: str = "reports"
    report_check_interval: Duration = Duration(30)


@dataclass(frozen=True)
class SmtpConfig:
    """The hospital mail server that carries alerts and the daily report."""

    host: str = ""
    port: int = 465
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str = ""
    password: str = ""
    from_addr: str = ""
    to: tuple[str, ...] = ()
    timeout: Duration = Duration(30)
    verify_tls: bool = True
    ca_file: str = ""


@dataclass(frozen=True)
class WebhookConfig:
    """A JSON POST per alert: generic, or a WeChat Work / DingTalk group robot."""

    url: str
    format: Literal["generic", "wecom", "dingtalk"] = "generic"
    secret: str = ""
    timeout: Duration = Duration(10)
    verify_tls: bool = True


@dataclass(frozen=True)
class AlertsConfig:
    """When a target is DOWN, how often IT may be told, and through which channels."""

    fail_threshold: int = 3
    throttle: Duration = Duration(900)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    webhooks: tuple[WebhookConfig, ...] = ()


#: Report targets the writer knows (see ris_ai_module/report/targets.py).
REPORT_TARGETS = ("rows", "columns", "procedure", "text")


@dataclass(frozen=True)
class ReportRowsConfig:
    """Target ``rows``: one row per selected, mapped measurement in a key/value table."""

    table: str = "RIS_REPORT_MEASURE"
    exam_id_column: str = "EXAM_ID"
    key_column: str = "ITEM_KEY"
    name_column: str = "ITEM_NAME"
    value_column: str = "ITEM_VALUE"
    unit_column: str = "ITEM_UNIT"
    source_column: str = "SOURCE_UID"
    updated_column: str = "UPDATED_AT"
    keys: tuple[str, ...] = ()
    name_language: Literal["zh", "en"] = "zh"


@dataclass(frozen=True)
class ReportColumnsConfig:
    """Target ``columns``: measurement key -> column of the report row (or of another row per exam)."""

    table: str = ""
    exam_id_column: str = ""
    columns: Mapping[str, str] = field(default_factory=_empty)


@dataclass(frozen=True)
class ReportProcedureConfig:
    """Target ``procedure``: a stored procedure called with (exam id, JSON text)."""

    name: str = ""
    per: Literal["exam", "measurement"] = "exam"
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportTextConfig:
    """Target ``text``: a findings paragraph rendered from a template into a marked block of a column."""

    column: str = "FINDINGS"
    template: str = ""
    begin_marker: str = "【AI测量】"
    end_marker: str = "【/AI测量】"
    place: Literal["append", "prepend"] = "append"


@dataclass(frozen=True)
class ReportConfig:
    """Where measurements go in the RIS report, and when the report may be written."""

    targets: tuple[str, ...] = ("rows", "text")
    table: str = "RIS_REPORT"
    exam_id_column: str = "EXAM_ID"
    status_column: str = "REPORT_STATUS"
    writable_statuses: tuple[str, ...] = ("DRAFT",)
    create_if_missing: bool = True
    new_status: str = "DRAFT"
    updated_column: str = "UPDATED_AT"
    pending_check_interval: Duration = Duration(30)
    units: Mapping[str, str] = field(default_factory=_empty)
    decimals: Mapping[str, int] = field(default_factory=_empty)
    rows: ReportRowsConfig = field(default_factory=ReportRowsConfig)
    columns: ReportColumnsConfig = field(default_factory=ReportColumnsConfig)
    procedure: ReportProcedureConfig = field(default_factory=ReportProcedureConfig)
    text: ReportTextConfig = field(default_factory=ReportTextConfig)

    def validate(self) -> None:
        """Cross-key checks of [report]; each names the key at fault."""
        for i, name in enumerate(self.targets):
            if name not in REPORT_TARGETS:
                raise ConfigError(f"report.targets[{i}]", f"expected one of {', '.join(REPORT_TARGETS)}, got {name!r}")
        if "procedure" in self.targets and not self.procedure.name:
            raise ConfigError("report.procedure.name", "required when report.targets contains \"procedure\"")
        if "columns" in self.targets and not self.columns.columns:
            raise ConfigError("report.columns.columns", "required when report.targets contains \"columns\"")
        if "text" in self.targets and self.text.begin_marker == self.text.end_marker:
            raise ConfigError("report.text.end_marker", "must differ from report.text.begin_marker")
        for key, places in self.decimals.items():
            if not 0 <= places <= 6:
                raise ConfigError(f"report.decimals.{key}", f"expected 0 to 6 decimals, got {places}")
        from ris_ai_module.sr.units import lookup

        for key, unit in self.units.items():
            if lookup(unit) is None:
                raise ConfigError(f"report.units.{key}", f"{unit!r} is not a UCUM unit of the unit table")
        if self.pending_check_interval < 1:
            raise ConfigError("report.pending_check_interval", "expected at least 1s")


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


@dataclass(frozen=True)
class DicomTlsConfig:
    """DICOM TLS on the SCP port (the whole port speaks TLS when enabled)."""

    enabled: bool = False
    certificate: str = ""
    private_key: str = ""
    #: Trusted CAs for client certificates.
    ca_file: str = ""
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


@dataclass(frozen=True)
class DicomConfig:
    """The C-STORE/C-ECHO SCP hosted by ``run``."""

    enabled: bool = False
    ae_title: str = "RIS_AI"
    host: str = "0.0.0.0"
    port: int = 11112
    max_associations: int = 10
    acse_timeout: Duration = Duration(30)
    dimse_timeout: Duration = Duration(60)
    network_timeout: Duration = Duration(60)
    #: Largest PDU we accept (0 = unlimited: fewest PDUs, the fastest on a LAN).
    max_pdu: ByteSize = ByteSize(0)
    require_called_aet: bool = True
    sop_classes: tuple[str, ...] = DEFAULT_SOP_CLASSES
    transfer_syntaxes: tuple[str, ...] = DEFAULT_TRANSFER_SYNTAXES
    overwrite: Literal["NEVER", "ALWAYS", "SAME_SOURCE"] = "NEVER"
    tls: DicomTlsConfig = field(default_factory=DicomTlsConfig)
    peers: tuple[DicomPeerConfig, ...] = ()

    def validate(self) -> None:
        """Cross-key checks of [dicom]; each names the key at fault."""
        import ipaddress

        from ris_ai_module.dicom.uids import is_valid_uid

        if not 1 <= len(self.ae_title.strip()) <= 16 or "\\" in self.ae_title:
            raise ConfigError("dicom.ae_title", f"expected 1 to 16 characters without a backslash, got {self.ae_title!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError("dicom.port", f"expected a TCP port, got {self.port}")
        if self.max_associations < 1:
            raise ConfigError("dicom.max_associations", "expected at least 1")
        for key in ("acse_timeout", "dimse_timeout", "network_timeout"):
            if getattr(self, key) < 1:
                raise ConfigError(f"dicom.{key}", "expected at least 1s")
        if self.max_pdu and self.max_pdu < 4096:
            raise ConfigError("dicom.max_pdu", f"expected 0 (unlimited) or at least 4KB, got {int(self.max_pdu)}")
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
        if self.enabled and not any(p.addresses for p in self.peers):
            raise ConfigError("dicom.peers", "while dicom.enabled is true, at least one peer needs ae_title and addresses "
                                             "(an SCP that admits nobody is a configuration mistake)")


@dataclass(frozen=True)
class StorageConfig:
    """Where received DICOM objects are kept (one file per SOP Instance)."""

    root: str = "storage"
    #: Below this much free space a C-STORE is refused with 0xA700 (out of resources).
    min_free: ByteSize = ByteSize(1024**3)


@dataclass(frozen=True)
class SrConfig:
    """The SR measurement engine: a hospital's own catalog rows, without touching code."""

    catalog_overlay: str = ""


@dataclass(frozen=True)
class Config:
    """The whole configuration."""

    database: DatabaseConfig
    module: ModuleConfig = field(default_factory=ModuleConfig)
    ris: RisConfig = field(default_factory=RisConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    push: PushConfig = field(default_factory=PushConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    dicom: DicomConfig = field(default_factory=DicomConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    sr: SrConfig = field(default_factory=SrConfig)

    def validate(self) -> None:
        """Checks that span keys; each names the key at fault."""
        if not self.database.url.strip():
            raise ConfigError("database.url", "must not be empty")
        if "://" not in self.database.url:
            raise ConfigError("database.url", f"expected an SQLAlchemy URL like postgresql+psycopg://user@host/db, got {self.database.url!r}")
        if self.push.url and not self.push.url.startswith(("http://", "https://")):
            raise ConfigError("push.url", f"expected an http:// or https:// URL, got {self.push.url!r}")
        if self.worker.enabled and not self.push.url:
            raise ConfigError("push.url", "required while worker.enabled is true (exams are pushed there)")
        if self.push.auth.type == "bearer" and not self.push.auth.token:
            raise ConfigError("push.auth.token", "required when push.auth.type is \"bearer\"")
        if self.push.auth.type == "basic" and not self.push.auth.username:
            raise ConfigError("push.auth.username", "required when push.auth.type is \"basic\"")
        if self.push.auth.type == "header" and not self.push.auth.header_name:
            raise ConfigError("push.auth.header_name", "required when push.auth.type is \"header\"")
        if bool(self.push.client_cert) != bool(self.push.client_key):
            raise ConfigError("push.client_key", "push.client_cert and push.client_key go together")
        if self.push.retry.multiplier < 1:
            raise ConfigError("push.retry.multiplier", f"expected a number >= 1, got {self.push.retry.multiplier}")
        if self.push.retry.max_attempts < 1:
            raise ConfigError("push.retry.max_attempts", "expected at least 1")
        if self.worker.threads < 1:
            raise ConfigError("worker.threads", "expected at least 1")
        if self.worker.batch_size < 1:
            raise ConfigError("worker.batch_size", "expected at least 1")
        if self.worker.lease < 5:
            raise ConfigError("worker.lease", "expected at least 5s")
        self.report.validate()
        self._validate_health()
        self.dicom.validate()

    def _validate_health(self) -> None:
        """[health] and [alerts]: each message names the key at fault."""
        h, a = self.health, self.alerts
        if not _is_clock_time(h.report_time):
            raise ConfigError("health.report_time", f'expected a local time like "07:30", got {h.report_time!r}')
        for key in ("echo_interval", "http_interval", "queue_interval", "disk_interval", "cert_interval",
                    "report_check_interval"):
            if getattr(h, key) < 1:
                raise ConfigError(f"health.{key}", "expected at least 1s")
        if h.lease < 5:
            raise ConfigError("health.lease", "expected at least 5s")
        if h.retention < 86400:
            raise ConfigError("health.retention", "expected at least 1d (the law asks for 180d)")
        names = [c.name for c in h.http]
        for i, c in enumerate(h.http):
            if not c.name.strip() or c.name in names[:i]:
                raise ConfigError(f"health.http[{i}].name", f"expected a unique, non-empty name, got {c.name!r}")
            if not c.url.startswith(("http://", "https://")):
                raise ConfigError(f"health.http[{i}].url", f"expected an http:// or https:// URL, got {c.url!r}")
            if not c.expect_status or any(not 100 <= s <= 599 for s in c.expect_status):
                raise ConfigError(f"health.http[{i}].expect_status", "expected HTTP status codes (100-599)")
        peers = {p.name: p for p in self.dicom.peers}
        for i, name in enumerate(h.echo_peers):
            if name not in peers:
                raise ConfigError(f"health.echo_peers[{i}]", f"no [[dicom.peers]] entry is named {name!r}")
            if not peers[name].host:
                raise ConfigError(f"health.echo_peers[{i}]", f"dicom peer {name!r} has no host to C-ECHO")
        if a.fail_threshold < 1:
            raise ConfigError("alerts.fail_threshold", "expected at least 1")
        if a.smtp.host and not a.smtp.from_addr:
            raise ConfigError("alerts.smtp.from_addr", "required when alerts.smtp.host is set")
        if h.report_to and not a.smtp.host:
            raise ConfigError("alerts.smtp.host", "required when health.report_to lists recipients")
        if not 1 <= a.smtp.port <= 65535:
            raise ConfigError("alerts.smtp.port", f"expected a TCP port, got {a.smtp.port}")
        for i, w in enumerate(a.webhooks):
            if not w.url.startswith(("http://", "https://")):
                raise ConfigError(f"alerts.webhooks[{i}].url", f"expected an http:// or https:// URL, got {w.url!r}")

    def resolve_paths(self, base: Path) -> Config:
        """Relative file paths in the file mean: relative to the file's folder."""

        def fix(p: str) -> str:
            return str((base / p).resolve()) if p and not Path(p).is_absolute() else p

        push = dataclasses.replace(
            self.push, ca_file=fix(self.push.ca_file), client_cert=fix(self.push.client_cert),
            client_key=fix(self.push.client_key),
        )
        url = self.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            url = "sqlite:///" + fix(url[len("sqlite:///"):])
        h = self.health
        health = dataclasses.replace(
            h, report_folder=fix(h.report_folder), disk_paths=tuple(fix(x) for x in h.disk_paths),
            cert_files=tuple(fix(x) for x in h.cert_files),
            http=tuple(dataclasses.replace(c, ca_file=fix(c.ca_file)) for c in h.http),
        )
        alerts = dataclasses.replace(
            self.alerts, smtp=dataclasses.replace(self.alerts.smtp, ca_file=fix(self.alerts.smtp.ca_file)),
        )
        return dataclasses.replace(
            self, push=push, logging=dataclasses.replace(self.logging, file=fix(self.logging.file)),
            database=dataclasses.replace(self.database, url=url), health=health, alerts=alerts,
            dicom=dataclasses.replace(self.dicom, tls=dataclasses.replace(
                self.dicom.tls, certificate=fix(self.dicom.tls.certificate),
                private_key=fix(self.dicom.tls.private_key), ca_file=fix(self.dicom.tls.ca_file))),
            storage=dataclasses.replace(self.storage, root=fix(self.storage.root)),
            report=dataclasses.replace(self.report, text=dataclasses.replace(
                self.report.text, template=fix(self.report.text.template))),
            sr=dataclasses.replace(self.sr, catalog_overlay=fix(self.sr.catalog_overlay)),
        )


def _is_clock_time(text: str) -> bool:
    hh, sep, mm = text.partition(":")
    return bool(sep) and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 0 <= int(hh) < 24 and 0 <= int(mm) < 60
