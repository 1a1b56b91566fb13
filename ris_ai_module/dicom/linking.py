"""Which exam an object belongs to, in the order a RIS can trust (issue 4):

1. StudyInstanceUID: RAI_V_EXAM.STUDY_UID, or the UID the module generated for that exam (RAI_STUDY_UID);
2. accession number;
3. patient ID + exam date (StudyDate).

Each rule links only when it finds exactly one exam; otherwise the next rule is tried, and an object no rule
links stays unlinked and is listed (``ris-ai-module objects --unlinked``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db import tables
from ris_ai_module.db.ris import exam_view


@dataclass(frozen=True)
class Link:
    exam_key: str | None
    method: str | None  # STUDY_UID, ACCESSION, PATIENT_DATE, MANUAL or None (unlinked)


UNLINKED = Link(None, None)


def find_exam(
    conn: Connection,
    study_uid: str | None,
    accession_no: str | None,
    patient_id: str | None,
    study_date: date | None,
) -> Link:
    """The exam of an object, or UNLINKED."""
    v = exam_view.c
    if study_uid:
        keys = _keys(conn, select(v.exam_key).where(v.study_uid == study_uid))
        if not keys:
            t = tables.study_uid.c
            keys = _keys(conn, select(t.exam_key).where(t.study_uid == study_uid))
        if len(keys) == 1:
            return Link(keys[0], "STUDY_UID")
    if accession_no and accession_no.strip():
        keys = _keys(conn, select(v.exam_key).where(v.accession_no == accession_no.strip()))
        if len(keys) == 1:
            return Link(keys[0], "ACCESSION")
    if patient_id and patient_id.strip() and study_date:
        start = datetime.combine(study_date, datetime.min.time())
        keys = _keys(conn, select(v.exam_key).where(
            v.patient_id == patient_id.strip(), v.exam_date >= start, v.exam_date < start + timedelta(days=1),
        ))
        if len(keys) == 1:
            return Link(keys[0], "PATIENT_DATE")
    return UNLINKED


def _keys(conn: Connection, stmt: object) -> list[str]:
    return sorted({str(k) for k in conn.execute(stmt.limit(2)).scalars()})  # type: ignore[attr-defined]


def parse_da(value: object) -> date | None:
    """DICOM DA (YYYYMMDD) to a date; None when absent or malformed (then rule 3 is skipped)."""
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
