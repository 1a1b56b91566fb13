"""The configuration schema: one frozen dataclass per section; the only place defaults live.

``example.toml`` beside this file documents every key (a test checks it covers every field).
Lists are tuples and tables are read-only mappings so that a loaded Config cannot change under a
running component.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ris_ai_module.config.archive_section import ArchiveConfig
from ris_ai_module.config.audit_section import AuditConfig
from ris_ai_module.config.dicom_section import (  # noqa: F401 - re-exported: one place to import sections
    DEFAULT_SOP_CLASSES,
    DEFAULT_TRANSFER_SYNTAXES,
    DicomConfig,
    DicomPeerConfig,
    DicomTlsConfig,
    StorageConfig,
)
from ris_ai_module.config.fhir_section import FhirConfig
from ris_ai_module.config.health_section import (  # noqa: F401
    AlertsConfig,
    HealthConfig,
    HttpCheckConfig,
    SmtpConfig,
    WebhookConfig,
    validate_health,
)
from ris_ai_module.config.hl7_section import Hl7Config
from ris_ai_module.config.http_section import HttpConfig, HttpUserConfig  # noqa: F401
from ris_ai_module.config.inbox_section import InboxConfig
from ris_ai_module.config.outbox_section import OutboxConfig
from ris_ai_module.config.paths import resolve_file_paths
from ris_ai_module.config.push_section import (  # noqa: F401
    AiHostConfig,
    AuthConfig,
    HostSettings,
    PushConfig,
    RetryConfig,
    RouteCondition,
    RouteRule,
)
from ris_ai_module.config.report_section import (  # noqa: F401
    REPORT_TARGETS,
    ReportColumnsConfig,
    ReportConfig,
    ReportProcedureConfig,
    ReportRowsConfig,
    ReportTextConfig,
)
from ris_ai_module.config.review_section import ReviewConfig
from ris_ai_module.config.types import ByteSize, Duration, FilePath, empty_mapping
from ris_ai_module.config.view import CANONICAL_COLUMNS
from ris_ai_module.errors import ConfigError


@dataclass(frozen=True)
class ModuleConfig:
    """Identity of this running instance (lease owner names, logs, reports)."""

    instance_name: str = field(default_factory=socket.gethostname)
    hospital_name: str = ""
    #: Campuses (values of ``ris.campus_column``) whose exams this instance works on; empty: all of them.
    campuses: tuple[str, ...] = ()


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
    #: An optional column of RAI_V_EXAM naming the exam's campus (院区) in a hospital group; empty: none.
    campus_column: str = ""
    #: The campus of a received object from its InstitutionName (exact text -> campus), besides the sending
    #: peer's ``dicom.peers[].campus``; an object whose campus is unknown never links across campuses.
    campus_institutions: Mapping[str, str] = field(default_factory=empty_mapping)


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
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: FilePath = FilePath("")
    max_bytes: ByteSize = ByteSize(20 * 1024 * 1024)
    backup_count: int = 10
    mask_phi: bool = True


@dataclass(frozen=True)
class SrConfig:
    """The SR measurement engine: a hospital's own catalog rows, without touching code."""

    catalog_overlay: FilePath = FilePath("")


@dataclass(frozen=True)
class HooksConfig:
    """A hospital's extension hooks (see ris_ai_module/hooks.py and docs/api.md): a module importable by name."""

    module: str = ""
    timeout: Duration = Duration(2)
    max_failures: int = 5


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
    inbox: InboxConfig = field(default_factory=InboxConfig)
    sr: SrConfig = field(default_factory=SrConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    hl7: Hl7Config = field(default_factory=Hl7Config)
    fhir: FhirConfig = field(default_factory=FhirConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)

    def view_columns(self) -> tuple[str, ...]:
        """RAI_V_EXAM's columns as configured: the canonical ones and the optional ones named in config."""
        return CANONICAL_COLUMNS + ((self.ris.campus_column,) if self.ris.campus_column else ())

    def validate(self) -> None:
        """Checks that span keys; each names the key at fault."""
        if not self.database.url.strip():
            raise ConfigError("database.url", "must not be empty")
        if "://" not in self.database.url:
            raise ConfigError("database.url", f"expected an SQLAlchemy URL like postgresql+psycopg://user@host/db, got {self.database.url!r}")
        if self.ris.campus_column and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$#]{0,29}", self.ris.campus_column):
            raise ConfigError("ris.campus_column", f"not a column name: {self.ris.campus_column!r}")
        if self.module.campuses and not self.ris.campus_column:
            raise ConfigError("module.campuses", "needs ris.campus_column (the view column that names the campus)")
        if self.ris.campus_institutions and not self.ris.campus_column:
            raise ConfigError("ris.campus_institutions", "needs ris.campus_column (the view column that names the campus)")
        for kind, accounts in (("users", self.http.users), ("tokens", self.http.tokens)):
            for i, account in enumerate(accounts):
                if account.campuses and not self.ris.campus_column:
                    raise ConfigError(f"http.{kind}[{i}].campuses",
                                      "needs ris.campus_column (the view column that names the campus)")
        for i, peer in enumerate(self.dicom.peers):
            if peer.campus and not self.ris.campus_column:
                raise ConfigError(f"dicom.peers[{i}].campus", "needs ris.campus_column (the view column that names the campus)")
        self.push.validate_push(self.worker.enabled, self.view_columns())
        if self.worker.threads < 1:
            raise ConfigError("worker.threads", "expected at least 1")
        if self.worker.batch_size < 1:
            raise ConfigError("worker.batch_size", "expected at least 1")
        if self.worker.lease < 5:
            raise ConfigError("worker.lease", "expected at least 5s")
        if self.hooks.max_failures < 1:
            raise ConfigError("hooks.max_failures", "expected at least 1")
        if not 0 < self.hooks.timeout <= 60:
            raise ConfigError("hooks.timeout", f"expected more than 0 and at most 60s, got {float(self.hooks.timeout):g}s")
        self.report.validate()
        self.inbox.validate()
        validate_health(self.health, self.alerts, self.dicom)
        self.dicom.validate()
        self.http.validate()
        self.audit.validate()
        self.review.validate()
        self.outbox.validate()
        self.hl7.validate()
        self.fhir.validate()
        self.archive.validate()

    def resolve_paths(self, base: Path) -> Config:
        """Relative file paths in the file mean: relative to the file's folder (every FilePath field)."""
        resolved = resolve_file_paths(self, base)
        url = resolved.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            url = "sqlite:///" + str((base / url[len("sqlite:///"):]).resolve())
        return dataclasses.replace(resolved, database=dataclasses.replace(resolved.database, url=url))
