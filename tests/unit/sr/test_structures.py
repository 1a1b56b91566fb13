"""Issue 8: the standard's own structures read right (pydicom/highdicom encoder; DCMTK in integration).

Expected readings are derived by hand from the fixture definitions (tests/sr_fixtures/structures.py)
and PS3.16: TID 300/310 (derived values), TID 5008 (biometry group), TID 5025/5026 and TID 5104
(the container names the vessel), TID 5012/5013/5016 (GYN), TID 5301/5302 (simplified echo) and
CID 12131/6022 (sites that carry their side).
"""

from __future__ import annotations

import pytest

from ris_ai_module.sr.parse import parse_sr_file
from tests.sr_fixtures import structures
from tests.unit.sr.conftest import selected


@pytest.fixture(scope="module")
def read(tmp_path_factory):
    files = structures.write_all(tmp_path_factory.mktemp("structures"))
    return {name: parse_sr_file(path) for name, path in files.items()}


def _all(result, key, **context):
    return [m for m in result.measurements if m.key == key and all(m.context.get(k) == v for k, v in context.items())]


# item 4: derived values are not the measurement
def test_derived_values_are_their_own_keys_tied_to_the_measurement(read):
    r = read["pediatric_derived"]
    ivsd = selected(r, "IVSd")
    assert (ivsd.value, ivsd.unit) == (6.0, "mm")  # 0.6 cm; never replaced by its z-score
    expected = {"IVSd_Z": (-1.1, "{z-score}"), "IVSd_PCT": (14.0, "%"), "IVSd_NRL": (4.0, "mm"), "IVSd_NRU": (8.0, "mm")}
    for key, (value, unit) in expected.items():
        m = selected(r, key)
        assert (m.value, m.unit, m.derived_from) == (value, unit, ivsd.path), key
    assert selected(r, "IVSd_Z").name_zh == "室间隔舒张末期厚度Z值"


def test_a_sibling_in_z_score_units_is_a_z_score_not_a_replicate(read):
    r = read["pediatric_derived"]
    assert [(m.value, m.selected) for m in r.by_key("LVIDd", selected_only=False)] == [(34.0, True)]
    z = selected(r, "LVIDd_Z")
    assert (z.value, z.unit, z.derived_from) == (2.1, "{z-score}", selected(r, "LVIDd").path)


# item 5: acquisition parameters are context
def test_acquisition_parameters_are_context_not_measurements(read):
    r = read["acquisition_context"]
    assert sorted(m.key for m in r.measurements) == ["HR", "MV_E"]
    assert selected(r, "HR").value == 72.0  # the heart rate measured in its own right
    mv_e = selected(r, "MV_E")
    assert mv_e.value == 80.0 and mv_e.context["acquisition:Heart rate"] == "75"
    acq = {a["concept"]["code"]: (a["value"], a["unit"]) for a in mv_e.modifiers["acquisition"]}
    assert acq == {"125106": (20.0, "deg"), "125107": (8.0, "cm")}


# item 2: OB/GYN TID 5000
def test_biometry_group_ga_percentile_and_z_score_are_their_own_keys(read):
    r = read["ob_gyn"]
    bpd = [m for m in r.measurements if m.key == "BPD"]
    assert [(m.value, m.selected) for m in bpd] == [(84.0, False), (86.0, False), (85.0, True)]  # the mean
    mean = bpd[2]
    for key, value, unit in (("BPD_GA", 238.0, "d"), ("BPD_PCT", 40.0, "%"), ("BPD_Z", -0.25, "{z-score}"),
                             ("FL_GA", 234.5, "d"), ("FL_PCT", 35.0, "%")):
        m = selected(r, key, fetus_id="1")
        assert (m.value, m.unit) == (value, unit), key
    assert selected(r, "BPD_GA").derived_from == bpd[0].path
    assert mean.context["subject_class"] == "Fetus"
    assert selected(r, "EFW", fetus_id="1").value == 2300.0
    assert selected(r, "EFW_PCT", fetus_id="1").value == 45.0
    assert selected(r, "GA", fetus_id="1").value == 236.0  # the summary GA, not one of the biometry GAs
    assert len(r.by_key("GA", selected_only=False)) == 1


def test_fetal_doppler_in_vessel_containers(read):
    r = read["ob_gyn"]
    expected = {"UA_PI": 1.02, "UA_RI": 0.65, "UA_SD": 2.8, "UA_PSV": 45.0, "MCA_PSV": 52.0, "MCA_PI": 1.9,
                "DV_PI": 0.55}
    for key, value in expected.items():
        assert selected(r, key, fetus_id="1").value == value, key
    ua_pi = selected(r, "UA_PI")
    assert ua_pi.modifiers["acquisition"][0]["value"] == 20.0  # the Doppler angle, not a measurement
    assert not [m for m in r.measurements if m.concept.code == "125106"]


def test_uterine_arteries_per_side(read):
    r = read["ob_gyn"]
    assert selected(r, "UTA_PI", laterality="Left").value == 0.9
    assert selected(r, "UTA_PI", laterality="Right").value == 1.1
    assert selected(r, "UTA_RI", laterality="Right").value == 0.62
    assert "fetus_id" not in selected(r, "UTA_PI", laterality="Left").context  # maternal


def test_gyn_uterus_ovaries_and_follicles(read):
    r = read["ob_gyn"]
    for key, value in (("UTERUS_LENGTH", 80.0), ("UTERUS_WIDTH", 50.0), ("UTERUS_HEIGHT", 40.0),
                       ("UTERUS_VOLUME", 85.0), ("ENDOMETRIUM", 8.0), ("CERVIX_LENGTH", 30.0)):
        assert selected(r, key).value == value, key
    assert selected(r, "OVARY_LENGTH", laterality="Left").value == 30.0
    assert selected(r, "OVARY_LENGTH", laterality="Right").value == 32.0
    assert selected(r, "OVARY_VOLUME", laterality="Left").value == 4.7
    assert selected(r, "FOLLICLE_COUNT_LEFT").value == 2.0
    # two follicles never collapse into one: the Identifier is part of their identity
    assert selected(r, "FOLLICLE_DIAMETER", identifier="1", laterality="Left").value == 18.0
    assert selected(r, "FOLLICLE_DIAMETER", identifier="2", laterality="Left").value == 12.0


# item 1: vascular TID 5100
def test_vascular_group_container_is_the_vessel(read):
    r = read["vascular"]
    assert selected(r, "CCA_PSV", laterality="Right", topographical_modifier="Proximal").value == 90.0
    assert selected(r, "CCA_PSV", laterality="Right", topographical_modifier="Distal").value == 85.0
    assert selected(r, "ICA_PSV", laterality="Right").value == 120.0
    assert selected(r, "ECA_PSV", laterality="Right").value == 110.0  # ICA and ECA: different measurements
    assert selected(r, "ECA_EDV", laterality="Right").value == 15.0
    assert selected(r, "ICA_CCA_RATIO", laterality="Right").value == 1.33
    assert selected(r, "VA_PSV", laterality="Left").value == 50.0  # laterality only on the group
    assert selected(r, "RENA_RI", laterality="Left").value == 0.68
    assert selected(r, "SEGA_RI", laterality="Left").value == 0.62
    assert all(m.selected for m in r.measurements)  # no value here is a replicate of another


# item 3: simplified echo TID 5300
def test_tid_5301_preferred_flag_chooses_the_value(read):
    r = read["simplified_echo_postcoordinated"]
    assert [(m.value, m.selected) for m in r.by_key("MV_E", selected_only=False)] == [
        (78.0, False), (82.0, True), (80.0, False)]  # Selection Status = Maximum (CID 12301)


def test_tid_5302_post_coordinated_rows_map_to_their_pre_coordinated_keys(read):
    r = read["simplified_echo_postcoordinated"]
    assert selected(r, "MV_A").value == 60.0
    assert selected(r, "TR_VMAX").value == 280.0  # Retrograde flow of the tricuspid valve: its regurgitant jet
    assert [(m.value, m.selected) for m in r.by_key("TAPSE", selected_only=False)] == [
        (21.0, False), (23.0, True), (22.0, False)]
    assert selected(r, "LAVI").value == 34.0 and selected(r, "LAV").value == 58.0
    assert selected(r, "RVSP").value == 35.0
    assert selected(r, "TV_E", cardiac_phase="E-wave").value == 50.0
    assert selected(r, "LVIDd").value == 48.0  # Internal Dimension + Left Ventricle + End diastole
    jets = [m for m in r.measurements if m.key is None]
    assert sorted((m.context["finding_site"], m.value) for m in jets) == [("Aortic Valve", 4.0), ("Mitral Valve", 5.0)]
    assert not r.by_key("AV_VMAX") and [m.value for m in r.by_key("MV_E")] == [82.0]  # the MR jet is not MV_E


# item 8: sites that carry their side
def test_sites_that_carry_their_side(read):
    r = read["lateralised_sites"]
    assert selected(r, "THYROID_LOBE_LENGTH", laterality="Right").value == 46.0
    assert selected(r, "THYROID_LOBE_LENGTH", laterality="Left").value == 44.0
    assert selected(r, "THYROID_LOBE_WIDTH", laterality="Right").value == 16.0
    assert selected(r, "LESION_LENGTH", lesion="1", laterality="Right").value == 12.0
    assert selected(r, "OVARY_LENGTH", laterality="Left").value == 31.0
    assert selected(r, "KIDNEY_LENGTH", laterality="Right").value == 105.0
    site = selected(r, "OVARY_LENGTH").modifiers["finding_site"]
    assert (site["code"], site["site"], site["laterality"]) == ("43981004", "SCT:15497006", "SCT:7771000")


def test_a_site_contradicting_its_laterality_is_kept_and_not_reported(read):
    r = read["lateralised_sites"]
    held = [m for m in r.measurements if m.hold]
    assert [(m.key, m.value, m.selected) for m in held] == [("THYROID_LOBE_WIDTH", 15.0, False)]
    assert "Left lobe of thyroid" in held[0].hold and "Right" in held[0].hold
    assert any("kept, not reported" in w for w in r.warnings)


def test_fetus_number_identifies_the_fetus_without_a_fetus_id(tmp_path):
    """TID 1008: Subject Class = Fetus with a Fetus number (DCM 121037) and no Fetus ID."""
    from tests.sr_fixtures.build import c, code, container, document, num

    def fetus(n: int, bpd_cm: float):
        return container(structures.FETAL_BIOMETRY, code(structures.SUBJECT_CLASS, structures.FETUS, rel="obs"),
                         num(c("DCM:121037", "Fetus number"), n, "1", rel="obs"),
                         num(c("LN:11820-8", "Biparietal Diameter"), bpd_cm, "cm"))
    path = tmp_path / "n.dcm"
    document(structures.OB_GYN, [fetus(1, 8.4), fetus(2, 8.1)]).save_as(path, enforce_file_format=True)
    r = parse_sr_file(path)
    assert [(m.value, m.context["fetus_id"], m.selected) for m in r.by_key("BPD", selected_only=False)] == [
        (84.0, "1", True), (81.0, "2", True)]  # two fetuses, never two replicates
    assert not [m for m in r.measurements if m.concept.code == "121037"]
