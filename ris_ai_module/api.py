"""The public Python API, for a RIS vendor who runs the module inside its own process.

Stable, documented in ``docs/api.md``; everything else in the package is internal. Errors are the
``ris_ai_module.errors`` tree (ConfigError, NotFound, InvalidInput, DatabaseError), never a traceback
of ours for bad input. Nothing here installs a signal handler or touches the host's logging set-up.

    from ris_ai_module import api

    with api.opened("/etc/ris-ai-module/config.toml") as m:
        parsed = api.parse_sr("/data/echo.dcm")
        api.preview_sr(m, "/data/echo.dcm", exam_key="E0001")
        service = api.start(m)          # SCP, worker, scheduler, web: threads of this process
        ...
        service.stop()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ris_ai_module.context import AppContext
from ris_ai_module.db.engine import make_engine
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.hooks import HookStats
from ris_ai_module.settings import Config, config_from_dict, load_config
from ris_ai_module.sr.model import ParsedSR
from ris_ai_module.startup import check_config
from ris_ai_module.tasks.model import Outcome

__all__ = [
    "Applied", "Module", "Preview", "PreviewItem", "Service", "apply_sr", "hook_stats", "import_sr", "open_module",
    "opened", "parse_sr", "preview_sr", "push_exam", "search_exams", "start",
]

Source = str | os.PathLike[str] | bytes


class Module(AppContext):
    """A host's handle on the module: its configuration, database engine and hooks. Close it when done."""

    def close(self) -> None:
        self.engine.dispose()


def open_module(config: str | os.PathLike[str] | Config | dict[str, Any]) -> Module:
    """Load and check a configuration (a TOML file, a Config, or a dict as the TOML would give) and connect."""
    if isinstance(config, dict):
        cfg = config_from_dict(config)
    elif isinstance(config, Config):
        cfg = config
    else:
        cfg = load_config(config)
    check_config(cfg)
    return Module(config=cfg, engine=make_engine(cfg.database))


@contextmanager
def opened(config: str | os.PathLike[str] | Config | dict[str, Any]) -> Iterator[Module]:
    """``open_module`` as a context manager: the engine is disposed at the end."""
    module = open_module(config)
    try:
        yield module
    finally:
        module.close()


# ------------------------------------------------------------------------------------------------ SR
def parse_sr(source: Source, overlay: str | os.PathLike[str] | None = None) -> ParsedSR:
    """Every measurement of one SR (a file path or the file's bytes); problems are in ``.warnings``.

    Raises InvalidInput when the data is not a DICOM SR at all.
    """
    from ris_ai_module.sr.parse import parse_sr_bytes, parse_sr_file

    if isinstance(source, bytes):
        return parse_sr_bytes(source, overlay_file=overlay)
    return parse_sr_file(source, overlay_file=overlay)


@dataclass(frozen=True)
class PreviewItem:
    key: str
    name_zh: str
    name_en: str
    value: float
    unit: str
    display: str


@dataclass(frozen=True)
class Preview:
    """What applying an SR to an exam would write, without writing anything."""

    exam_key: str
    sop_instance_uid: str
    items: list[PreviewItem]
    would_write: bool
    #: Why it would not be written (a signed report, a hook holding it), or None.
    reason: str | None
    warnings: list[str] = field(default_factory=list)


def preview_sr(module: Module, source: Source, exam_key: str) -> Preview:
    """The report items an SR gives for ``exam_key`` and whether the report could be written now."""
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.report.apply import hook_items
    from ris_ai_module.report.display import report_items
    from ris_ai_module.report.writer import blocked_reason, report_status

    parsed = parse_sr(source, overlay=module.config.sr.catalog_overlay or None)
    items = report_items(module.config.report, parsed.measurements, parsed.sop_instance_uid)
    with module.engine.connect() as conn:
        if get_exam(conn, exam_key) is None:
            raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
        exists, status = report_status(conn, module.config.report, exam_key)
    reason = blocked_reason(module.config.report, exists, status)
    if reason is None and module.hooks is not None:
        reason = module.hooks.may_write_report(exam_key, hook_items(items))
    return Preview(exam_key, parsed.sop_instance_uid,
                   [PreviewItem(i.key, i.name_zh, i.name_en, i.value, i.unit, i.display) for i in items],
                   reason is None, reason, list(parsed.warnings))


@dataclass(frozen=True)
class Applied:
    sop_instance_uid: str
    exam_key: str | None
    #: APPLIED, PENDING (report not writable yet), HELD (by a hook), SUPERSEDED, UNLINKED, NEEDS_REVIEW (held for
    #: review by the link rules or the patient check; ``detail`` says why) or FAILED.
    state: str
    detail: str


def import_sr(module: Module, source: Source, exam_key: str | None = None) -> Applied:
    """Store an SR as the manual upload does (durably, indexed, linked: to ``exam_key`` when given) and
    apply it to its exam now, in this thread. The same SR again changes nothing."""
    import tempfile

    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.dicom.ingest import Received, ingest
    from ris_ai_module.dicom.storage import StorageArea

    if exam_key is not None:
        with module.engine.connect() as conn:
            if get_exam(conn, exam_key) is None:
                raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    cfg = module.config.storage
    area = StorageArea(cfg.root, cfg.min_free)
    area.prepare(clean_older_than=None)
    if isinstance(source, bytes):
        with tempfile.TemporaryFile() as fh:
            fh.write(source)
            fh.seek(0)
            temp = area.copy_in(fh)
    else:
        with open(source, "rb") as fh:
            temp = area.copy_in(fh)
    outcome = ingest(module, area, Received(temp=temp, source="IMPORT", sender_ae="API", exam_key=exam_key))
    if not outcome.ok:
        raise InvalidInput("source", f"not stored (0x{outcome.status:04X}): {outcome.comment}")
    return apply_sr(module, outcome.sop_instance_uid)


def apply_sr(module: Module, sop_instance_uid: str) -> Applied:
    """Apply a stored SR (by SOP Instance UID) to its exam now, in this thread."""
    from sqlalchemy import select

    from ris_ai_module.db.tables import dicom_object
    from ris_ai_module.report.apply import apply_sr as _apply

    state, detail = _apply(module, sop_instance_uid)
    with module.engine.connect() as conn:
        exam_key = conn.execute(select(dicom_object.c.exam_key)
                                .where(dicom_object.c.sop_instance_uid == sop_instance_uid)).scalar()
    return Applied(sop_instance_uid, exam_key, state, detail)


# ---------------------------------------------------------------------------------------------- exams
def push_exam(module: Module, exam_key: str, by: str = "api") -> Outcome:
    """Push one exam to the AI host now (a new task, so a new idempotency key) and record the attempt.

    Returns the Outcome: ``.kind`` DONE / RETRY (scheduled again) / FAILED, ``.attempt`` what the AI host
    answered. Raises NotFound for an exam not in RAI_V_EXAM.
    """
    from ris_ai_module.push.handler import ExamPushHandler, request_push
    from ris_ai_module.services import hooks_of
    from ris_ai_module.tasks import queue

    with module.engine.begin() as conn:
        task_id = request_push(conn, exam_key, by=by)
    claimed = queue.claim(module.engine, module.owner, float(module.config.worker.lease), 1, task_ids=[task_id])
    if not claimed:
        return Outcome.retry(f"task {task_id} was taken by a running worker")
    handler = ExamPushHandler(module.engine, module.config.push, hooks_of(module))
    outcome = handler.handle(claimed[0])
    queue.record_outcomes(module.engine, module.owner, [queue.Finished(claimed[0], outcome, claimed[0].created_at)],
                          lambda _kind: handler.retry_policy)
    return outcome


def search_exams(module: Module, name: str | None = None, patient_id: str | None = None,
                 accession: str | None = None, date_from: datetime | None = None,
                 date_to: datetime | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Exams of RAI_V_EXAM, newest first, with their push status; and the total before paging.

    ``name`` matches part of the patient name, or its pinyin (``zhangsan``, ``zs``).
    """
    from ris_ai_module.web.lookup import ExamQuery
    from ris_ai_module.web.lookup import search_exams as _search

    if not 1 <= limit <= 1000:
        raise InvalidInput("limit", f"expected 1 to 1000, got {limit}")
    with module.engine.connect() as conn:
        return _search(conn, ExamQuery(name, patient_id, accession, date_from, date_to, limit, offset))


# ---------------------------------------------------------------------------------------------- service
class Service:
    """The running module (DICOM SCP, worker, health scheduler, web API) as threads of the host process."""

    def __init__(self, module: Module, config_file: str | None, apply_pool: bool) -> None:
        from ris_ai_module.runtime import Service as _Service

        self._service = _Service(module, config_file, apply_pool=apply_pool)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking new work, finish or hand back what is in hand, stop every thread."""
        self._service.stop(timeout)

    @property
    def components(self) -> list[str]:
        return [c.name for c in self._service.started]


def start(module: Module, config_file: str | os.PathLike[str] | None = None, apply_in_process: bool = False) -> Service:
    """Start the service in this process. No signal handler is taken over; call ``stop()`` yourself.

    SR_APPLY runs in a helper process (a spawned process pool that loads ``config_file``, or a copy of the
    module's configuration, and the hook module by name) so that it does not compete with the SCP for this
    interpreter's GIL; with ``apply_in_process`` it runs on the worker's threads instead.
    """
    service = Service(module, None if config_file is None else str(Path(config_file)), not apply_in_process)
    service._service.start()
    return service


def hook_stats(module: Module) -> dict[str, HookStats]:
    """Calls, failures, timeouts and disabled state of every hook that is loaded."""
    return dict(module.hooks.stats) if module.hooks is not None else {}
