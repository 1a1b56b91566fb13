"""Report target ``images`` (issue 14, 典型图像) end to end: DCMTK storescu sends the simulator's Secondary
Capture pages and an SR referencing them to our real SCP, on SQLite, PostgreSQL and MariaDB; the exam's rows
appear in RIS_REPORT_IMAGE with valid JPEGs, an object held for review writes nothing, re-sending adds no row.

The SR is the simulator's adult echo SR with image references added by hand, as PS3.3 C.18.4 (Image Reference
Macro: Referenced SOP Sequence with Referenced SOP Class/Instance UID) and PS3.16 TID 5200 row 7-8 (an Image
Library container of IMAGE items) and TID 300 (an IMAGE item INFERRED FROM under the NUM it supports) say.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from sqlalchemy import Integer, String, column, func, insert, select, table
from sqlalchemy.engine import Engine

from ris_ai_module.context import make_context
from ris_ai_module.db.tables import dicom_object
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from ris_ai_module.sim.results import produce
from ris_ai_module.sim.sr_documents import ExamIdentity
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import dicom_section
from tests.sr_fixtures.build import save

SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
IMAGES = table("ris_report_image", *(column(c, String) for c in (
    "exam_id", "sop_instance_uid", "image_path", "caption", "image_state", "source_uid")),
    column("image_no", Integer), column("series_no", Integer), column("instance_no", Integer))
EXAMS = table("ris_exam", *(column(c, String) for c in (
    "exam_id", "patient_id", "patient_name", "accession_no", "study_uid", "exam_status", "modality")))

EXAM = ExamIdentity(patient_id="P7001", patient_name="李四", birth_date="19700101", sex="M", accession="A7001",
                    study_uid="1.2.826.0.1.3680043.10.1111.7001", study_date="20261202", study_time="090000",
                    exam_key="E7001")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _image(relationship: str, sop_uid: str, name: Dataset | None = None) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = "IMAGE"
    if name is not None:
        item.ConceptNameCodeSequence = Sequence([name])
    ref = Dataset()
    ref.ReferencedSOPClassUID = SC_CLASS
    ref.ReferencedSOPInstanceUID = sop_uid
    item.ReferencedSOPSequence = Sequence([ref])
    return item


def _container(name: Dataset, children: list[Dataset]) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "CONTAINER"
    item.ContinuityOfContent = "SEPARATE"
    item.ConceptNameCodeSequence = Sequence([name])
    item.ContentSequence = Sequence(children)
    return item


def with_key_images(sr: Dataset, library: str, supporting: str, missing: str) -> Dataset:
    """The SR with an Image Library (a captioned entry and one never sent) and an LVEF inferred from an image."""
    library_entries = [_image("CONTAINS", library, _code("A4C", "99RAI", "心尖四腔心切面")),
                       _image("CONTAINS", missing)]
    num = Dataset()
    num.RelationshipType = "CONTAINS"
    num.ValueType = "NUM"
    num.ConceptNameCodeSequence = Sequence([_code("18043-0", "LN", "Left Ventricular Ejection Fraction")])
    mv = Dataset()
    mv.NumericValue = "61"
    mv.MeasurementUnitsCodeSequence = Sequence([_code("%", "UCUM", "percent")])
    num.MeasuredValueSequence = Sequence([mv])
    num.ContentSequence = Sequence([_image("INFERRED FROM", supporting)])
    sr.ContentSequence = Sequence([_container(_code("111028", "DCM", "Image Library"), library_entries),
                                   *sr.ContentSequence,
                                   _container(_code("125007", "DCM", "Measurement Group"), [num])])
    sr.SpecificCharacterSet = "ISO_IR 192"
    return sr


@pytest.fixture
def scp(any_db: Engine, tmp_path: Path):
    with any_db.begin() as conn:
        conn.execute(insert(EXAMS).values(exam_id="E7001", patient_id="P7001", patient_name="李四",
                                          accession_no="A7001", study_uid=EXAM.study_uid, exam_status="STARTED",
                                          modality="US"))
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "review": {"patient_check": "id-only"},
           "report": {"targets": ["rows", "text", "images"],
                      "images": {"jpeg_folder": str(tmp_path / "jpeg"), "url_prefix": "http://ris/img/"}}}
    raw.update(dicom_section(tmp_path / "storage"))
    ctx = make_context(config_from_dict(raw))
    server = StorageScp(ctx)
    server.start()
    try:
        yield ctx, server.port, any_db
    finally:
        server.stop()
        ctx.engine.dispose()


def _apply_all(ctx) -> int:
    worker = make_worker(ctx, [SrApplyHandler(ctx)])
    ran = 0
    for _ in range(10):  # bounded: each round runs what is queued
        n = worker.run_once()
        if n == 0:
            return ran
        ran += n
    return ran


def _rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(IMAGES).order_by(IMAGES.c.exam_id, IMAGES.c.image_no))]


def _send(port: int, *files: Path) -> None:
    out = dcmtk.storescu(port, *files)
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"] * len(files), out.stdout + out.stderr


def test_key_images_reach_the_exams_report(scp, tmp_path: Path) -> None:
    ctx, port, engine = scp
    result = produce(EXAM, "adult-echo", 7, "DEMO_AI", when=datetime(2026, 12, 2, 9, 30))
    pages = result.images
    assert len(pages) >= 2
    missing = generate_uid()
    sr = with_key_images(result.sr, pages[1].SOPInstanceUID, pages[0].SOPInstanceUID, missing)
    files = [save(ds, tmp_path / f"sc{i}.dcm") for i, ds in enumerate(pages)] + [save(sr, tmp_path / "sr.dcm")]
    held = make.sc(tmp_path / "held.dcm", patient_id="P9999", accession="A7001")  # another patient, our accession
    _send(port, *files, tmp_path / "held.dcm")
    _apply_all(ctx)

    rows = _rows(engine)
    assert {r["exam_id"] for r in rows} == {"E7001"}
    by_sop = {r["sop_instance_uid"]: r for r in rows}
    assert held.SOPInstanceUID not in by_sop  # held for review: no row, no JPEG
    assert not list((tmp_path / "jpeg").rglob(f"{held.SOPInstanceUID}*"))
    with ctx.engine.connect() as conn:
        assert conn.execute(select(dicom_object.c.review_state)
                            .where(dicom_object.c.sop_instance_uid == held.SOPInstanceUID)).scalar() == "NEEDS_REVIEW"
    # key images first, in the SR's document order; then the other pages by instance number
    order = [pages[1].SOPInstanceUID, missing, pages[0].SOPInstanceUID] + [p.SOPInstanceUID for p in pages[2:]]
    assert [r["sop_instance_uid"] for r in rows] == order
    assert [r["image_no"] for r in rows] == list(range(1, len(order) + 1))
    assert by_sop[pages[1].SOPInstanceUID]["caption"] == "心尖四腔心切面"  # the IMAGE item's own concept name
    assert by_sop[pages[0].SOPInstanceUID]["caption"] == "左室射血分数"  # the measurement it was inferred from
    assert by_sop[pages[2].SOPInstanceUID]["caption"] is None if len(pages) > 2 else True
    gone = by_sop[missing]
    assert (gone["image_state"], gone["image_path"], gone["source_uid"]) == ("NOT_RECEIVED", None, sr.SOPInstanceUID)
    for page in pages:
        row = by_sop[page.SOPInstanceUID]
        name = f"E7001/{page.SOPInstanceUID}.jpg"
        assert (row["image_state"], row["image_path"]) == ("JPEG", "http://ris/img/" + name)
        assert (row["series_no"], row["instance_no"]) == (int(page.SeriesNumber), int(page.InstanceNumber))
        with Image.open(tmp_path / "jpeg" / name) as img:
            img.load()
            assert (img.format, img.size, img.mode) == ("JPEG", (page.Columns, page.Rows), "RGB")
    assert not list((tmp_path / "jpeg").rglob("*.tmp"))

    # the dry run (parse-sr --preview) names the SR's key images and which are here, and writes nothing
    from ris_ai_module.report.preview import preview_file, to_text

    answer = preview_file(ctx, tmp_path / "sr.dcm")
    assert answer["images"] == [
        {"sop_instance_uid": pages[1].SOPInstanceUID, "caption": "心尖四腔心切面", "received": True},
        {"sop_instance_uid": missing, "caption": "", "received": False},
        {"sop_instance_uid": pages[0].SOPInstanceUID, "caption": "左室射血分数", "received": True}]
    assert f"image {missing} (not received yet)" in to_text(answer)
    assert _rows(engine) == rows

    # the same objects again: duplicates, nothing re-applied, no second row; a re-apply writes the same rows
    _send(port, *files)
    _apply_all(ctx)
    assert _rows(engine) == rows
    from ris_ai_module.report.apply import apply_exam

    apply_exam(ctx, "E7001")
    assert [(r["sop_instance_uid"], r["image_path"]) for r in _rows(engine)] == \
        [(r["sop_instance_uid"], r["image_path"]) for r in rows]

    # the key image that was missing arrives later, in its own association: its row gets its JPEG
    late = make.sc(tmp_path / "late.dcm", sop=missing, patient_id="P7001", accession="A7001", study=EXAM.study_uid)
    _send(port, tmp_path / "late.dcm")
    assert _apply_all(ctx) == 1
    row = {r["sop_instance_uid"]: r for r in _rows(engine)}[missing]
    assert (row["image_state"], row["image_no"]) == ("JPEG", 2)
    with Image.open(tmp_path / "jpeg" / "E7001" / f"{missing}.jpg") as img:
        assert (img.format, img.size, img.mode) == ("JPEG", (late.Columns, late.Rows), "L")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IMAGES)).scalar() == len(order)


# ----------------------------------------------------------------------------- supersede, move, others' rows

def _library_sr(tmp_path: Path, name: str, study: str, *refs: str, predecessor: Dataset | None = None) -> Dataset:
    """A small SR (LVEF) with an Image Library of ``refs``; a revision names ``predecessor`` in its Predecessor
    Documents Sequence (PS3.3 C.17.2.3: study, series, SOP class and instance of the document it replaces)."""
    ds = make.sr(tmp_path / f"{name}.dcm", study=study)
    ds.ContentSequence = Sequence([_container(_code("111028", "DCM", "Image Library"),
                                              [_image("CONTAINS", r) for r in refs]), *ds.ContentSequence])
    if predecessor is not None:
        sop = Dataset()
        sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = predecessor.SOPClassUID, predecessor.SOPInstanceUID
        series = Dataset()
        series.SeriesInstanceUID = predecessor.SeriesInstanceUID
        series.ReferencedSOPSequence = Sequence([sop])
        item = Dataset()
        item.StudyInstanceUID = predecessor.StudyInstanceUID
        item.ReferencedSeriesSequence = Sequence([series])
        ds.PredecessorDocumentsSequence = Sequence([item])
    return ds


def _run_queue(ctx) -> None:
    worker = make_worker(ctx, [SrApplyHandler(ctx)])
    for _ in range(10):
        if worker.run_once() == 0:
            return


def test_a_revision_replaces_key_images_and_a_moved_image_leaves(rig, tmp_path: Path) -> None:
    jpeg = tmp_path / "jpeg"
    rig.report = {"targets": ["rows", "images"], "images": {"include": "referenced", "jpeg_folder": str(jpeg)}}
    rig.add_exam("E1")
    rig.add_exam("E2")
    study = generate_uid()
    a, b = (make.sc(tmp_path / f"{n}.dcm", study=study) for n in "ab")
    for ds in (a, b):
        rig.store(ds, "E1")
    with rig.engine.begin() as conn:  # a row the RIS itself has (a doctor's chosen image): never the module's
        conn.execute(insert(IMAGES).values(exam_id="E1", sop_instance_uid="1.2.3.4", image_path="pacs://x"))

    first = _library_sr(tmp_path, "sr1", study, a.SOPInstanceUID)
    rig.apply(rig.store(first, "E1"))
    assert [(r["sop_instance_uid"], r["source_uid"]) for r in _rows(rig.engine) if r["image_no"]] == \
        [(a.SOPInstanceUID, first.SOPInstanceUID)]
    assert (jpeg / "E1" / f"{a.SOPInstanceUID}.jpg").is_file()

    revision = _library_sr(tmp_path, "sr2", study, b.SOPInstanceUID, predecessor=first)
    rig.apply(rig.store(revision, "E1"))  # the revision replaces its predecessor wholly: its key images too
    rows = _rows(rig.engine)
    assert [(r["sop_instance_uid"], r["source_uid"]) for r in rows if r["image_no"]] == \
        [(b.SOPInstanceUID, revision.SOPInstanceUID)]
    assert not (jpeg / "E1" / f"{a.SOPInstanceUID}.jpg").exists()
    assert ("1.2.3.4", "pacs://x") in {(r["sop_instance_uid"], r["image_path"]) for r in rows}

    other = _library_sr(tmp_path, "sr3", study, a.SOPInstanceUID)  # an unrelated SR: merged, newest first
    rig.apply(rig.store(other, "E1"))
    assert [r["sop_instance_uid"] for r in _rows(rig.engine) if r["image_no"]] == [a.SOPInstanceUID, b.SOPInstanceUID]

    from ris_ai_module.dicom.review import decide_link

    with rig.engine.begin() as conn:  # the operator moves image b to the other exam (which has no SR)
        decide_link(conn, b.SOPInstanceUID, "E2", actor="op", source="cli:test", policy="off")
    _run_queue(rig.ctx)
    rows = _rows(rig.engine)
    assert [(r["exam_id"], r["sop_instance_uid"], r["image_state"]) for r in rows if r["image_no"]] == [
        ("E1", a.SOPInstanceUID, "JPEG"), ("E1", b.SOPInstanceUID, "NOT_RECEIVED")]  # still named, not there
    assert not (jpeg / "E1" / f"{b.SOPInstanceUID}.jpg").exists()
    assert not (jpeg / "E2").exists()
    assert ("1.2.3.4", "pacs://x") in {(r["sop_instance_uid"], r["image_path"]) for r in rows}
