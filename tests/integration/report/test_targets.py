"""The columns and procedure targets, the pending re-check and the CLI, on real databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Column, Float, MetaData, String, Table, Text, select, text

from ris_ai_module.cli.main import main
from ris_ai_module.db.dialects import name_of
from ris_ai_module.db.tables import task
from ris_ai_module.report.handler import SrApplyHandler
from ris_ai_module.report.pending import retry_pending
from ris_ai_module.runtime import make_worker
from ris_ai_module.tasks.model import OutcomeKind
from tests.integration.report.test_apply import revision_of, small_echo
from tests.sr_fixtures.cases import adult_echo_full

#: A RIS with one column per measurement: EF numeric, LVDD text, and a column the doctor fills.
_meta = MetaData()
echo_values = Table(
    "ris_echo_values", _meta,
    Column("exam_id", String(64), primary_key=True),
    Column("ef", Float), Column("lvdd", String(16)), Column("mv_e", String(16)), Column("tapse", String(16)),
)
proc_log = Table("rai_test_proc_log", _meta, Column("exam_id", String(64)), Column("payload", Text))

#: Test-only stored procedures (the hospital writes its own; these just record their input).
PROCEDURES = {
    "postgresql": """CREATE PROCEDURE rai_test_put(p_exam VARCHAR, p_payload TEXT) LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO rai_test_proc_log (exam_id, payload) VALUES (p_exam, p_payload); END $$""",
    "mysql": """CREATE PROCEDURE rai_test_put(IN p_exam VARCHAR(64), IN p_payload TEXT)
        BEGIN INSERT INTO rai_test_proc_log (exam_id, payload) VALUES (p_exam, p_payload); END""",
}


def test_columns_target_fills_mapped_columns_and_keeps_a_doctors_value(rig):
    _meta.create_all(rig.engine)
    rig.report = {"targets": ["columns"], "columns": {
        "table": "RIS_ECHO_VALUES", "columns": {"LVEF": "EF", "LVIDd": "LVDD", "MV_E": "MV_E", "TAPSE": "TAPSE"}}}
    rig.add_exam("C1", report_status="DRAFT")
    with rig.engine.begin() as conn:
        conn.execute(echo_values.insert().values(exam_id="C1", tapse="20 (医生)"))
    first = adult_echo_full()
    sop = rig.store(first, "C1")

    assert rig.apply(sop).kind is OutcomeKind.DONE

    with rig.engine.connect() as conn:
        row = conn.execute(select(echo_values).where(echo_values.c.exam_id == "C1")).one()
    assert (row.ef, row.lvdd, row.mv_e, row.tapse) == (60.0, "47.0", "81", "20 (医生)")
    assert rig.state("C1")["written_keys"]["columns"] == {"LVEF": "60", "LVIDd": "47.0", "MV_E": "81"}

    newer = rig.store(revision_of(small_echo(5.2, 55), first), "C1")  # a correction without MV_E: cleared
    rig.apply(newer)
    with rig.engine.connect() as conn:
        row = conn.execute(select(echo_values).where(echo_values.c.exam_id == "C1")).one()
    assert (row.ef, row.lvdd, row.mv_e, row.tapse) == (55.0, "52.0", None, "20 (医生)")

    with rig.engine.begin() as conn:  # the doctor corrects LVDD by hand; the next SR must keep it
        conn.execute(echo_values.update().where(echo_values.c.exam_id == "C1").values(lvdd="50.5"))
    rig.apply(rig.store(small_echo(5.4, 52), "C1"))
    with rig.engine.connect() as conn:
        row = conn.execute(select(echo_values).where(echo_values.c.exam_id == "C1")).one()
    assert (row.ef, row.lvdd) == (52.0, "50.5")


@pytest.mark.parametrize("per", ["exam", "measurement"])
def test_procedure_target_receives_json(rig, per):
    """PostgreSQL (CREATE PROCEDURE) and MariaDB get the call; SQLite, which has none, fails naming the key."""
    rig.report = {"targets": ["procedure"], "procedure": {"name": "rai_test_put", "per": per, "keys": ["LVEF", "LVIDd"]}}
    rig.add_exam("P1", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "P1")
    dialect = name_of(rig.engine)
    if dialect == "sqlite":
        out = rig.apply(sop)
        assert out.kind is OutcomeKind.FAILED and "report.procedure.name" in out.error
        assert rig.state("P1")["state"] == "FAILED"
        return
    _meta.create_all(rig.engine)
    with rig.engine.begin() as conn:
        conn.execute(text(PROCEDURES[dialect]))

    assert rig.apply(sop).kind is OutcomeKind.DONE

    with rig.engine.connect() as conn:
        logged = conn.execute(select(proc_log.c.exam_id, proc_log.c.payload)).all()
    assert {r.exam_id for r in logged} == {"P1"}
    payloads = [json.loads(r.payload) for r in logged]
    if per == "exam":
        assert len(payloads) == 1 and payloads[0]["source_uid"] == sop
        got = {m["key"]: m for m in payloads[0]["measurements"]}
    else:
        got = {m["key"]: m for m in payloads}
    assert set(got) == {"LVEF", "LVIDd"}
    assert got["LVIDd"]["value"] == 47.0 and got["LVIDd"]["unit"] == "mm" and got["LVIDd"]["display"] == "47.0mm"
    assert got["LVEF"]["name_zh"] == "左室射血分数"


def test_pending_report_is_enqueued_once_when_writable_and_the_worker_applies_it(rig):
    rig.add_exam("R1", report_status="SIGNED")
    sop = rig.store(adult_echo_full(), "R1")
    rig.apply(sop)
    ctx = rig.ctx
    assert retry_pending(ctx) == 0  # still signed

    rig.set_status("R1", "DRAFT")
    assert retry_pending(ctx) == 1
    assert retry_pending(ctx) == 0  # one task waiting is enough
    with rig.engine.connect() as conn:
        queued = conn.execute(select(task.c.exam_key, task.c.payload).where(task.c.kind == "SR_APPLY")).all()
    assert [(r.exam_key, json.loads(r.payload)) for r in queued] == [("R1", {"sop_instance_uid": sop})]

    assert make_worker(ctx, [SrApplyHandler(ctx)]).run_once() == 1
    assert rig.state("R1")["state"] == "APPLIED"
    assert rig.rows("R1")["LVEF"][0] == "60"


def test_cli_reports_pending_and_apply(rig, tmp_path, capsys):
    rig.add_exam("R2", report_status="SIGNED")
    sop = rig.store(adult_echo_full(), "R2")
    rig.apply(sop)
    config = tmp_path / "rai.toml"
    config.write_text(
        f'[database]\nurl = "{rig.engine.url.render_as_string(hide_password=False)}"\n'
        f'[worker]\nenabled = false\n[storage]\nroot = "{rig.storage}"\n', encoding="utf-8")

    assert main(["--config", str(config), "reports", "--pending"]) == 0
    out = capsys.readouterr().out
    assert "R2" in out and "PENDING" in out and "SIGNED" in out

    assert main(["--config", str(config), "apply", "R2"]) == 0
    assert "R2: PENDING" in capsys.readouterr().out
    rig.set_status("R2", "DRAFT")
    assert main(["--config", str(config), "apply", "R2"]) == 0
    assert "R2: APPLIED" in capsys.readouterr().out
    assert main(["--config", str(config), "reports", "--pending"]) == 0
    assert "R2" not in capsys.readouterr().out

    assert main(["--config", str(config), "apply", "NO_SUCH_EXAM"]) == 2
    assert "no SR" in capsys.readouterr().err


def test_pending_checker_component_reapplies_within_its_interval(rig):
    from dataclasses import replace

    from ris_ai_module.runtime import make_pending_checker as make_component
    from tests.support import wait_until

    rig.report = {"pending_check_interval": "1s"}
    rig.add_exam("R3", report_status="SIGNED")
    rig.apply(rig.store(adult_echo_full(), "R3"))
    ctx = rig.ctx
    checker = make_component(ctx)
    assert checker is None  # worker.enabled = false in the rig: the instance that applies also re-checks
    checker = make_component(replace(ctx, config=replace(ctx.config, worker=replace(ctx.config.worker, enabled=True))))
    assert checker is not None
    checker.start()
    try:
        rig.set_status("R3", "DRAFT")
        assert wait_until(lambda: _sr_apply_tasks(rig) == 1, timeout=5)
    finally:
        checker.stop(5)
    assert not checker._thread.is_alive()


def _sr_apply_tasks(rig) -> int:
    with rig.engine.connect() as conn:
        return len(conn.execute(select(task.c.task_id).where(task.c.kind == "SR_APPLY")).all())


def test_rows_limited_to_configured_keys_in_english(rig):
    rig.report = {"rows": {"keys": ["LVEF", "LVIDd"], "name_language": "en"}}
    rig.add_exam("K1", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "K1")
    rig.apply(sop)
    rows = rig.rows("K1")
    assert set(rows) == {"LVEF", "LVIDd"}
    assert rows["LVIDd"][2] == "LV internal dimension end-diastole"
