"""Coded/text findings from the second encoder (DCMTK xml2dsr), and the pydicom findings files, checked
with dciodvfy (issue 8 item 9). Expected readings by hand from tests/sr_fixtures/findings_xml.py.

With CI=true a missing DCMTK/dicom3tools program fails the test instead of skipping it.
"""

from __future__ import annotations

import pytest

from ris_ai_module.sr.parse import parse_sr_file
from tests.integration.sr.test_dcmtk import dciodvfy_errors, need
from tests.sr_fixtures import findings_cases, findings_xml
from tests.unit.sr.conftest import selected

pytestmark = pytest.mark.dcmtk


@pytest.fixture(scope="module")
def xml_files(tmp_path_factory):
    need("xml2dsr")
    directory = tmp_path_factory.mktemp("findings-dcmtk")
    return {name: findings_xml.build(name, directory) for name in findings_xml.CASES}


@pytest.mark.parametrize("name", sorted(findings_xml.CASES))
def test_xml2dsr_findings_fixtures_are_valid_dicom(xml_files, name):
    assert dciodvfy_errors(xml_files[name]) == []


@pytest.mark.parametrize("name", sorted(findings_cases.CASES))
def test_pydicom_findings_fixtures_are_valid_dicom(tmp_path, name):
    path = tmp_path / f"{name}.dcm"
    findings_cases.CASES[name]().save_as(path, enforce_file_format=True)
    assert dciodvfy_errors(path) == []


def test_dcmtk_thyroid_chinese_text_findings(xml_files):
    r = parse_sr_file(xml_files["thyroid_findings_dcmtk"])
    assert r.patient_name == "李^四" and r.warnings == []
    expected = {"C_TIRADS": "4B类", "ACR_TIRADS": "TR4", "LESION_COMPOSITION": "实性", "LESION_ECHO": "低回声",
                "LESION_FINDING": "甲状腺结节"}
    for key, zh in expected.items():
        m = selected(r, key, lesion="1", laterality="Right", topographical_modifier="Inferior")
        assert m.value_zh == zh, key
    assert selected(r, "C_TIRADS").text_value == "C-TIRADS 4B类"  # the text as sent is kept
    assert [selected(r, k).value for k in ("LESION_LENGTH", "LESION_WIDTH", "LESION_DEPTH")] == [9.0, 7.0, 6.0]


def test_dcmtk_breast_coded_findings(xml_files):
    r = parse_sr_file(xml_files["breast_findings_dcmtk"])
    birads = selected(r, "BIRADS", lesion="1", laterality="Right")
    assert (birads.code_value.code, birads.value_zh) == ("397143007", "3类")  # CID 6027: 3 - Probably Benign
    assert selected(r, "LESION_CLOCK").value_zh == "9点钟方向"  # SCT 129780006
    assert (selected(r, "LESION_SHAPE").value_zh, selected(r, "LESION_MARGIN").value_zh,
            selected(r, "LESION_ORIENTATION").value_zh) == ("椭圆形", "边缘光整", "平行位")
