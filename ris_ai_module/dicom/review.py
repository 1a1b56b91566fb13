"""An operator's decision on a linked or held object: link it (after the patient check), confirm a held link
despite the check (``force``, with a reason), or move it to another exam. One function for the CLI and the
web, each decision one audit row in the caller's transaction.

Moving an SR away from an exam whose report it already reached queues a re-apply of that exam, so its
values leave that report too (the exam's current set no longer contains them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ris_ai_module.audit import AuditEvent, insert
from ris_ai_module.db.ris import get_exam
from ris_ai_module.db.tables import dicom_object, measurement
from ris_ai_module.dicom import index
from ris_ai_module.dicom.archive_section import ArchiveConfig
from ris_ai_module.dicom.forwarding import enqueue_forward
from ris_ai_module.dicom.patient_check import CONFIRMED, MOVED, NEEDS_REVIEW, check_patient
from ris_ai_module.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Decision:
    sop_instance_uid: str
    exam_key: str
    action: str  # link, link_force, link_move
    task_ids: tuple[int, ...]
    detail: str


def decide_link(
    conn: Connection, sop_uid: str, exam_key: str, *, actor: str, source: str, policy: str,
    other_ids_column: str = "", force: bool = False, reason: str = "", archive: ArchiveConfig | None = None,
) -> Decision:
    """Link ``sop_uid`` to ``exam_key`` as the operator asks; raises InvalidInput (nothing changed) when the
    patient check fails without ``force``, or ``force`` comes without a reason."""
    obj = index.get_object(conn, sop_uid)
    if obj is None:
        raise NotFound(f"object {sop_uid} is not in RAI_OBJECT")
    if get_exam(conn, exam_key) is None:
        raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    reason = (reason or "").strip()
    if force and not reason:
        raise InvalidInput("reason", "a forced link needs a reason (--reason TEXT), kept in the audit log")
    verdict = check_patient(conn, policy, exam_key, obj.patient_id, obj.patient_name, other_ids_column)
    if not verdict.ok and not force:
        raise InvalidInput("exam_key", f"patient check failed: {verdict.reason}; "
                                       "confirm with --force --reason TEXT if the link is right")
    previous = obj.exam_key
    held = obj.review_state == NEEDS_REVIEW
    if force and not verdict.ok:
        action, state = "link_force", CONFIRMED
        note = f"confirmed by {actor}: {reason} (check: {verdict.reason})"
    elif (held and exam_key != obj.review_exam_key) or (previous and previous != exam_key):
        action, state = "link_move", MOVED
        note = f"moved to {exam_key} by {actor}" + (f": {reason}" if reason else "")
    else:
        action, state = "link", (CONFIRMED if held else obj.review_state)
        note = f"linked by {actor}" + (f": {reason}" if reason else "") if held else obj.review_reason or ""
    conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop_uid).values(
        exam_key=exam_key, link_method="MANUAL", review_state=state, review_reason=(note or None) and note[:500],
    ))
    tasks: list[int] = []
    if index.is_sr(obj.sop_class_uid):
        conn.execute(update(measurement).where(measurement.c.sop_instance_uid == sop_uid).values(exam_key=exam_key))
        tasks.append(index.enqueue_apply(conn, exam_key, sop_uid))
        if previous and previous != exam_key:
            tasks.append(_reapply_exam(conn, previous))
    else:  # an image: the exams' image rows (report target images) follow it
        for exam in dict.fromkeys(k for k in (exam_key, previous) if k):
            tasks.append(index.enqueue_exam_apply(conn, exam))
    was = previous or (obj.review_exam_key and f"held from {obj.review_exam_key}") or "unlinked"
    detail = f"{sop_uid} -> {exam_key} (was {was}); {note or verdict.reason}"
    if held or not previous:  # released now: it may go to the archive (a linked one already has its task)
        forwarded = enqueue_forward(conn, archive or ArchiveConfig(), sop_uid, obj.sop_class_uid, exam_key, state)
        tasks.append(forwarded or 0)
    insert(conn, [AuditEvent(actor, source, action, sop_uid, detail, True)])
    return Decision(sop_uid, exam_key, action, tuple(t for t in tasks if t), detail)


def _reapply_exam(conn: Connection, exam_key: str) -> int:
    """Re-apply the exam the object left: with another of its SRs, or (none left) with the exam alone."""
    o = dicom_object
    other = conn.execute(select(o.c.sop_instance_uid).where(
        o.c.exam_key == exam_key, o.c.sop_class_uid.like(index.SR_CLASS_PREFIX + "%"),
    ).order_by(o.c.received_at.desc()).limit(1)).scalar()
    from ris_ai_module.tasks import queue
    from ris_ai_module.tasks.model import TaskKind

    return queue.enqueue(conn, TaskKind.SR_APPLY, exam_key=exam_key,
                         payload={"sop_instance_uid": other or "", "exam_key": exam_key})


def refuse_audit(conn: Connection, actor: str, source: str, sop_uid: str, exam_key: str, why: str) -> None:
    """A refused link is audited too (ok=0)."""
    insert(conn, [AuditEvent(actor, source, "link", sop_uid, f"refused -> {exam_key}: {why}", False)])

