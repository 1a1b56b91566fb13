"""The exam's result set as a FHIR transaction Bundle, validated with fhir.resources before it leaves.

fhir.resources' R4B models stand in for R4: DiagnosticReport, Observation and Bundle are the same in R4 and R4B
for every element used here. Resources are written by conditional update (``PUT Type?identifier=...``), so a
server keeps one DiagnosticReport per exam and one Observation per exam and key, and the signed result is a new
version (``final``) of the ``preliminary`` one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from ris_ai_module.errors import InvalidInput
from ris_ai_module.fhir.section import FhirConfig
from ris_ai_module.results.resultset import SIGNED, Code, ResultItem, ResultSet

SYSTEMS = {"LN": "http://loinc.org", "SCT": "http://snomed.info/sct", "DCM": "http://dicom.nema.org/resources/ontology/DCM"}
UCUM = "http://unitsofmeasure.org"
DICOM_UID = "urn:dicom:uid"
#: LOINC 18748-4 Diagnostic imaging study; v2-0074 US (ultrasound) as the category.
REPORT_CODE = {"coding": [{"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}]}
CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "US",
                        "display": "Ultrasound"}]}
OBS_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "imaging", "display": "Imaging"}]}
KEY_SYSTEM = "urn:ris-ai-module:measurement"


def fhir_status(rs: ResultSet) -> str:
    """``final`` once the RIS report is signed, else ``preliminary`` (the AI's values awaiting the doctor)."""
    return "final" if rs.status == SIGNED else "preliminary"


def _coding(code: Code | None) -> list[dict[str, str]]:
    if code is None or code.scheme not in SYSTEMS or not code.code:
        return []
    out = {"system": SYSTEMS[code.scheme], "code": code.code}
    if code.meaning:
        out["display"] = code.meaning
    return [out]


def _observation(cfg: FhirConfig, rs: ResultSet, item: ResultItem, subject: dict[str, Any],
                 status: str, issued: str) -> dict[str, Any]:
    codings = _coding(item.code) + [{"system": KEY_SYSTEM, "code": item.key, "display": item.name_en or item.key}]
    obs: dict[str, Any] = {
        "resourceType": "Observation", "status": status, "category": [OBS_CATEGORY],
        "identifier": [{"system": cfg.exam_system + ":measurement", "value": f"{rs.exam.exam_key}|{item.key}"}],
        "code": {"coding": codings, "text": item.name_zh or item.name_en or item.key},
        "subject": subject, "issued": issued,
        "derivedFrom": [_study_reference(rs)],
    }
    if item.value_type == "NUM" and item.value is not None:
        q: dict[str, Any] = {"value": item.value}
        if item.unit:
            q.update(unit=item.unit, system=UCUM, code=item.unit)
        obs["valueQuantity"] = q
    elif item.value_code is not None and _coding(item.value_code):
        obs["valueCodeableConcept"] = {"coding": _coding(item.value_code), "text": item.display}
    else:
        obs["valueString"] = item.display
    site = " ".join(x for x in (item.laterality, item.site) if x)
    if site:
        obs["bodySite"] = {"text": site}
    if item.model_label:
        obs["device"] = {"display": item.model_label}
    return obs


def _study_reference(rs: ResultSet) -> dict[str, Any]:
    """The ImagingStudy by its Study Instance UID (a logical reference: the server need not hold it)."""
    return {"type": "ImagingStudy", "identifier": {"system": DICOM_UID, "value": f"urn:oid:{rs.exam.study_uid}"}}


def build_bundle(cfg: FhirConfig, rs: ResultSet, now: datetime | None = None) -> dict[str, Any]:
    """The transaction Bundle of one result set, as JSON-ready data, validated (InvalidInput names the fault)."""
    status = fhir_status(rs)
    issued = (now or datetime.now(timezone.utc)).astimezone().isoformat(timespec="seconds")
    subject: dict[str, Any] = {"type": "Patient", "identifier": {"system": cfg.patient_system,
                                                                  "value": rs.exam.patient_id}}
    if rs.exam.patient_name:
        subject["display"] = rs.exam.patient_name
    entries: list[dict[str, Any]] = []
    refs: list[dict[str, str]] = []
    for item in rs.items:
        full = f"urn:uuid:{uuid.uuid4()}"
        obs = _observation(cfg, rs, item, subject, status, issued)
        ident = obs["identifier"][0]
        entries.append({"fullUrl": full, "resource": obs, "request": {
            "method": "PUT", "url": f"Observation?identifier={ident['system']}|{ident['value']}"}})
        refs.append({"reference": full})
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "status": status, "category": [CATEGORY], "code": REPORT_CODE,
        "identifier": [{"system": cfg.exam_system, "value": rs.exam.exam_key}],
        "subject": subject, "issued": issued, "result": refs,
        "imagingStudy": [_study_reference(rs)],
    }
    if rs.exam.accession_no:
        report["identifier"].append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                          "code": "ACSN"}]},
                                     "system": cfg.exam_system + ":accession", "value": rs.exam.accession_no})
    if rs.findings_text:
        report["conclusion"] = rs.findings_text
    entries.insert(0, {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": report, "request": {
        "method": "PUT", "url": f"DiagnosticReport?identifier={cfg.exam_system}|{rs.exam.exam_key}"}})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    validate(bundle)
    return bundle


def validate(bundle: dict[str, Any]) -> Bundle:
    """The Bundle through the R4B models (every element type-checked); InvalidInput with the model's words."""
    try:
        return Bundle.model_validate(bundle)
    except Exception as exc:  # pydantic's ValidationError, or a model library's own error
        raise InvalidInput("fhir.bundle", str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__) from exc
