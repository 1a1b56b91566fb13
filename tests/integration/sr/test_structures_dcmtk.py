"""Issue 8 structures from the second encoder (DCMTK xml2dsr), and both encoders checked with dciodvfy.

Expected readings derived by hand from tests/sr_fixtures/structures_xml.py and PS3.16 (see
tests/unit/sr/test_structures.py for the template rows each one follows).
"""

from __future__ import annotations

import subprocess

import pytest

from ris_ai_module.sr.parse import parse_sr_file
from tests.integration.sr.test_dcmtk import dciodvfy_errors, need
from tests.sr_fixtures import structures, structures_xml
from tests.unit.sr.conftest import selected

pytestmark = pytest.mark.dcmtk


@pytest.fixture(scope="module")
def xml_files(tmp_path_factory):
    need("xml2dsr")
    directory = tmp_path_factory.mktemp("structures-dcmtk")
    return {name: structures_xml.build(name, directory) for name in structures_xml.CASES}


@pytest.fixture(scope="module")
def pydicom_files(tmp_path_factory):
    return structures.write_all(tmp_path_factory.mktemp("structures-pyd"))


@pytest.mark.parametrize("name", sorted(structures_xml.CASES))
def test_xml2dsr_structures_are_valid_dicom(xml_files, name):
    assert dciodvfy_errors(xml_files[name]) == []


@pytest.mark.parametrize("name", sorted(structures.CASES))
def test_pydicom_structures_pass_dciodvfy_and_dsrdump(pydicom_files, name):
    assert dciodvfy_errors(pydicom_files[name]) == []
    run = subprocess.run([need("dsrdump"), "-Ec", str(pydicom_files[name])], capture_output=True, text=True,
                         errors="replace", timeout=60)
    assert run.returncode == 0, run.stderr


def test_dcmtk_derived_values(xml_files):
    r = parse_sr_file(xml_files["pediatric_derived"])
    ivsd = selected(r, "IVSd")
    assert ivsd.value == 6.0
    assert {k: selected(r, k).value for k in ("IVSd_Z", "IVSd_PCT", "IVSd_NRL", "IVSd_NRU", "LVIDd", "LVIDd_Z")} == {
        "IVSd_Z": -1.1, "IVSd_PCT": 14.0, "IVSd_NRL": 4.0, "IVSd_NRU": 8.0, "LVIDd": 34.0, "LVIDd_Z": 2.1}
    assert selected(r, "IVSd_Z").derived_from == ivsd.path


def test_dcmtk_ob_gyn(xml_files):
    r = parse_sr_file(xml_files["ob_gyn"])
    assert [(m.value, m.selected) for m in r.by_key("BPD", selected_only=False)] == [
        (84.0, False), (86.0, False), (85.0, True)]
    for key, value in (("BPD_GA", 238.0), ("BPD_PCT", 40.0), ("BPD_Z", -0.25), ("EFW", 2300.0), ("EFW_PCT", 45.0),
                       ("GA", 236.0), ("UA_PI", 1.02), ("UA_RI", 0.65), ("MCA_PSV", 52.0), ("DV_PI", 0.55)):
        assert selected(r, key, fetus_id="1").value == value, key
    assert selected(r, "UTA_PI", laterality="Left").value == 0.9
    assert selected(r, "UTA_PI", laterality="Right").value == 1.1
    assert selected(r, "UTERUS_LENGTH").value == 80.0 and selected(r, "UTERUS_VOLUME").value == 85.0
    assert selected(r, "ENDOMETRIUM").value == 8.0 and selected(r, "FOLLICLE_COUNT_LEFT").value == 2.0
    assert selected(r, "FOLLICLE_DIAMETER", identifier="1").value == 18.0
    assert selected(r, "FOLLICLE_DIAMETER", identifier="2").value == 12.0
    assert not [m for m in r.measurements if m.concept.code == "125106"]  # Doppler angle: context


def test_dcmtk_vascular(xml_files):
    r = parse_sr_file(xml_files["vascular"])
    assert selected(r, "CCA_PSV", laterality="Right", topographical_modifier="Proximal").value == 90.0
    assert selected(r, "CCA_PSV", laterality="Right", topographical_modifier="Distal").value == 85.0
    assert selected(r, "ICA_PSV", laterality="Right").value == 120.0
    assert selected(r, "ECA_PSV", laterality="Right").value == 110.0
    assert selected(r, "ICA_CCA_RATIO", laterality="Right").value == 1.33
    assert selected(r, "VA_PSV", laterality="Left").value == 50.0 and selected(r, "VA_RI").value == 0.7


def test_dcmtk_acquisition_context(xml_files):
    r = parse_sr_file(xml_files["acquisition_context"])
    assert sorted(m.key for m in r.measurements) == ["HR", "MV_E"]
    assert selected(r, "HR").value == 72.0 and selected(r, "MV_E").value == 80.0


def test_dcmtk_simplified_echo(xml_files):
    r = parse_sr_file(xml_files["simplified_echo_postcoordinated"])
    assert r.document_template == "5300"  # from the SOP class
    assert [(m.value, m.selected) for m in r.by_key("MV_E", selected_only=False)] == [
        (78.0, False), (82.0, True), (80.0, False)]
    assert selected(r, "MV_A").value == 60.0 and selected(r, "TR_VMAX").value == 280.0
    assert [(m.value, m.selected) for m in r.by_key("TAPSE", selected_only=False)] == [(23.0, True), (22.0, False)]
    assert selected(r, "LAVI").value == 34.0 and selected(r, "RVSP").value == 35.0
    assert [m.value for m in r.measurements if m.key is None] == [5.0]  # the MR jet
    assert selected(r, "TV_E").value == 50.0 and selected(r, "LVIDd").value == 48.0


def test_dcmtk_empty_values(xml_files):
    r = parse_sr_file(xml_files["empty_values"])
    assert [(m.value, m.selected) for m in r.by_key("LVIDd", selected_only=False)] == [
        (46.0, False), (48.0, True), (None, False)]  # the last one is "Not a number"
    lvids = r.by_key("LVIDs", selected_only=False)
    assert len(lvids) == 1 and not lvids[0].selected and lvids[0].modifiers["qualifier"]["code"] == "114006"
    assert (selected(r, "HR").value, selected(r, "HR").unit) == (64.0, "/min")  # {H.B.}/min is per minute


def test_dcmtk_lateralised_sites(xml_files):
    r = parse_sr_file(xml_files["lateralised_sites"])
    assert selected(r, "THYROID_LOBE_LENGTH", laterality="Right").value == 46.0
    assert selected(r, "THYROID_LOBE_LENGTH", laterality="Left").value == 44.0
    assert selected(r, "OVARY_LENGTH", laterality="Left").value == 31.0
    held = [m for m in r.measurements if m.hold]
    assert [(m.key, m.value, m.selected) for m in held] == [("THYROID_LOBE_WIDTH", 15.0, False)]
