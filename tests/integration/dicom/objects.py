"""DICOM objects made at test time (nothing binary is committed): Secondary Capture, SR, multi-frame."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SC = "1.2.840.10008.5.1.4.1.1.7"
MF_SC_BYTE = "1.2.840.10008.5.1.4.1.1.7.2"
US_MF = "1.2.840.10008.5.1.4.1.1.3.1"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
CT = "1.2.840.10008.5.1.4.1.1.2"


def _base(sop_class: str, study: str | None, series: str | None, sop: str | None, patient_id: str,
          accession: str, study_date: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop or generate_uid()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = "Zhang^San"
    ds.AccessionNumber = accession
    ds.StudyDate = study_date
    ds.Modality = "US" if sop_class != COMPREHENSIVE_SR else "SR"
    ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


def sc(path: Path, *, study: str | None = None, series: str | None = None, sop: str | None = None,
       patient_id: str = "P000123", accession: str = "", study_date: str = "20261127", side: int = 64,
       sop_class: str = SC) -> Dataset:
    ds = _base(sop_class, study, series, sop, patient_id, accession, study_date)
    ds.ConversionType = "WSD"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = side
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(i % 251 for i in range(side * side))
    ds.save_as(path, enforce_file_format=True)
    return ds


def sr(path: Path, *, study: str | None = None, series: str | None = None, sop: str | None = None,
       patient_id: str = "P000123", accession: str = "", study_date: str = "20261127", value: float = 62.0) -> Dataset:
    ds = _base(COMPREHENSIVE_SR, study, series, sop, patient_id, accession, study_date)
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ConceptNameCodeSequence = Sequence([_code("125200", "DCM", "Adult Echocardiography Procedure Report")])
    num = Dataset()
    num.RelationshipType = "CONTAINS"
    num.ValueType = "NUM"
    num.ConceptNameCodeSequence = Sequence([_code("10230-1", "LN", "Left ventricular Ejection fraction")])
    mv = Dataset()
    mv.NumericValue = f"{value:g}"
    mv.MeasurementUnitsCodeSequence = Sequence([_code("%", "UCUM", "percent")])
    num.MeasuredValueSequence = Sequence([mv])
    ds.ContentSequence = Sequence([num])
    ds.save_as(path, enforce_file_format=True)
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def big_multiframe(path: Path, total_bytes: int, *, sop_class: str = MF_SC_BYTE) -> str:
    """A multi-frame object of about ``total_bytes``, written as a header plus a sparse pixel data tail.

    The header is encoded by pydicom with a tiny PixelData; the real length is then patched in and the file
    extended with ``truncate`` (sparse: nothing is written, the zeros read back as black frames).
    """
    side = 1024
    frames = max(1, total_bytes // (side * side))
    ds = _base(sop_class, None, None, None, "P000123", "", "20261127")
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = side
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    ds.PixelData = b"\0\0\0\0"
    ds.save_as(path, enforce_file_format=True)
    data = bytearray(path.read_bytes())
    marker = bytes.fromhex("E07F1000") + b"OB\0\0" + (4).to_bytes(4, "little")
    at = data.rfind(marker)
    assert at > 0, "pixel data element not found"
    length = frames * side * side
    data[at + 8:at + 12] = length.to_bytes(4, "little")
    del data[at + 12:]
    with open(path, "wb") as fh:
        fh.write(data)
        fh.truncate(len(data) + length)
    return str(ds.SOPInstanceUID)
