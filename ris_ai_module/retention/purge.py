"""The retention job: gather each candidate object's state, ask ``rule.decide``, delete in bounded batches.

Run by the health scheduler's leader every ``storage.purge_interval`` (APScheduler, like the other periodic
jobs): one instance deletes. A purge is one transaction per object: its state is read again and decided, the
row gets ``PURGED_AT`` (guarded: only if still not purged) and commits; then the file is unlinked. A crash
between the two leaves a file whose row says purged (space, not data, is lost; logged), never a row whose file
was removed unrecorded. Candidates are scanned in (received_at, SOP UID) order from a cursor that wraps, so
objects kept for long (unsigned reports) never starve the ones that are due.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.db.clock import shown, utcnow
from ris_ai_module.db.tables import dicom_object, report_state, task
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.report.current import is_signed
from ris_ai_module.report.writer import blocked_reason, report_status
from ris_ai_module.retention.rule import Decision, ObjectState, TaskState, decide

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

log = logging.getLogger(__name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
#: Candidates looked at per round, as a multiple of storage.purge_batch (most may be kept).
SCAN_FACTOR = 5


def gather(conn: Connection, config: Config, row: Any, lock: bool = False) -> ObjectState:
    """The rule's view of one RAI_OBJECT row (tasks of the object, the exam's report state, the RIS report).
    ``lock``: the RIS report row is read FOR UPDATE, as an apply reads it, so a purge and an apply (a reapply
    after the report was re-opened) of the exam run one after the other."""
    sop, exam_key = row.sop_instance_uid, row.exam_key
    forwards: list[TaskState] = []
    applies: list[TaskState] = []
    state: dict[str, Any] | None = None
    ris_signed = False
    if exam_key:
        for t in conn.execute(select(task.c.kind, task.c.status, task.c.finished_at, task.c.payload).where(
                task.c.exam_key == exam_key, task.c.kind.in_(("SR_APPLY", "ARCHIVE_FORWARD")))):
            try:
                payload = json.loads(t.payload or "{}")
            except ValueError:
                payload = {}
            if payload.get("sop_instance_uid") != sop:
                continue
            (applies if t.kind == "SR_APPLY" else forwards).append(TaskState(t.status, _dt(t.finished_at)))
        found = conn.execute(select(report_state).where(report_state.c.exam_key == exam_key)).first()
        state = dict(found._mapping) if found is not None else None
        exists, status = report_status(conn, config.report, exam_key, lock=lock)
        ris_signed = exists and blocked_reason(config.report, exists, status) is not None
    archive = config.archive
    forward_required = archive.forwards(row.sop_class_uid)
    return ObjectState(
        sop_instance_uid=sop, received_at=_dt(row.received_at), is_sr=row.sop_class_uid.startswith(SR_CLASS_PREFIX),
        exam_key=exam_key, review_state=row.review_state, purged_at=_dt(row.purged_at),
        forward_required=forward_required, forward_tasks=tuple(forwards),
        commitment_required=forward_required and archive.commitment.enabled, committed_at=_dt(row.committed_at),
        apply_tasks=tuple(applies), report_state=state["state"] if state else None,
        report_sop=state["sop_instance_uid"] if state else None,
        signed_at=_dt(state["signed_checked_at"]) if state and is_signed(state) else None,
        ris_signed=ris_signed,
    )


@dataclass
class RoundResult:
    examined: int = 0
    purged: int = 0
    bytes_freed: int = 0
    unlink_errors: int = 0


class Purger:
    """One per scheduler; keeps the scan cursor between rounds."""

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config
        self.area = StorageArea.from_config(config.storage)
        self.cursor: tuple[datetime, str] | None = None

    def run_once(self, now: datetime | None = None) -> RoundResult:
        cfg = self.config.storage
        out = RoundResult()
        keep_for = timedelta(seconds=float(cfg.keep_for))
        if keep_for <= timedelta(0):
            return out
        now = now or utcnow()
        o = dicom_object
        stmt = (select(o.c.sop_instance_uid, o.c.received_at)
                .where(o.c.purged_at.is_(None), o.c.exam_key.is_not(None),
                       or_(o.c.review_state.is_(None), o.c.review_state != "NEEDS_REVIEW"),
                       o.c.received_at <= now - keep_for)
                .order_by(o.c.received_at, o.c.sop_instance_uid).limit(int(cfg.purge_batch) * SCAN_FACTOR))
        if self.cursor is not None:
            stmt = stmt.where(tuple_(o.c.received_at, o.c.sop_instance_uid) > tuple_(*self.cursor)) \
                if self.engine.dialect.name != "sqlite" else stmt.where(or_(
                    o.c.received_at > self.cursor[0],
                    and_(o.c.received_at == self.cursor[0], o.c.sop_instance_uid > self.cursor[1])))
        with self.engine.connect() as conn:
            candidates = conn.execute(stmt).all()
        self.cursor = (candidates[-1].received_at, candidates[-1].sop_instance_uid) \
            if len(candidates) == int(cfg.purge_batch) * SCAN_FACTOR else None  # a short page: wrap around
        for cand in candidates:
            if out.purged >= int(cfg.purge_batch):
                self.cursor = (cand.received_at, cand.sop_instance_uid)
                break
            out.examined += 1
            purged = self.purge_one(cand.sop_instance_uid, now, keep_for)
            if purged is not None:
                out.purged += 1
                out.bytes_freed += purged[0]
                out.unlink_errors += 0 if purged[1] else 1
        if out.purged:
            log.info("storage retention: %d file(s) deleted, %d bytes freed (%d examined)", out.purged,
                     out.bytes_freed, out.examined, extra={"action": "retention_purged"})
        return out

    def purge_one(self, sop: str, now: datetime, keep_for: timedelta) -> tuple[int, bool] | None:
        """(file size, unlinked) when purged now, else None. Decided again inside its own transaction."""
        o = dicom_object
        with self.engine.begin() as conn:
            row = conn.execute(select(o).where(o.c.sop_instance_uid == sop)).first()
            if row is None:
                return None
            decision: Decision = decide(gather(conn, self.config, row, lock=True), now, keep_for)
            if not decision.purge:
                return None
            done = conn.execute(update(o).where(o.c.sop_instance_uid == sop, o.c.purged_at.is_(None))
                                .values(purged_at=now))
            if done.rowcount != 1:
                return None
        path = self.area.path_of(row.file_path)
        try:
            path.unlink()
            unlinked = True
        except FileNotFoundError:
            unlinked = True
        except OSError as exc:
            unlinked = False
            log.error("storage retention: %s marked purged but its file %s could not be deleted: %s", sop, path, exc,
                      extra={"action": "retention_unlink_failed"})
        log.info("storage retention: deleted %s (%s)", sop, decision.reason, extra={"action": "retention_deleted"})
        return int(row.file_size or 0), unlinked


def explain(conn: Connection, config: Config, sop: str, now: datetime | None = None) -> Decision | None:
    """Why an object is kept or would be purged now (the trace); None when there is no such object."""
    row = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).first()
    if row is None:
        return None
    return explain_row(conn, config, row, now)


def explain_row(conn: Connection, config: Config, row: Any, now: datetime | None = None) -> Decision:
    """``explain`` of a RAI_OBJECT row already read (the ``objects`` command, the exam trace). With retention off
    nothing is gathered: the answer does not depend on the object's state."""
    keep_for = timedelta(seconds=float(config.storage.keep_for))
    if keep_for <= timedelta(0) and row.purged_at is None:
        return Decision(False, "retention off (storage.keep_for = 0)")
    return decide(gather(conn, config, row), now or utcnow(), keep_for)


def shown_reason(decision: Decision, zone: tzinfo) -> str:
    """The reason as a person reads it: a time in ``module.timezone`` with its offset (db/clock.shown)."""
    if decision.until is not None:
        return f"kept until {shown(decision.until, zone, '%Y-%m-%d %H:%M')} (storage.keep_for)"
    if decision.purge and decision.done_at is not None:
        return f"due for deletion at the next run (done at {shown(decision.done_at, zone, '%Y-%m-%d %H:%M')})"
    return decision.reason


def shown_explanation(conn: Connection, config: Config, row: Any, zone: tzinfo) -> dict[str, Any]:
    """``explain_row`` as the trace and the ``objects`` command show it. A listing must not fail because the RIS
    report table cannot be read now (a grant, a locked row): the reason then says so."""
    try:
        decision = explain_row(conn, config, row)
    except Exception as exc:  # noqa: BLE001 - shown, logged; the rest of the trace or listing stands
        log.warning("storage retention: cannot tell why %s is kept: %s", row.sop_instance_uid, exc,
                    extra={"action": "retention_explain_failed"})
        return {"purge_due": False, "reason": f"cannot tell now ({type(exc).__name__}: {exc})"[:300],
                "kept_until_at": None}
    if decision.reason == "already purged" and row.purged_at is not None:
        return {"purge_due": False, "reason": purged_text(row.purged_at, zone, short=True), "kept_until_at": None}
    return {"purge_due": decision.purge, "reason": shown_reason(decision, zone), "kept_until_at": decision.until}


def purged_text(purged_at: Any, zone: tzinfo, short: bool = False) -> str:
    """Where the file of a purged object went, in ``module.timezone``."""
    text = f"deleted by storage retention at {shown(_dt(purged_at), zone)}"
    return text if short else text + " (storage.keep_for); the row is kept"


def statistics(conn: Connection, keep_for: float, since: datetime | None = None,
               until: datetime | None = None) -> dict[str, Any]:
    """Kept / purged counts and bytes (all time), and purged in [since, until) when given."""
    o = dicom_object
    size = func.coalesce(func.sum(o.c.file_size), 0)

    def count(*where: Any) -> tuple[int, int]:
        n, b = conn.execute(select(func.count(), size).select_from(o).where(*where)).one()
        return int(n), int(b)

    kept, kept_bytes = count(o.c.purged_at.is_(None))
    purged, purged_bytes = count(o.c.purged_at.is_not(None))
    out: dict[str, Any] = {"enabled": float(keep_for) > 0, "keep_for_days": round(float(keep_for) / 86400, 2),
                           "kept": kept, "kept_bytes": kept_bytes, "purged": purged, "purged_bytes": purged_bytes}
    if since is not None and until is not None:
        n, b = count(o.c.purged_at >= since, o.c.purged_at < until)
        out.update(purged_in_period=n, bytes_freed_in_period=b)
    gb = 1024**3
    out["summary"] = ("off (storage.keep_for = 0): every file kept" if not out["enabled"] else
                      f"keep_for {out['keep_for_days']} d; kept {kept} ({kept_bytes / gb:.2f} GB); purged {purged} "
                      f"({purged_bytes / gb:.2f} GB freed)" +
                      (f"; in the period purged {out['purged_in_period']} ({out['bytes_freed_in_period'] / gb:.2f} GB)"
                       if "purged_in_period" in out else ""))
    return out


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value
