"""The push's JSON Schema (shipped in push/exam-push.schema.json) and the module's own payload agree: what
the module sends is what the schema documents; a bad body gets problems that name the field."""

from __future__ import annotations

from datetime import date, datetime

from ris_ai_module.db.ris import Exam
from ris_ai_module.push.payload import DEFAULT_FIELDS, build_payload
from ris_ai_module.push.schema import canonical_body, load_schema, validate_body
from ris_ai_module.settings import config_from_dict

EXAM = Exam(
    exam_key="E1", patient_id="P0001", patient_name="欧阳明", sex="男", birth_date=date(1955, 7, 30),
    accession_no="A1", exam_date=datetime(2026, 11, 27, 9, 30, 15), exam_desc="超声心动图（经胸）",
    exam_items="心脏彩超", study_uid=None, modality="US", exam_status="STARTED",
)
BARE = Exam(exam_key="E2", patient_id="P2", patient_name=None, sex=None, birth_date=None, accession_no=None,
            exam_date=None, exam_desc=None, exam_items=None, study_uid=None, modality=None, exam_status=None)


def _push(**push: object):  # noqa: ANN202
    return config_from_dict({"database": {"url": "sqlite://"}, "push": {"url": "http://x", **push}}).push


def test_the_schema_documents_exactly_the_default_fields() -> None:
    schema = load_schema()
    assert set(schema["required"]) == set(DEFAULT_FIELDS) == set(schema["properties"])


def test_the_modules_payload_matches_the_schema_full_and_empty() -> None:
    assert validate_body(build_payload(EXAM, "2.25.123", _push())) == []
    assert validate_body(build_payload(BARE, "1.2.840.99", _push())) == []


def test_a_renamed_site_payload_validates_once_mapped_back() -> None:
    cfg = _push(field_names={"patientName": "name", "accessionNumber": "accNo"}, constant_fields={"hospital": "H1"},
                omit_fields=["modality"])
    body = build_payload(EXAM, "2.25.1", cfg)
    assert validate_body(body, ("modality",)) != []  # vendor names are not ours
    assert validate_body(canonical_body(body, cfg.field_names, cfg.constant_fields), ("modality",)) == []


def test_problems_name_the_field() -> None:
    body = build_payload(EXAM, "2.25.1", _push())
    body["studyInstanceUid"] = "1.2.03"  # a UID component may not have a leading zero (PS3.5 9.1)
    body["sex"] = "男"
    del body["patientId"]
    fields = {p.field for p in validate_body(body)}
    assert fields == {"studyInstanceUid", "sex", "patientId"}
