"""Build SR fixtures with pydicom/highdicom (encoder 1; ``dcmtk_xml.py`` is encoder 2).

Content items are highdicom value-type objects (``hd.sr.NumContentItem`` …) nested through plain
ContentSequence attributes; the document header is written with pydicom. Malformed items, which
highdicom rightly refuses to build, are written with pydicom directly (``raw_num``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
SIMPLIFIED_ECHO_SR = "1.2.840.10008.5.1.4.1.1.88.72"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

REL = {
    "contains": hd.sr.RelationshipTypeValues.CONTAINS,
    "mod": hd.sr.RelationshipTypeValues.HAS_CONCEPT_MOD,
    "props": hd.sr.RelationshipTypeValues.HAS_PROPERTIES,
    "obs": hd.sr.RelationshipTypeValues.HAS_OBS_CONTEXT,
    "acq": hd.sr.RelationshipTypeValues.HAS_ACQ_CONTEXT,
    "inferred": hd.sr.RelationshipTypeValues.INFERRED_FROM,
}


def c(scheme_code: str, meaning: str) -> hd.sr.CodedConcept:
    """``c("LN:29436-3", "LVIDd")`` -> CodedConcept (scheme before the first colon)."""
    scheme, _, value = scheme_code.partition(":")
    return hd.sr.CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


# Frequently used concepts (the SRT forms are what GE Vivid still sends).
FINDING_SITE = c("SCT:363698007", "Finding Site")
FINDING_SITE_SRT = c("SRT:G-C0E3", "Finding Site")
LATERALITY = c("SCT:272741003", "Laterality")
IMAGE_MODE = c("SCT:399264008", "Image Mode")
METHOD = c("SCT:370129005", "Measurement Method")
FLOW_DIRECTION = c("SCT:260674002", "Direction of Flow")
FLOW_DIRECTION_SRT = c("SRT:G-C048", "Direction of Flow")
CARDIAC_PHASE = c("SCT:272518008", "Cardiovascular cycle point")
DERIVATION = c("DCM:121401", "Derivation")
SELECTION_STATUS = c("DCM:121404", "Selection Status")
FETUS_ID = c("LN:11951-1", "Fetus ID")
LESION_ID = c("DCM:121151", "Lesion Identifier")
Z_SCORE = c("DCM:121416", "Z-Score of measurement")
MEAN = c("SCT:373098007", "Mean")
MEAN_SRT = c("SRT:R-00317", "Mean")
USER_CHOSEN = c("DCM:121410", "User chosen value")
MEAN_CHOSEN = c("DCM:121412", "Mean value chosen")
MOST_RECENT = c("DCM:121411", "Most recent value chosen")
LEFT = c("SCT:7771000", "Left")
RIGHT = c("SCT:24028007", "Right")
REGURGITANT = c("SCT:397417004", "Regurgitant Flow")
FINDINGS = c("LN:59776-5", "Findings")
FINDINGS_OLD = c("DCM:121070", "Findings")
MEASUREMENT_GROUP = c("DCM:125007", "Measurement Group")

UNITS = {
    "mm": "millimeter", "cm": "centimeter", "m/s": "meter per second", "cm/s": "centimeter per second",
    "mm/s": "millimeter per second", "ms": "millisecond", "s": "second", "%": "percent", "ml": "milliliter",
    "mm3": "cubic millimeter", "cm2": "square centimeter", "mm2": "square millimeter", "g": "gram",
    "g/m2": "gram per square meter", "mm[Hg]": "millimeter of mercury", "{ratio}": "ratio", "/min": "per minute",
    "{beats}/min": "beats per minute", "l/min": "liter per minute", "wk": "week", "d": "day", "1": "no units",
    "ml/m2": "milliliter per square meter", "l/min/m2": "liter per minute per square meter",
}


def unit(code: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value=code, scheme_designator="UCUM", meaning=UNITS.get(code, code))


def _nest(item: Dataset, children: Iterable[Dataset]) -> Dataset:
    kids = [k for k in children if k is not None]
    if kids:
        # add_new bypasses highdicom's ContentSequence type check, so raw (malformed) items can be nested.
        item.add_new(0x0040A730, "SQ", Sequence(kids))
    return item


def container(name: hd.sr.CodedConcept, *children: Dataset, rel: str = "contains") -> Dataset:
    item = hd.sr.ContainerContentItem(name=name, relationship_type=REL[rel])
    return _nest(item, children)


def num(name: hd.sr.CodedConcept, value: float, unit_code: str, *children: Dataset, rel: str = "contains") -> Dataset:
    item = hd.sr.NumContentItem(name=name, value=value, unit=unit(unit_code), relationship_type=REL[rel])
    return _nest(item, children)


def code(name: hd.sr.CodedConcept, value: hd.sr.CodedConcept, rel: str = "mod") -> Dataset:
    return hd.sr.CodeContentItem(name=name, value=value, relationship_type=REL[rel])


def text(name: hd.sr.CodedConcept, value: str, rel: str = "obs") -> Dataset:
    return hd.sr.TextContentItem(name=name, value=value, relationship_type=REL[rel])


def site(value: hd.sr.CodedConcept, srt: bool = False) -> Dataset:
    return code(FINDING_SITE_SRT if srt else FINDING_SITE, value)


def raw_num(name: hd.sr.CodedConcept, value: object = None, unit_code: str | None = None, *, vr: str = "DS",
            rel: str = "CONTAINS", unit_scheme: str = "UCUM") -> Dataset:
    """A NUM written with pydicom only, so it can be wrong: no value, no unit, a bad value, a wrong VR."""
    item = Dataset()
    item.RelationshipType = rel
    item.ValueType = "NUM"
    item.ConceptNameCodeSequence = [_code_ds(name)]
    if value is not None or unit_code is not None:
        mv = Dataset()
        if value is not None:
            mv.add_new(0x0040A30A, vr, value)
        if unit_code is not None:
            mv.MeasurementUnitsCodeSequence = [_code_ds(hd.sr.CodedConcept(unit_code, unit_scheme, unit_code))]
        item.MeasuredValueSequence = [mv]
    return item


def _code_ds(concept: hd.sr.CodedConcept) -> Dataset:
    ds = Dataset()
    ds.CodeValue = concept.value
    ds.CodingSchemeDesignator = concept.scheme_designator
    ds.CodeMeaning = concept.meaning
    return ds


def by_reference(target: list[int], rel: str = "INFERRED FROM") -> Dataset:
    item = Dataset()
    item.RelationshipType = rel
    item.ReferencedContentItemIdentifier = target
    return item


def document(
    title: hd.sr.CodedConcept | None,
    children: Iterable[Dataset],
    *,
    sop_class: str = COMPREHENSIVE_SR,
    template: str | None = None,
    manufacturer: str = "ris-ai-module tests",
    model: str = "fixture",
    charset: str | list[str] | None = None,
    patient_name: str | bytes = "Test^Patient",
    patient_id: str = "P0001",
    accession: str = "A0001",
) -> Dataset:
    """A complete SR document (header + root CONTAINER) ready for ``save``."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.ContentDate = "20240102"
    ds.ContentTime = "102000"
    ds.AccessionNumber = accession
    ds.Modality = "SR" if sop_class != CT_IMAGE else "CT"
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model
    ds.ReferringPhysicianName = ""
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    if sop_class == CT_IMAGE:
        return ds
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    if title is not None:
        ds.ConceptNameCodeSequence = [_code_ds(title)]
    if template:
        tmpl = Dataset()
        tmpl.MappingResource = "DCMR"
        tmpl.TemplateIdentifier = template
        ds.ContentTemplateSequence = [tmpl]
    kids = list(children)
    if kids:
        ds.ContentSequence = Sequence(kids)
    return ds


def save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path
