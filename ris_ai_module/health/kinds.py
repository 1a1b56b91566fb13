"""The kinds of health check, one entry each: what it is called, how often and how it runs, how it shows.

The runner, the scheduler, the report renderer and the alert channels all iterate this one registry, so a
new kind of check is one entry here (plus its ``check_*`` function), not an edit in four files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ris_ai_module.health.checks import (
    CERT,
    DISK,
    ECHO,
    HTTP,
    QUEUE,
    CheckResult,
    check_queue,
    plan_cert,
    plan_disk,
    plan_echo,
    plan_http,
    run_plan,
)
from ris_ai_module.health.review_check import check_review
from ris_ai_module.health.section import HealthConfig
from ris_ai_module.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckKind:
    """``name`` is the value stored in RAI_CHECK.KIND; ``title`` is how the report and the alerts name it
    (Chinese first, with the English term IT searches for). ``peer`` kinds are network peers: their
    availability and latency make the report's first table; the others are listed as "other checks"."""

    name: str
    title: str
    peer: bool
    interval: Callable[[HealthConfig], float]
    run: Callable[[Services], list[CheckResult]]


def _planned(planner: Callable[..., list]) -> Callable[[Services], list[CheckResult]]:
    return lambda services: run_plan(planner(services.config))


def _queue(services: Services) -> list[CheckResult]:
    cfg = services.config.health
    try:
        with services.engine.connect() as conn:
            return [*check_queue(conn, cfg.queue_max_age, cfg.queue_failed_window),
                    check_review(conn, services.config.review.alert_after)]  # objects held for review
    except Exception as exc:  # noqa: BLE001 - the database being down is itself the finding
        log.warning("queue check failed: %s", exc, extra={"action": "check_error"})
        return [CheckResult("queue:backlog", QUEUE, False, None,
                            f"database error: {exc.__class__.__name__}: {exc}"[:1000])]


CHECK_KINDS: tuple[CheckKind, ...] = (
    CheckKind(ECHO, "DICOM C-ECHO", True, lambda h: float(h.echo_interval), _planned(plan_echo)),
    CheckKind(HTTP, "HTTP", True, lambda h: float(h.http_interval), _planned(plan_http)),
    CheckKind(QUEUE, "任务队列 Queue", False, lambda h: float(h.queue_interval), _queue),
    CheckKind(DISK, "磁盘空间 Disk", False, lambda h: float(h.disk_interval), _planned(plan_disk)),
    CheckKind(CERT, "TLS 证书 Certificate", False, lambda h: float(h.cert_interval), _planned(plan_cert)),
)

_BY_NAME = {k.name: k for k in CHECK_KINDS}


def check_kind(name: str) -> CheckKind:
    """The kind named ``name``; KeyError for a kind this version does not know."""
    return _BY_NAME[name]


def title(name: str) -> str:
    """How a stored kind is shown; a kind from a newer version shows as stored."""
    kind = _BY_NAME.get(name)
    return kind.title if kind is not None else name


def is_peer(name: str) -> bool:
    kind = _BY_NAME.get(name)
    return kind.peer if kind is not None else False
