"""The JSON body sent to the AI host, built at send time from RAI_V_EXAM. Pure: no I/O.

Field names are the defaults below; the vendor's API often wants others, so ``push.field_names`` renames,
``push.constant_fields`` adds fixed fields (hospital code, device id) and ``push.omit_fields`` drops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ris_ai_module.db.ris import Exam
from ris_ai_module.push.section import PushConfig

DEFAULT_FIELDS = (
    "patientName", "patientId", "sex", "birthDate", "accessionNumber", "studyDate",
    "studyDescription", "studyInstanceUid", "examItems", "modality", "examKey",
)

#: RIS sex codes seen in Chinese RIS databases, mapped to DICOM (M/F/O).
_SEX = {"M": "M", "F": "F", "O": "O", "男": "M", "女": "F", "1": "M", "2": "F", "MALE": "M", "FEMALE": "F"}


def normalise_sex(value: str | None) -> str:
    if value is None:
        return ""
    return _SEX.get(value.strip().upper(), "O" if value.strip() else "")


def _iso_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def _iso_datetime(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def build_payload(exam: Exam, study_uid: str, cfg: PushConfig) -> dict[str, Any]:
    """Canonical fields from the exam, then renames, omissions and constants from config."""
    canonical: dict[str, Any] = {
        "patientName": exam.patient_name or "",
        "patientId": exam.patient_id or "",
        "sex": normalise_sex(exam.sex),
        "birthDate": _iso_date(exam.birth_date),
        "accessionNumber": exam.accession_no or "",
        "studyDate": _iso_datetime(exam.exam_date),
        "studyDescription": exam.exam_desc or "",
        "studyInstanceUid": study_uid,
        "examItems": exam.exam_items or "",
        "modality": exam.modality or "US",
        "examKey": exam.exam_key,
    }
    return shape(canonical, cfg.field_names, cfg.omit_fields, cfg.constant_fields)


def shape(
    canonical: Mapping[str, Any], renames: Mapping[str, str], omit: tuple[str, ...], constants: Mapping[str, Any]
) -> dict[str, Any]:
    body = {renames.get(k, k): v for k, v in canonical.items() if k not in omit}
    body.update(constants)
    return body
