"""The drop folder: good, non-DICOM, half-written and clashing files, on the demo RIS."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import select

from ris_ai_module.context import AppContext
from ris_ai_module.db.engine import make_engine
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.dicom.inbox import Inbox
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import objects as make
from tests.integration.dicom.conftest import demo_engine


def _inbox(tmp_path: Path) -> tuple[Inbox, AppContext]:
    engine = demo_engine(tmp_path / "ris.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ris_exam (exam_id, patient_id, patient_name, accession_no, exam_status) "
                             "VALUES ('E1', 'P1', 'Zhang^San', 'ACC1', 'STARTED')")
    engine.dispose()
    config = config_from_dict({
        "database": {"url": f"sqlite:///{tmp_path / 'ris.db'}"}, "worker": {"enabled": False},
        "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB"},
        "inbox": {"folder": str(tmp_path / "inbox"), "settle": "1s"},
    })
    ctx = AppContext(config=config, engine=make_engine(config.database))
    inbox = Inbox(ctx, config.inbox)
    inbox.prepare()
    return inbox, ctx


def _age(path: Path, seconds: float = 10) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_settled_sr_is_imported_linked_queued_and_moved_to_done(tmp_path: Path) -> None:
    inbox, ctx = _inbox(tmp_path)
    sr = make.sr(inbox.folder / "result.dcm", accession="ACC1", patient_id="P1")
    _age(inbox.folder / "result.dcm")
    assert inbox.scan() == 0, "first sight: not yet known to be settled"
    assert inbox.scan() == 1
    assert (inbox.folder / "done" / "result.dcm").is_file() and not (inbox.folder / "result.dcm").exists()
    with ctx.engine.connect() as conn:
        row = conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sr.SOPInstanceUID)).one()
        kinds = [r.kind for r in conn.execute(select(task.c.kind))]
    assert row.exam_key == "E1" and "SR_APPLY" in kinds
    ctx.engine.dispose()


def test_non_dicom_goes_to_failed_with_its_reason_and_nothing_is_stored(tmp_path: Path) -> None:
    inbox, ctx = _inbox(tmp_path)
    junk = inbox.folder / "notes.txt"
    junk.write_text("这不是 DICOM 文件\n", encoding="utf-8")
    _age(junk)
    inbox.scan()
    assert inbox.scan() == 1
    reason = (inbox.folder / "failed" / "notes.txt.reason.txt").read_text(encoding="utf-8")
    assert "not imported: DIMSE status 0x" in reason
    assert (inbox.folder / "failed" / "notes.txt").read_text(encoding="utf-8") == "这不是 DICOM 文件\n"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(dicom_object)).first() is None
    ctx.engine.dispose()


def test_a_file_still_being_written_is_not_taken(tmp_path: Path) -> None:
    inbox, ctx = _inbox(tmp_path)
    full = make.sr(tmp_path / "whole.dcm", accession="ACC1", patient_id="P1")
    data = (tmp_path / "whole.dcm").read_bytes()
    growing = inbox.folder / "growing.dcm"
    growing.write_bytes(data[: len(data) // 2])
    _age(growing)
    inbox.scan()
    with open(growing, "ab") as fh:  # the writer goes on between two scans
        fh.write(data[len(data) // 2:])
    _age(growing)
    assert inbox.scan() == 0, "size changed since the last scan: still being written"
    fresh = inbox.folder / "fresh.dcm"
    fresh.write_bytes(data)  # just written: younger than settle
    assert inbox.scan() == 1 and (inbox.folder / "done" / "growing.dcm").is_file()  # unchanged since: taken
    assert inbox.scan() == 0 and fresh.exists(), "a file younger than inbox.settle waits"
    with ctx.engine.connect() as conn:
        uids = [r[0] for r in conn.execute(select(dicom_object.c.sop_instance_uid))]
    assert uids == [full.SOPInstanceUID]
    ctx.engine.dispose()


def test_a_clashing_name_never_overwrites(tmp_path: Path) -> None:
    inbox, ctx = _inbox(tmp_path)
    for _ in range(3):
        make.sr(inbox.folder / "sr.dcm", accession="ACC1", patient_id="P1")  # a new SOP UID each time
        _age(inbox.folder / "sr.dcm")
        inbox.scan()
        assert inbox.scan() == 1
    done = sorted(p.name for p in (inbox.folder / "done").iterdir())
    assert done == ["sr.1.dcm", "sr.2.dcm", "sr.dcm"]
    with ctx.engine.connect() as conn:
        assert len(conn.execute(select(dicom_object)).all()) == 3
    ctx.engine.dispose()
