"""Issue 8 items 6, 7, 10: nothing empty or wrong is selected; UCUM annotations are unity; unreadable SRs say so.

Expected values are derived by hand from PS3.3 C.18.1 (Numeric Value Qualifier, CID 42), UCUM § 2.1.6
(annotations are unity) and the fixture definitions written here.
"""

from __future__ import annotations

import pytest

from ris_ai_module.sr.parse import parse_sr_bytes, parse_sr_file
from ris_ai_module.sr.units import convert, lookup
from tests.sr_fixtures import cases
from tests.sr_fixtures.build import c, num, raw_num

NOT_A_NUMBER = c("DCM:114000", "Not a number")
MEASUREMENT_FAILURE = c("DCM:114006", "Measurement failure")


def _parse(tmp_path, *items):
    path = tmp_path / "s.dcm"
    cases.document(cases.ECHO, [cases.section(cases.LV, cases.group(*items))]).save_as(path, enforce_file_format=True)
    return parse_sr_file(path)


def test_the_last_replicate_without_a_value_is_not_selected(tmp_path):
    r = _parse(tmp_path, num(cases.LVIDD, 4.6, "cm"), num(cases.LVIDD, 4.8, "cm"), raw_num(cases.LVIDD))
    assert [(m.value, m.selected) for m in r.measurements] == [(46.0, False), (48.0, True), (None, False)]
    assert any("no measured value" in w for w in r.warnings)


def test_a_qualified_value_is_kept_with_a_warning_but_never_selected(tmp_path):
    r = _parse(tmp_path, num(cases.EF, 61, "%"),
               cases.qualified_num(cases.EF, "0", "%", NOT_A_NUMBER))  # last in order, but not a number
    assert [(m.raw_value, m.value, m.selected) for m in r.measurements] == [("61.0", 61.0, True), ("0", None, False)]
    assert r.measurements[1].modifiers["qualifier"]["code"] == "114000"
    assert any("Not a number" in w for w in r.warnings)


def test_a_key_whose_items_are_all_empty_is_absent_from_the_report(tmp_path):
    r = _parse(tmp_path, raw_num(cases.c("LN:29438-9", "LVIDs")),
               raw_num(cases.c("LN:29438-9", "LVIDs"), "abc", "cm", vr="LO"),
               cases.qualified_num(cases.c("LN:29438-9", "LVIDs"), "3.1", "cm", MEASUREMENT_FAILURE),
               raw_num(cases.c("LN:29438-9", "LVIDs"), "3.2", "cc"),  # not a UCUM code: raw value kept
               num(cases.LVIDD, 4.5, "cm"))
    lvids = [m for m in r.measurements if m.key == "LVIDs"]
    assert len(lvids) == 4 and not any(m.selected for m in lvids)
    assert [m.key for m in r.selected] == ["LVIDd"]


@pytest.mark.parametrize("code,dimension", [
    ("{z-score}", "unity"), ("{fetuses}", "unity"), ("{ratio}", "unity"), ("{H.B.}/min", "rate"),
    ("{beats}/min", "rate"), ("mm{caliper}", "length"), ("1", "unity"),
])
def test_ucum_annotations_are_unity(code, dimension):
    assert lookup(code).dimension == dimension


@pytest.mark.parametrize("value,src,dst,expected", [
    (72, "{H.B.}/min", "/min", 72.0), (72, "{beats}/min", "/min", 72.0), (2, "{fetuses}", "1", 2.0),
    (1.5, "{z-score}", "1", 1.5),
])
def test_annotated_units_convert_as_unity(value, src, dst, expected):
    assert convert(value, src, dst) == (pytest.approx(expected), None)


@pytest.mark.parametrize("src,dst", [("{z-score}", "mm"), ("{fetuses}", "g"), ("{H.B.}/min", "mm")])
def test_a_dimensionless_value_never_converts_to_a_length(src, dst):
    value, problem = convert(1.5, src, dst)
    assert value is None and "cannot be converted" in problem


def test_heart_rate_in_heart_beats_per_minute(tmp_path):
    r = _parse(tmp_path, num(cases.c("LN:8867-4", "Heart rate"), 64, "{H.B.}/min"))
    assert [(m.key, m.value, m.unit, m.selected) for m in r.measurements] == [("HR", 64.0, "/min", True)]


def test_non_ucum_unit_scheme_keeps_the_raw_value_with_a_warning(tmp_path):
    r = _parse(tmp_path, raw_num(cases.LVIDD, "4.5", "cm", unit_scheme="99LOCAL"))
    m = r.measurements[0]
    assert (m.value, m.raw_value, m.raw_unit, m.selected) == (None, "4.5", "cm", False)
    assert any("not UCUM" in w for w in r.warnings)


def test_sr_read_in_the_wrong_transfer_syntax_has_no_readable_content():
    """Implicit-VR bytes under an Explicit VR file meta: DICOM, but no content item can be read."""
    r = parse_sr_bytes(cases.mislabelled_implicit_bytes(cases.adult_echo_full()))
    assert r.content_items == 0 and r.measurements == []
    assert r.unreadable_reason().startswith("no content item could be read from the SR (encoding problem")


def test_empty_sr_is_unreadable_but_unmapped_content_is_not(tmp_path):
    empty = tmp_path / "e.dcm"
    cases.empty_sr().save_as(empty, enforce_file_format=True)
    assert "SR has no content items" in parse_sr_file(empty).unreadable_reason()
    r = _parse(tmp_path, num(cases.c("99X:1", "Something local"), 3, "mm"))
    assert r.unreadable_reason() is None and r.measurements[0].key is None
