"""ARCHIVE_FORWARD (on SQLite, PostgreSQL and MariaDB: ``any_db``) against DCMTK storescp as the archive (down, then up) and a pynetdicom archive that refuses;
the first rule: an object held for review is forwarded only once released."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import String, column, insert, select, table, update
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.review import decide_link
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.integration.dicom import objects as make
from tests.integration.dicom.dcmtk import ENV, tool
from tests.support import free_port, wait_until

ris_exam = table("ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
                 column("accession_no", String), column("exam_status", String))


def _rig(tmp_path: Path, port: int, engine: Engine):
    with engine.begin() as conn:
        conn.execute(insert(ris_exam).values(exam_id="E1", patient_id="P1", patient_name="Zhang^San",
                                             accession_no="ACC1", exam_status="REGISTERED"))
    config = config_from_dict({
        "database": {"url": engine.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
        "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB"},
        "archive": {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": port, "timeout": "5s",
                    "retry": {"initial": "1s", "max_attempts": 5}},
    })
    ctx = AppContext(config=config, engine=engine)
    area = StorageArea(tmp_path / "storage")
    area.prepare()
    return ctx, area


def _store(ctx, area, path: Path):
    with open(path, "rb") as fh:
        out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
    assert out.ok, out.comment
    return out


def _tasks(ctx) -> list:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(task).where(task.c.kind == "ARCHIVE_FORWARD").order_by(task.c.task_id)))


def _attempts(ctx, task_id: int) -> list:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(task_attempt).where(task_attempt.c.task_id == task_id)))


def _due_now(ctx) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(task).where(task.c.status == "SCHEDULED").values(next_run_at=datetime(2000, 1, 1)))


def _dataset_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[128:132] == b"DICM"
    return data[144 + int.from_bytes(data[140:144], "little"):]


@pytest.fixture
def archive(tmp_path: Path):
    procs: list[subprocess.Popen] = []

    def start(port: int) -> tuple[Path, Path]:
        out = tmp_path / "archive"
        out.mkdir(exist_ok=True)
        log = tmp_path / "storescp.log"
        proc = subprocess.Popen([tool("storescp"), "-v", "--aetitle", "ARCHIVE", "--output-directory", str(out),
                                 str(port)], env=ENV, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        procs.append(proc)
        import socket

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        assert wait_until(lambda: listening() or proc.poll() is not None, 10) and proc.poll() is None
        return out, log

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_archive_down_then_up_objects_arrive_once_byte_identical(tmp_path: Path, archive, any_db: Engine) -> None:
    port = free_port()
    ctx, area = _rig(tmp_path, port, any_db)
    sc = make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
    sr = make.sr(tmp_path / "sr.dcm", accession="ACC1", patient_id="P1")
    stored = [_store(ctx, area, tmp_path / "sc.dcm"), _store(ctx, area, tmp_path / "sr.dcm")]
    assert [t.status for t in _tasks(ctx)] == ["SCHEDULED", "SCHEDULED"]
    worker = make_worker(ctx)

    worker.run_once()  # the archive is down
    tasks = _tasks(ctx)
    assert [t.status for t in tasks] == ["SCHEDULED", "SCHEDULED"] and all(t.attempts == 1 for t in tasks)
    first = _attempts(ctx, tasks[0].task_id)
    assert first[0].status_text == "unreachable" and first[0].target == f"ARCHIVE@127.0.0.1:{port}"

    out, log = archive(port)
    _due_now(ctx)
    worker.run_once()
    assert [t.status for t in _tasks(ctx)] == ["DONE", "DONE"]
    _due_now(ctx)
    worker.run_once()  # nothing more is sent
    assert log.read_text(errors="replace").count("Received Store Request") == 2
    for ds, outcome in zip((sc, sr), stored, strict=True):
        received = [p for p in out.iterdir() if p.name.endswith(ds.SOPInstanceUID)]
        assert len(received) == 1
        assert _dataset_bytes(received[0]) == _dataset_bytes(area.path_of(outcome.file_path))


def test_a_refusing_archive_fails_the_task_with_its_status_in_the_trace(tmp_path: Path, any_db: Engine) -> None:
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import SecondaryCaptureImageStorage  # type: ignore[attr-defined]

    ae = AE(ae_title="ARCHIVE")
    ae.add_supported_context(SecondaryCaptureImageStorage)
    server = ae.start_server(("127.0.0.1", 0), block=False,
                             evt_handlers=[(evt.EVT_C_STORE, lambda _e: 0xA900)])
    try:
        ctx, area = _rig(tmp_path, int(server.server_address[1]), any_db)
        make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1")
        _store(ctx, area, tmp_path / "sc.dcm")
        make_worker(ctx).run_once()
    finally:
        server.shutdown()
        ae.shutdown()
    (t,) = _tasks(ctx)
    assert t.status == "FAILED" and "0xA900" in t.last_error
    (a,) = _attempts(ctx, t.task_id)
    assert a.status_text == "0xA900" and "does not match" in a.response_body


def test_an_object_held_for_review_is_forwarded_only_once_released(tmp_path: Path, any_db: Engine) -> None:
    ctx, area = _rig(tmp_path, free_port(), any_db)
    make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P999")  # another patient's ID: held
    out = _store(ctx, area, tmp_path / "sc.dcm")
    assert out.review_reason and _tasks(ctx) == []
    with ctx.engine.begin() as conn:
        decide_link(conn, out.sop_instance_uid, "E1", actor="t", source="test", policy="strict", force=True,
                    reason="checked by phone", archive=ctx.config.archive)
    (t,) = _tasks(ctx)
    assert t.status == "SCHEDULED" and t.exam_key == "E1"
