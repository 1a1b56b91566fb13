"""A round of checks of one kind: plan from the configuration, run, record in RAI_CHECK, then alert.

The scheduler runs one round per job; ``ris-ai-module check-now`` runs every kind once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ris_ai_module.context import AppContext
from ris_ai_module.health import store
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

log = logging.getLogger(__name__)

KINDS = (ECHO, HTTP, QUEUE, DISK, CERT)

#: Called with the recorded results of a round (the alert engine in the scheduler).
ResultSink = Callable[[Sequence[CheckResult]], None]


def run_kind(ctx: AppContext, kind: str) -> list[CheckResult]:
    """Run every configured check of ``kind`` once (no recording)."""
    cfg = ctx.config
    if kind == QUEUE:
        try:
            with ctx.engine.connect() as conn:
                return check_queue(conn, cfg.health.queue_max_age, cfg.health.queue_failed_window)
        except Exception as exc:  # noqa: BLE001 - the database being down is itself the finding
            log.warning("queue check failed: %s", exc, extra={"action": "check_error"})
            return [CheckResult("queue:backlog", QUEUE, False, None, f"database error: {exc.__class__.__name__}: {exc}"[:1000])]
    planner = {ECHO: plan_echo, HTTP: plan_http, DISK: plan_disk, CERT: plan_cert}[kind]
    return run_plan(planner(cfg))


def run_round(ctx: AppContext, kind: str, sink: ResultSink | None = None) -> list[CheckResult]:
    """Run, record (one transaction), hand the results to ``sink``; returns them."""
    results = run_kind(ctx, kind)
    if not results:
        return results
    with ctx.engine.begin() as conn:
        store.record(conn, results, ctx.owner)
    for r in results:
        if not r.ok:
            log.warning("check %s %s failed: %s", r.kind, r.target, r.error,
                        extra={"action": "check_failed", "target": r.target})
    if sink is not None:
        sink(results)
    return results
