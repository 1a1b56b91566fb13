"""Content items of an SR tree (PS3.3 C.17.3), written with pydicom: CONTAINER, NUM, CODE, TEXT, UIDREF.

Small constructors so that the templates in ``sr_documents`` read like the PS3.16 tables they follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

CONTAINS = "CONTAINS"
HAS_CONCEPT_MOD = "HAS CONCEPT MOD"
HAS_OBS_CONTEXT = "HAS OBS CONTEXT"
HAS_ACQ_CONTEXT = "HAS ACQ CONTEXT"
HAS_PROPERTIES = "HAS PROPERTIES"
INFERRED_FROM = "INFERRED FROM"


@dataclass(frozen=True)
class Code:
    value: str
    scheme: str
    meaning: str

    def dataset(self) -> Dataset:
        ds = Dataset()
        ds.CodeValue = self.value
        ds.CodingSchemeDesignator = self.scheme
        ds.CodeMeaning = self.meaning
        return ds


def sct(value: str, meaning: str) -> Code:
    return Code(value, "SCT", meaning)


def ln(value: str, meaning: str) -> Code:
    return Code(value, "LN", meaning)


def dcm(value: str, meaning: str) -> Code:
    return Code(value, "DCM", meaning)


#: UCUM units used by the simulator, with the Code Meaning PS3.16 examples give them.
UNITS = {
    "cm": "centimeter", "mm": "millimeter", "cm/s": "centimeter/second", "ms": "millisecond",
    "mm[Hg]": "millimeter of mercury", "%": "percent", "ml": "milliliter", "g": "gram", "kg": "kilogram",
    "g/m2": "gram/square meter", "ml/m2": "milliliter/square meter", "l/min": "liter/minute",
    "l/min/m2": "liter/minute/square meter", "{ratio}": "ratio", "/min": "per minute", "d": "day",
    "m2": "square meter", "cm2": "square centimeter",
}


def unit(ucum: str) -> Code:
    return Code(ucum, "UCUM", UNITS[ucum])


def _item(relationship: str | None, value_type: str, concept: Code | None) -> Dataset:
    ds = Dataset()
    if relationship:
        ds.RelationshipType = relationship
    ds.ValueType = value_type
    if concept is not None:
        ds.ConceptNameCodeSequence = DicomSequence([concept.dataset()])
    return ds


def _children(ds: Dataset, children: Iterable[Dataset]) -> Dataset:
    items = [c for c in children if c is not None]
    if items:
        ds.ContentSequence = DicomSequence(items)
    return ds


def container(concept: Code, children: Sequence[Dataset], relationship: str | None = CONTAINS) -> Dataset:
    ds = _item(relationship, "CONTAINER", concept)
    ds.ContinuityOfContent = "SEPARATE"
    return _children(ds, children)


def format_ds(value: float) -> str:
    """A Decimal String of at most 16 characters, without a trailing '.0' on integers."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text[:16]


def num(concept: Code, value: float, ucum: str, *modifiers: Dataset, relationship: str = CONTAINS) -> Dataset:
    ds = _item(relationship, "NUM", concept)
    mv = Dataset()
    mv.NumericValue = format_ds(value)
    mv.MeasurementUnitsCodeSequence = DicomSequence([unit(ucum).dataset()])
    ds.MeasuredValueSequence = DicomSequence([mv])
    return _children(ds, modifiers)


def code(concept: Code, value: Code, relationship: str = HAS_CONCEPT_MOD, *children: Dataset) -> Dataset:
    ds = _item(relationship, "CODE", concept)
    ds.ConceptCodeSequence = DicomSequence([value.dataset()])
    return _children(ds, children)


def text(concept: Code, value: str, relationship: str = CONTAINS) -> Dataset:
    ds = _item(relationship, "TEXT", concept)
    ds.TextValue = value
    return ds


def uidref(concept: Code, uid: str, relationship: str = HAS_OBS_CONTEXT) -> Dataset:
    ds = _item(relationship, "UIDREF", concept)
    ds.UID = uid
    return ds


# ----------------------------------------------------------------------- modifiers used across templates

FINDING_SITE = sct("363698007", "Finding Site")
LATERALITY = sct("272741003", "Laterality")
IMAGE_MODE = sct("399264008", "Image Mode")
METHOD = sct("370129005", "Measurement Method")
FLOW_DIRECTION = sct("260674002", "Direction of flow")
DERIVATION = dcm("121401", "Derivation")
FINDINGS = ln("59776-5", "Findings")
MEASUREMENT_GROUP = dcm("125007", "Measurement Group")
SIDES = {"R": sct("24028007", "Right"), "L": sct("7771000", "Left")}


def site(value: Code) -> Dataset:
    return code(FINDING_SITE, value)


def laterality(side: str) -> Dataset:
    return code(LATERALITY, SIDES[side])
