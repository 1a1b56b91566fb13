"""Where an SR came from, and what orders it among an exam's SRs.

Read from the SR header (PS3.3 General Equipment, SR Document General: Manufacturer, Manufacturer's Model
Name, Software Versions, Device Serial Number, Content Date/Time, Instance Creation Date/Time, Predecessor
Documents Sequence, Completion and Verification Flags) and from the content tree: TID 4019 Algorithm
Identification (111001 Algorithm Name, 111003 Algorithm Version, wherever in the tree it is first met) and
the observer context of the document (TID 1002/1003/1004, HAS OBS CONTEXT children of the root).
Independent of the measurement engine; reads with pydicom (the SR is small and read once per apply).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ris_ai_module.errors import InvalidInput

ALGORITHM_NAME = ("DCM", "111001")
ALGORITHM_VERSION = ("DCM", "111003")

#: Observer context concepts (PS3.16 TID 1002, 1003, 1004) -> the name kept.
OBSERVER_CONCEPTS = {
    "121005": "observer_type", "121008": "person_name", "121009": "person_organization",
    "121010": "person_role", "121012": "device_uid", "121013": "device_name", "121014": "device_manufacturer",
    "121015": "device_model", "121016": "device_serial", "121017": "device_location",
}

MAX_NODES = 20_000  # a bound on the tree walk: a hostile SR cannot make it run long


@dataclass
class Provenance:
    sop_instance_uid: str = ""
    manufacturer: str = ""
    model: str = ""
    software_versions: str = ""
    device_serial: str = ""
    algorithm_name: str = ""
    algorithm_version: str = ""
    observer: dict[str, str] = field(default_factory=dict)
    content_at: datetime | None = None
    instance_at: datetime | None = None
    predecessors: list[str] = field(default_factory=list)
    completion_flag: str = ""
    verification_flag: str = ""

    @property
    def device_key(self) -> str:
        """One source device: its manufacturer, model and serial (else the device observer UID)."""
        serial = self.device_serial or self.observer.get("device_serial", "") or self.observer.get("device_uid", "")
        parts = [self.manufacturer or self.observer.get("device_manufacturer", ""),
                 self.model or self.observer.get("device_model", ""), serial]
        return "|".join(parts) if any(parts) else ""

    @property
    def model_label(self) -> str:
        """What a doctor reads: ``Vendor EchoAI 2.1`` (algorithm name and version when the SR has them)."""
        name = self.algorithm_name or " ".join(p for p in (self.manufacturer, self.model) if p)
        version = self.algorithm_version or self.software_versions.split("\\")[0]
        if version and not version.lower().startswith("v"):
            version = "v" + version
        return " ".join(p for p in (name, version) if p)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["content_at"] = self.content_at.isoformat() if self.content_at else None
        out["instance_at"] = self.instance_at.isoformat() if self.instance_at else None
        out["device_key"] = self.device_key
        out["model_label"] = self.model_label
        return out


def read_provenance(path: str | os.PathLike[str]) -> Provenance:
    """The provenance of one SR file; InvalidInput when it is not DICOM."""
    from pydicom import dcmread

    try:
        ds = dcmread(path, force=True)
    except Exception as exc:  # noqa: BLE001 - anything pydicom cannot read is "not DICOM"
        raise InvalidInput("file", f"not a DICOM file: {exc.__class__.__name__}") from exc
    return provenance_of(ds)


def provenance_of(ds: Any) -> Provenance:
    p = Provenance(
        sop_instance_uid=_text(ds, "SOPInstanceUID"), manufacturer=_text(ds, "Manufacturer"),
        model=_text(ds, "ManufacturerModelName"), software_versions=_multi(ds, "SoftwareVersions"),
        device_serial=_text(ds, "DeviceSerialNumber"),
        content_at=_when(_text(ds, "ContentDate"), _text(ds, "ContentTime")),
        instance_at=_when(_text(ds, "InstanceCreationDate"), _text(ds, "InstanceCreationTime")),
        completion_flag=_text(ds, "CompletionFlag"), verification_flag=_text(ds, "VerificationFlag"),
    )
    p.predecessors = _predecessors(ds)
    for item in _safe_seq(ds, "ContentSequence"):
        if _text(item, "RelationshipType") == "HAS OBS CONTEXT":
            code = _concept(item)
            if code and code[1] in OBSERVER_CONCEPTS and code[0] == "DCM":
                p.observer.setdefault(OBSERVER_CONCEPTS[code[1]], _value(item))
    _find_algorithm(ds, p)
    return p


def _find_algorithm(ds: Any, p: Provenance) -> None:
    stack, seen = list(_safe_seq(ds, "ContentSequence")), 0
    while stack and seen < MAX_NODES and not (p.algorithm_name and p.algorithm_version):
        item = stack.pop(0)
        seen += 1
        code = _concept(item)
        if code == ALGORITHM_NAME and not p.algorithm_name:
            p.algorithm_name = _value(item)
        elif code == ALGORITHM_VERSION and not p.algorithm_version:
            p.algorithm_version = _value(item)
        stack.extend(_safe_seq(item, "ContentSequence"))


def _predecessors(ds: Any) -> list[str]:
    out: list[str] = []
    for study in _safe_seq(ds, "PredecessorDocumentsSequence"):
        for series in _safe_seq(study, "ReferencedSeriesSequence"):
            for sop in _safe_seq(series, "ReferencedSOPSequence"):
                uid = _text(sop, "ReferencedSOPInstanceUID")
                if uid and uid not in out:
                    out.append(uid)
    return out


def _concept(item: Any) -> tuple[str, str] | None:
    seq = _safe_seq(item, "ConceptNameCodeSequence")
    if not seq:
        return None
    return _text(seq[0], "CodingSchemeDesignator").upper(), _text(seq[0], "CodeValue")


def _value(item: Any) -> str:
    kind = _text(item, "ValueType")
    if kind == "TEXT":
        return _text(item, "TextValue")
    if kind == "PNAME":
        return _text(item, "PersonName")
    if kind == "UIDREF":
        return _text(item, "UID")
    if kind == "CODE":
        seq = _safe_seq(item, "ConceptCodeSequence")
        return _text(seq[0], "CodeMeaning") if seq else ""
    return _text(item, "TextValue")


def _safe_seq(ds: Any, keyword: str) -> list[Any]:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a malformed element is read as absent
        return []
    return list(value) if value else []


def _text(ds: Any, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001
        return ""
    return "" if value is None else str(value).strip()


def _multi(ds: Any, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def _when(day: str, clock: str) -> datetime | None:
    """DA + TM (HHMMSS.FFFFFF, parts optional) as a naive datetime; None when absent or malformed."""
    if len(day) != 8 or not day.isdigit():
        return None
    clock = clock.split("&")[0].split("+")[0].split("-")[0]
    digits, _, fraction = clock.partition(".")
    digits = (digits + "000000")[:6] if digits.isdigit() else "000000"
    micro = int((fraction + "000000")[:6]) if fraction.isdigit() else 0
    try:
        return datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(digits[:2]), int(digits[2:4]),
                        int(digits[4:6]), micro)
    except ValueError:
        return None
