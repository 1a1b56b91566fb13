"""``ris-ai-module run``: the composition root. Every component in one process, stopped cleanly.

A component is anything with ``name``, ``start()`` and ``stop(timeout)``. This module is the one place
that knows the parts: it builds each component with what it needs (engine, its config section, the
process's stop and wake events) and registers each task kind's handler with the worker. A part that is
configured off is left out, and the log says so; a part that fails to build stops start-up.
Components stop in the reverse of their start order: the web API, the scheduler and the SCP stop taking
new work first; the worker stops last, finishing its batch or handing unstarted tasks back.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import inspect

from ris_ai_module.context import AppContext, make_context
from ris_ai_module.errors import DatabaseError, SchemaMissing
from ris_ai_module.log import setup_logging
from ris_ai_module.periodic import PeriodicComponent
from ris_ai_module.services import hooks_of
from ris_ai_module.settings import Config
from ris_ai_module.tasks.registry import HandlerRegistry, TaskHandler
from ris_ai_module.tasks.worker import Worker

log = logging.getLogger(__name__)


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...


def task_handlers(ctx: AppContext, apply_pool: Any | None = None) -> list[TaskHandler]:
    """Every task kind this module serves, one line each: adding a kind adds its line here."""
    from ris_ai_module.archive.commitment import StgcmtRequestHandler
    from ris_ai_module.archive.forward_handler import ArchiveForwardHandler
    from ris_ai_module.dicom.stgcmt_scp import StgcmtReportHandler
    from ris_ai_module.fhir.handler import FhirReportHandler
    from ris_ai_module.push.handler import ExamPushHandler
    from ris_ai_module.report.handler import SrApplyHandler
    from ris_ai_module.results.hl7_handler import Hl7OruHandler
    from ris_ai_module.results.outbox_handler import OutboxHandler

    return [
        ExamPushHandler(ctx.engine, ctx.config.push, hooks_of(ctx)),
        SrApplyHandler(ctx, pool=apply_pool),
        OutboxHandler(ctx.engine, ctx.config),
        Hl7OruHandler(ctx.engine, ctx.config),
        FhirReportHandler(ctx.engine, ctx.config),
        ArchiveForwardHandler(ctx.engine, ctx.config),
        StgcmtReportHandler(ctx.engine, ctx.config),
        StgcmtRequestHandler(ctx.engine, ctx.config),
    ]


def make_worker(ctx: AppContext, handlers: Sequence[TaskHandler] | None = None) -> Worker:
    """The worker over ``handlers`` (default: every kind, SR_APPLY in this process's threads)."""
    from ris_ai_module.push.campus import campus_claim_filter

    registry = HandlerRegistry(task_handlers(ctx) if handlers is None else handlers)
    only = campus_claim_filter(ctx.config.ris.campus_column, ctx.config.module.campuses)
    return Worker(ctx.engine, ctx.config.worker, ctx.owner, registry, stop=ctx.stop, wake=ctx.wake, only=only)


def make_poller(ctx: AppContext) -> PeriodicComponent | None:
    """Polling mode (``ris.detect = "poll"``): the push side's exam-start poller on a timer."""
    from ris_ai_module.push.poller import poll_started_exams

    if ctx.config.ris.detect != "poll":
        return None
    return PeriodicComponent("poller", lambda: poll_started_exams(ctx), float(ctx.config.ris.poll_interval),
                             ctx.stop, ctx.wake)


def make_pending_checker(ctx: AppContext) -> PeriodicComponent | None:
    """Re-checks reports that were not writable, where the worker runs (it applies what this enqueues)."""
    from ris_ai_module.report.pending import retry_pending

    if not ctx.config.worker.enabled:
        return None
    return PeriodicComponent("report-pending", lambda: retry_pending(ctx),
                             float(ctx.config.report.pending_check_interval), ctx.stop, ctx.wake,
                             first_round_now=False)


def make_acceptance_checker(ctx: AppContext) -> PeriodicComponent | None:
    """Compares newly signed reports with the AI values the module wrote (issue 9), where the worker runs."""
    from ris_ai_module.report.acceptance import compare_signed

    if not ctx.config.worker.enabled:
        return None
    return PeriodicComponent("report-acceptance", lambda: compare_signed(ctx),
                             float(ctx.config.report.pending_check_interval), ctx.stop, ctx.wake,
                             first_round_now=False)


def build_components(ctx: AppContext, config_file: str | None = None, apply_pool: bool = True) -> list[Any]:
    """The components of ``run``, in start order (``apply_pool`` False: SR_APPLY on the worker's threads)."""
    from ris_ai_module.dicom.inbox import make_component as make_inbox
    from ris_ai_module.dicom.scp import make_component as make_scp
    from ris_ai_module.health.scheduler import make_component as make_scheduler
    from ris_ai_module.housekeeping import make_component as make_housekeeping
    from ris_ai_module.report.apply_pool import ApplyPool
    from ris_ai_module.tasks.notify import PgListener
    from ris_ai_module.web.name_index import make_component as make_name_index
    from ris_ai_module.web.server import make_component as make_web

    cfg = ctx.config
    parts: list[tuple[str, Any]] = []
    if cfg.worker.enabled:
        pool = ApplyPool(cfg, config_file) if apply_pool else None  # before the worker: it stops after it
        parts.append(("sr-apply-pool", pool))
        parts.append(("worker", make_worker(ctx, task_handlers(ctx, apply_pool=pool))))
    else:
        parts.append(("worker", None))
    parts.append(("poller", make_poller(ctx)))
    listen = ctx.engine.dialect.name == "postgresql" and cfg.worker.pg_notify and cfg.worker.enabled
    parts.append(("pg-listener", PgListener(ctx.engine.url, ctx.stop, ctx.wake) if listen else None))
    parts.append(("report-pending", make_pending_checker(ctx)))
    parts.append(("report-acceptance", make_acceptance_checker(ctx)))
    parts.append(("dicom-scp", make_scp(ctx)))
    parts.append(("inbox", make_inbox(ctx)))
    parts.append(("health-scheduler", make_scheduler(ctx)))
    parts.append(("housekeeping", make_housekeeping(ctx)))  # storage retention, audit purge: whatever health is
    parts.append(("web", make_web(ctx)))
    parts.append(("name-index", make_name_index(ctx)))
    components = []
    for name, component in parts:
        if component is None:
            log.info("%s: off in this configuration", name, extra={"action": "component_off"})
        else:
            components.append(component)
    return components


def check_schema(ctx: AppContext) -> None:
    """Refuse to start against a database without the module tables, with the command that fixes it."""
    try:
        names = {n.lower() for n in inspect(ctx.engine).get_table_names()}
    except Exception as exc:
        raise DatabaseError(f"cannot connect to database.url: {exc.__class__.__name__}: {exc}") from exc
    if "rai_task" not in names:
        raise SchemaMissing("the RAI_* tables are missing: run `ris-ai-module --config FILE init-db` first")


class Service:
    """Every component of ``run`` in this process, started and stopped by its host.

    Threads only: no signal handler is installed, logging is left as the host configured it. ``run`` (the
    command) and ``ris_ai_module.api.start`` both use it.
    """

    def __init__(self, ctx: AppContext, config_file: str | None = None, apply_pool: bool = True) -> None:
        self.ctx = ctx
        self.config_file = config_file
        self.apply_pool = apply_pool
        self.started: list[Any] = []

    def start(self) -> None:
        """Start every component in order; if one fails, those started are stopped again and it raises."""
        check_schema(self.ctx)
        components = build_components(self.ctx, self.config_file, self.apply_pool)
        try:
            for c in components:
                c.start()
                self.started.append(c)
                log.info("%s started", c.name, extra={"action": "component_started"})
        except BaseException:
            self.stop()
            raise
        log.info("ris-ai-module running as %s", self.ctx.owner, extra={"action": "running"})

    def stop(self, timeout: float = 30.0) -> None:
        """Stop in reverse order (new work first, the worker last); safe to call twice."""
        self.ctx.stop.set()
        self.ctx.wake.set()
        while self.started:
            c = self.started.pop()
            try:
                c.stop(timeout)
            except Exception:
                log.exception("stopping %s failed", c.name)
        log.info("ris-ai-module stopped", extra={"action": "stopped"})


def run(config: Config, ready: threading.Event | None = None, stop: threading.Event | None = None,
        config_file: str | None = None) -> int:
    """The ``run`` command: start every component, wait for SIGTERM/SIGINT or ``stop`` (the Windows
    service's stop request), then stop them all the same graceful way; returns the exit status."""
    setup_logging(config.logging, config.module.timezone)
    ctx = make_context(config)
    service = Service(ctx, config_file)
    stopping = stop if stop is not None else threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    try:
        service.start()
        if ready is not None:
            ready.set()
        while not stopping.wait(1.0):
            pass
    finally:
        service.stop()
        ctx.engine.dispose()
    return 0
