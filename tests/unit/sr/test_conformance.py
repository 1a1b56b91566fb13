"""Conformance review, constructs written with pydicom by hand (the DCMTK-written ones are in
tests/integration/sr/test_conformance_dcmtk.py). Expected readings come from the standard's text.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from ris_ai_module.sr.parse import parse_sr_dataset, parse_sr_file
from tests.sr_fixtures.build import (
    DERIVATION,
    FINDING_SITE,
    FINDINGS,
    MEAN,
    MOST_RECENT,
    SELECTION_STATUS,
    c,
    code,
    container,
    document,
    num,
    raw_num,
    text,
)
from tests.unit.sr.conftest import selected

ECHO = c("DCM:125200", "Adult Echocardiography Procedure Report")
LV = code(FINDING_SITE, c("SCT:87878005", "Left Ventricle"))
LVIDD = c("LN:29436-3", "Left Ventricle Internal End Diastolic Dimension")
PBV = c("LN:20355-4", "Peak Blood Velocity")


def test_a_numeric_value_with_several_values_is_not_read(tmp_path):
    """PS3.3 C.18.1: Numeric Value (DS) is VM 1. "4.8\\5.9" names no one number: kept with a warning, no value."""
    ds = document(ECHO, [container(FINDINGS, LV, raw_num(LVIDD, ["4.8", "5.9"], "cm"), num(LVIDD, 5.0, "cm"))])
    r = parse_sr_dataset(ds)
    multi = [m for m in r.measurements if m.raw_value == "4.8\\5.9"]
    assert len(multi) == 1 and multi[0].value is None and not multi[0].selected
    assert any("several values" in w for w in r.warnings)
    assert selected(r, "LVIDd").value == 50.0  # the other replicate is the value, not 4.8 cm


def test_iso_2022_ir_58_without_the_escape_sequence(tmp_path):
    """PS3.5 6.1.2.5.3 / Annex K: with ``\\ISO 2022 IR 58`` the only G1 set, high-bit bytes are GB2312 even
    when the writer (pydicom 3.0.2 among them) leaves out ESC $ ) A. Text, meanings and names decode."""
    finding = text(c("DCM:121071", "Finding"), "左室大小正常", rel="contains")
    ds = document(ECHO, [container(FINDINGS, LV, num(c("99HOSP:LV1", "左室内径"), 4.8, "cm"), finding)],
                  charset=["", "ISO 2022 IR 58"], patient_name="Zhang^San=张^三")
    path = tmp_path / "ir58.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert b"\x1b$)A" not in path.read_bytes()  # the case under test: no designation escape
    r = parse_sr_file(path)
    assert r.patient_name == "Zhang^San=张^三"
    assert {m.name_en for m in r.measurements if m.value_type == "NUM"} == {"左室内径"}
    assert [m.text_value for m in r.measurements if m.value_type == "TEXT"] == ["左室大小正常"]


def test_iso_2022_ir_58_with_escapes_and_a_return_to_ascii():
    """PS3.5 Annex K.2: ESC $ ) A before GB2312, ESC ( B back to ASCII inside one value."""
    ds = document(ECHO, [container(FINDINGS, LV, text(c("DCM:121071", "Finding"), "x", rel="contains"))],
                  charset=["", "ISO 2022 IR 58"])
    ds.ContentSequence[0].ContentSequence[1].add_new(0x0040A160, "UT", b"LV \x1b$)A\xd5\xfd\xb3\xa3\x1b(B ok")
    r = parse_sr_dataset(ds)
    assert [m.text_value for m in r.measurements if m.value_type == "TEXT"] == ["LV 正常 ok"]


def test_a_legacy_snomed_code_under_the_sct_designator_is_mapped():
    """SNOMED CT identifiers are digits only (CP 1850 replaced SRT with SCT): ``SCT:G-C0E3`` / ``SCT:T-35400``
    are SNOMED-RT codes under the new designator and mean Finding Site / Aortic Valve."""
    site = code(c("SCT:G-C0E3", "Finding Site"), c("SCT:T-35400", "Aortic Valve"))
    r = parse_sr_dataset(document(ECHO, [container(FINDINGS, site, num(PBV, 1.2, "m/s"))]))
    assert selected(r, "AV_VMAX").value == 120.0


def test_non_ascii_text_without_a_specific_character_set_is_read_but_held():
    """PS3.5 6.1.2.2: without (0008,0005) the repertoire is ASCII. A writer that leaves it out and sends
    GB18030 text is read as GB18030 (strict decode), with a warning, and its text finding is not reported."""
    finding = text(c("DCM:121071", "Finding"), "x", rel="contains")
    ds = document(ECHO, [container(FINDINGS, LV, num(LVIDD, 4.8, "cm"), finding)])
    ds.ContentSequence[0].ContentSequence[2].add_new(0x0040A160, "UT", "左室大小正常".encode("gb18030"))
    r = parse_sr_dataset(ds)
    (found,) = [m for m in r.measurements if m.value_type == "TEXT"]
    assert found.text_value == "左室大小正常" and found.hold and not found.selected
    assert any("no Specific Character Set" in w and "GB18030" in w for w in r.warnings)
    assert selected(r, "LVIDd").value == 48.0  # numbers are not text: unaffected


def test_a_measured_value_sequence_of_two_items_is_held():
    """PS3.3 C.18.1: Measured Value Sequence holds a single item; with two (4.8 and 5.2 cm) the value is
    not certain."""
    lvidd = num(LVIDD, 4.8, "cm")
    second = Dataset()
    second.NumericValue = "5.2"
    second.MeasurementUnitsCodeSequence = [lvidd.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0]]
    lvidd.MeasuredValueSequence.append(second)
    r = parse_sr_dataset(document(ECHO, [container(FINDINGS, LV, lvidd)]))
    (m,) = r.by_key("LVIDd", selected_only=False)
    assert not m.selected and "2 items" in m.hold


def test_several_most_recent_flags_mean_the_latest():
    """CID 224 "Most recent value chosen": flagged on two replicates, the latest in document order is the
    most recent, so it is reported (no conflict, unlike two "User chosen value")."""
    recent = code(SELECTION_STATUS, MOST_RECENT, rel="props")
    av = code(FINDING_SITE, c("SCT:34202007", "Aortic Valve"))
    ds = document(ECHO, [container(FINDINGS, av, num(PBV, 1.2, "m/s", recent), num(PBV, 1.4, "m/s", recent))])
    assert selected(parse_sr_dataset(ds), "AV_VMAX").value == 140.0


def test_a_held_mean_is_not_replaced_by_a_replicate():
    """PS3.17 I.7: the Mean is the reported value of the replicates. When the Mean itself is held (its
    Floating Point Value 47.0 disagrees with its Numeric Value 4.7 cm), the last replicate (4.8 cm) is not
    reported in its place: LVIDd has no value."""
    mean = num(LVIDD, 4.7, "cm", code(DERIVATION, MEAN))
    mean.MeasuredValueSequence[0].FloatingPointValue = 47.0
    ds = document(ECHO, [container(FINDINGS, LV, num(LVIDD, 4.6, "cm"), num(LVIDD, 4.8, "cm"), mean)])
    r = parse_sr_dataset(ds)
    assert not r.by_key("LVIDd") and any("Mean value is held" in w for w in r.warnings)


def test_a_tid_1500_tracking_identifier_on_an_echo_value_is_not_a_lesion():
    """TID 1500/1501 (AI vendors): a Measurement Group's Tracking Identifier (112039) names what is tracked.
    On a cardiac value ("LV") it is no lesion: the report row is LVEF_BIPLANE 58 %, not "（病灶LV）"."""
    from ris_ai_module.report.display import report_items
    from ris_ai_module.report.section import ReportConfig

    method = code(c("SCT:370129005", "Measurement Method"), c("DCM:125207", "Method of Disks, Biplane"))
    group = container(c("DCM:125007", "Measurement Group"), text(c("DCM:112039", "Tracking Identifier"), "LV"),
                      LV, num(c("LN:18043-0", "Left Ventricular Ejection Fraction"), 58, "%", method))
    ds = document(c("DCM:126000", "Imaging Measurement Report"),
                  [container(c("DCM:126010", "Imaging Measurements"), group)], template="1500")
    items = report_items(ReportConfig(), parse_sr_dataset(ds).measurements, "uid")
    assert [(i.key, i.name_zh, i.display) for i in items] == [("LVEF_BIPLANE", "左室射血分数(双平面Simpson法)", "58%")]
