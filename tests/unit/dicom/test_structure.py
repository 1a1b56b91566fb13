"""The completeness walk (dicom/structure.py) against data sets encoded by pydicom and DCMTK-style layouts:
whole ones pass in every transfer syntax, any cut or missing delimiter is named (PS3.5 §7.1, §7.5, §A.4, §A.5)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from ris_ai_module.dicom.structure import structure_problem

EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"


def _sample() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    ds.SOPInstanceUID = "1.2.3.4"
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "125200", "DCM", "Adult Echo"
    ds.ConceptNameCodeSequence = Sequence([item])
    ds.BitsAllocated = 8
    ds.PixelData = bytes(range(256)) * 4
    ds["PixelData"].VR = "OB"
    return ds


def _encode(ds: Dataset, syntax: str) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = syntax != EXPLICIT_BE
    fp.is_implicit_VR = syntax == IMPLICIT_LE
    write_dataset(fp, ds)
    data = fp.getvalue()
    if syntax == DEFLATED:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = squeeze.compress(data) + squeeze.flush()
    return data


def _problem(data: bytes, syntax: str) -> str | None:
    return structure_problem(io.BytesIO(data), 0, len(data), syntax)


@pytest.mark.parametrize("syntax", [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED])
def test_a_whole_data_set_passes_and_any_cut_is_named(syntax: str) -> None:
    data = _encode(_sample(), syntax)
    assert _problem(data, syntax) is None
    for cut in (1, 5, 100, len(data) // 2):
        assert _problem(data[:-cut], syntax) is not None, cut


def _undefined_length_sr() -> bytes:
    """Explicit VR LE, a sequence and its item of undefined length (the DCMTK default)."""
    def el(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value

    item = el(0x0008, 0x0100, b"SH", b"125200") + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    seq = (struct.pack("<HH", 0x0040, 0xA043) + b"SQ\0\0" + struct.pack("<L", 0xFFFFFFFF)
           + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + item + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    return el(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.88.33\0") + seq


def test_undefined_length_sequences_need_their_delimiters() -> None:
    data = _undefined_length_sr()
    assert _problem(data, EXPLICIT_LE) is None
    assert "no delimiter" in str(_problem(data[:-8], EXPLICIT_LE))  # sequence delimiter missing
    assert "no delimiter" in str(_problem(data[:-16], EXPLICIT_LE))  # item delimiter missing too


def test_encapsulated_pixel_data_needs_its_sequence_delimiter() -> None:
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3"
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\0" * 100 + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    data = _encode(ds, EXPLICIT_LE)
    assert _problem(data, EXPLICIT_LE) is None
    assert "sequence delimiter" in str(_problem(data[:-8], EXPLICIT_LE))


def test_a_cut_deflate_stream_is_incomplete_even_at_an_element_boundary() -> None:
    whole = _encode(_sample(), DEFLATED)
    assert _problem(whole[:-2], DEFLATED) is not None
    assert _problem(b"\xffgarbage" * 10, DEFLATED) is not None


def test_an_unknown_vr_and_a_stray_delimiter_are_refused() -> None:
    bad_vr = struct.pack("<HH", 0x0010, 0x0010) + b"ZZ" + struct.pack("<H", 2) + b"AB"
    assert "no valid VR" in str(_problem(bad_vr, EXPLICIT_LE))
    stray = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    assert "outside a sequence" in str(_problem(stray, EXPLICIT_LE))
