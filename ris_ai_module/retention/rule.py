"""The retention rule: a pure function over one object's state. Nothing here reads a database or a file.

An object's file may be deleted ``storage.keep_for`` after the object is *done*:

* it is linked to an exam and not held for review (NEEDS_REVIEW or unlinked: never);
* forwarded: where ``[archive]`` forwards its SOP class, an ARCHIVE_FORWARD task of it is DONE and none is
  pending or failed; and committed where the archive is asked for Storage Commitment (``committed_at``, set by
  stgcmt from the archive's N-EVENT-REPORT);
* applied (an SR): an SR_APPLY task of it is DONE, none is pending or failed, and the exam's report state does
  not have this SR waiting (PENDING/HELD/FAILED);
* the report is signed, and still: the RIS report is not writable now *and* the module saw the signing after its
  last apply. What ``reapply`` may still need is exactly what a report it may still write needs: a report not
  signed, or signed and re-opened (writable again), keeps every object of its exam.

*Done at* is the latest of: received, forwarded, committed, applied, signing seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DONE, FAILED = "DONE", "FAILED"
PENDING_STATUSES = ("SCHEDULED", "IN_PROCESS")


@dataclass(frozen=True)
class TaskState:
    status: str
    finished_at: datetime | None


@dataclass(frozen=True)
class ObjectState:
    """What the rule needs to know about one RAI_OBJECT row, gathered by ``purge.gather``."""

    sop_instance_uid: str
    received_at: datetime
    is_sr: bool
    exam_key: str | None
    review_state: str | None
    purged_at: datetime | None
    #: ``[archive]`` forwards this object's SOP class.
    forward_required: bool
    forward_tasks: tuple[TaskState, ...]
    #: ``[archive.commitment]`` is on: forwarded is not enough, the archive must have committed.
    commitment_required: bool
    committed_at: datetime | None
    apply_tasks: tuple[TaskState, ...]
    #: RAI_REPORT_STATE of the exam: its state, the SR it last applied or waits with, the signing seen.
    report_state: str | None
    report_sop: str | None
    #: When the module saw the signed report, if nothing was applied after it (report/current.is_signed).
    signed_at: datetime | None
    #: The RIS report row exists and its status is not one the module may write (signed, locked) now.
    ris_signed: bool


@dataclass(frozen=True)
class Decision:
    purge: bool
    #: Why it is kept (or "done at ..." when purged): the status page and the trace show it.
    reason: str
    done_at: datetime | None = None
    #: Kept until then (naive UTC), when only storage.keep_for keeps it: shown in module.timezone (purge.shown_reason).
    until: datetime | None = None


def _tasks_done(tasks: tuple[TaskState, ...], what: str) -> tuple[str | None, datetime | None]:
    """(why not done, when done)."""
    if any(t.status in PENDING_STATUSES for t in tasks):
        return f"{what} pending", None
    if any(t.status == FAILED for t in tasks):
        return f"{what} failed", None
    finished = [t.finished_at for t in tasks if t.status == DONE and t.finished_at is not None]
    if not finished:
        return f"{what} not done yet", None
    return None, max(finished)


def decide(s: ObjectState, now: datetime, keep_for: timedelta) -> Decision:
    """Purge this object's file now? Every "never" of the issue is a keep here."""
    if s.purged_at is not None:
        return Decision(False, "already purged", None)
    if keep_for <= timedelta(0):
        return Decision(False, "retention off (storage.keep_for = 0)")
    if s.review_state == "NEEDS_REVIEW":
        return Decision(False, "held for review (NEEDS_REVIEW)")
    if not s.exam_key:
        return Decision(False, "unlinked (no exam)")
    done = [s.received_at]
    if s.forward_required:
        why, at = _tasks_done(s.forward_tasks, "ARCHIVE_FORWARD")
        if why:
            return Decision(False, why)
        done.append(at)  # type: ignore[arg-type]
        if s.commitment_required:
            if not is_committed_for_retention(s):
                return Decision(False, "forwarded, not committed by the archive (Storage Commitment)")
            done.append(s.committed_at)  # type: ignore[arg-type]
    if s.is_sr:
        why, at = _tasks_done(s.apply_tasks, "SR_APPLY")
        if why:
            return Decision(False, why)
        done.append(at)  # type: ignore[arg-type]
        if s.report_sop == s.sop_instance_uid and s.report_state not in (None, "APPLIED"):
            return Decision(False, f"the report state is {s.report_state} with this SR (it may be applied again)")
    if not s.ris_signed:
        return Decision(False, "report not signed, or signed and re-opened (reapply may still need it)")
    # IMAGES: only image rows were written (no SR applied), so no signing comparison is ever made for the exam
    if s.report_state not in (None, "IMAGES") and s.signed_at is None:
        return Decision(False, "report changed after the signing was seen (reapply may still need it)")
    if s.signed_at is not None:
        done.append(s.signed_at)
    done_at = max(done)
    if now - done_at < keep_for:
        return Decision(False, f"kept until {done_at + keep_for:%Y-%m-%d %H:%M} UTC (storage.keep_for)", done_at,
                        done_at + keep_for)
    return Decision(True, f"done at {done_at:%Y-%m-%d %H:%M} UTC, kept {keep_for}", done_at)


def is_committed_for_retention(s: ObjectState) -> bool:
    """The one predicate "committed" of retention: the archive's N-EVENT-REPORT named the object
    (RAI_OBJECT.COMMITTED_AT, written by stgcmt; ``dicom.stgcmt.committed_clause`` is the same in SQL)."""
    return s.committed_at is not None
