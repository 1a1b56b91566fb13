"""The IT report of a period: what hospital IT reads every morning (and ``ris-ai-module health-report``).

Gathered from RAI_CHECK (availability, latency, failures), RAI_TASK (exams pushed/failed/pending),
RAI_OBJECT (objects received, unlinked), RAI_REPORT_STATE (SR applied, reports pending because signed)
and RAI_ASSOC_REJECT (who was turned away). Periods are local days; the tables hold naive UTC.
Rendering (text, HTML, CSV) is in ``render.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ris_ai_module.db.clock import display_zone, to_zone, utcnow
from ris_ai_module.db.tables import assoc_reject, dicom_object, report_state, task
from ris_ai_module.health import store
from ris_ai_module.health.current import REMOVED, UP, shown_state
from ris_ai_module.health.kinds import is_peer
from ris_ai_module.tasks.model import TaskKind, TaskStatus

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


@dataclass(frozen=True)
class FailureRun:
    """Consecutive failed checks of one target with the same error, collapsed: IT reads one line, not 300."""

    start: datetime  # local time
    end: datetime
    count: int
    error: str


@dataclass(frozen=True)
class TargetStats:
    target: str
    kind: str
    checks: int
    ok: int
    p50_ms: float | None
    p95_ms: float | None
    failures: list[FailureRun]
    last_ok: bool | None = None
    last_detail: str | None = None
    #: At the end of the period: UP, FAILING (below alerts.fail_threshold failures in a row), DOWN, or
    #: REMOVED (no longer in the configuration: its past checks are reported, its state is not current).
    state: str = UP
    failures_in_a_row: int = 0

    @property
    def availability(self) -> float | None:
        """Percent of checks that succeeded (None without checks)."""
        return None if not self.checks else 100.0 * self.ok / self.checks


@dataclass(frozen=True)
class RejectStats:
    calling_ae: str
    address: str
    count: int
    last_at: datetime  # aware, in the display zone
    reason: str


@dataclass
class ReportData:
    hospital: str
    instance: str
    since: datetime  # aware, in the display zone, inclusive
    until: datetime  # aware, in the display zone, exclusive
    generated_at: datetime  # aware, in the display zone
    peers: list[TargetStats] = field(default_factory=list)
    others: list[TargetStats] = field(default_factory=list)
    exams: dict[str, int] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    rejects: list[RejectStats] = field(default_factory=list)
    #: What doctors did with the AI values of reports signed in the period, and results that never came.
    acceptance: dict[str, Any] = field(default_factory=dict)
    #: The storage volume now (free space against the watermark), associations refused below it in the
    #: period, and storage retention (kept, purged, bytes freed); empty when [storage] was not given.
    storage: dict[str, Any] = field(default_factory=dict)
    #: Archive forwarding and the archive's Storage Commitment (counts of DICOM objects: one ARCHIVE_FORWARD and
    #: one STGCMT_REQUEST task per object); empty when [archive] is off.
    archive: dict[str, Any] = field(default_factory=dict)

    @property
    def failure_count(self) -> int:
        return sum(t.checks - t.ok for t in self.peers + self.others)


def local_midnight_utc(day: date, zone: tzinfo | None = None) -> datetime:
    """00:00 of ``day`` in the display zone (``module.timezone``) as naive UTC (the form of every RAI_* timestamp)."""
    return datetime.combine(day, time(), tzinfo=zone or display_zone()).astimezone(timezone.utc).replace(tzinfo=None)


def to_local(ts: Any, zone: tzinfo | None = None) -> datetime:
    """Naive UTC from the database (a string on some drivers for aggregates) -> an aware time in the display
    zone, which the templates show with its label (db/clock.shown)."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return to_zone(ts, zone or display_zone())


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (a value that was actually measured)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def gather(conn: Connection, since_day: date, until_day: date, hospital: str = "", instance: str = "",
           result_within: float = 7200.0, fail_threshold: int = 1,
           targets: frozenset[str] | None = None, storage: Any = None,
           zone: tzinfo | None = None, archive: Any = None) -> ReportData:
    """The report of the days since_day <= day < until_day in ``zone`` (``module.timezone``; None: the
    machine's); a target's state at the end of it counts DOWN only after ``fail_threshold`` failures in a
    row; one not in ``targets`` (when given) is REMOVED."""
    zone = zone or display_zone()
    since, until = local_midnight_utc(since_day, zone), local_midnight_utc(until_day, zone)
    data = ReportData(
        hospital=hospital, instance=instance,
        since=datetime.combine(since_day, time(), tzinfo=zone), until=datetime.combine(until_day, time(), tzinfo=zone),
        generated_at=to_local(utcnow(), zone),
    )
    per_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.between(conn, since, until):
        per_target[row["target"]].append(row)
    for target in sorted(per_target):
        stats = _target_stats(target, per_target[target], fail_threshold, targets, zone)
        (data.peers if is_peer(stats.kind) else data.others).append(stats)
    data.exams = _exam_counts(conn, since, until)
    data.objects = _object_counts(conn, since, until)
    data.reports = _report_counts(conn, since, until)
    data.rejects = _rejects(conn, since, until, zone)
    from ris_ai_module.report.acceptance import statistics  # the clinical side of the day (issue 9)

    data.acceptance = statistics(conn, since, until, result_within, now=min(utcnow(), until))
    if storage is not None:
        data.storage = _storage(conn, storage, since, until)
    if archive is not None and archive.enabled:
        data.archive = _archive(conn, archive, since, until)
    return data


def _archive(conn: Connection, archive: Any, since: datetime, until: datetime) -> dict[str, Any]:
    """``archive`` is [archive]. Objects forwarded / failed in the period (their ARCHIVE_FORWARD task finished
    then), waiting now; with [archive.commitment]: objects the archive committed in the period, objects whose
    commitment failed in the period (refused or never answered: their STGCMT_REQUEST failed then), objects
    asked and waiting now, objects not committed now (a failure recorded, no commitment since), and the
    N-ACTION requests sent in the period (one lists an exam's objects)."""
    from ris_ai_module.db.tables import stgcmt
    from ris_ai_module.dicom.stgcmt import object_commitment_counts

    def tasks(kind: TaskKind, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(task).where(task.c.kind == kind.value, *where))
                   .scalar_one())

    finished = (task.c.finished_at >= since, task.c.finished_at < until)
    active = task.c.status.in_([TaskStatus.SCHEDULED.value, TaskStatus.IN_PROCESS.value])
    out: dict[str, Any] = {
        "target": archive.target,
        "forwarded": tasks(TaskKind.ARCHIVE_FORWARD, task.c.status == TaskStatus.DONE.value, *finished),
        "forward_failed": tasks(TaskKind.ARCHIVE_FORWARD, task.c.status == TaskStatus.FAILED.value, *finished),
        "forward_pending": tasks(TaskKind.ARCHIVE_FORWARD, active),
        "commitment": bool(archive.commitment.enabled),
    }
    if archive.commitment.enabled:
        objects = object_commitment_counts(conn, since, until)
        s = stgcmt
        out.update({
            "committed": objects["committed"],
            "commit_failed": tasks(TaskKind.STGCMT_REQUEST, task.c.status == TaskStatus.FAILED.value, *finished),
            "commit_waiting": tasks(TaskKind.STGCMT_REQUEST, active),
            "not_committed": objects["not_committed"],
            "commit_requests": int(conn.execute(select(func.count()).select_from(s).where(
                s.c.direction == "OUT", s.c.requested_at >= since, s.c.requested_at < until)).scalar_one()),
        })
    return out


def _storage(conn: Connection, storage: Any, since: datetime, until: datetime) -> dict[str, Any]:
    """``storage`` is [storage]: the volume now, watermark refusals in the period, retention."""
    from ris_ai_module.dicom.storage import StorageArea

    out: dict[str, Any] = StorageArea.from_config(storage).space().as_dict()
    r = assoc_reject
    out["watermark_rejections"] = int(conn.execute(
        select(func.count()).select_from(r).where(r.c.rejected_at >= since, r.c.rejected_at < until,
                                                  r.c.reason.like("%free-space watermark%"))).scalar_one())
    from ris_ai_module.retention.purge import statistics

    out["retention"] = statistics(conn, float(storage.keep_for), since, until)
    return out


def _target_stats(target: str, rows: list[dict[str, Any]], fail_threshold: int = 1,
                  targets: frozenset[str] | None = None, zone: tzinfo | None = None) -> TargetStats:
    ok_rows = [r for r in rows if r["ok"]]
    latencies = [float(r["latency_ms"]) for r in ok_rows if r["latency_ms"] is not None]
    runs: list[FailureRun] = []
    current: list[dict[str, Any]] = []
    for r in rows + [None]:  # type: ignore[list-item]
        if r is not None and not r["ok"] and (not current or current[-1]["error"] == r["error"]):
            current.append(r)
            continue
        if current:
            runs.append(FailureRun(to_local(current[0]["checked_at"], zone), to_local(current[-1]["checked_at"], zone),
                                   len(current), current[0]["error"] or ""))
            current = []
        if r is not None and not r["ok"]:
            current.append(r)
    last = rows[-1]
    trailing = 0
    for r in reversed(rows):
        if r["ok"]:
            break
        trailing += 1
    state = REMOVED if targets is not None and target not in targets else \
        shown_state(bool(last["ok"]), trailing, fail_threshold)
    return TargetStats(
        target=target, kind=rows[0]["kind"], checks=len(rows), ok=len(ok_rows),
        p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95), failures=runs,
        last_ok=bool(last["ok"]), last_detail=last["error"] or last["detail"], state=state,
        failures_in_a_row=trailing,
    )


def _exam_counts(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    push = task.c.kind == TaskKind.EXAM_PUSH.value
    in_period = (task.c.finished_at >= since) & (task.c.finished_at < until)

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(task).where(*where)).scalar_one())

    def exams(*where: Any) -> int:
        return int(conn.execute(select(func.count(func.distinct(task.c.exam_key))).where(*where)).scalar_one())

    # "pushed"/"failed"/"pending" count push deliveries (one per exam and AI host); "*_exams" the exams.
    return {
        "pushed": count(push, task.c.status == TaskStatus.DONE.value, in_period),
        "pushed_exams": exams(push, task.c.status == TaskStatus.DONE.value, in_period),
        "failed": count(push, task.c.status == TaskStatus.FAILED.value, in_period),
        "pending": count(push, task.c.status.in_([TaskStatus.SCHEDULED.value, TaskStatus.IN_PROCESS.value])),
    }


def _object_counts(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    o = dicom_object
    in_period = (o.c.received_at >= since) & (o.c.received_at < until)
    is_sr = o.c.sop_class_uid.like(SR_CLASS_PREFIX + "%")

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(o).where(*where)).scalar_one())

    def exams(*where: Any) -> int:
        return int(conn.execute(select(func.count(func.distinct(o.c.exam_key)))
                                .where(o.c.exam_key.is_not(None), *where)).scalar_one())

    # Every count here is of DICOM objects, but "received_exams"/"sr_exams": the exams they are linked to.
    return {
        "received": count(in_period),
        "received_exams": exams(in_period),
        "sr_exams": exams(in_period, is_sr),
        "sr": count(in_period, is_sr),
        "images": count(in_period, ~is_sr),
        "unlinked": count(in_period, o.c.exam_key.is_(None)),
        "unlinked_total": count(o.c.exam_key.is_(None)),
        "review": count(in_period, o.c.review_state == "NEEDS_REVIEW"),
        "review_total": count(o.c.review_state == "NEEDS_REVIEW"),
    }


def _report_counts(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    s = report_state
    in_period = (s.c.updated_at >= since) & (s.c.updated_at < until)

    def count(*where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(s).where(*where)).scalar_one())

    return {
        "applied": count(s.c.state == "APPLIED", in_period),
        "failed": count(s.c.state == "FAILED", in_period),
        "pending_signed": count(s.c.state == "PENDING"),
    }


def _rejects(conn: Connection, since: datetime, until: datetime, zone: tzinfo | None = None) -> list[RejectStats]:
    r = assoc_reject
    stmt = (
        select(r.c.calling_ae, r.c.address, func.count().label("n"), func.max(r.c.rejected_at).label("last_at"),
               func.max(r.c.reason).label("reason"))
        .where(r.c.rejected_at >= since, r.c.rejected_at < until)
        .group_by(r.c.calling_ae, r.c.address)
        .order_by(func.count().desc(), r.c.calling_ae, r.c.address)
    )
    return [RejectStats(row.calling_ae or "", row.address or "", int(row.n), to_local(row.last_at, zone), row.reason or "")
            for row in conn.execute(stmt)]


def previous_day(now_local: datetime | None = None, zone: tzinfo | None = None) -> date:
    return (now_local or datetime.now(zone or display_zone())).date() - timedelta(days=1)
