"""One function per kind of health check, each returning CheckResult and never raising for the thing checked.

A check answers "is this target usable right now, and if not, why" in words hospital IT can act on
(refused, rejected with reason, timeout, HTTP 500, 1.2 GB free, certificate expires in 12 days).
Which targets exist is read from the configuration by ``plan_checks``; the scheduler and
``ris-ai-module check-now`` run the same plan.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import task
from ris_ai_module.health.section import HttpCheckConfig
from ris_ai_module.tasks.model import TaskStatus

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

ECHO, HTTP, QUEUE, DISK, CERT = "ECHO", "HTTP", "QUEUE", "DISK", "CERT"
SELF_TARGET = "self"


@dataclass(frozen=True)
class CheckResult:
    """One check of one target; ``error`` is None exactly when ``ok``."""

    target: str
    kind: str
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    detail: str | None = None


def check_echo(
    target: str, host: str, port: int, called_aet: str, calling_aet: str, timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> CheckResult:
    """C-ECHO through the one SCU in dicom/echo.py."""
    from ris_ai_module.dicom.echo import echo

    res = echo(host, port, called_aet, calling_aet, timeout, ssl_context=ssl_context)
    detail = f"{calling_aet} -> {called_aet}@{host}:{port}"
    return CheckResult(target, ECHO, res.ok, res.latency_ms, None if res.ok else res.reason, detail)


def check_http(cfg: HttpCheckConfig) -> CheckResult:
    """One request; ok when the status is one of ``expect_status``. Redirects are not followed (a login page
    answering 302 is not the API answering)."""
    verify: bool | str = cfg.ca_file if (cfg.verify_tls and cfg.ca_file) else cfg.verify_tls
    started = time.perf_counter()
    try:
        with requests.request(
            cfg.method, cfg.url, timeout=(cfg.connect_timeout, cfg.read_timeout), verify=verify,
            allow_redirects=False, stream=True, cert=(cfg.client_cert, cfg.client_key) if cfg.client_cert else None,
        ) as rsp:
            latency = _ms(started)
            detail = f"{cfg.method} {cfg.url} -> {rsp.status_code}"
            if rsp.status_code in cfg.expect_status:
                return CheckResult(cfg.name, HTTP, True, latency, None, detail)
            expected = ", ".join(str(s) for s in cfg.expect_status)
            return CheckResult(cfg.name, HTTP, False, latency, f"HTTP {rsp.status_code} (expected {expected})", detail)
    except requests.exceptions.SSLError as exc:
        error = f"TLS error: {_root_cause(exc)}"
    except requests.exceptions.ConnectTimeout:
        error = f"timeout: no connection within {cfg.connect_timeout:g}s"
    except requests.exceptions.ReadTimeout:
        error = f"timeout: no answer within {cfg.read_timeout:g}s (read timeout)"
    except requests.exceptions.ConnectionError as exc:
        cause = _root_cause(exc)
        where = urlsplit(cfg.url)
        address = f"{where.hostname}:{where.port or (443 if where.scheme == 'https' else 80)}"
        error = f"refused: nothing listens on {address}" if "refused" in cause.lower() else f"connection failed: {cause}"
    except requests.exceptions.RequestException as exc:
        error = f"request failed: {exc.__class__.__name__}: {exc}"
    return CheckResult(cfg.name, HTTP, False, None, error, f"{cfg.method} {cfg.url}")


def check_queue(conn: Connection, max_age: float, failed_window: float) -> list[CheckResult]:
    """Two targets: ``queue:backlog`` (oldest pending task younger than max_age) and ``queue:failed`` (no task
    became FAILED within failed_window)."""
    from ris_ai_module.tasks.queue import queue_stats

    stats = queue_stats(conn)
    counts = stats["counts"]
    pending = counts.get(TaskStatus.SCHEDULED.value, 0) + counts.get(TaskStatus.IN_PROCESS.value, 0)
    age = float(stats["oldest_pending_age_s"])
    since = utcnow() - timedelta(seconds=failed_window)
    recent_failed = conn.execute(
        select(func.count()).select_from(task).where(task.c.status == TaskStatus.FAILED.value, task.c.finished_at >= since)
    ).scalar_one()
    total_failed = counts.get(TaskStatus.FAILED.value, 0)
    detail = f"pending={pending} oldest_pending_age_s={age:.0f} failed={total_failed}"
    backlog_ok = age <= max_age
    backlog = CheckResult(
        "queue:backlog", QUEUE, backlog_ok, None,
        None if backlog_ok else f"oldest pending task is {_age(age)} old (limit {_age(max_age)}), {pending} pending",
        detail,
    )
    failed_ok = recent_failed == 0
    failed = CheckResult(
        "queue:failed", QUEUE, failed_ok, None,
        None if failed_ok else f"{recent_failed} task(s) FAILED in the last {_age(failed_window)} "
                               f"(see `ris-ai-module tasks --status FAILED`)",
        detail,
    )
    return [backlog, failed]


def check_disk(path: str, min_free: int) -> CheckResult:
    """Free space of the file system holding ``path``."""
    target = f"disk:{path}"
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return CheckResult(target, DISK, False, None, f"cannot read {path}: {exc.strerror or exc}")
    detail = f"free={_size(usage.free)} total={_size(usage.total)} ({usage.free * 100 / max(usage.total, 1):.1f}% free)"
    if usage.free < min_free:
        return CheckResult(target, DISK, False, None, f"only {_size(usage.free)} free (limit {_size(min_free)})", detail)
    return CheckResult(target, DISK, True, None, None, detail)


#: The health target of the free-space watermark (DOWN while the SCP refuses new associations).
WATERMARK_TARGET = "storage:watermark"


def check_watermark(storage: object) -> CheckResult:
    """DOWN while the storage volume is below ``storage.watermark_free``/``watermark_percent``: the SCP then
    answers every new association A-ASSOCIATE-RJ transient, so the AI host keeps its objects and retries."""
    from ris_ai_module.dicom.storage import StorageArea

    space = StorageArea.from_config(storage).space()
    detail = (f"free={_size(space.free)} ({space.free_percent:.1f}%) watermark={_size(space.watermark)}; "
              f"{'accepting associations' if space.refusing is None else 'refusing new associations'}")
    if space.refusing is not None:
        return CheckResult(WATERMARK_TARGET, DISK, False, None,
                           f"{space.refusing}: new DICOM associations refused (A-ASSOCIATE-RJ transient); "
                           "free space or lower the watermark", detail)
    return CheckResult(WATERMARK_TARGET, DISK, True, None, None, detail)


def check_cert(path: str, warn_days: int, now: datetime | None = None) -> CheckResult:
    """Expiry of the first certificate in a PEM (or DER) file: DOWN when fewer than ``warn_days`` remain."""
    from cryptography import x509

    target = f"cert:{Path(path).name}"
    try:
        data = Path(path).read_bytes()
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except OSError as exc:
        return CheckResult(target, CERT, False, None, f"cannot read {path}: {exc.strerror or exc}")
    except ValueError as exc:
        return CheckResult(target, CERT, False, None, f"not a certificate: {path}: {exc}")
    not_after = cert.not_valid_after_utc.replace(tzinfo=None)
    days = (not_after - (now or utcnow())).total_seconds() / 86400
    subject = cert.subject.rfc4514_string()[:200]
    detail = f"{path}: {subject}, not after {not_after:%Y-%m-%d %H:%M} UTC"
    if days < 0:
        return CheckResult(target, CERT, False, None, f"expired {-days:.0f} day(s) ago ({not_after:%Y-%m-%d})", detail)
    if days < warn_days:
        return CheckResult(target, CERT, False, None, f"expires in {days:.0f} day(s) ({not_after:%Y-%m-%d})", detail)
    return CheckResult(target, CERT, True, None, None, detail)


# --- the plan: which checks the configuration asks for -------------------------------------------------


@dataclass(frozen=True)
class PlannedCheck:
    """A check bound to its arguments (the queue check needs a connection and is run by the caller)."""

    target: str
    kind: str
    run: Callable[[], list[CheckResult]]


def self_address(host: str) -> str:
    """Where the module's own SCP is reached: its bind address, or loopback when it binds every address."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def plan_echo(config: Config) -> list[PlannedCheck]:
    """C-ECHO targets: the configured peers with a host (all, or those in health.echo_peers) and the self-check."""
    h, d = config.health, config.dicom
    calling = h.echo_calling_aet or d.ae_title
    from ris_ai_module.health.ai_hosts import echo_names

    named = echo_names(config)  # peers an AI host sends from are shown by the host's name
    plan = []
    for peer in d.peers:
        if not peer.host or (h.echo_peers and peer.name not in h.echo_peers):
            continue
        target = named.get(peer.name, peer.name)
        plan.append(PlannedCheck(target, ECHO, _bind(
            check_echo, target, peer.host, peer.port, peer.ae_title, calling, h.echo_timeout)))
    if h.self_check and d.enabled:
        ctx = _self_tls_context(config) if d.tls.enabled else None
        plan.append(PlannedCheck(SELF_TARGET, ECHO, _bind(
            check_echo, SELF_TARGET, self_address(d.host), d.port, d.ae_title, calling, h.echo_timeout, ctx)))
    return plan


def plan_http(config: Config) -> list[PlannedCheck]:
    """The ``[[health.http]]`` entries, and every AI host's API (``health/ai_hosts.py``)."""
    from ris_ai_module.health.ai_hosts import http_checks, relabel

    return [*(PlannedCheck(c.name, HTTP, _bind(check_http, c)) for c in config.health.http),
            *(PlannedCheck(c.name, HTTP, lambda c=c: [relabel(check_http(c))]) for c in http_checks(config))]


def plan_disk(config: Config) -> list[PlannedCheck]:
    paths = list(dict.fromkeys([config.storage.root, *config.health.disk_paths]))
    plan = [PlannedCheck(f"disk:{p}", DISK, _bind(check_disk, p, config.health.disk_min_free)) for p in paths if p]
    if config.dicom.enabled:
        plan.append(PlannedCheck(WATERMARK_TARGET, DISK, _bind(check_watermark, config.storage)))
    return plan


def cert_files(config: Config) -> list[str]:
    """Certificates the configuration uses (ours to renew) plus health.cert_files; CA bundles are not ours."""
    files = [config.push.client_cert, *(h.client_cert for h in config.push.hosts), config.dicom.tls.certificate,
             config.http.tls_certificate if config.http.enabled else "", *(c.client_cert for c in config.health.http),
             *config.health.cert_files]
    return list(dict.fromkeys(f for f in files if f))


def plan_cert(config: Config) -> list[PlannedCheck]:
    return [PlannedCheck(f"cert:{Path(f).name}", CERT, _bind(check_cert, f, config.health.cert_warn_days))
            for f in cert_files(config)]


def run_plan(plan: list[PlannedCheck]) -> list[CheckResult]:
    """Run checks one after another; a bug in one check becomes its failed result, not a dead job."""
    results: list[CheckResult] = []
    for item in plan:
        try:
            results.extend(item.run())
        except Exception as exc:  # noqa: BLE001 - a check must report, not crash the scheduler
            log.exception("check %s failed unexpectedly", item.target, extra={"action": "check_error"})
            results.append(CheckResult(item.target, item.kind, False, None, f"check error: {exc.__class__.__name__}: {exc}"))
    return results


def _bind(fn: Callable[..., CheckResult], *args: object) -> Callable[[], list[CheckResult]]:
    return lambda: [fn(*args)]


def _self_tls_context(config: Config) -> ssl.SSLContext:
    """The self-check speaks TLS like a peer: trusts the SCP's CA, presents the SCP's own certificate."""
    tls = config.dicom.tls
    ctx = ssl.create_default_context(cafile=tls.ca_file or None)
    ctx.check_hostname = False
    if not tls.ca_file:
        ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(tls.certificate, tls.private_key)
    return ctx


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc)
    if "] " in text and text.startswith("["):
        text = text.split("] ", 1)[1]
    return text[:300]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"


def _age(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:.0f}s"
