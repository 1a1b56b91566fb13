"""The read model of an exam's result *now*: who and which exam, the values reported, the findings text and
the report's state — what every outbound delivery (outbox files, HL7, FHIR) sends.

``read_result_set(conn, config, exam_key)`` reads it in one connection: the exam from RAI_V_EXAM, the current
values from RAI_MEASUREMENT (one per report key, the SR whose value is current; see ``report/supersede.py``),
their provenance from RAI_SR_SOURCE, the findings paragraph the text target wrote (or, without a text
target, the paragraph it would write), and the status:

* ``draft``     the AI's values are in an unsigned report;
* ``corrected`` a newer SR replaced values of the exam (HL7 OBX-11 ``C``);
* ``signed``    the doctor signed the report; the values are then *as signed*: one the doctor edited carries
  the signed value (``edited`` True), one removed is left out (from RAI_ACCEPTANCE, rows/columns targets).

``deliverable`` is None when the result may be sent, else why not: a report HELD by the hospital's hook,
PENDING or FAILED is never sent, and an SR held for review never contributes (the first rule). A delivery
handler checks it, and ``version`` against its task's (``task.payload["version"]``): a task of an older
version is not sent, the newer version's task sends. The same version means the same content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from ris_ai_module.db.ris import get_exam, optional_columns
from ris_ai_module.db.tables import study_uid as study_uid_table
from ris_ai_module.errors import NotFound
from ris_ai_module.report import current
from ris_ai_module.report.display import ReportItem, format_number, report_item
from ris_ai_module.report.findings_kind import findings_text
from ris_ai_module.report.sr_sources import for_exam

if TYPE_CHECKING:
    from ris_ai_module.settings import Config

DRAFT, CORRECTED, SIGNED = current.DRAFT, current.CORRECTED, current.SIGNED

#: Context roles a delivery names explicitly (the rest stay in ``ResultItem.context``).
SITE_ROLES = ("finding_site", "vessel")


@dataclass(frozen=True)
class ExamIdentity:
    """The exam as RAI_V_EXAM has it (the Study UID the module generated when the RIS has none)."""

    exam_key: str
    patient_id: str
    patient_name: str
    sex: str
    birth_date: date | None
    accession_no: str
    study_uid: str
    exam_date: datetime | None = None
    exam_desc: str = ""
    modality: str = ""
    campus: str = ""


@dataclass(frozen=True)
class Code:
    """A standard code of a measurement: ``LN`` (LOINC), ``SCT`` (SNOMED CT) or ``DCM``."""

    scheme: str
    code: str
    meaning: str = ""


@dataclass(frozen=True)
class ResultItem:
    """One reported value. ``value`` is in ``unit`` (UCUM, the catalog's canonical unit); ``display`` is how the
    Chinese report writes it (``48.0mm``). A CODE/TEXT finding has ``value`` None and its wording in
    ``display`` (``4A类``), with ``value_code`` when coded."""

    key: str
    base_key: str
    name_zh: str
    name_en: str
    value: float | None
    unit: str
    display: str
    value_type: str = "NUM"
    value_code: Code | None = None
    #: The standard code of the measured concept (as the SR sent it, else the catalog's), None: use ``key``.
    code: Code | None = None
    site: str = ""
    laterality: str = ""
    fetus: str = ""
    lesion: str = ""
    #: Every context modifier as stored (role -> value).
    context: dict[str, str] = field(default_factory=dict)
    sop_instance_uid: str = ""
    device: str = ""
    model_label: str = ""
    #: Signed only: the doctor changed this value before signing (``value``/``display`` are the signed ones).
    edited: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "base_key": self.base_key, "name_zh": self.name_zh, "name_en": self.name_en,
            "value": self.value, "unit": self.unit, "display": self.display, "value_type": self.value_type,
            "value_code": vars(self.value_code) if self.value_code else None,
            "code": vars(self.code) if self.code else None, "site": self.site, "laterality": self.laterality,
            "fetus": self.fetus, "lesion": self.lesion, "context": dict(self.context),
            "sop_instance_uid": self.sop_instance_uid, "device": self.device, "model": self.model_label,
            "edited": self.edited,
        }


@dataclass(frozen=True)
class ResultSet:
    exam: ExamIdentity
    items: list[ResultItem]
    findings_text: str
    #: draft, corrected or signed.
    status: str
    #: None: may be sent; else why not (held, pending, failed, nothing applied).
    deliverable: str | None
    version: str | None
    #: RAI_REPORT_STATE: APPLIED, PENDING, HELD, FAILED (None: no SR applied yet).
    report_state: str | None
    updated_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        e = self.exam
        return {
            "exam": {"exam_key": e.exam_key, "patient_id": e.patient_id, "patient_name": e.patient_name,
                     "sex": e.sex, "birth_date": e.birth_date.isoformat() if e.birth_date else None,
                     "accession_no": e.accession_no, "study_uid": e.study_uid, "campus": e.campus,
                     "exam_date": e.exam_date.isoformat() if e.exam_date else None, "exam_desc": e.exam_desc,
                     "modality": e.modality},
            "status": self.status, "version": self.version, "report_state": self.report_state,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "measurements": [i.to_json() for i in self.items], "findings_text": self.findings_text,
        }


def read_result_set(conn: Connection, config: Config, exam_key: str) -> ResultSet:
    """The exam's result now (NotFound when RAI_V_EXAM has no such exam)."""
    exam = _identity(conn, config, exam_key)
    state = current.state_row(conn, exam_key)
    status = current.report_status(conn, exam_key, state)
    rows = current.current_rows(conn, exam_key)
    sources = for_exam(conn, exam_key)
    items = [_item(config, r, sources.get(r.sop_instance_uid) or {}) for r in rows]
    if status == SIGNED:
        items = _as_signed(items, current.signed_edits(conn, exam_key))
    text = current.findings_written(state)
    if text is None and items:
        text = findings_text(config.report.text, None, [_report_item(config, r) for r in rows])[0]
    why = current.deliverable(state)
    return ResultSet(
        exam=exam, items=items, findings_text=text or "", status=status, deliverable=why,
        version=current.result_version(conn, exam_key, state) if why is None else None,
        report_state=(state or {}).get("state"), updated_at=(state or {}).get("updated_at"),
    )


def _identity(conn: Connection, config: Config, exam_key: str) -> ExamIdentity:
    exam = get_exam(conn, exam_key)
    if exam is None:
        raise NotFound(f"exam {exam_key} is not in RAI_V_EXAM")
    uid = (exam.study_uid or "").strip()
    if not uid:
        t = study_uid_table
        uid = conn.execute(t.select().with_only_columns(t.c.study_uid).where(t.c.exam_key == exam_key)).scalar() or ""
    campus = ""
    if config.ris.campus_column:
        campus = str(optional_columns(conn, exam_key, [config.ris.campus_column]).get(
            config.ris.campus_column.lower()) or "")
    return ExamIdentity(
        exam_key=exam.exam_key, patient_id=exam.patient_id or "", patient_name=exam.patient_name or "",
        sex=exam.sex or "", birth_date=exam.birth_date, accession_no=exam.accession_no or "", study_uid=uid,
        exam_date=exam.exam_date, exam_desc=exam.exam_desc or "", modality=exam.modality or "", campus=campus,
    )


def _context(raw: str | None) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    ctx = data.get("context") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in (ctx or {}).items() if v is not None and str(v) != ""}


def _item(config: Config, r: Any, source: dict[str, Any]) -> ResultItem:
    ctx = _context(r.context)
    shown = _report_item(config, r)
    value_code = Code(r.value_scheme or "", r.value_code or "", r.value_meaning or "") if r.value_code else None
    device = " ".join(x for x in (source.get("manufacturer"), source.get("model"), source.get("device_serial")) if x)
    return ResultItem(
        key=r.report_key, base_key=r.item_key or r.report_key, name_zh=shown.name_zh, name_en=r.name_en or "",
        value=r.num_value if (r.value_type or "NUM") == "NUM" else None, unit=r.unit or "", display=shown.display,
        value_type=r.value_type or "NUM", value_code=value_code, code=measured_code(r.concept_scheme, r.concept_code,
                                                                                      r.concept_meaning, r.item_key),
        site=next((ctx[k] for k in SITE_ROLES if ctx.get(k)), ""), laterality=ctx.get("laterality", ""),
        fetus=ctx.get("fetus_id", ""), lesion=ctx.get("lesion", ""), context=ctx,
        sop_instance_uid=r.sop_instance_uid, device=device, model_label=source.get("model_label") or "",
    )


def _report_item(config: Config, r: Any) -> ReportItem:
    """The row in the report's display form (unit and decimals of ``[report]``)."""
    key, base = r.report_key, r.item_key or r.report_key
    if (r.value_type or "NUM") != "NUM":  # a category or descriptor: its Chinese wording, as finding_item
        shown = r.value_zh or r.value_meaning or (r.value_text or "").strip()
        code = {"scheme": r.value_scheme, "code": r.value_code, "meaning": r.value_meaning} if r.value_code else None
        return ReportItem(key=key, name_zh=r.name_zh or r.name_en or key, name_en=r.name_en or "", value=None,
                          unit="", display_value=shown, display_unit="", source_uid=r.sop_instance_uid,
                          base_key=base, value_type=r.value_type, code=code)
    return report_item(config.report, key, r.name_zh or r.name_en or key, r.name_en or "", float(r.num_value),
                       r.unit or "", r.sop_instance_uid, base_key=base)


def _as_signed(items: list[ResultItem], edits: dict[str, tuple[str, str | None]]) -> list[ResultItem]:
    out = []
    for i in items:
        outcome, signed = edits.get(i.key, ("ACCEPTED", None))
        if outcome == "REMOVED":
            continue
        if outcome == "EDITED" and signed is not None:
            try:
                value: float | None = float(signed)
            except ValueError:
                value = i.value
            display = signed + (i.display[len(_number_part(i.display)):] if i.value_type == "NUM" else "")
            i = ResultItem(**{**vars(i), "value": value if i.value_type == "NUM" else None, "display": display,
                              "edited": True})
        out.append(i)
    return out


def _number_part(display: str) -> str:
    n = 0
    while n < len(display) and (display[n].isdigit() or display[n] in "+-."):
        n += 1
    return display[:n]


def measured_code(scheme: str | None, code: str | None, meaning: str | None, key: str | None) -> Code | None:
    """The measured concept's LOINC/SNOMED code: as the SR sent it when it is one, else the catalog's."""
    if scheme in ("LN", "SCT") and code:
        return Code(scheme, code, meaning or "")
    return catalog_codes().get(key or "")


@lru_cache(maxsize=1)
def catalog_codes() -> dict[str, Code]:
    """Key -> the LN/SCT code its catalog row is identified by (``keys.csv`` ``identified_by``)."""
    import csv

    out: dict[str, Code] = {}
    for name in ("keys.csv", "keys-findings.csv"):
        text = resources.files("ris_ai_module.sr").joinpath(f"catalog/{name}").read_text(encoding="utf-8")
        for row in csv.DictReader(text.splitlines()):
            words = (row.get("identified_by") or "").split()
            if len(words) >= 2 and words[0] in ("LN", "SCT") and words[1][:1].isdigit():
                out[row["key"]] = Code(words[0], words[1].rstrip(";,"), row.get("name_en") or "")
    return out


__all__ = ["CORRECTED", "DRAFT", "SIGNED", "Code", "ExamIdentity", "ResultItem", "ResultSet", "format_number",
           "read_result_set"]
