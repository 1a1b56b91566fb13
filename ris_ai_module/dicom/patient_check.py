"""The patient check: an object reaches the exam it was linked to only when its patient is that exam's.

Whatever linked the object (StudyInstanceUID, accession, patient ID + date, ``link``, ``import-sr --exam``,
``POST /api/sr?exam_key=``), its Patient ID must be the exam's (or one of the patient's other numbers, when
the view exposes them) and, under ``strict``, its name must not contradict the exam's (:mod:`names`).
An object that fails is kept with the reason as NEEDS_REVIEW and linked to no exam, so nothing downstream
(report, forwarding, outbound messages) sees it until an operator confirms or moves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import column, select, table
from sqlalchemy.engine import Connection

from ris_ai_module.db.dialects import identifier
from ris_ai_module.db.ris import get_exam, optional_columns
from ris_ai_module.names import names_agree, same_patient_id

NEEDS_REVIEW = "NEEDS_REVIEW"
CONFIRMED = "CONFIRMED"
MOVED = "MOVED"

_ID_SEPARATORS = re.compile(r"[\\,;，；|]+")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def check_patient(
    conn: Connection, policy: str, exam_key: str, patient_id: str | None, patient_name: str | None,
    other_ids_column: str = "",
) -> Verdict:
    """May an object of (patient_id, patient_name) be linked to ``exam_key``? Reads the exam through the view."""
    if policy == "off":
        return Verdict(True, "patient check off")
    exam = get_exam(conn, exam_key)
    if exam is None:
        return Verdict(False, f"exam {exam_key} is not in RAI_V_EXAM")
    ids = [exam.patient_id] if exam.patient_id else []
    if other_ids_column:
        ids += other_ids(conn, other_ids_column, exam_key)
    return judge(policy, ids, exam.patient_name, patient_id, patient_name)


def judge(policy: str, exam_ids: list[str], exam_name: str | None, patient_id: str | None,
          patient_name: str | None) -> Verdict:
    """The rule itself, without the database (first ID is the exam's own)."""
    if policy == "off":
        return Verdict(True, "patient check off")
    if not (patient_id or "").strip():
        return Verdict(False, "the object has no Patient ID")
    if not exam_ids:
        return Verdict(False, "the exam has no patient ID to compare with")
    matched = next((i for i in exam_ids if same_patient_id(patient_id, i)), None)
    if matched is None:
        return Verdict(False, f"Patient ID {patient_id} is not the exam's ({exam_ids[0]})")
    how = "Patient ID matches" if matched == exam_ids[0] else f"Patient ID matches the patient's other ID {matched}"
    if policy == "id-only":
        return Verdict(True, how)
    agree, why = names_agree(patient_name, exam_name)
    if not agree:
        return Verdict(False, f"{how}, but the names contradict: {why}")
    return Verdict(True, f"{how}; {why}")


def check_campus(conn: Connection, campus_column: str, exam_key: str, campus: str) -> Verdict:
    """An object known to come from ``campus`` may reach only an exam of that campus (colliding RIS numbers)."""
    exam_campus = str(optional_columns(conn, exam_key, [campus_column]).get(campus_column.lower()) or "").strip()
    if exam_campus != campus:
        return Verdict(False, f"exam {exam_key} is of campus {exam_campus or '(none)'}; the object is from campus {campus}")
    return Verdict(True, f"campus {campus}")


def other_ids(conn: Connection, column_name: str, exam_key: str) -> list[str]:
    """The patient's other numbers from the optional view column."""
    v = table("rai_v_exam", column("exam_key"), column(identifier(column_name)))
    raw = conn.execute(select(v.c[identifier(column_name)]).where(v.c.exam_key == exam_key)).scalar()
    return [p.strip() for p in _ID_SEPARATORS.split(str(raw or "")) if p.strip()]
