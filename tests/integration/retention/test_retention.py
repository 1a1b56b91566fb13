"""Storage retention on SQLite, PostgreSQL and MariaDB with real objects (stored by the ingest path, SRs applied
into the demo RIS by the worker, signed through the real acceptance pass): each "never" case keeps its file,
the done case is purged after storage.keep_for, its row stays with PURGED_AT, the file is gone, and a reapply
of the purged SR says why it cannot; forwarding to DCMTK storescp and commitment gate the purge."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import String, column, insert, select, table, text, update
from sqlalchemy.engine import Engine

from ris_ai_module.context import AppContext
from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.dicom.ingest import Received, ingest
from ris_ai_module.dicom.storage import StorageArea
from ris_ai_module.errors import InvalidInput
from ris_ai_module.report.acceptance import compare_signed
from ris_ai_module.report.apply import apply_exam
from ris_ai_module.retention.purge import Purger, explain, statistics
from ris_ai_module.runtime import make_worker
from ris_ai_module.settings import config_from_dict
from tests.integration.archive.test_forward import archive  # noqa: F401 - the DCMTK storescp fixture
from tests.integration.dicom import objects as make
from tests.support import free_port

ris_exam = table("ris_exam", column("exam_id", String), column("patient_id", String), column("patient_name", String),
                 column("accession_no", String), column("exam_status", String))
LATER = timedelta(hours=2)  # past storage.keep_for = 1h


def _rig(tmp_path: Path, engine: Engine, archive_port: int | None = None, commitment: bool = False):
    with engine.begin() as conn:
        for i in range(1, 6):
            conn.execute(insert(ris_exam).values(exam_id=f"E{i}", patient_id=f"P{i}", patient_name="Zhang^San",
                                                 accession_no=f"ACC{i}", exam_status="REGISTERED"))
    raw = {"database": {"url": engine.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB", "keep_for": "1h", "purge_batch": 50}}
    if archive_port:
        raw["archive"] = {"ae_title": "ARCHIVE", "host": "127.0.0.1", "port": archive_port, "timeout": "5s",
                          "retry": {"initial": "1s", "max_attempts": 5},
                          **({"commitment": {"enabled": True}} if commitment else {})}
    ctx = AppContext(config=config_from_dict(raw), engine=engine)
    area = StorageArea(tmp_path / "storage")
    area.prepare()
    return ctx, area


def _store(ctx, area, path: Path):
    with open(path, "rb") as fh:
        out = ingest(ctx, area, Received(temp=area.copy_in(fh), source="IMPORT", sender_ae="CLI"))
    assert out.ok, out.comment
    return out


def _row(ctx, sop: str):
    with ctx.engine.connect() as conn:
        return conn.execute(select(dicom_object).where(dicom_object.c.sop_instance_uid == sop)).first()


def _sign(ctx, exam: str, status: str = "SIGNED") -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE ris_report SET report_status = :s WHERE exam_id = :e"), {"s": status, "e": exam})


def _why(ctx, sop: str, later: timedelta = LATER) -> str:
    with ctx.engine.connect() as conn:
        return explain(conn, ctx.config, sop, utcnow() + later).reason


def test_only_the_done_object_is_purged_after_keep_for(tmp_path: Path, any_db: Engine) -> None:
    ctx, area = _rig(tmp_path, any_db)
    sr1 = _store(ctx, area, make.sr(tmp_path / "sr1.dcm", accession="ACC1", patient_id="P1") and tmp_path / "sr1.dcm")
    sc1 = _store(ctx, area, make.sc(tmp_path / "sc1.dcm", accession="ACC1", patient_id="P1") and tmp_path / "sc1.dcm")
    held = _store(ctx, area, make.sr(tmp_path / "h.dcm", accession="ACC2", patient_id="P999") and tmp_path / "h.dcm")
    unlinked = _store(ctx, area, make.sc(tmp_path / "u.dcm", accession="NOPE", patient_id="NOPE") and tmp_path / "u.dcm")
    reopened = _store(ctx, area, make.sr(tmp_path / "r.dcm", accession="ACC4", patient_id="P4") and tmp_path / "r.dcm")
    failed = _store(ctx, area, make.sr(tmp_path / "f.dcm", accession="ACC5", patient_id="P5") and tmp_path / "f.dcm")
    assert held.review_reason and unlinked.exam_key is None
    with ctx.engine.begin() as conn:  # E5's apply failed
        conn.execute(update(task).where(task.c.exam_key == "E5").values(status="FAILED", finished_at=utcnow()))
    make_worker(ctx).run_once()  # SR_APPLY of E1 and E4 into the demo RIS
    pending = _store(ctx, area, make.sr(tmp_path / "p.dcm", accession="ACC3", patient_id="P3") and tmp_path / "p.dcm")

    purger = Purger(ctx.engine, ctx.config)
    assert purger.run_once(utcnow() + LATER).purged == 0  # nothing signed yet
    assert "not signed" in _why(ctx, sr1.sop_instance_uid)
    _sign(ctx, "E1")
    _sign(ctx, "E4")
    assert compare_signed(ctx) == 2  # the real signing path: RAI_REPORT_STATE.SIGNED_CHECKED_AT
    _sign(ctx, "E4", "DRAFT")  # E4's signed report re-opened: reapply may need its SR again
    assert purger.run_once(utcnow()).purged == 0  # signed just now: kept for keep_for
    assert "kept until" in _why(ctx, sr1.sop_instance_uid, timedelta(0))

    result = purger.run_once(utcnow() + LATER)
    assert result.purged == 2
    assert result.bytes_freed == sum(_row(ctx, o.sop_instance_uid).file_size for o in (sr1, sc1))
    for done in (sr1, sc1):
        row = _row(ctx, done.sop_instance_uid)
        assert row is not None and row.purged_at is not None  # the row stays
        assert not area.path_of(row.file_path).exists()  # the file is gone
    kept = {held: "held for review", unlinked: "unlinked", pending: "SR_APPLY pending", failed: "SR_APPLY failed",
            reopened: "re-opened"}
    for obj, why in kept.items():
        row = _row(ctx, obj.sop_instance_uid)
        assert row.purged_at is None and area.path_of(row.file_path).is_file(), why
        assert why in _why(ctx, obj.sop_instance_uid), (why, _why(ctx, obj.sop_instance_uid))
    assert _why(ctx, sr1.sop_instance_uid) == "already purged"

    _sign(ctx, "E1", "DRAFT")  # re-opened after the purge: a reapply cannot read the SR and says why
    with pytest.raises(InvalidInput, match="deleted by storage retention"):
        apply_exam(ctx, "E1")
    with ctx.engine.connect() as conn:
        stats = statistics(conn, 3600.0)
    assert (stats["purged"], stats["purged_bytes"]) == (2, result.bytes_freed) and stats["kept"] == 5

    again = _store(ctx, area, tmp_path / "sr1.dcm")  # the AI host sends the purged SR again: stored again
    row = _row(ctx, sr1.sop_instance_uid)
    assert not again.duplicate and row.purged_at is None and area.path_of(row.file_path).is_file()


def test_forwarding_and_commitment_gate_the_purge(tmp_path: Path, any_db: Engine, archive) -> None:  # noqa: F811
    port = free_port()
    ctx, area = _rig(tmp_path, any_db, archive_port=port, commitment=True)
    sc = _store(ctx, area, make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1") and tmp_path / "sc.dcm")
    with ctx.engine.begin() as conn:  # E1's report exists and is signed (an exam with images only)
        conn.execute(text("INSERT INTO ris_report (exam_id, report_status) VALUES ('E1', 'SIGNED')"))
    purger = Purger(ctx.engine, ctx.config)
    assert "ARCHIVE_FORWARD pending" in _why(ctx, sc.sop_instance_uid)
    make_worker(ctx).run_once()  # the archive is down: the task waits for a retry
    assert "ARCHIVE_FORWARD pending" in _why(ctx, sc.sop_instance_uid)
    archive(port)
    with ctx.engine.begin() as conn:
        conn.execute(update(task).where(task.c.status == "SCHEDULED", task.c.kind == "ARCHIVE_FORWARD")
                     .values(next_run_at=utcnow() - timedelta(minutes=1)))
    make_worker(ctx).run_once()
    assert "not committed" in _why(ctx, sc.sop_instance_uid)  # DCMTK storescp does not commit
    assert purger.run_once(utcnow() + LATER).purged == 0
    with ctx.engine.begin() as conn:  # what stgcmt records when the archive's N-EVENT-REPORT names the object
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sc.sop_instance_uid)
                     .values(committed_at=utcnow()))
    assert purger.run_once(utcnow() + LATER).purged == 1
    assert not area.path_of(_row(ctx, sc.sop_instance_uid).file_path).exists()


def test_retention_runs_with_health_checks_off_on_one_leader(tmp_path: Path, any_db: Engine) -> None:
    """health.enabled = false: storage retention still deletes a done file (its own component, not the health
    scheduler's), and of two instances on one database only the lease holder runs it."""
    from ris_ai_module.housekeeping import Housekeeping, retention_summary
    from ris_ai_module.runtime import build_components

    ctx, area = _rig(tmp_path, any_db)
    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "health": {"enabled": False}, "dicom": {"enabled": False}, "http": {"enabled": False},
           "storage": {"root": str(tmp_path / "storage"), "min_free": "1MB", "keep_for": "1h", "purge_batch": 50}}
    node_a = AppContext(config=config_from_dict(raw), engine=any_db, owner="node-a")
    node_b = AppContext(config=config_from_dict(raw), engine=any_db, owner="node-b")
    names = [c.name for c in build_components(node_a, apply_pool=False)]
    assert "health" not in names and "housekeeping" in names, names
    assert "storage retention: on" in retention_summary(node_a.config)

    sc = _store(ctx, area, make.sc(tmp_path / "sc.dcm", accession="ACC1", patient_id="P1") and tmp_path / "sc.dcm")
    with ctx.engine.begin() as conn:  # an exam with images only, its report signed; received 2 h ago
        conn.execute(text("INSERT INTO ris_report (exam_id, report_status) VALUES ('E1', 'SIGNED')"))
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sc.sop_instance_uid)
                     .values(received_at=utcnow() - LATER))
    a, b = Housekeeping(node_a), Housekeeping(node_b)
    try:
        assert a.tick() == ["storage.retention", "audit.purge", "assoc_reject.purge"]
        assert b.tick() == [], "node-b is not the leader: it runs nothing"
        row = _row(ctx, sc.sop_instance_uid)
        assert row.purged_at is not None and not area.path_of(row.file_path).exists()
        assert a.tick() == [], "not due again before storage.purge_interval"
    finally:
        a.lease.release()
        b.lease.release()

    off = config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False}})
    assert "storage.retention" not in {job_id for job_id, _i, _f in Housekeeping(
        AppContext(config=off, engine=any_db)).jobs()}
    assert "storage retention: off" in retention_summary(off)


def test_refused_associations_are_purged_after_reject_retention(tmp_path: Path, any_db: Engine) -> None:
    """RAI_ASSOC_REJECT does not grow without limit: the housekeeping leader deletes rejections older than
    audit.reject_retention (here 180 days, the legal minimum) and keeps the younger ones."""
    from ris_ai_module.db.tables import assoc_reject
    from ris_ai_module.housekeeping import Housekeeping

    raw = {"database": {"url": any_db.url.render_as_string(hide_password=False)}, "worker": {"enabled": False},
           "health": {"enabled": False}, "dicom": {"enabled": False}, "http": {"enabled": False},
           "audit": {"reject_retention": "180d"}}
    ctx = AppContext(config=config_from_dict(raw), engine=any_db, owner="node-a")
    now = utcnow()
    ages = {"OLD1": 400, "OLD2": 181, "NEW1": 179, "NEW2": 0}
    with any_db.begin() as conn:
        for ae, days in ages.items():
            conn.execute(insert(assoc_reject).values(rejected_at=now - timedelta(days=days), address="127.0.0.1",
                                                     calling_ae=ae, called_ae="RAI_SCP", reason="calling AE not allowed"))
    hk = Housekeeping(ctx)
    try:
        assert "assoc_reject.purge" in hk.tick()
    finally:
        hk.lease.release()
    with any_db.connect() as conn:
        left = sorted(r[0] for r in conn.execute(select(assoc_reject.c.calling_ae)))
    assert left == ["NEW1", "NEW2"]
    with pytest.raises(Exception, match="audit.reject_retention"):
        config_from_dict({"database": {"url": "sqlite://"}, "worker": {"enabled": False},
                          "audit": {"reject_retention": "30d"}})
