"""What each check target is *now*, one answer for every place that shows it (CLI, status page, metrics,
daily report): UP, FAILING (fewer than ``alerts.fail_threshold`` failures in a row: a blip, not an outage)
or DOWN (the threshold reached, as the alerts say). A target that is no longer in the configuration is
not current: its old rows stay in RAI_CHECK for the reports of past days, but it is not shown as a live
target.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.tables import check
from ris_ai_module.health.checks import plan_cert, plan_disk, plan_echo, plan_http
from ris_ai_module.health.review_check import TARGET as REVIEW_TARGET

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

UP, FAILING, DOWN, REMOVED = "UP", "FAILING", "DOWN", "REMOVED"
#: The targets the queue check always reports (health/checks.py check_queue, health/review_check.py).
QUEUE_TARGETS = ("queue:backlog", "queue:failed", REVIEW_TARGET)
#: How each state is shown to a person (Chinese first, the term IT searches for after it).
LABELS = {UP: "正常 OK", FAILING: "失败 FAILING", DOWN: "故障 DOWN", REMOVED: "已移除 REMOVED"}


def shown_state(ok: bool, failures_in_a_row: int, threshold: int) -> str:
    """UP after a success; FAILING below ``threshold`` consecutive failures; DOWN at or above it."""
    if ok:
        return UP
    return DOWN if failures_in_a_row >= max(1, threshold) else FAILING


_TARGETS: dict[int, frozenset[str]] = {}


def configured_targets(config: Config) -> frozenset[str]:
    """The names of every target the configuration checks now (the same plans the scheduler runs), worked
    out once per loaded configuration (a plan may read certificate files) and forgotten with it."""
    key = id(config)
    found = _TARGETS.get(key)
    if found is None:
        names = {p.target for plan in (plan_echo, plan_http, plan_disk, plan_cert) for p in plan(config)}
        found = _TARGETS[key] = frozenset(names | set(QUEUE_TARGETS))
        weakref.finalize(config, _TARGETS.pop, key, None)
    return found


def current_checks(conn: Connection, threshold: int, targets: frozenset[str] | None = None,
                   limit: int = 1000) -> list[dict[str, Any]]:
    """The latest result of each target (of ``targets`` when given), with ``failures_in_a_row`` (failed
    checks since its last success) and ``state``; ordered by target."""
    latest = select(check.c.target, func.max(check.c.check_id).label("check_id")).group_by(check.c.target).subquery()
    last_ok = (select(check.c.target, func.max(check.c.check_id).label("ok_id"))
               .where(check.c.ok == 1).group_by(check.c.target).subquery())
    run = (select(check.c.target, func.count().label("n"))
           .select_from(check.outerjoin(last_ok, last_ok.c.target == check.c.target))
           .where(check.c.ok == 0, check.c.check_id > func.coalesce(last_ok.c.ok_id, 0))
           .group_by(check.c.target).subquery())
    stmt = (select(check, func.coalesce(run.c.n, 0).label("failures_in_a_row"))
            .join(latest, latest.c.check_id == check.c.check_id)
            .outerjoin(run, run.c.target == check.c.target)
            .order_by(check.c.target).limit(limit))
    if targets is not None:
        stmt = stmt.where(check.c.target.in_(sorted(targets)))
    rows = []
    for r in conn.execute(stmt):
        row = dict(r._mapping)
        row["failures_in_a_row"] = int(row["failures_in_a_row"] or 0)
        row["state"] = shown_state(bool(row["ok"]), row["failures_in_a_row"], threshold)
        rows.append(row)
    return rows
