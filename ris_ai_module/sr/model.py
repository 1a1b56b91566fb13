"""The result of reading one SR: measurements with their context, and the document around them.

``ParsedSR.to_dict()`` is the JSON contract of ``parse-sr`` (issue 3) and of the results-in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ris_ai_module.sr.items import CodedValue


@dataclass(slots=True)
class Modifier:
    """One modifier of a measurement (Finding Site, Laterality, Fetus ID, Selection Status, z-score …).

    ``code_key`` is the normalised code used for matching; ``display`` is the human label (the
    catalog's English name for a known code, else the meaning or text as sent).
    """

    role: str
    path: str
    code: CodedValue | None = None
    text: str | None = None
    number: float | None = None
    unit: str | None = None
    display: str = ""
    #: A site code that carries its side (``Right lobe of thyroid``): ``code`` is the unlateralised site
    #: used for matching, ``sent`` the code as sent and ``implied`` the Laterality it implies (issue 8).
    sent: CodedValue | None = None
    implied: Modifier | None = None

    @property
    def code_key(self) -> tuple[str, str] | None:
        return self.code.key if self.code is not None else None

    @property
    def identity(self) -> tuple:
        """What makes two modifier values the same for replicate grouping."""
        if self.code is not None:
            return self.code.key
        return ("text", (self.text or "").casefold()) if self.text is not None else ("num", self.number)

    def to_dict(self) -> dict[str, Any]:
        if self.sent is not None and self.code is not None:
            out = self.sent.to_dict()
            out["site"] = "{}:{}".format(*self.code.key)
            if self.implied is not None and self.implied.code is not None:
                out["laterality"] = "{}:{}".format(*self.implied.code.key)
            return out
        if self.code is not None:
            out: dict[str, Any] = self.code.to_dict()
            if self.code.key != (self.code.scheme, self.code.code):
                out["normalised"] = "{}:{}".format(*self.code.key)
            return out
        if self.number is not None or self.unit is not None:
            return {"value": self.number, "unit": self.unit}
        return {"text": self.text}


@dataclass(slots=True)
class Measurement:
    """One NUM content item: identified (key) or not (key None), converted, with its full context."""

    key: str | None
    name_en: str
    name_zh: str
    value: float | None
    unit: str | None
    raw_value: str | None
    raw_unit: str | None
    concept: CodedValue
    context: dict[str, str]
    modifiers: dict[str, Any]
    path: str
    selected: bool = False
    #: NUM, CODE or TEXT (issue 8): a CODE/TEXT finding has ``value`` None and its value here instead.
    value_type: str = "NUM"
    code_value: CodedValue | None = None
    text_value: str | None = None
    #: The value as Chinese / English reports write it (CODE/TEXT findings; "" when not known).
    value_zh: str = ""
    value_en: str = ""
    #: Why the value is kept but never reported (e.g. a lateralised site that contradicts the Laterality).
    hold: str | None = None
    #: For a derived value (z-score, percentile, GA from a biometry …): the path of the measurement it
    #: belongs to; it is its own key and never selected in the measurement's place.
    derived_from: str | None = None
    # Not part of the JSON: grouping keys used by selection and de-duplication.
    group: tuple = field(default=(), repr=False, compare=False)
    selection_rank: int = field(default=0, repr=False, compare=False)
    is_mean: bool = field(default=False, repr=False, compare=False)

    @property
    def has_value(self) -> bool:
        """A number for a NUM, a code or non-empty text for a finding: what selection may pick."""
        if self.value_type == "NUM":
            return self.value is not None
        return self.code_value is not None or bool(self.text_value and self.text_value.strip())

    def to_dict(self) -> dict[str, Any]:
        code = None
        if self.code_value is not None:
            code = {**self.code_value.to_dict(), "name_zh": self.value_zh}
        return {
            "key": self.key,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "value": self.value,
            "unit": self.unit,
            "raw_value": self.raw_value,
            "raw_unit": self.raw_unit,
            "concept": self.concept.to_dict(),
            "context": dict(self.context),
            "modifiers": dict(self.modifiers),
            "selected": self.selected,
            "path": self.path,
            "value_type": self.value_type,
            "code": code,
            "text": self.text_value,
            "value_zh": self.value_zh,
            "hold": self.hold,
            "derived_from": self.derived_from,
        }


@dataclass(slots=True)
class ParsedSR:
    """Everything read from one SR file; ``warnings`` lists every problem met, nothing is raised."""

    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    study_instance_uid: str = ""
    accession_number: str = ""
    patient_id: str = ""
    patient_name: str = ""
    manufacturer: str = ""
    model: str = ""
    document_template: str = ""
    document_title: CodedValue | None = None
    measurements: list[Measurement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Content items read below the root (0: nothing could be read; see :meth:`unreadable_reason`).
    content_items: int = 0
    #: IMAGE content items (key images, Image Library entries): :class:`ris_ai_module.sr.images.ImageReference`.
    images: list[Any] = field(default_factory=list)

    @property
    def selected(self) -> list[Measurement]:
        return [m for m in self.measurements if m.selected]

    def by_key(self, key: str, selected_only: bool = True) -> list[Measurement]:
        return [m for m in self.measurements if m.key == key and (m.selected or not selected_only)]

    def unreadable_reason(self) -> str | None:
        """Why not a single content item could be read, or None when at least one was.

        An SR like that must never look applied (issue 8 item 10): its reader ends SR_APPLY as FAILED.
        A readable SR whose items are all unmapped is not unreadable.
        """
        if self.content_items:
            return None
        problems = "; ".join(self.warnings[:3]) or "no content"
        return f"no content item could be read from the SR ({problems})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sop_instance_uid": self.sop_instance_uid,
            "study_instance_uid": self.study_instance_uid,
            "accession_number": self.accession_number,
            "patient": {"id": self.patient_id, "name": self.patient_name},
            "document": {
                "template": self.document_template or None,
                "title": self.document_title.to_dict() if self.document_title else None,
                "sop_class_uid": self.sop_class_uid,
                "manufacturer": self.manufacturer,
                "model": self.model,
            },
            "measurements": [m.to_dict() for m in self.measurements],
            "content_items": self.content_items,
            **({"images": [i.to_dict() for i in self.images]} if self.images else {}),
            "warnings": list(self.warnings),
        }
