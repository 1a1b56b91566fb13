"""Typed views of SR content items over raw nodes (see :mod:`ris_ai_module.sr.raw`).

A view converts only what is asked for, so walking a tree costs one dict lookup per attribute used.
Codes are compared on a normalised ``(scheme, value)`` key with legacy SNOMED-RT codes mapped to
SNOMED CT (pydicom's ``_snomed_dict``); the original code is kept for output.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from ris_ai_module.sr.raw import Node

# Tags used by the reader (PS3.6 keywords in comments).
SPECIFIC_CHARACTER_SET = 0x00080005
CODE_VALUE = 0x00080100  # CodeValue
CODING_SCHEME = 0x00080102  # CodingSchemeDesignator
CODE_MEANING = 0x00080104  # CodeMeaning
MAPPING_RESOURCE = 0x00080105
LONG_CODE_VALUE = 0x00080119
URN_CODE_VALUE = 0x00080120
UNITS_SEQ = 0x004008EA  # MeasurementUnitsCodeSequence
RELATIONSHIP_TYPE = 0x0040A010
VALUE_TYPE = 0x0040A040
CONCEPT_NAME_SEQ = 0x0040A043
DATETIME = 0x0040A120
DATE = 0x0040A121
TIME = 0x0040A122
PERSON_NAME = 0x0040A123
UID = 0x0040A124
TEXT_VALUE = 0x0040A160
FLOAT_VALUE = 0x0040A161  # FloatingPointValue
CONCEPT_CODE_SEQ = 0x0040A168
MEASURED_VALUE_SEQ = 0x0040A300
QUALIFIER_SEQ = 0x0040A301  # NumericValueQualifierCodeSequence
NUMERIC_VALUE = 0x0040A30A
CONTENT_TEMPLATE_SEQ = 0x0040A504
CONTENT_SEQ = 0x0040A730
TEMPLATE_IDENTIFIER = 0x0040DB00
REFERENCED_CONTENT_ITEM = 0x0040DB73


class ValueType(str, Enum):
    """Value Type (0040,A040), PS3.3 C.17.3.2.1 enumerated values."""

    CONTAINER = "CONTAINER"
    NUM = "NUM"
    CODE = "CODE"
    TEXT = "TEXT"
    DATETIME = "DATETIME"
    DATE = "DATE"
    TIME = "TIME"
    UIDREF = "UIDREF"
    PNAME = "PNAME"
    COMPOSITE = "COMPOSITE"
    IMAGE = "IMAGE"
    WAVEFORM = "WAVEFORM"
    SCOORD = "SCOORD"
    SCOORD3D = "SCOORD3D"
    TCOORD = "TCOORD"
    TABLE = "TABLE"


class RelationshipType(str, Enum):
    """Relationship Type (0040,A010), PS3.3 C.17.3.2.4 enumerated values."""

    CONTAINS = "CONTAINS"
    HAS_PROPERTIES = "HAS PROPERTIES"
    HAS_OBS_CONTEXT = "HAS OBS CONTEXT"
    HAS_ACQ_CONTEXT = "HAS ACQ CONTEXT"
    INFERRED_FROM = "INFERRED FROM"
    SELECTED_FROM = "SELECTED FROM"
    HAS_CONCEPT_MOD = "HAS CONCEPT MOD"


_VALUE_TYPES = {v.value: v for v in ValueType}
_RELATIONSHIPS = {v.value: v for v in RelationshipType}
_LEGACY_SCHEMES = ("SRT", "SNM3", "99SDM")


@lru_cache(maxsize=1)
def _srt_to_sct() -> dict[str, str]:
    try:
        from pydicom.sr._snomed_dict import mapping
    except ImportError:  # pragma: no cover - pydicom without the private table
        return {}
    return dict(mapping["SRT"])


@lru_cache(maxsize=8192)
def normalise_code(scheme: str, code: str) -> tuple[str, str]:
    """Return the matching key ``(scheme, code)``: SRT/SNM3 -> SCT where pydicom knows the code."""
    scheme = scheme.strip().upper()
    code = code.strip()
    if scheme in _LEGACY_SCHEMES:
        sct = _srt_to_sct().get(code)
        if sct is not None:
            return "SCT", sct
    elif scheme in ("SNOMED", "SNOMED-CT", "SNOMED CT"):
        return "SCT", code
    elif scheme == "LOINC":
        return "LN", code
    return scheme, code


@dataclass(frozen=True, slots=True)
class CodedValue:
    """A code as sent (scheme, code, meaning); ``key`` is the normalised matching key."""

    scheme: str
    code: str
    meaning: str

    @property
    def key(self) -> tuple[str, str]:
        return normalise_code(self.scheme, self.code)

    def to_dict(self) -> dict[str, str]:
        return {"scheme": self.scheme, "code": self.code, "meaning": self.meaning}


class TextDecoder:
    """Decodes LO/UT/PN bytes with the dataset's Specific Character Set; ASCII takes a fast path."""

    def __init__(self, charset_raw: bytes | None) -> None:
        self.terms = [t.strip() for t in ascii_text(charset_raw).split("\\")] if charset_raw else [""]
        self._encodings: list[str] | None = None
        self.problem: str | None = None

    def _codecs(self) -> list[str]:
        if self._encodings is None:
            import warnings

            from pydicom.charset import convert_encodings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._encodings = convert_encodings(self.terms)
            if caught:
                self.problem = f"Specific Character Set {'/'.join(self.terms)!r}: {caught[0].message}"
        return self._encodings

    def text(self, raw: bytes | None, pn: bool = False) -> str:
        if not raw:
            return ""
        if raw.isascii():
            return raw.decode("ascii").rstrip(" \x00")
        if _ESC_IR58 in raw:
            # ISO 2022 IR 58: GB2312 in G1 (EUC-CN bytes) after ESC $ ) A. pydicom 3.0.2 leaves the escape
            # sequence in the decoded text, so decode it here: without the escapes it is plain EUC-CN.
            return raw.replace(_ESC_IR58, b"").decode("gb18030", "replace").rstrip(" \x00")
        import warnings

        from pydicom.charset import TEXT_VR_DELIMS, decode_bytes

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return decode_bytes(raw, self._codecs(), _PN_DELIMS if pn else TEXT_VR_DELIMS).rstrip(" \x00")


_ESC_IR58 = b"\x1b$)A"
_PN_DELIMS = {0x5E, 0x3D}  # "^" and "=": ISO 2022 escapes reset at PN component delimiters


def ascii_text(raw: object) -> str:
    """CS/UI/DS/IS bytes as a stripped str (binary or missing values give '')."""
    if isinstance(raw, bytes):
        return raw.decode("latin-1").strip(" \x00")
    return ""


def coded(node: Node | None, decoder: TextDecoder) -> CodedValue | None:
    """The CodedValue of a code sequence item, or None when there is no usable code."""
    if not node:
        return None
    code = ascii_text(node.get(CODE_VALUE)) or decoder.text(node.get(LONG_CODE_VALUE)) or decoder.text(
        node.get(URN_CODE_VALUE)
    )
    scheme = ascii_text(node.get(CODING_SCHEME))
    meaning = decoder.text(node.get(CODE_MEANING))
    if not code and not meaning:
        return None
    return CodedValue(scheme, code, meaning)


def first_item(node: Node, tag: int) -> Node | None:
    seq = node.get(tag)
    if isinstance(seq, list) and seq:
        return seq[0]
    return None


@dataclass(slots=True)
class NumericValue:
    """What a NUM carries: the value text as sent, its float, the unit, and any problem found."""

    raw: str | None
    number: float | None
    unit: CodedValue | None
    qualifier: CodedValue | None
    problem: str | None


class ContentItem:
    """A read-only view of one content item (a raw node) with typed properties."""

    __slots__ = ("node", "decoder")

    def __init__(self, node: Node, decoder: TextDecoder) -> None:
        self.node = node
        self.decoder = decoder

    @classmethod
    def from_node(cls, node: Node, decoder: TextDecoder) -> ContentItem:
        return cls(node, decoder)

    @property
    def value_type_text(self) -> str:
        return ascii_text(self.node.get(VALUE_TYPE))

    @property
    def value_type(self) -> ValueType | None:
        return _VALUE_TYPES.get(self.value_type_text)

    @property
    def relationship(self) -> RelationshipType | None:
        return _RELATIONSHIPS.get(ascii_text(self.node.get(RELATIONSHIP_TYPE)))

    @property
    def name(self) -> CodedValue | None:
        return coded(first_item(self.node, CONCEPT_NAME_SEQ), self.decoder)

    @property
    def code_value(self) -> CodedValue | None:
        return coded(first_item(self.node, CONCEPT_CODE_SEQ), self.decoder)

    @property
    def text_value(self) -> str | None:
        """TEXT/DATETIME/DATE/TIME/UIDREF/PNAME value as a string, else None."""
        for tag in (TEXT_VALUE, DATETIME, DATE, TIME, UID):
            raw = self.node.get(tag)
            if isinstance(raw, bytes):
                return self.decoder.text(raw)
        raw = self.node.get(PERSON_NAME)
        if isinstance(raw, bytes):
            return self.decoder.text(raw, pn=True)
        return None

    @property
    def children(self) -> list[Node]:
        seq = self.node.get(CONTENT_SEQ)
        return seq if isinstance(seq, list) else []

    @property
    def references(self) -> list[int] | None:
        """ReferencedContentItemIdentifier (a by-reference relationship), or None."""
        raw = self.node.get(REFERENCED_CONTENT_ITEM)
        if raw is None:
            return None
        data = raw[1] if isinstance(raw, tuple) else raw
        if len(data) % 4:
            return []
        return list(struct.unpack(f"<{len(data) // 4}I", data))

    @property
    def numeric(self) -> NumericValue:
        mv = first_item(self.node, MEASURED_VALUE_SEQ)
        qualifier = coded(first_item(self.node, QUALIFIER_SEQ), self.decoder)
        if mv is None:
            return NumericValue(None, None, None, qualifier, "NUM has no measured value")
        unit = coded(first_item(mv, UNITS_SEQ), self.decoder)
        raw, number, problem = _number(mv)
        if problem is None and unit is None:
            problem = "NUM has no units"
        return NumericValue(raw, number, unit, qualifier, problem)


def _number(mv: Node) -> tuple[str | None, float | None, str | None]:
    """Read NumericValue (DS) tolerating a wrong VR; FloatingPointValue (FD) gives the exact number."""
    fp = mv.get(FLOAT_VALUE)
    exact = None
    if isinstance(fp, tuple) and len(fp[1]) == 8:
        exact = struct.unpack("<d", fp[1])[0]
        exact = exact if math.isfinite(exact) else None
    raw = mv.get(NUMERIC_VALUE)
    if raw is None:
        if exact is not None:
            return repr(exact), exact, None
        return None, None, "NUM has no numeric value"
    if isinstance(raw, tuple):  # wrong VR: a binary encoding of the number
        vr, data = raw
        fmt = {"FD": "<d", "FL": "<f"}.get(vr)
        if fmt and len(data) == struct.calcsize(fmt):
            value = struct.unpack(fmt, data)[0]
            return repr(value), value, f"Numeric Value encoded with VR {vr}, not DS"
        return data.hex(), exact, f"Numeric Value has VR {vr} and cannot be read"
    text = raw.decode("latin-1").strip(" \x00")
    try:
        value = float(text.split("\\")[0].strip())
    except ValueError:
        return text, exact, None if exact is not None else f"Numeric Value {text!r} is not a number"
    if not math.isfinite(value):
        return text, exact, None if exact is not None else f"Numeric Value {text!r} is not finite"
    return text, (exact if exact is not None else value), None
