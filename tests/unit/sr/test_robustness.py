"""Malformed input never crashes the reader: valid items are still read, every problem is a warning."""

from __future__ import annotations

import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian

from ris_ai_module.errors import InvalidInput
from ris_ai_module.sr.parse import MAX_DEPTH, parse_sr_bytes, parse_sr_dataset, parse_sr_file
from tests.sr_fixtures import cases
from tests.unit.sr.conftest import selected


def _by_path(result):
    return {m.path: m for m in result.measurements}


def test_malformed_num_items(parsed):
    r = parsed["malformed_values"]
    by_path = _by_path(r)
    assert selected(r, "LVIDd").value == 45.0  # the good item is still read
    no_value = by_path["1.1.2.1"]
    assert (no_value.key, no_value.value, no_value.raw_value) == ("LVIDs", None, None)
    no_unit = by_path["1.1.2.2"]
    assert (no_unit.value, no_unit.raw_value, no_unit.raw_unit) == (None, "0.9", None)
    assert (by_path["1.1.2.3"].value, by_path["1.1.2.3"].raw_value) == (None, "abc")
    assert by_path["1.1.2.4"].value == 33.0  # FD instead of DS is still a number
    assert (by_path["1.1.2.5"].value, by_path["1.1.2.5"].raw_unit) == (None, "cc")  # never guessed
    assert by_path["1.1.2.6"].value is None  # unit in a non-UCUM scheme
    text = "\n".join(r.warnings)
    for fragment in ("no measured value", "no units", "'abc' is not a number", "VR FD", "'cc'", "not UCUM"):
        assert fragment in text


def test_reference_loops_and_dangling_references(parsed):
    r = parsed["reference_loop"]
    assert selected(r, "LVIDd").value == 44.0 and selected(r, "LVEF").value == 60.0
    text = "\n".join(r.warnings)
    assert "loops back" in text and "1.3.2 does not exist" in text and "1.9.9 does not exist" in text


def test_sr_without_content(parsed):
    r = parsed["empty_sr"]
    assert r.measurements == [] and "SR has no content items" in r.warnings


def test_non_sr_dicom_file_is_not_an_error(parsed):
    r = parsed["not_sr"]
    assert r.measurements == [] and "not a structured report" in r.warnings[0]


def test_content_ten_thousand_levels_deep(parsed):
    r = parsed["deep"]
    assert selected(r, "LVIDd").value == 45.0
    assert any(f"deeper than {MAX_DEPTH} levels" in w for w in r.warnings)


def test_not_dicom_raises_invalid_input(sr_files, tmp_path):
    with pytest.raises(InvalidInput) as exc:
        parse_sr_file(sr_files["not_dicom"])
    assert exc.value.field == "file"
    with pytest.raises(InvalidInput):
        parse_sr_file(tmp_path / "missing.dcm")


def test_truncated_file_keeps_what_was_read(sr_files):
    data = sr_files["adult_echo_full"].read_bytes()
    r = parse_sr_bytes(data[: len(data) * 2 // 3])
    assert r.patient_name == "Zhang^San=张^三"
    assert any("encoding problem" in w for w in r.warnings)


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian])
def test_other_transfer_syntaxes_give_the_same_measurements(parsed, tmp_path, syntax):
    ds = cases.adult_echo_full()
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / "x.dcm"
    ds.save_as(path, enforce_file_format=True)
    got = [(m.key, m.value, m.selected, m.path) for m in parse_sr_file(path).measurements]
    assert got == [(m.key, m.value, m.selected, m.path) for m in parsed["adult_echo_full"].measurements]


def test_big_endian_goes_through_pydicom(parsed, tmp_path):
    ds = cases.ob_twins()
    path = tmp_path / "be.dcm"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.2"
    try:
        ds.save_as(path, enforce_file_format=True)
    except Exception as exc:  # pragma: no cover - depends on pydicom's writer
        pytest.skip(f"pydicom cannot write big endian here: {exc}")
    r = parse_sr_file(path)
    assert selected(r, "BPD", fetus_id="B").value == 83.0
    assert any("pydicom" in w for w in r.warnings)


def test_parse_dataset_matches_parse_file(parsed, sr_files):
    import pydicom

    ds = pydicom.dcmread(sr_files["carotid"])
    got = parse_sr_dataset(ds)
    assert got.to_dict() == parsed["carotid"].to_dict()


@pytest.mark.parametrize("charset,name", [
    ("GB18030", "王^小明"), ("GBK", "李^四"), ("ISO_IR 192", "刘^洋"),
    # PS3.5 Annex K.2 style: escape sequence ESC $ ) A before each GB2312 component (pydicom cannot encode it)
    (["", "ISO 2022 IR 58"], b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab="),
])
def test_patient_name_decoded_from_specific_character_set(tmp_path, charset, name):
    ds = cases.document(cases.ECHO, [cases.num(cases.LVIDD, 4.5, "cm")], charset=charset, patient_name=name)
    if isinstance(name, bytes):
        ds.PatientName = name
        name = "Zhang^XiaoDong=张^小东="
    path = tmp_path / "cs.dcm"
    ds.save_as(path, enforce_file_format=True)
    r = parse_sr_file(path)
    assert r.patient_name == name
    assert not [w for w in r.warnings if "Character Set" in w]
