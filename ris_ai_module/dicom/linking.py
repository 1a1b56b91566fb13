"""Which exam an object belongs to, in the order a RIS can trust (issue 4):

1. StudyInstanceUID: RAI_V_EXAM.STUDY_UID, or the UID the module generated for that exam (RAI_STUDY_UID);
2. accession number;
3. patient ID + exam date (StudyDate).

Each rule links only when it finds exactly one exam; otherwise the next rule is tried, and an object no rule
links stays unlinked and is listed (``ris-ai-module objects --unlinked``).

With campuses (``ris.campus_column``) each rule sees only the exams of the object's campus when that is
known (:mod:`dicom.campus`). A rule that finds exams of several campuses while the object's campus is not
known, or only exams of other campuses, stops the search: the object is held for review with the reason
(``Link.hold``), never linked by a weaker rule's guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ris_ai_module.db import tables
from ris_ai_module.db.ris import exam_view, optional_column


@dataclass(frozen=True)
class Link:
    exam_key: str | None
    method: str | None  # STUDY_UID, ACCESSION, PATIENT_DATE, MANUAL or None (unlinked)
    #: Why the object is held for review instead of linked (a match across campuses); empty: not held.
    hold: str = ""


UNLINKED = Link(None, None)


def find_exam(
    conn: Connection,
    study_uid: str | None,
    accession_no: str | None,
    patient_id: str | None,
    study_date: date | None,
    campus_column: str = "",
    campus: str | None = None,
) -> Link:
    """The exam of an object, UNLINKED, or a Link with ``hold`` (campuses: see the module docstring)."""
    limit = _CAMPUS_LIMIT if campus_column else 2  # 2 tell one from several; with campuses, name them
    for method, what, keys in _rules(conn, study_uid, accession_no, patient_id, study_date, limit):
        if not campus_column:
            if len(keys) == 1:
                return Link(keys[0], method)
            continue
        found = _campuses(conn, campus_column, keys)
        if not found:
            continue
        if campus is not None:
            mine = [k for k, c in found.items() if c == campus]
            if len(mine) == 1:
                return Link(mine[0], method)
            if not mine:
                others = ", ".join(sorted({c or "(none)" for c in found.values()}))
                return Link(None, None, f"{what} matches only exams of campus {others}; "
                                        f"the object is from campus {campus}")
            continue  # several in its own campus: the next rule, as without campuses
        campuses = sorted({c or "(none)" for c in found.values()})
        if len(campuses) > 1:
            return Link(None, None, f"{what} matches exams of campuses {', '.join(campuses)} "
                                    "and the object's campus is not known")
        if len(found) == 1:
            return Link(next(iter(found)), method)
    return UNLINKED


#: Candidates read per rule with campuses (enough to tell one from several, and to name the campuses).
_CAMPUS_LIMIT = 20


def _rules(conn: Connection, study_uid: str | None, accession_no: str | None, patient_id: str | None,
           study_date: date | None, limit: int) -> Iterator[tuple[str, str, list[str]]]:
    """Each rule's candidate exam keys, in order, read only when the rule before has not decided."""
    v = exam_view.c
    if study_uid:
        keys = _keys(conn, select(v.exam_key).where(v.study_uid == study_uid), limit)
        if not keys:
            t = tables.study_uid.c
            keys = _keys(conn, select(t.exam_key).where(t.study_uid == study_uid), limit)
        yield "STUDY_UID", f"StudyInstanceUID {study_uid}", keys
    if accession_no and accession_no.strip():
        acc = accession_no.strip()
        yield "ACCESSION", f"accession number {acc}", _keys(conn, select(v.exam_key).where(v.accession_no == acc), limit)
    if patient_id and patient_id.strip() and study_date:
        start = datetime.combine(study_date, datetime.min.time())
        pid = patient_id.strip()
        yield "PATIENT_DATE", f"patient ID {pid} on {study_date.isoformat()}", _keys(conn, select(v.exam_key).where(
            v.patient_id == pid, v.exam_date >= start, v.exam_date < start + timedelta(days=1)), limit)


def _campuses(conn: Connection, campus_column: str, keys: list[str]) -> dict[str, str]:
    """``{exam_key: campus}`` of the candidates (a key gone from the view is left out)."""
    if not keys:
        return {}
    rows = conn.execute(select(exam_view.c.exam_key, optional_column(campus_column)).select_from(exam_view)
                        .where(exam_view.c.exam_key.in_(keys))).all()
    return {str(r[0]): str(r[1] or "").strip() for r in rows}


def _keys(conn: Connection, stmt: object, limit: int = 2) -> list[str]:
    return sorted({str(k) for k in conn.execute(stmt.limit(limit)).scalars()})  # type: ignore[attr-defined]


def parse_da(value: object) -> date | None:
    """DICOM DA (YYYYMMDD) to a date; None when absent or malformed (then rule 3 is skipped)."""
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
