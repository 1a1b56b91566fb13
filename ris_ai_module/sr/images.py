"""Image references of an SR: every IMAGE content item of the content tree (PS3.3 C.18.4 Image Reference Macro).

Where they are: TID 1600 Image Library entries (an Image Library CONTAINER (111028, DCM) holding IMAGE items,
as in TID 5200 adult echo and TID 5000 OB-GYN), and images a measurement was made on, as an IMAGE child of
the NUM with relationship INFERRED FROM or SELECTED FROM (TID 300 / TID 5203 "Image Reference"). Each IMAGE
item carries a Referenced SOP Sequence (0008,1199) of one item: Referenced SOP Class UID (0008,1150),
Referenced SOP Instance UID (0008,1155) and, for a multi-frame image, Referenced Frame Number (0008,1160).

The caption is what the SR says about the image: the IMAGE item's own concept name (its purpose of
reference), else the name of the measurement it supports (the catalog's Chinese name when it knows the
concept). One reference per SOP Instance UID, in document order; the first caption found wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ris_ai_module.sr import raw
from ris_ai_module.sr.items import (
    CONCEPT_NAME_SEQ,
    CONTENT_SEQ,
    RELATIONSHIP_TYPE,
    VALUE_TYPE,
    TextDecoder,
    ascii_text,
    coded,
    first_item,
)

REFERENCED_SOP_SEQ = 0x00081199  # ReferencedSOPSequence
REFERENCED_SOP_CLASS = 0x00081150  # ReferencedSOPClassUID
REFERENCED_SOP_INSTANCE = 0x00081155  # ReferencedSOPInstanceUID
REFERENCED_FRAMES = 0x00081160  # ReferencedFrameNumber (IS, VM 1-n)

#: Concept names that say where an image sits, not what it shows: never a caption.
_NOT_CAPTIONS = frozenset({("DCM", "111028"), ("DCM", "121200"), ("DCM", "113012")})  # Image Library, Illustration…

_MAX_DEPTH = 1000


@dataclass(frozen=True, slots=True)
class ImageReference:
    """One image the SR refers to."""

    sop_class_uid: str
    sop_instance_uid: str
    frames: tuple[int, ...] = ()
    caption: str = ""
    #: Path of the IMAGE item in the content tree (1.4.2 …), and its relationship to its parent.
    path: str = ""
    relationship: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"sop_class_uid": self.sop_class_uid, "sop_instance_uid": self.sop_instance_uid,
                "frames": list(self.frames), "caption": self.caption, "path": self.path,
                "relationship": self.relationship}


def image_references(root: raw.Node, decoder: TextDecoder, names_by_path: dict[str, str]) -> list[ImageReference]:
    """The IMAGE items below ``root`` (``names_by_path``: a measurement's path -> its Chinese name)."""
    refs: list[ImageReference] = []
    stack: list[tuple[raw.Node, str, int, str]] = [(root, "1", 0, "")]
    while stack:
        node, path, depth, parent_caption = stack.pop()
        children = node.get(CONTENT_SEQ)
        if not isinstance(children, list) or depth >= _MAX_DEPTH:
            continue
        for index, child in enumerate(children, 1):
            if not isinstance(child, dict):
                continue
            child_path = f"{path}.{index}"
            vtype = ascii_text(child.get(VALUE_TYPE))
            name = coded(first_item(child, CONCEPT_NAME_SEQ), decoder)
            if vtype == "IMAGE":
                ref = _reference(child, child_path, _caption(name, parent_caption))
                if ref is not None:
                    refs.append(ref)
                continue
            caption = ""
            if vtype == "NUM":
                caption = names_by_path.get(child_path) or (name.meaning if name else "")
            stack.append((child, child_path, depth + 1, caption))
    found: dict[str, ImageReference] = {}
    for ref in sorted(refs, key=lambda r: _path_key(r.path)):  # document order
        first = found.get(ref.sop_instance_uid)
        if first is None:
            found[ref.sop_instance_uid] = ref
        elif not first.caption and ref.caption:  # keeps its place, takes the first caption the SR gives
            found[ref.sop_instance_uid] = ImageReference(first.sop_class_uid, first.sop_instance_uid,
                                                         first.frames or ref.frames, ref.caption, first.path,
                                                         first.relationship)
    return list(found.values())


def _caption(name: Any, parent_caption: str) -> str:
    if name is not None and name.meaning and (name.scheme.upper(), name.code) not in _NOT_CAPTIONS:
        return name.meaning.strip()
    return parent_caption.strip()


def _reference(node: raw.Node, path: str, caption: str) -> ImageReference | None:
    item = first_item(node, REFERENCED_SOP_SEQ)
    if item is None:
        return None
    uid = ascii_text(item.get(REFERENCED_SOP_INSTANCE))
    if not uid:
        return None
    frames: list[int] = []
    for part in ascii_text(item.get(REFERENCED_FRAMES)).split("\\"):
        if part.strip().isdigit():
            frames.append(int(part.strip()))
    return ImageReference(ascii_text(item.get(REFERENCED_SOP_CLASS)), uid, tuple(frames), caption[:200], path,
                          ascii_text(node.get(RELATIONSHIP_TYPE)))


def _path_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in path.split(".") if p.isdigit())
