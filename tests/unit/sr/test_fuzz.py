"""Property-based fuzzing: generated (often malformed) trees and corrupted bytes never crash the reader."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO

from ris_ai_module.errors import InvalidInput
from ris_ai_module.sr.parse import parse_sr_bytes
from tests.sr_fixtures import cases

CONCEPTS = [("LN", "29436-3"), ("LN", "20355-4"), ("SCT", "363698007"), ("SRT", "G-C0E3"), ("DCM", "121404"),
            ("DCM", "121401"), ("LN", "11951-1"), ("DCM", "121416"), ("99X", "private"), ("", "")]
VALUE_TYPES = ["CONTAINER", "NUM", "CODE", "TEXT", "IMAGE", "", "BOGUS"]
RELATIONSHIPS = ["CONTAINS", "HAS CONCEPT MOD", "HAS PROPERTIES", "INFERRED FROM", "", "NONSENSE"]
NUMBERS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f)[:16]),
                    st.text(alphabet="0123456789.-+eE x", max_size=10))
UNITS = st.sampled_from([None, "cm", "mm", "m/s", "%", "cc", "{ratio}", ""])


def _code(scheme: str, value: str) -> Dataset:
    ds = Dataset()
    ds.CodeValue, ds.CodingSchemeDesignator, ds.CodeMeaning = value, scheme, f"{scheme} {value}"
    return ds


@st.composite
def items(draw, depth=0):
    ds = Dataset()
    vtype = draw(st.sampled_from(VALUE_TYPES))
    if vtype:
        ds.ValueType = vtype
    ds.RelationshipType = draw(st.sampled_from(RELATIONSHIPS))
    if draw(st.booleans()):
        ds.ConceptNameCodeSequence = [_code(*draw(st.sampled_from(CONCEPTS)))]
    if vtype == "NUM" and draw(st.booleans()):
        mv = Dataset()
        value = draw(NUMBERS)
        if value is not None:
            mv.add_new(0x0040A30A, "LO", value)  # LO so any text can be written (a wrong VR on purpose)
        unit = draw(UNITS)
        if unit is not None:
            mv.MeasurementUnitsCodeSequence = [_code("UCUM", unit)]
        ds.MeasuredValueSequence = [mv]
    if vtype == "CODE" and draw(st.booleans()):
        ds.ConceptCodeSequence = [_code(*draw(st.sampled_from(CONCEPTS)))]
    if vtype == "TEXT":
        ds.TextValue = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8))
    if draw(st.integers(0, 9)) == 0:
        ds.ReferencedContentItemIdentifier = draw(st.lists(st.integers(0, 5), max_size=4))
    if depth < 4 and draw(st.booleans()):
        ds.ContentSequence = draw(st.lists(items(depth + 1), max_size=4))
    return ds


def _count_nums(ds) -> int:
    """NUM, CODE and TEXT items: each may become at most one measurement (CODE/TEXT as findings, issue 8)."""
    return sum((child.get("ValueType") in ("NUM", "CODE", "TEXT")) + _count_nums(child)
               for child in ds.get("ContentSequence", []))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items(), max_size=5))
def test_generated_trees_never_crash_and_keep_every_num(children):
    ds = cases.document(cases.ECHO, children)
    out = DicomBytesIO()
    ds.save_as(out, enforce_file_format=True)
    result = parse_sr_bytes(out.getvalue())
    assert len(result.measurements) <= _count_nums(ds)
    assert len({m.path for m in result.measurements}) == len(result.measurements)
    groups, findings = {}, {}
    for m in result.measurements:
        (groups if m.value_type == "NUM" else findings).setdefault(m.group, []).append(m)
        assert m.value is None or m.unit is not None  # a converted value always has its unit
        assert not m.selected or m.has_value  # an empty value or finding is never selected (issue 8)
    for members in groups.values():  # one selected value per group, none when every member is empty
        assert sum(m.selected for m in members) == (1 if any(m.has_value and not m.hold for m in members) else 0)
    assert all(sum(m.selected for m in members) <= 1 for members in findings.values())  # conflicts: none


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_corrupted_bytes_give_a_result_or_invalid_input(data):
    original = _VALID
    cut = data.draw(st.integers(0, len(original)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=8))
    buf = bytearray(original[:cut] if data.draw(st.booleans()) else original)
    for pos, byte in flips:
        if pos < len(buf):
            buf[pos] = byte
    try:
        parse_sr_bytes(bytes(buf))
    except InvalidInput:
        pass


def _valid() -> bytes:
    out = DicomBytesIO()
    cases.carotid().save_as(out, enforce_file_format=True)
    return out.getvalue()


_VALID = _valid()


def test_file_meta_cut_inside_a_long_vr_header_is_not_a_crash():
    """Found by the fuzzer: a file that ends 8 bytes into an OB element of the file meta."""
    data = bytes(128) + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\xd2\x00\x00\x00" + b"\x02\x00\x01\x00OB\x00\x00"
    try:
        result = parse_sr_bytes(data)
    except InvalidInput:
        return
    assert result.measurements == []
