"""[health] and [alerts]: scheduled checks, their retention, the daily IT report, alert channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ris_ai_module.config.types import ByteSize, Duration, FilePath
from ris_ai_module.errors import ConfigError

if TYPE_CHECKING:
    from ris_ai_module.dicom.section import DicomConfig


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
    ca_file: FilePath = FilePath("")
    #: A client certificate and key (PEM) for a peer that asks for mutual TLS: without it such a peer ends
    #: the handshake and the check would call a healthy host down.
    client_cert: FilePath = FilePath("")
    client_key: FilePath = FilePath("")


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
    disk_paths: tuple[FilePath, ...] = ()
    disk_min_free: ByteSize = ByteSize(2 * 1024**3)
    cert_interval: Duration = Duration(6 * 3600)
    cert_files: tuple[FilePath, ...] = ()
    cert_warn_days: int = 30
    retention: Duration = Duration(180 * 86400)
    lease: Duration = Duration(60)
    report_time: str = "07:30"
    report_to: tuple[str, ...] = ()
    report_folder: FilePath = FilePath("reports")
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
    ca_file: FilePath = FilePath("")


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



def validate_health(h: HealthConfig, a: AlertsConfig, dicom: DicomConfig) -> None:
    """[health] and [alerts] (peers named in [dicom]): each message names the key at fault."""
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
        if bool(c.client_cert) != bool(c.client_key):
            raise ConfigError(f"health.http[{i}].client_key", "client_cert and client_key go together")
    peers = {p.name: p for p in dicom.peers}
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


def _is_clock_time(text: str) -> bool:
    hh, sep, mm = text.partition(":")
    return bool(sep) and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 0 <= int(hh) < 24 and 0 <= int(mm) < 60
