"""A round of checks of one kind: plan from the configuration, run, record in RAI_CHECK, then alert.

The scheduler runs one round per job; ``ris-ai-module check-now`` runs every kind once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from ris_ai_module.health import store
from ris_ai_module.health.checks import CheckResult
from ris_ai_module.health.kinds import CHECK_KINDS, check_kind
from ris_ai_module.services import Services

log = logging.getLogger(__name__)

#: Every kind, in the order check-now runs them.
KINDS = tuple(k.name for k in CHECK_KINDS)

#: Called with the recorded results of a round (the alert engine in the scheduler).
ResultSink = Callable[[Sequence[CheckResult]], None]


def run_kind(ctx: Services, kind: str) -> list[CheckResult]:
    """Run every configured check of ``kind`` once (no recording)."""
    return check_kind(kind).run(ctx)


def run_round(ctx: Services, kind: str, sink: ResultSink | None = None, instance: str = "") -> list[CheckResult]:
    """Run, record (one transaction) as ``instance``, hand the results to ``sink``; returns them."""
    results = run_kind(ctx, kind)
    if not results:
        return results
    with ctx.engine.begin() as conn:
        store.record(conn, results, instance or getattr(ctx, "owner", "") or ctx.config.module.instance_name)
    for r in results:
        if not r.ok:
            log.warning("check %s %s failed: %s", r.kind, r.target, r.error,
                        extra={"action": "check_failed", "target": r.target})
    if sink is not None:
        sink(results)
    return results
