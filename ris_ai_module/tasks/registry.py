"""Which function handles which task kind. One entry per kind; no if-chains anywhere else.

Handlers are named by import path so that a kind whose package is absent in a slimmed install is
simply not served (and logged), instead of breaking start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ris_ai_module.context import AppContext
from ris_ai_module.optional import resolve
from ris_ai_module.tasks.model import Outcome, Task, TaskKind
from ris_ai_module.tasks.retry import RetryPolicy

log = logging.getLogger(__name__)

Handler = Callable[[Task, AppContext], Outcome]

TASK_HANDLERS: dict[TaskKind, str] = {
    TaskKind.EXAM_PUSH: "ris_ai_module.push.handler:run_exam_push",
    TaskKind.SR_APPLY: "ris_ai_module.report.apply:run_sr_apply",
}


#: Optional per-kind batch preparation, run once before the tasks of a claimed batch (saves a commit per task).
TASK_PREPARERS: dict[TaskKind, str] = {
    TaskKind.EXAM_PUSH: "ris_ai_module.push.handler:prepare_exam_pushes",
}

Preparer = Callable[[list[Task], AppContext], None]


def load_preparers() -> dict[str, Preparer]:
    return {k.value: f for k, t in TASK_PREPARERS.items() if (f := resolve(t)) is not None}


def load_handlers() -> dict[str, Handler]:
    found: dict[str, Handler] = {}
    for kind, target in TASK_HANDLERS.items():
        handler = resolve(target)
        if handler is None:
            log.warning("no handler module for %s (%s); such tasks wait", kind.value, target)
            continue
        found[kind.value] = handler
    return found


def retry_policy(ctx: AppContext, kind: str) -> RetryPolicy:
    """Retry policy per kind: the push policy from [push.retry]; SR apply retries fast and briefly."""
    if kind == TaskKind.EXAM_PUSH.value:
        return RetryPolicy.from_config(ctx.config.push.retry)
    return RetryPolicy(initial=5, multiplier=2, max_delay=300, max_attempts=10)
