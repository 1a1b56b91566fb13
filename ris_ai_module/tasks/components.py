"""Components of ``run`` from the tasks package: the worker and, in polling mode, the poller."""

from __future__ import annotations

from ris_ai_module.context import AppContext
from ris_ai_module.periodic import PeriodicComponent
from ris_ai_module.push.poller import make_poller as _poller
from ris_ai_module.tasks.worker import Worker


def make_worker(ctx: AppContext) -> Worker | None:
    return Worker(ctx) if ctx.config.worker.enabled else None


def make_poller(ctx: AppContext) -> PeriodicComponent | None:
    return _poller(ctx) if ctx.config.ris.detect == "poll" else None
