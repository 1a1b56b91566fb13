"""The body the AI host receives: default field names, renames, constants, Chinese text intact."""

from __future__ import annotations

import json
from datetime import date, datetime

from ris_ai_module.db.ris import Exam
from ris_ai_module.push.payload import DEFAULT_FIELDS, build_payload
from ris_ai_module.settings import config_from_dict

EXAM = Exam(
    exam_key="E1", patient_id="P0001", patient_name="欧阳明", sex="男", birth_date=date(1955, 7, 30),
    accession_no="A1", exam_date=datetime(2026, 11, 27, 9, 30, 15, 123456), exam_desc="超声心动图（经胸）",
    exam_items="心脏彩超;左心功能", study_uid=None, modality="US", exam_status="STARTED",
)


def _push_cfg(**push: object):  # noqa: ANN202
    return config_from_dict({"database": {"url": "sqlite://"}, "push": {"url": "http://x", **push}}).push


def test_default_fields() -> None:
    body = build_payload(EXAM, "2.25.1", _push_cfg())
    assert tuple(body) == DEFAULT_FIELDS
    assert body["patientName"] == "欧阳明"
    assert body["sex"] == "M"
    assert body["birthDate"] == "1955-07-30"
    assert body["studyDate"] == "2026-11-27T09:30:15"
    assert body["studyInstanceUid"] == "2.25.1"
    assert "欧阳明" in json.dumps(body, ensure_ascii=False)


def test_renames_constants_and_omissions_from_config() -> None:
    cfg = _push_cfg(field_names={"patientName": "name", "accessionNumber": "accNo"},
                    constant_fields={"hospitalCode": "H0001"}, omit_fields=["examKey", "modality"])
    body = build_payload(EXAM, "2.25.1", cfg)
    assert body["name"] == "欧阳明" and body["accNo"] == "A1" and body["hospitalCode"] == "H0001"
    assert "patientName" not in body and "examKey" not in body and "modality" not in body
