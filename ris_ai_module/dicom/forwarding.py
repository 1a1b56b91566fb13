"""When a stored object is queued for the archive (``[archive]``): one ARCHIVE_FORWARD task per object, in the
transaction that commits its row, and only for an object that is linked and not held for review (the first
rule). A held object gets its task when an operator releases it (``review.decide_link``)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ris_ai_module.dicom.archive_section import ArchiveConfig
from ris_ai_module.dicom.patient_check import NEEDS_REVIEW
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind


def may_forward(exam_key: str | None, review_state: str | None) -> bool:
    """Only an object linked to an exam and not held for review leaves the module."""
    return bool(exam_key) and review_state != NEEDS_REVIEW


def enqueue_forward(conn: Connection, cfg: ArchiveConfig, sop_instance_uid: str, sop_class_uid: str,
                    exam_key: str | None, review_state: str | None) -> int | None:
    """The object's ARCHIVE_FORWARD task (its id), or None when it is not to be forwarded (now)."""
    if not cfg.forwards(sop_class_uid) or not may_forward(exam_key, review_state):
        return None
    return queue.enqueue(conn, TaskKind.ARCHIVE_FORWARD, exam_key=exam_key,
                         payload={"sop_instance_uid": sop_instance_uid})
