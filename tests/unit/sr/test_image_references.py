"""IMAGE content items of an SR (report target images): read per PS3.3 C.18.4 (Referenced SOP Sequence with
Referenced SOP Class/Instance UID and Referenced Frame Number), wherever the tree has them; captions from
the item's own concept name or the measurement it supports; one reference per SOP Instance UID."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ris_ai_module.sr.parse import parse_sr_file
from tests.integration.dicom import objects as make

US_MF = "1.2.840.10008.5.1.4.1.1.3.1"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _image(rel: str, uid: str, name: Dataset | None = None, frames: str | None = None, cls: str = US_MF) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = rel, "IMAGE"
    if name is not None:
        item.ConceptNameCodeSequence = Sequence([name])
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = cls, uid
    if frames:
        ref.ReferencedFrameNumber = frames
    item.ReferencedSOPSequence = Sequence([ref])
    return item


def test_references_in_document_order_with_frames_captions_and_one_per_image(tmp_path: Path) -> None:
    path = tmp_path / "sr.dcm"
    ds = make.sr(path)
    ds.SpecificCharacterSet = "GB18030"
    num = ds.ContentSequence[0]  # LN 10230-1, not in the catalog: its concept meaning is the caption
    num.ContentSequence = Sequence([_image("SELECTED FROM", "1.2.3.2", frames="3\\4"),
                                    _image("INFERRED FROM", "1.2.3.1")])
    library = Dataset()
    library.RelationshipType, library.ValueType, library.ContinuityOfContent = "CONTAINS", "CONTAINER", "SEPARATE"
    library.ConceptNameCodeSequence = Sequence([_code("111028", "DCM", "Image Library")])
    library.ContentSequence = Sequence([_image("CONTAINS", "1.2.3.1", _code("LAX", "99RAI", "胸骨旁左室长轴切面")),
                                        _image("CONTAINS", "1.2.3.3")])
    ds.ContentSequence = Sequence([library, num])
    ds.save_as(path, enforce_file_format=True)

    refs = parse_sr_file(path).images
    assert [(r.sop_instance_uid, r.path, r.relationship) for r in refs] == [
        ("1.2.3.1", "1.1.1", "CONTAINS"), ("1.2.3.3", "1.1.2", "CONTAINS"), ("1.2.3.2", "1.2.1", "SELECTED FROM")]
    assert [r.caption for r in refs] == ["胸骨旁左室长轴切面", "", "Left ventricular Ejection fraction"]
    assert refs[2].frames == (3, 4) and refs[2].sop_class_uid == US_MF


def test_first_caption_wins_without_moving_the_image(tmp_path: Path) -> None:
    path = tmp_path / "sr.dcm"
    ds = make.sr(path)
    ds.ContentSequence = Sequence([_image("CONTAINS", "1.2.3.9"), *ds.ContentSequence,
                                   _image("CONTAINS", "1.2.3.9", _code("A4C", "99RAI", "Apical 4 chamber"))])
    ds.save_as(path, enforce_file_format=True)
    refs = parse_sr_file(path).images
    assert [(r.sop_instance_uid, r.path, r.caption) for r in refs] == [("1.2.3.9", "1.1", "Apical 4 chamber")]
    assert parse_sr_file(path).to_dict()["images"][0]["sop_instance_uid"] == "1.2.3.9"


def test_an_image_item_without_a_referenced_sop_is_no_reference(tmp_path: Path) -> None:
    path = tmp_path / "sr.dcm"
    ds = make.sr(path)
    broken = _image("CONTAINS", "1.2.3.5")
    del broken.ReferencedSOPSequence
    ds.ContentSequence = Sequence([broken, *ds.ContentSequence])
    ds.save_as(path, enforce_file_format=True)
    parsed = parse_sr_file(path)
    assert parsed.images == [] and "images" not in parsed.to_dict()
