"""The issue's fixture cases: the right key, the value in the canonical unit, the selected replicate."""

from __future__ import annotations

import json

import pytest

from tests.unit.sr.conftest import selected

ADULT_ECHO = {  # key -> (selected value in the canonical unit, unit)
    "LVIDd": (47.0, "mm"), "LVIDs": (31.0, "mm"), "IVSd": (9.0, "mm"), "IVSs": (13.0, "mm"),
    "LVPWd": (9.5, "mm"), "LVPWs": (14.0, "mm"), "FS": (34.0, "%"), "LVEF_TEICH": (64.0, "%"),
    "LVEDV": (110.0, "ml"), "LVESV": (42.0, "ml"), "LVEF_BIPLANE": (61.0, "%"), "LVEF": (60.0, "%"),
    "LV_MASS": (150.0, "g"), "LV_MASS_INDEX": (80.0, "g/m2"), "SV": (68.0, "ml"), "CO": (4.8, "l/min"),
    "CI": (2.7, "l/min/m2"), "IVRT": (80.0, "ms"), "LVOT_VMAX": (102.0, "cm/s"), "LVOT_VTI": (21.0, "cm"),
    "LVOT_D": (21.0, "mm"), "E_PRIME_SEPTAL": (8.0, "cm/s"), "E_PRIME_LATERAL": (12.0, "cm/s"),
    "E_PRIME_AVG": (10.0, "cm/s"), "A_PRIME_SEPTAL": (9.0, "cm/s"), "A_PRIME_LATERAL": (10.0, "cm/s"),
    "S_PRIME_SEPTAL": (7.5, "cm/s"), "S_PRIME_LATERAL": (9.5, "cm/s"), "E_E_PRIME_SEPTAL": (10.5, "{ratio}"),
    "E_E_PRIME_LATERAL": (7.0, "{ratio}"), "E_E_PRIME_AVG": (8.4, "{ratio}"), "LAD": (35.0, "mm"),
    "LAV": (48.0, "ml"), "LAVI": (27.0, "ml/m2"), "AOR": (32.0, "mm"), "AAO": (34.0, "mm"),
    "MV_E": (81.0, "cm/s"), "MV_A": (96.0, "cm/s"), "MV_E_A": (0.84, "{ratio}"), "MV_DT": (210.0, "ms"),
    "MV_PG_MEAN": (2.0, "mm[Hg]"), "MV_PHT": (60.0, "ms"), "AV_VMAX": (130.0, "cm/s"),
    "AV_PG_PEAK": (6.8, "mm[Hg]"), "AV_PG_MEAN": (3.5, "mm[Hg]"), "AV_VTI": (25.0, "cm"), "AVA": (3.1, "cm2"),
    "TR_VMAX": (260.0, "cm/s"), "TR_PG": (27.0, "mm[Hg]"), "TV_E": (55.0, "cm/s"), "TV_A": (40.0, "cm/s"),
    "PV_VMAX": (90.0, "cm/s"), "PV_PG_PEAK": (3.2, "mm[Hg]"), "PV_VTI": (18.0, "cm"), "PV_AT": (130.0, "ms"),
    "RVIDd": (30.0, "mm"), "TAPSE": (22.0, "mm"), "RVSP": (32.0, "mm[Hg]"), "TV_E_PRIME": (13.0, "cm/s"),
    "TV_A_PRIME": (15.0, "cm/s"), "TV_S_PRIME": (12.0, "cm/s"), "HR": (72.0, "/min"),
}


@pytest.mark.parametrize("key", sorted(ADULT_ECHO))
def test_adult_echo_every_category(parsed, key):
    m = selected(parsed["adult_echo_full"], key)
    value, unit = ADULT_ECHO[key]
    assert m.unit == unit
    assert m.value == pytest.approx(value)


def test_adult_echo_names_and_document(parsed):
    r = parsed["adult_echo_full"]
    assert r.patient_name == "Zhang^San=张^三"  # GB18030
    assert r.document_template == "5200"
    assert selected(r, "LVIDd").name_zh == "左室舒张末期内径"
    assert selected(r, "E_PRIME_SEPTAL").context["finding_site"] == "Medial Mitral Annulus"


def test_replicates_are_kept_and_the_mean_is_selected(parsed):
    lvidd = [m for m in parsed["adult_echo_full"].measurements if m.key == "LVIDd"]
    assert [m.value for m in lvidd] == [46.0, 48.0, 47.0]
    assert [m.selected for m in lvidd] == [False, False, True]


def test_regurgitant_aortic_velocity_is_not_av_vmax_but_is_kept(parsed):
    r = parsed["adult_echo_full"]
    ar = [m for m in r.measurements if m.key is None and m.context.get("flow_direction") == "Regurgitant Flow"]
    assert len(ar) == 1
    assert (ar[0].value, ar[0].unit, ar[0].concept.code) == (2.9, "m/s", "20355-4")
    assert ar[0].context["finding_site"] == "Aortic Valve"


def test_ge_duplicates_with_legacy_srt_codes(parsed):
    r = parsed["ge_duplicates"]
    lvidd = [m for m in r.measurements if m.key == "LVIDd"]
    assert [m.value for m in lvidd] == [49.0, 51.0, 50.0]  # 5.0 cm twice -> one
    assert lvidd[2].selected and lvidd[2].modifiers["selection_status"]["code"] == "121412"
    av = [m for m in r.measurements if m.key == "AV_VMAX"]
    assert len(av) == 1 and av[0].value == 140.0
    site = av[0].modifiers["finding_site"]
    assert (site["scheme"], site["code"], site["normalised"]) == ("SRT", "T-35400", "SCT:34202007")
    tr = [m for m in r.measurements if m.key == "TR_VMAX"]
    assert [(m.value, m.selected) for m in tr] == [(280.0, True), (250.0, False)]  # Selection Status beats "last"
    imt = selected(r, "CCA_IMT")
    assert (imt.value, imt.unit, imt.context["laterality"]) == (0.7, "mm", "Left")
    assert selected(r, "E_PRIME_AVG").value == 9.5  # GE meaning under a GE manufacturer
    assert any("6 identical duplicate" in w for w in r.warnings)


def test_philips_mm_units_and_user_defined_label(parsed):
    r = parsed["philips_mm"]
    assert selected(r, "LVIDd").value == 47.0
    assert (selected(r, "LVEDV").value, selected(r, "LVEDV").raw_unit) == (105.0, "mm3")
    assert selected(r, "E_PRIME_SEPTAL").value == 8.5
    assert selected(r, "MV_E").value == 78.0
    assert selected(r, "TAPSE", label="TAPSE").value == 21.0
    assert selected(r, "LAVI").value == 30.0


def test_tid_5300_pre_and_post_coordinated(parsed):
    r = parsed["simplified_echo"]
    assert r.document_template == "5300"
    assert selected(r, "LVIDd").value == 44.0
    assert selected(r, "LVEF_BIPLANE").value == 58.0
    assert selected(r, "TR_VMAX").value == 240.0
    assert selected(r, "E_PRIME_SEPTAL", cardiac_phase="E-wave").value == 9.0


@pytest.mark.parametrize("fetus,bpd,fl,ga_days,ua_pi", [("A", 85.0, 64.0, 234.5, 0.95), ("B", 83.0, 62.0, 231.0, 1.10)])
def test_ob_twins_keyed_per_fetus(parsed, fetus, bpd, fl, ga_days, ua_pi):
    r = parsed["ob_twins"]
    assert selected(r, "BPD", fetus_id=fetus).value == bpd
    assert selected(r, "FL", fetus_id=fetus).value == fl
    assert selected(r, "GA", fetus_id=fetus).value == ga_days
    assert selected(r, "UA_PI", fetus_id=fetus).value == ua_pi
    assert selected(r, "EFW", fetus_id=fetus).value == 2100.0
    assert selected(r, "FHR", fetus_id=fetus).value == 142.0
    assert selected(r, "MCA_PSV", fetus_id=fetus, vessel="Middle Cerebral Artery").value == 52.0
    assert not [m for m in r.measurements if m.key == "HR"]


@pytest.mark.parametrize("side,cca,ica,ratio", [("Left", 85.0, 70.0, 0.82), ("Right", 90.0, 120.0, 1.33)])
def test_carotid_per_laterality_and_vessel(parsed, side, cca, ica, ratio):
    r = parsed["carotid"]
    assert selected(r, "CCA_PSV", laterality=side, vessel="Common Carotid Artery").value == cca
    assert selected(r, "ICA_PSV", laterality=side).value == ica
    assert selected(r, "CCA_EDV", laterality=side).value == 21.0
    assert selected(r, "ICA_CCA_RATIO", laterality=side).value == ratio


def test_thyroid_lobes_isthmus_and_nodules(parsed):
    r = parsed["thyroid"]
    assert selected(r, "THYROID_LOBE_LENGTH", laterality="Right").value == 48.0
    assert selected(r, "THYROID_LOBE_DEPTH", laterality="Left").value == 14.0
    assert selected(r, "THYROID_ISTHMUS").value == 3.0
    assert selected(r, "LESION_LENGTH", lesion="1", laterality="Right").value == 12.0
    assert selected(r, "LESION_WIDTH", lesion="2", laterality="Left").value == 5.0
    assert not [m for m in r.measurements if m.key == "THYROID_LOBE_LENGTH" and "lesion" in m.context]


def test_pediatric_z_scores_are_kept(parsed):
    r = parsed["pediatric"]
    assert r.document_template == "5220"
    lvidd = selected(r, "LVIDd")
    assert (lvidd.value, lvidd.modifiers["z_score"]["value"]) == (32.0, 0.8)
    assert selected(r, "AOR").modifiers["z_score"]["value"] == 1.5
    # Issue 8 item 4: a z-score is its own key tied to its measurement, never a replicate of it.
    z = {m.key: m for m in r.measurements if m.concept.code == "121416"}
    assert {k: (m.value, m.selected, m.derived_from) for k, m in z.items()} == {
        "LVIDd_Z": (0.8, True, lvidd.path), "IVSd_Z": (-1.2, True, selected(r, "IVSd").path),
        "AOR_Z": (1.5, True, selected(r, "AOR").path)}
    assert [m.value for m in r.by_key("LVIDd")] == [32.0]


def test_json_contract(parsed):
    d = json.loads(json.dumps(parsed["adult_echo_full"].to_dict(), ensure_ascii=False))
    assert set(d) >= {"sop_instance_uid", "study_instance_uid", "accession_number", "patient", "document",
                      "measurements", "warnings"}
    assert d["patient"] == {"id": "P0001", "name": "Zhang^San=张^三"}
    assert d["document"]["template"] == "5200" and d["document"]["title"]["code"] == "125200"
    m = d["measurements"][0]
    assert set(m) == {"key", "name_en", "name_zh", "value", "unit", "raw_value", "raw_unit", "concept", "context",
                      "modifiers", "selected", "path",
                      # issue 8: added for CODE/TEXT findings; a NUM has value_type NUM and no code/text
                      "value_type", "code", "text", "value_zh",
                      "hold", "derived_from"}  # issue 8: held values, derived values
    assert (m["hold"], m["derived_from"]) == (None, None) and d["content_items"] > 0
    assert m["path"].startswith("1.") and m["concept"]["scheme"] == "LN"
    assert (m["value_type"], m["code"], m["text"]) == ("NUM", None, None)
