"""RAI_OBJECT and RAI_ASSOC_REJECT: the object index and the rejection log.

An object's row and, for an SR linked to an exam, its SR_APPLY task are written in the caller's transaction,
so that both exist or neither does; the worker is woken after commit.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import assoc_reject, dicom_object
from ris_ai_module.tasks import queue
from ris_ai_module.tasks.model import TaskKind

log = logging.getLogger(__name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


def is_sr(sop_class_uid: str) -> bool:
    return sop_class_uid.startswith(SR_CLASS_PREFIX)


@dataclass(frozen=True)
class ObjectRow:
    """One RAI_OBJECT row (column names as in tables.py)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str | None
    series_uid: str | None
    transfer_syntax: str | None
    patient_id: str | None
    accession_no: str | None
    exam_key: str | None
    link_method: str | None
    source: str
    sender_ae: str | None
    sender_address: str | None
    file_path: str
    file_size: int
    sha256: str
    received_at: datetime
    #: Issue 9: the name as sent, and the patient check's verdict when it held the object for review.
    patient_name: str | None = None
    review_state: str | None = None
    review_reason: str | None = None
    review_exam_key: str | None = None
    review_method: str | None = None
    #: Issue 14: when storage retention deleted the file (the row stays); None = the file is kept.
    purged_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> ObjectRow:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def _clip(values: dict[str, Any]) -> dict[str, Any]:
    """Peer-supplied text is cut to its column's length instead of failing the store."""
    out = dict(values)
    for name, value in values.items():
        length = getattr(dicom_object.c[name].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            out[name] = value[:length]
    return out


def get_object(conn: Connection, sop_instance_uid: str) -> ObjectRow | None:
    row = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid)).first()
    return ObjectRow.from_row(row) if row else None


#: Built once: the values go in as parameters, so SQLAlchemy neither rebuilds nor recompiles the statement.
_INSERT_OBJECT = insert(dicom_object)


def insert_object(conn: Connection, row: ObjectRow) -> None:
    conn.execute(_INSERT_OBJECT, _clip(asdict(row)))


def replace_object(conn: Connection, row: ObjectRow) -> None:
    """The row of a replaced object (``dicom.overwrite``). The archive's Storage Commitment was for the old
    content: it is cleared, so retention never deletes the new content as committed (it is forwarded and
    asked again)."""
    values = _clip(asdict(row))
    sop = values.pop("sop_instance_uid")
    conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop).values(
        **values, commit_requested_at=None, committed_at=None, commit_failure=None, commit_uid=None))


def delete_object(conn: Connection, sop_instance_uid: str) -> None:
    conn.execute(delete(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid))


def set_link(conn: Connection, sop_instance_uid: str, exam_key: str, method: str) -> bool:
    result = conn.execute(
        update(dicom_object).where(dicom_object.c.sop_instance_uid == sop_instance_uid)
        .values(exam_key=exam_key, link_method=method)
    )
    return result.rowcount == 1


def enqueue_apply(conn: Connection, exam_key: str, sop_instance_uid: str) -> int:
    """The SR_APPLY task of an SR (same transaction as its row)."""
    return queue.enqueue(conn, TaskKind.SR_APPLY, exam_key=exam_key, payload={"sop_instance_uid": sop_instance_uid})


def enqueue_exam_apply(conn: Connection, exam_key: str) -> int:
    """An image linked to (or leaving) an exam: refresh the exam's image rows (target ``images``), with or
    without an SR there (``report/images_apply.py`` decides what may be written).

    Never skipped because another SR_APPLY of the exam waits: that one may be claimed and read the exam's images
    before this transaction commits, and the image would be missed. Applies of one exam run one after the other
    (the report row lock), and a repeated apply writes the same rows."""
    return queue.enqueue(conn, TaskKind.SR_APPLY, exam_key=exam_key, payload={"sop_instance_uid": "",
                                                                               "exam_key": exam_key, "images": True})


def list_objects(
    conn: Connection, unlinked: bool = False, study_uid: str | None = None, limit: int = 200, review: bool = False,
    only_exams: Any = None,
) -> list[ObjectRow]:
    """Newest first. ``only_exams`` (a SELECT of exam keys: an account's campuses) keeps to objects linked to
    those exams, or, held for review, whose found exam is one of them; an object without either is left out."""
    stmt = select(dicom_object).order_by(dicom_object.c.received_at.desc()).limit(limit)
    if review:
        stmt = stmt.where(dicom_object.c.review_state == "NEEDS_REVIEW")
    if only_exams is not None:
        key = dicom_object.c.review_exam_key if review else dicom_object.c.exam_key
        stmt = stmt.where(key.in_(only_exams))
    if unlinked:
        stmt = stmt.where(dicom_object.c.exam_key.is_(None))
    if study_uid:
        stmt = stmt.where(dicom_object.c.study_uid == study_uid)
    return [ObjectRow.from_row(r) for r in conn.execute(stmt)]


def record_rejection(engine: Engine, address: str | None, calling_ae: str | None, called_ae: str | None,
                     reason: str, reason_code: str | None = None) -> None:
    """Best effort: a database outage must not keep the SCP from turning a stranger away."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(assoc_reject).values(
                rejected_at=utcnow(), address=(address or "")[:64] or None, calling_ae=(calling_ae or "")[:16] or None,
                called_ae=(called_ae or "")[:16] or None, reason=reason[:200], reason_code=reason_code,
            ))
    except Exception as exc:
        log.error("could not record the rejection of %s from %s: %s", calling_ae, address, exc,
                  extra={"action": "reject_not_recorded"})
