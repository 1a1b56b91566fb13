"""``ris-ai-module run``: every component in one process, stopped cleanly on SIGINT/SIGTERM.

A component is anything with ``name``, ``start()`` and ``stop(timeout)``. Each part of the system
offers a ``make_component(ctx)`` that returns one, or None when the configuration leaves it off.
Components stop in the reverse of their start order: the web API, the scheduler and the SCP stop taking
new work first; the worker stops last, finishing its batch or handing unstarted tasks back.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Protocol

from sqlalchemy import inspect

from ris_ai_module.config.schema import Config
from ris_ai_module.context import AppContext, make_context
from ris_ai_module.errors import DatabaseError
from ris_ai_module.log import setup_logging
from ris_ai_module.optional import resolve

log = logging.getLogger(__name__)


class Component(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...


#: Factories of the components `run` hosts, in start order.
COMPONENT_FACTORIES = (
    "ris_ai_module.report.apply_process:make_component",  # before the worker: it stops after it
    "ris_ai_module.tasks.components:make_worker",
    "ris_ai_module.tasks.components:make_poller",
    "ris_ai_module.tasks.notify:make_component",
    "ris_ai_module.report.pending:make_component",
    "ris_ai_module.dicom.scp:make_component",
    "ris_ai_module.health.scheduler:make_component",
    "ris_ai_module.web.server:make_component",
)


def build_components(ctx: AppContext) -> list[Any]:
    components = []
    for target in COMPONENT_FACTORIES:
        factory = resolve(target)
        if factory is None:
            continue
        component = factory(ctx)
        if component is not None:
            components.append(component)
    return components


def check_schema(ctx: AppContext) -> None:
    """Refuse to start against a database without the module tables, with the command that fixes it."""
    try:
        names = {n.lower() for n in inspect(ctx.engine).get_table_names()}
    except Exception as exc:
        raise DatabaseError(f"cannot connect to database.url: {exc.__class__.__name__}: {exc}") from exc
    if "rai_task" not in names:
        raise DatabaseError("the RAI_* tables are missing: run `ris-ai-module --config FILE init-db` first")


def run(config: Config, ready: threading.Event | None = None, stop: threading.Event | None = None) -> int:
    """Start every component, wait for SIGTERM/SIGINT or ``stop`` (the Windows service's stop request),
    then stop them all the same graceful way."""
    setup_logging(config.logging)
    ctx = make_context(config)
    check_schema(ctx)
    components = build_components(ctx)
    stopping = stop if stop is not None else threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    started = []
    try:
        for c in components:
            c.start()
            started.append(c)
            log.info("%s started", c.name, extra={"action": "component_started"})
        log.info("ris-ai-module running as %s", ctx.owner, extra={"action": "running"})
        if ready is not None:
            ready.set()
        while not stopping.wait(1.0):
            pass
    finally:
        ctx.stop.set()
        ctx.wake.set()
        for c in reversed(started):
            try:
                c.stop(30.0)
            except Exception:
                log.exception("stopping %s failed", c.name)
        ctx.engine.dispose()
        log.info("ris-ai-module stopped", extra={"action": "stopped"})
    return 0
