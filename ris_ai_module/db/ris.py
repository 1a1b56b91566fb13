"""Reads of the RIS through the one declared boundary: the view RAI_V_EXAM.

The DBA writes the view over the hospital's own tables (sql/<dialect>/20_view_exam.sql is the example);
the module never reads RIS tables directly.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, MetaData, String, Table, column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnClause

from ris_ai_module.db import tables
from ris_ai_module.db.clock import utcnow

_view_metadata = MetaData()

#: The canonical exam view. Not created by migrations: it belongs to the DBA.
exam_view = Table(
    "rai_v_exam",
    _view_metadata,
    Column("exam_key", String(64), primary_key=True),
    Column("patient_id", String(64)),
    Column("patient_name", String(200)),
    Column("sex", String(16)),
    Column("birth_date", Date),
    Column("accession_no", String(64)),
    Column("exam_date", DateTime),
    Column("exam_desc", String(400)),
    Column("exam_items", String(400)),
    Column("study_uid", String(64)),
    Column("modality", String(16)),
    Column("exam_status", String(32)),
)


@dataclass(frozen=True)
class Exam:
    """One row of RAI_V_EXAM."""

    exam_key: str
    patient_id: str | None
    patient_name: str | None
    sex: str | None
    birth_date: date | None
    accession_no: str | None
    exam_date: datetime | None
    exam_desc: str | None
    exam_items: str | None
    study_uid: str | None
    modality: str | None
    exam_status: str | None

    @classmethod
    def from_row(cls, row: Any) -> Exam:
        m = row._mapping
        return cls(**{name: _as_date(name, m[name]) for name in cls.__dataclass_fields__})


def _as_date(name: str, value: Any) -> Any:
    """Some drivers (SQLite, Oracle DATE) hand dates back as datetimes or strings."""
    if name == "birth_date" and isinstance(value, datetime):
        return value.date()
    if name == "birth_date" and isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    if name == "exam_date" and isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    if name == "exam_key" and value is not None:
        return str(value)
    return value


def optional_column(name: str) -> ColumnClause[Any]:
    """A column of RAI_V_EXAM that the DBA added and the configuration names (``ris.campus_column`` …)."""
    from ris_ai_module.db.dialects import identifier

    return column(identifier(name), String()).label(name.lower())


def optional_columns(conn: Connection, exam_key: str, names: Sequence[str]) -> dict[str, Any]:
    """``{name_lower: value}`` of optional view columns for one exam (empty when it is not in the view)."""
    if not names:
        return {}
    row = conn.execute(select(*(optional_column(n) for n in names)).select_from(exam_view)
                       .where(exam_view.c.exam_key == exam_key)).first()
    return dict(row._mapping) if row else {}


def get_exam(conn: Connection, exam_key: str) -> Exam | None:
    row = conn.execute(select(exam_view).where(exam_view.c.exam_key == exam_key)).first()
    return Exam.from_row(row) if row else None


def exams_of_patient(conn: Connection, patient_id: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest exams of one patient ID (RAI_V_EXAM columns), for a hook choosing among them."""
    if not patient_id or not patient_id.strip():
        return []
    v = exam_view.c
    rows = conn.execute(select(exam_view).where(v.patient_id == patient_id.strip())
                        .order_by(v.exam_date.desc()).limit(limit))
    return [dataclasses.asdict(Exam.from_row(r)) for r in rows]


def exams_with_study_uids(conn: Connection, exam_keys: list[str]) -> dict[str, tuple[Exam, str]]:
    """The exams of a batch with their StudyInstanceUIDs, generating (once, kept) those the RIS lacks.

    One query and at most one insert for a whole claimed batch, so a push costs no query or commit of its own.
    """
    if not exam_keys:
        return {}
    t = tables.study_uid
    rows = conn.execute(
        select(exam_view, t.c.study_uid.label("generated"))
        .select_from(exam_view.outerjoin(t, t.c.exam_key == exam_view.c.exam_key))
        .where(exam_view.c.exam_key.in_(exam_keys))
    ).all()
    found: dict[str, tuple[Exam, str]] = {}
    new_rows = []
    for row in rows:
        exam = Exam.from_row(row)
        uid = (exam.study_uid or "").strip() or row.generated
        if not uid:
            uid = f"2.25.{uuid.uuid4().int}"
            new_rows.append({"exam_key": exam.exam_key, "study_uid": uid, "created_at": utcnow()})
        found[exam.exam_key] = (exam, uid)
    if new_rows:
        conn.execute(t.insert(), new_rows)
    return found


def study_uid_for(conn: Connection, exam: Exam) -> str:
    """The exam's StudyInstanceUID: the RIS's own, else one generated once (2.25.<uuid>) and kept."""
    if exam.study_uid and exam.study_uid.strip():
        return exam.study_uid.strip()
    t = tables.study_uid
    found = conn.execute(select(t.c.study_uid).where(t.c.exam_key == exam.exam_key)).scalar()
    if found:
        return found
    new_uid = f"2.25.{uuid.uuid4().int}"
    conn.execute(t.insert().values(exam_key=exam.exam_key, study_uid=new_uid, created_at=utcnow()))
    return new_uid
