"""Conformance review: constructs PS3.3/PS3.16 allow, written by DCMTK xml2dsr (tests/sr_fixtures/conformance_xml.py),
checked with dciodvfy and read back with dsrdump; expected readings worked out from the standard's text.

Each test names the rule it follows. "Held" means kept in the result with ``hold`` (the reason), never
selected, so never written into a report.
"""

from __future__ import annotations

import subprocess

import pytest

from ris_ai_module.report.display import report_items
from ris_ai_module.report.section import ReportConfig
from ris_ai_module.sr.parse import parse_sr_file
from tests.integration.sr.test_dcmtk import dciodvfy_errors, need
from tests.sr_fixtures import conformance_xml
from tests.unit.sr.conftest import selected

pytestmark = pytest.mark.dcmtk


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    need("xml2dsr")
    directory = tmp_path_factory.mktemp("conformance-dcmtk")
    return {name: conformance_xml.build(name, directory) for name in conformance_xml.CASES}


@pytest.mark.parametrize("name", sorted(conformance_xml.CASES))
def test_fixtures_are_valid_and_dcmtk_reads_them_back(files, name):
    assert dciodvfy_errors(files[name]) == []
    run = subprocess.run([need("dsrdump"), "-Ec", str(files[name])], capture_output=True, text=True,
                         errors="replace", timeout=60)
    assert run.returncode == 0, run.stderr


def _reported(result):
    return {m.path: m for m in result.measurements if m.selected}


def test_image_view_and_respiratory_cycle_point_are_part_of_what_is_measured(files):
    """TID 5203: Image View (CID 12226) and Respiratory Cycle Point (CID 12234) qualify the measurement. The
    single-plane LVEDV of the 4-chamber view is not a replicate of the 2-chamber one (CID 12300 codes them
    apart), nor the IVC diameter at inspiration a replicate of the one at expiration: each is reported."""
    r = parse_sr_file(files["views_and_breathing"])
    assert selected(r, "LVEDV", image_view="Apical four chamber").value == 120.0
    assert selected(r, "LVEDV", image_view="Apical two chamber").value == 100.0
    assert selected(r, "IVC_DIAM", respiratory_phase="Expiration").value == 21.0  # 2.1 cm
    assert selected(r, "IVC_DIAM", respiratory_phase="Inspiration").value == 12.0
    assert selected(r, "IVC_COLLAPSE").value == 43.0
    items = {i.key: i for i in report_items(ReportConfig(), r.measurements, "uid")}
    lvedv = sorted((i.display_value, i.name_zh) for k, i in items.items() if k.startswith("LVEDV"))
    assert lvedv == [("100", "左室舒张末期容积（心尖两腔心切面，单平面Simpson法）"),
                     ("120", "左室舒张末期容积（心尖四腔心切面，单平面Simpson法）")]
    ivc = sorted((i.display_value, i.name_zh) for k, i in items.items() if k.startswith("IVC_DIAM"))
    assert ivc == [("12.0", "下腔静脉内径（吸气相）"), ("21.0", "下腔静脉内径（呼气相）")]


def test_floating_point_and_rational_values_must_agree_with_the_numeric_value(files):
    """PS3.3 C.18.1.1: Floating Point Value and Rational Numerator/Denominator Value encode the Numeric Value.
    Agreeing encodings give the value; disagreeing ones (1.0 cm vs 10.0, 0.9 vs 9/1) are held."""
    r = parse_sr_file(files["value_encodings"])
    assert selected(r, "LVIDd").value == 48.0  # DS 4.8 = FD 4.8 cm
    assert selected(r, "MV_E_A").value == 1.33  # DS 1.33 = 4/3 within the DS's precision
    for key, reason in (("IVSd", "Floating Point Value 10.0 disagrees"), ("LVPWd", "Rational Value 9/1 disagrees")):
        (m,) = r.by_key(key, selected_only=False)
        assert not m.selected and m.hold.startswith(reason)
    assert not [i for i in report_items(ReportConfig(), r.measurements, "uid") if i.key in ("IVSd", "LVPWd")]


def test_unity_fractions_convert_by_ucum_and_an_impossible_fraction_is_held(files):
    """PS3.16 7.2.2 / UCUM: ``1`` is unity and ``%`` is 10^-2, so FS 0.35 (1) is 35 %. LVEF 62 in ``1``
    is 6200 % by UCUM: an ejection fraction cannot exceed 100 %, so the unit is wrong and it is held; so is
    an EF of 0.58 sent in ``%`` (0.58 %: no heart ejects under 1 %, it is a fraction under the wrong unit)."""
    r = parse_sr_file(files["value_encodings"])
    assert selected(r, "FS").value == 35.0
    (ef,) = r.by_key("LVEF", selected_only=False)
    assert not ef.selected and "outside what LVEF can be" in ef.hold
    assert "LVEF" not in {i.key for i in report_items(ReportConfig(), r.measurements, "uid")}
    (biplane,) = r.by_key("LVEF_BIPLANE", selected_only=False)  # 0.58 in "%" is 0.58 %: a fraction, wrong unit
    assert not biplane.selected and "outside what LVEF_BIPLANE can be" in biplane.hold


def test_a_measurement_with_two_finding_sites_is_held(files):
    """TID 300: Finding Site is VM 1. An e' stated at the medial and the lateral annulus is neither."""
    r = parse_sr_file(files["modifier_conflicts"])
    keys = {m.key for m in _reported(r).values()}
    assert "E_PRIME_SEPTAL" not in keys and "E_PRIME_LATERAL" not in keys
    (held,) = [m for m in r.measurements if m.concept.code == "399133000"]
    assert "two different finding site modifiers" in held.hold
    assert selected(r, "A_PRIME_SEPTAL").value == 9.0  # its sibling with one site is unaffected


def test_maximum_and_minimum_without_a_selection_are_not_guessed(files):
    """PS3.17 I.7 / TID 310: the reported value of replicates is the one flagged by Selection Status, else
    the Mean. Replicates with a Maximum and a Minimum and neither flag: no AV Vmax is reported (the last
    item would have been the Minimum). The PV replicates with a Mean report the Mean, 0.95 m/s."""
    r = parse_sr_file(files["modifier_conflicts"])
    assert not r.by_key("AV_VMAX")
    assert all("none flagged by Selection Status" in m.hold for m in r.by_key("AV_VMAX", selected_only=False))
    assert selected(r, "PV_VMAX").value == 95.0


def test_two_different_values_each_user_chosen_are_not_guessed(files):
    """PS3.17 I.7: one of the observations may be the selected value. Two TR velocities (2.6 and 2.9 m/s)
    both flagged "User chosen value" name no one value: TR Vmax is held, not the later one reported."""
    r = parse_sr_file(files["modifier_conflicts"])
    assert not r.by_key("TR_VMAX")
    held = r.by_key("TR_VMAX", selected_only=False)
    assert len(held) == 3 and all("each flagged 'User chosen value'" in m.hold for m in held)


def test_annulus_with_a_topographical_modifier_is_septal_or_lateral(files):
    """TID 300 $TargetSiteMod: Finding Site Mitral Annulus (SCT 65197004) with Topographical modifier Medial
    (255561001) is the septal e', with Lateral (49370004) the lateral e' (CID 12235 Medial/Lateral Mitral
    Annulus say the same pre-coordinated)."""
    r = parse_sr_file(files["annulus_and_signs"])
    assert selected(r, "E_PRIME_SEPTAL").value == 8.0
    assert selected(r, "E_PRIME_LATERAL").value == 11.0


def test_a_negative_length_or_duration_is_held(files):
    """A dimension and a deceleration time are magnitudes: -4.8 cm and -180 ms are sign errors, held;
    LVIDs 3.1 cm beside them is read as sent (31 mm)."""
    r = parse_sr_file(files["annulus_and_signs"])
    for key in ("LVIDd", "MV_DT"):
        (m,) = r.by_key(key, selected_only=False)
        assert not m.selected and "cannot be negative" in m.hold, key
    assert selected(r, "LVIDs").value == 31.0


def test_a_cardiac_cycle_point_contradicting_the_concept_is_not_that_measurement(files):
    """LN 18154-5 is the *diastolic* septal thickness; with Cardiac Cycle Point End Systole (CID 12233) the
    item contradicts itself and is not reported as IVSd (kept unmapped). LVIDd at End Diastole and LVIDs
    at End Systole (legacy SRT R-4089A / F-32021, as GE Vivid sends them) agree and are read."""
    r = parse_sr_file(files["phases"])
    assert selected(r, "LVIDd").value == 48.0 and selected(r, "LVIDs").value == 31.0
    assert not r.by_key("IVSd", selected_only=False)
    (kept,) = [m for m in r.measurements if m.concept.code == "18154-5"]
    assert kept.key is None and kept.raw_value == "1.4"


def test_an_e_wave_said_to_be_regurgitant_is_not_the_e_wave(files):
    """LN 18037-2 is the mitral inflow E wave (antegrade); with Direction of Flow Regurgitant (CID 12221) the
    5.1 m/s item is a regurgitant jet, not MV E: it stays unmapped and MV E is the 0.8 m/s inflow."""
    r = parse_sr_file(files["phases"])
    assert selected(r, "MV_E").value == 80.0
    assert len(r.by_key("MV_E", selected_only=False)) == 1
