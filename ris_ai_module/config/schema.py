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
from typing import Literal

from ris_ai_module.config.audit_section import AuditConfig
from ris_ai_module.config.dicom_section import (  # noqa: F401 - re-exported: one place to import sections
    DEFAULT_SOP_CLASSES,
    DEFAULT_TRANSFER_SYNTAXES,
    DicomConfig,
    DicomPeerConfig,
    DicomTlsConfig,
    StorageConfig,
)
from ris_ai_module.config.health_section import (  # noqa: F401
    AlertsConfig,
    HealthConfig,
    HttpCheckConfig,
    SmtpConfig,
    WebhookConfig,
    validate_health,
)
from ris_ai_module.config.http_section import HttpConfig, HttpUserConfig  # noqa: F401
from ris_ai_module.config.paths import resolve_file_paths
from ris_ai_module.config.report_section import (  # noqa: F401
    REPORT_TARGETS,
    ReportColumnsConfig,
    ReportConfig,
    ReportProcedureConfig,
    ReportRowsConfig,
    ReportTextConfig,
)
from ris_ai_module.config.types import ByteSize, Duration, FilePath, empty_mapping
from ris_ai_module.errors import ConfigError


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
    ca_file: FilePath = FilePath("")
    client_cert: FilePath = FilePath("")
    client_key: FilePath = FilePath("")
    auth: AuthConfig = field(default_factory=AuthConfig)
    headers: Mapping[str, str] = field(default_factory=empty_mapping)
    field_names: Mapping[str, str] = field(default_factory=empty_mapping)
    constant_fields: Mapping[str, str] = field(default_factory=empty_mapping)
    omit_fields: tuple[str, ...] = ()
    retry: RetryConfig = field(default_factory=RetryConfig)
    keep_response_bytes: int = 4000


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
    sr: SrConfig = field(default_factory=SrConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)

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
        if self.hooks.max_failures < 1:
            raise ConfigError("hooks.max_failures", "expected at least 1")
        if not 0 < self.hooks.timeout <= 60:
            raise ConfigError("hooks.timeout", f"expected more than 0 and at most 60s, got {float(self.hooks.timeout):g}s")
        self.report.validate()
        validate_health(self.health, self.alerts, self.dicom)
        self.dicom.validate()
        self.http.validate()
        self.audit.validate()

    def resolve_paths(self, base: Path) -> Config:
        """Relative file paths in the file mean: relative to the file's folder (every FilePath field)."""
        resolved = resolve_file_paths(self, base)
        url = resolved.database.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            url = "sqlite:///" + str((base / url[len("sqlite:///"):]).resolve())
        return dataclasses.replace(resolved, database=dataclasses.replace(resolved.database, url=url))
