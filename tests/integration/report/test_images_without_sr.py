"""Report target ``images`` when the AI sends Secondary Capture pages and no SR (issue 14, gap 1).

DCMTK storescu sends SC pages to our real SCP on SQLite, PostgreSQL and MariaDB. A sonographer expects the AI's
images in the report whether or not an SR came: each page's C-STORE queues the exam's image refresh, and the
rows appear in RIS_REPORT_IMAGE with their JPEGs, with no SR applied (no measurement, no report row created, no
result delivered). The rules of the SR path hold: an object held for review gets no row, re-sending adds none, a
row the RIS wrote itself is never touched, a signed report gets nothing until it is re-opened; an SR arriving
later takes the rows over without a duplicate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from pydicom.uid import generate_uid
from sqlalchemy import Integer, String, column, func, insert, select, table, update
from sqlalchemy.engine import Engine

from ris_ai_module.context import make_context
from ris_ai_module.db.tables import report_state, task
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.report.pending import retry_pending
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import dcmtk
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import dicom_section

STUDY = "1.2.826.0.1.3680043.10.1111.7101"
IMAGES = table("ris_report_image", *(column(c, String) for c in (
    "exam_id", "sop_instance_uid", "image_path", "caption", "image_state", "source_uid")),
    column("image_no", Integer), column("series_no", Integer), column("instance_no", Integer))
EXAMS = table("ris_exam", *(column(c, String) for c in (
    "exam_id", "patient_id", "patient_name", "accession_no", "study_uid", "exam_status", "modality")))
REPORT = table("ris_report", column("exam_id", String), column("report_status", String))
MEASURE = table("ris_report_measure", column("exam_id", String))
#: The result deliveries (README "Results out"): none for an exam with no SR applied.
DELIVERIES = ("OUTBOX", "HL7_ORU", "FHIR_REPORT")


@pytest.fixture
def scp(any_db: Engine, tmp_path: Path):
    with any_db.begin() as conn:
        conn.execute(insert(EXAMS).values(exam_id="E7101", patient_id="P7101", patient_name="王五",
                                          accession_no="A7101", study_uid=STUDY, exam_status="STARTED",
                                          modality="US"))
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "review": {"patient_check": "id-only"}, "outbox": {"folder": str(tmp_path / "outbox")},
           "hl7": {"host": "127.0.0.1", "port": 9}, "fhir": {"base_url": "http://127.0.0.1:9/fhir"},
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


def _run(ctx) -> int:
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
        return [dict(r._mapping) for r in conn.execute(select(IMAGES).order_by(IMAGES.c.image_no,
                                                                                IMAGES.c.sop_instance_uid))]


def _send(port: int, *files: Path, extra: tuple[str, ...] = ()) -> None:
    out = dcmtk.storescu(port, *files, extra=extra)
    assert dcmtk.store_statuses(out.stdout + out.stderr) == ["Success"] * len(files), out.stdout + out.stderr


def _state(engine: Engine) -> tuple[str, str] | None:
    with engine.connect() as conn:
        row = conn.execute(select(report_state.c.state, report_state.c.detail)
                           .where(report_state.c.exam_key == "E7101")).first()
    return None if row is None else (row[0], row[1])


def _page(tmp_path: Path, name: str, instance: int, **kw) -> object:
    ds = make.sc(tmp_path / f"{name}.dcm", patient_id=kw.pop("patient_id", "P7101"), accession="A7101",
                 study=STUDY, **kw)
    ds.InstanceNumber = instance
    ds.save_as(tmp_path / f"{name}.dcm")
    return ds


def test_images_without_an_sr_reach_the_report(scp, tmp_path: Path) -> None:
    ctx, port, engine = scp
    pages = [_page(tmp_path, f"p{i}", i) for i in (2, 1)]
    held = make.sc(tmp_path / "held.dcm", patient_id="P9999", accession="A7101")  # another patient's image
    with engine.begin() as conn:  # a row the RIS wrote itself, for an image the AI also sent: never ours
        conn.execute(insert(IMAGES).values(exam_id="E7101", sop_instance_uid=pages[0].SOPInstanceUID,
                                           image_path="pacs://ris-own"))
    _send(port, tmp_path / "p2.dcm", tmp_path / "p1.dcm", tmp_path / "held.dcm")
    assert _run(ctx) >= 1

    rows = _rows(engine)
    by_sop = {r["sop_instance_uid"]: r for r in rows}
    assert set(by_sop) == {pages[0].SOPInstanceUID, pages[1].SOPInstanceUID}  # held: no row
    assert by_sop[pages[0].SOPInstanceUID]["image_path"] == "pacs://ris-own"  # the RIS's row untouched
    assert by_sop[pages[0].SOPInstanceUID]["image_state"] is None
    ours = by_sop[pages[1].SOPInstanceUID]
    name = f"E7101/{pages[1].SOPInstanceUID}.jpg"
    assert (ours["exam_id"], ours["image_state"], ours["image_path"], ours["source_uid"]) == \
        ("E7101", "JPEG", "http://ris/img/" + name, None)
    assert ours["instance_no"] == 1
    with Image.open(tmp_path / "jpeg" / name) as img:
        img.load()
        assert (img.format, img.size) == ("JPEG", (pages[1].Columns, pages[1].Rows))
    assert not list((tmp_path / "jpeg").rglob(f"{held.SOPInstanceUID}*"))
    state = _state(engine)
    assert state is not None and state[0] == "IMAGES", state
    with engine.connect() as conn:  # images alone: no report row created, no value, nothing delivered
        assert conn.execute(select(func.count()).select_from(REPORT).where(REPORT.c.exam_id == "E7101")).scalar() == 0
        assert conn.execute(select(func.count()).select_from(MEASURE)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(task).where(task.c.kind.in_(DELIVERIES))).scalar() == 0

    # the same pages again: no second row
    _send(port, tmp_path / "p2.dcm", tmp_path / "p1.dcm")
    _run(ctx)
    assert _rows(engine) == rows

    # the report is signed: a new page gets no row (the signed report is not changed), it waits as PENDING
    with engine.begin() as conn:
        conn.execute(insert(REPORT).values(exam_id="E7101", report_status="SIGNED"))
    late = _page(tmp_path, "p3", 3)
    _send(port, tmp_path / "p3.dcm")
    _run(ctx)
    assert _rows(engine) == rows
    state = _state(engine)
    assert state is not None and state[0] == "PENDING" and "SIGNED" in state[1], state
    assert not (tmp_path / "jpeg" / "E7101" / f"{late.SOPInstanceUID}.jpg").exists()

    # re-opened: the pending check writes it
    with engine.begin() as conn:
        conn.execute(update(REPORT).where(REPORT.c.exam_id == "E7101").values(report_status="DRAFT"))
    assert retry_pending(ctx) == 1
    _run(ctx)
    after = {r["sop_instance_uid"]: r for r in _rows(engine)}
    assert set(after) == {p.SOPInstanceUID for p in (*pages, late)}
    assert after[late.SOPInstanceUID]["image_state"] == "JPEG"
    assert _state(engine)[0] == "IMAGES"

    # an SR arrives later: its apply takes the rows over (the same rows, no duplicate, the RIS's row kept)
    sr = make.sr(tmp_path / "sr.dcm", study=STUDY, patient_id="P7101", accession="A7101")
    _send(port, tmp_path / "sr.dcm")
    _run(ctx)
    assert _state(engine)[0] == "APPLIED"
    final = _rows(engine)
    assert sorted(r["sop_instance_uid"] for r in final) == sorted(after)
    assert {r["sop_instance_uid"]: r["image_path"] for r in final} == \
        {k: v["image_path"] for k, v in after.items()}
    assert sr.SOPInstanceUID in _state(engine)[1]
    with engine.connect() as conn:  # the deliveries are switched on: the SR's result is queued, as it should be
        kinds = set(conn.execute(select(task.c.kind).where(task.c.kind.in_(DELIVERIES))).scalars())
    assert kinds == set(DELIVERIES)


def test_a_held_report_gets_no_image_rows(scp, tmp_path: Path) -> None:
    """The last apply was HELD (the hospital's hook): an image's C-STORE writes no row and keeps it held."""
    ctx, port, engine = scp
    with engine.begin() as conn:
        conn.execute(insert(report_state).values(exam_key="E7101", sop_instance_uid=generate_uid(), state="HELD",
                                                 detail="held by may_write_report", updated_at=func.now()))
    _page(tmp_path, "p1", 1)
    _send(port, tmp_path / "p1.dcm")
    _run(ctx)
    assert _rows(engine) == []
    assert _state(engine) == ("HELD", "held by may_write_report")


# ----------------------------------------------------------------------------- 16-bit and RLE pages (numpy)

def _gray16(tmp_path: Path, name: str) -> object:
    """A 64×64 16-bit MONOCHROME2 page, left half 1000, right half 3000, window 2000/2000: by PS3.3 C.11.2.1.2
    (linear VOI) the left half is at or below the window's bottom (black), the right half above its top (white)."""
    ds = _page(tmp_path, name, 1)
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.Rows = ds.Columns = 64
    row = (1000).to_bytes(2, "little") * 32 + (3000).to_bytes(2, "little") * 32
    ds.PixelData = row * 64
    ds.WindowCenter, ds.WindowWidth = 2000, 2000
    ds.save_as(tmp_path / f"{name}.dcm", enforce_file_format=True)
    return ds


def _rle(tmp_path: Path, name: str) -> object:
    """A 64×64 8-bit page, left half 40, right half 200, RLE Lossless (PS3.5 Annex G) as pydicom encodes it."""
    from pydicom.uid import RLELossless

    ds = _page(tmp_path, name, 2)
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.Rows = ds.Columns = 64
    ds.PixelData = (bytes([40]) * 32 + bytes([200]) * 32) * 64
    ds.compress(RLELossless)
    ds.save_as(tmp_path / f"{name}.dcm", enforce_file_format=True)
    return ds


def test_16_bit_and_rle_pages_get_jpegs(scp, tmp_path: Path) -> None:
    ctx, port, engine = scp
    wide, rle = _gray16(tmp_path, "w16"), _rle(tmp_path, "rle")
    _send(port, tmp_path / "w16.dcm")
    _send(port, tmp_path / "rle.dcm", extra=("--propose-rle",))  # sent as RLE, stored as RLE
    _run(ctx)
    from ris_ai_module.db.tables import dicom_object

    with engine.connect() as conn:
        stored = conn.execute(select(dicom_object.c.transfer_syntax)
                              .where(dicom_object.c.sop_instance_uid == rle.SOPInstanceUID)).scalar()
    assert stored == "1.2.840.10008.1.2.5"  # RLE Lossless as received, not converted by storescu
    rows = {r["sop_instance_uid"]: r for r in _rows(engine)}
    assert {k: v["image_state"] for k, v in rows.items()} == {wide.SOPInstanceUID: "JPEG", rle.SOPInstanceUID: "JPEG"}
    with Image.open(tmp_path / "jpeg" / "E7101" / f"{wide.SOPInstanceUID}.jpg") as img:
        gray = img.convert("L")
        assert gray.getpixel((8, 32)) <= 8 and gray.getpixel((56, 32)) >= 247
    with Image.open(tmp_path / "jpeg" / "E7101" / f"{rle.SOPInstanceUID}.jpg") as img:
        gray = img.convert("L")
        assert abs(gray.getpixel((8, 32)) - 40) <= 4 and abs(gray.getpixel((56, 32)) - 200) <= 4


def test_without_numpy_the_missing_jpeg_says_why(scp, tmp_path: Path, monkeypatch, caplog) -> None:
    """An install without numpy: the row points at the DICOM file and the trace, the report state and the log
    say that numpy is missing (never a silent missing JPEG)."""
    import sys

    ctx, port, engine = scp
    wide = _gray16(tmp_path, "w16")
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` raises ImportError, as where it is absent
    _send(port, tmp_path / "w16.dcm")
    _run(ctx)
    row = _rows(engine)[0]
    assert row["image_state"] == "DICOM" and row["image_path"].endswith(f"{wide.SOPInstanceUID}.dcm")
    assert "needs numpy" in _state(engine)[1]
    from ris_ai_module.db.tables import task_attempt

    with engine.connect() as conn:
        traces = list(conn.execute(select(task_attempt.c.response_body)).scalars())
    assert any("needs numpy" in (t or "") for t in traces), traces
    assert any("needs numpy" in r.getMessage() for r in caplog.records)


def test_numpy_is_a_declared_dependency() -> None:
    """setup.cfg install_requires names numpy: a hospital's install renders 16-bit and RLE pages."""
    import configparser

    from packaging.requirements import Requirement

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[3] / "setup.cfg", encoding="utf-8")
    lines = [x.strip() for x in cfg["options"]["install_requires"].splitlines()]
    names = {Requirement(x).name.lower() for x in lines if x and not x.startswith("#")}
    assert "numpy" in names


def test_two_image_tasks_of_one_exam_at_once_write_each_row_once(scp, tmp_path: Path) -> None:
    """The worker runs 2 threads: two image tasks of one exam may refresh its rows at the same moment. Each
    image has one row afterwards (the state row is locked; a first write that loses the race is retried)."""
    import threading

    from ris_ai_module.report.apply import apply_task
    from ris_ai_module.tasks.model import OutcomeKind, Task

    ctx, port, engine = scp
    for i in range(1, 7):
        _page(tmp_path, f"c{i}", i)
    _send(port, *(tmp_path / f"c{i}.dcm" for i in range(1, 7)))
    with engine.begin() as conn:  # the worker's tasks are not run: the threads below do the refreshes
        conn.execute(update(task).where(task.c.kind == "SR_APPLY").values(status="CANCELED"))
    for _round in range(4):
        start = threading.Barrier(2)
        outcomes: list = []
        errors: list = []

        def refresh(n: int, start=start, outcomes=outcomes, errors=errors) -> None:
            try:
                _refresh(n, start, outcomes)
            except Exception as exc:  # the worker would log it with a traceback: not the answer to a race
                errors.append(repr(exc))

        def _refresh(n: int, start, outcomes) -> None:
            start.wait(5)
            t = Task(task_id=900 + n, task_uuid=f"u{n}", kind="SR_APPLY", status="IN_PROCESS", exam_key="E7101",
                     attempts=1, lease_owner="test", payload={"sop_instance_uid": "", "exam_key": "E7101",
                                                             "images": True})
            for _ in range(5):  # a retried one runs again, as the worker would
                out = apply_task(t, ctx)
                outcomes.append(out.kind)
                if out.kind != OutcomeKind.RETRY:
                    return
        threads = [threading.Thread(target=refresh, args=(n,)) for n in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert errors == []
        rows = _rows(engine)
        assert sorted(r["sop_instance_uid"] for r in rows) == sorted({r["sop_instance_uid"] for r in rows}), rows
        assert len(rows) == 6 and OutcomeKind.DONE in outcomes
        with engine.begin() as conn:  # the next round starts from no state row again (the first write's race)
            if _round % 2 == 0:
                conn.execute(report_state.delete().where(report_state.c.exam_key == "E7101"))
                conn.execute(IMAGES.delete().where(IMAGES.c.exam_id == "E7101"))


def test_an_image_released_by_an_operator_gets_its_row(scp, tmp_path: Path) -> None:
    """Held for review (another patient's ID), then confirmed by an operator (`link --force --reason`): the
    released image's row appears in the exam's image table although the exam has no SR."""
    from ris_ai_module.dicom.review import decide_link

    ctx, port, engine = scp
    held = make.sc(tmp_path / "held.dcm", patient_id="P9999", accession="A7101")
    _send(port, tmp_path / "held.dcm")
    _run(ctx)
    assert _rows(engine) == []
    with engine.begin() as conn:
        decide_link(conn, held.SOPInstanceUID, "E7101", actor="op", source="cli:test", policy="id-only", force=True,
                    reason="same patient, ID typed wrong on the AI host")
    _run(ctx)
    (row,) = _rows(engine)
    assert (row["sop_instance_uid"], row["image_state"]) == (held.SOPInstanceUID, "JPEG")


HOLD_HOOK = '''
from pathlib import Path

FLAG = Path(__file__).with_name("hold.flag")


def may_write_report(exam_key, items):
    return not FLAG.exists()  # the hospital holds the exam's report while the flag is there
'''


def test_the_hospitals_hook_holds_images_alone_and_is_asked_again(any_db: Engine, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """may_write_report says no: images alone are HELD with no row (hooks.py: only True allows a write); once it
    says yes, the next image writes the rows of both (a hold of images alone is asked again, not sticky)."""
    site = tmp_path / "site"
    site.mkdir()
    name = f"images_hold_hook_{abs(hash(str(tmp_path)))}"  # a module of its own per test (imports are cached)
    (site / f"{name}.py").write_text(HOLD_HOOK, encoding="utf-8")
    (site / "hold.flag").write_text("1", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    with any_db.begin() as conn:
        conn.execute(insert(EXAMS).values(exam_id="E7101", patient_id="P7101", patient_name="王五",
                                          accession_no="A7101", study_uid=STUDY, exam_status="STARTED", modality="US"))
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "review": {"patient_check": "id-only"}, "hooks": {"module": name, "timeout": "5s"},
           "report": {"targets": ["rows", "images"], "images": {"jpeg_folder": str(tmp_path / "jpeg")}}}
    raw.update(dicom_section(tmp_path / "storage"))
    ctx = make_context(config_from_dict(raw))
    server = StorageScp(ctx)
    server.start()
    try:
        first = _page(tmp_path, "h1", 1)
        _send(server.port, tmp_path / "h1.dcm")
        _run(ctx)
        assert _rows(any_db) == [] and _state(any_db)[0] == "HELD"
        assert not (tmp_path / "jpeg" / "E7101" / f"{first.SOPInstanceUID}.jpg").exists()
        (site / "hold.flag").unlink()
        second = _page(tmp_path, "h2", 2)
        _send(server.port, tmp_path / "h2.dcm")
        _run(ctx)
        assert sorted(r["sop_instance_uid"] for r in _rows(any_db)) == sorted([first.SOPInstanceUID,
                                                                              second.SOPInstanceUID])
        assert _state(any_db)[0] == "IMAGES"
    finally:
        server.stop()
        ctx.engine.dispose()


def test_apply_of_an_exam_without_sr_refreshes_its_image_rows(scp, tmp_path: Path, capsys) -> None:
    """`apply EXAM_KEY` on an exam that has images and no SR writes their rows (it said "no SR" before)."""
    from ris_ai_module.cli.main import main

    ctx, port, engine = scp
    page = _page(tmp_path, "a1", 1)
    _send(port, tmp_path / "a1.dcm")  # queued, not run: the operator's apply does it
    cfg = tmp_path / "cli.toml"
    cfg.write_text(f"""
[database]
url = "{engine.url.render_as_string(hide_password=False)}"
[worker]
enabled = false
[storage]
root = "{(tmp_path / 'storage').as_posix()}"
min_free = "1MB"
[report]
targets = ["rows", "images"]
[report.images]
jpeg_folder = "{(tmp_path / 'jpeg').as_posix()}"
""", encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(cfg), "apply", "E7101"]) == 0
    assert "E7101: IMAGES (1 image row written" in capsys.readouterr().out
    assert [r["sop_instance_uid"] for r in _rows(engine)] == [page.SOPInstanceUID]
    assert main(["--config", str(cfg), "reports", "--state", "IMAGES"]) == 0
    assert "E7101" in capsys.readouterr().out
