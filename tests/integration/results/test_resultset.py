"""The exam's result set and the after-apply / after-sign delivery trigger, on SQLite, PostgreSQL and MariaDB.

Real SR files applied by the real SR_APPLY handler; expected values are the SR fixtures' values (adult_echo_full:
LVEF 60 %, LVIDd 47.0 mm, MV_E 81 cm/s) and the LOINC codes of the catalog's rows, written here by hand.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update

from ris_ai_module.db.tables import dicom_object, task
from ris_ai_module.hooks import Hooks
from ris_ai_module.report.acceptance import compare_signed
from ris_ai_module.results.resultset import CORRECTED, DRAFT, SIGNED, read_result_set
from ris_ai_module.tasks.deliveries import SIGNED as SIGNED_EVENT
from ris_ai_module.tasks.deliveries import Delivery, DeliveryRegistry, delivery_key
from ris_ai_module.tasks.model import OutcomeKind, TaskKind
from tests.integration.report.test_apply import small_echo
from tests.integration.results.conftest import RIS_MEASURE
from tests.sr_fixtures.cases import adult_echo_full

REGISTRY = DeliveryRegistry([
    Delivery(TaskKind.OUTBOX, lambda c: True),
    Delivery(TaskKind.HL7_ORU, lambda c: False),  # configured off: never enqueued
])


def _ctx(rig, hooks: Hooks | None = None):
    ctx = rig.ctx
    ctx.deliveries = REGISTRY  # what deliveries_of(ctx) finds
    if hooks is not None:
        ctx.hooks = hooks
    return ctx


def _apply(rig, ctx, sop: str):
    from ris_ai_module.report.handler import SrApplyHandler
    from ris_ai_module.tasks.model import Task

    t = Task(task_id=1, task_uuid="u", kind="SR_APPLY", status="IN_PROCESS", exam_key=None, attempts=1,
             lease_owner="test:1", payload={"sop_instance_uid": sop})
    out = SrApplyHandler(ctx).handle(t)
    assert out.kind is OutcomeKind.DONE, out.error


def _deliveries(rig, exam_key: str) -> list[dict]:
    with rig.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(task).where(task.c.exam_key == exam_key, task.c.kind != "SR_APPLY").order_by(task.c.task_id))]


def _result(rig, ctx, exam_key: str):
    with rig.engine.connect() as conn:
        return read_result_set(conn, ctx.config, exam_key)


def test_applied_sr_gives_the_result_set_and_one_delivery_per_kind_on(rig):
    rig.add_exam("E1", report_status="DRAFT")
    ctx = _ctx(rig)
    sop = rig.store(adult_echo_full(), "E1")
    _apply(rig, ctx, sop)

    rs = _result(rig, ctx, "E1")
    assert (rs.exam.patient_name, rs.exam.patient_id, rs.exam.accession_no) == ("张三", "PE1", "AE1")
    assert rs.status == DRAFT and rs.deliverable is None and rs.report_state == "APPLIED"
    by_key = {i.key: i for i in rs.items}
    lvef, lvidd, mve = by_key["LVEF"], by_key["LVIDd"], by_key["MV_E"]
    assert (lvef.value, lvef.unit, lvef.name_zh, lvef.display) == (60.0, "%", "左室射血分数", "60%")
    assert (lvidd.value, lvidd.unit, lvidd.display) == (47.0, "mm", "47.0mm")
    assert (mve.value, mve.unit) == (81.0, "cm/s")
    assert lvidd.code is not None and (lvidd.code.scheme, lvidd.code.code) == ("LN", "29436-3")
    assert lvef.code is not None and (lvef.code.scheme, lvef.code.code) == ("LN", "18043-0")
    assert lvef.sop_instance_uid == sop
    assert len(rs.items) == 62  # every row the report got (test_apply counts the same 62)
    assert "左室舒张末期内径47.0mm" in rs.findings_text
    assert rig.report_row("E1")["findings"].find(rs.findings_text) > 0  # the paragraph the report holds

    queued = _deliveries(rig, "E1")
    assert [(t["kind"], t["status"]) for t in queued] == [("OUTBOX", "SCHEDULED")]  # HL7 is off
    assert queued[0]["task_uuid"] == delivery_key("OUTBOX", "E1", rs.version)


def test_reapply_adds_nothing_and_a_newer_sr_is_a_corrected_version(rig):
    rig.add_exam("E1", report_status="DRAFT")
    ctx = _ctx(rig)
    first = rig.store(adult_echo_full(), "E1")
    _apply(rig, ctx, first)
    v1 = _result(rig, ctx, "E1").version
    _apply(rig, ctx, first)  # the same SR again (a retried task, `reapply`)
    assert len(_deliveries(rig, "E1")) == 1
    assert _result(rig, ctx, "E1").version == v1

    newer = rig.store(small_echo(5.2, 55), "E1")  # LVIDd 5.2 cm, LVEF 55 %
    _apply(rig, ctx, newer)
    rs = _result(rig, ctx, "E1")
    by_key = {i.key: i for i in rs.items}
    assert rs.status == CORRECTED and rs.version != v1
    assert (by_key["LVIDd"].value, by_key["LVIDd"].sop_instance_uid) == (52.0, newer)
    assert (by_key["LVEF"].value, by_key["MV_E"].value) == (55.0, 81.0)  # MV_E: only the first SR has it
    queued = _deliveries(rig, "E1")
    assert [(t["status"], t["task_uuid"]) for t in queued] == [
        ("CANCELED", delivery_key("OUTBOX", "E1", v1)), ("SCHEDULED", delivery_key("OUTBOX", "E1", rs.version))]


def test_nothing_queued_for_a_held_report_or_an_sr_in_review(rig):
    rig.add_exam("E1", report_status="DRAFT")
    rig.add_exam("E2", report_status="DRAFT")
    held = Hooks(functions={"may_write_report": lambda exam_key, items: "patient to be confirmed"})
    ctx = _ctx(rig, held)
    _apply(rig, ctx, rig.store(adult_echo_full(), "E1"))
    assert rig.state("E1")["state"] == "HELD"
    assert _deliveries(rig, "E1") == []
    rs = _result(rig, ctx, "E1")
    assert rs.deliverable is not None and rs.deliverable.startswith("report state HELD") and rs.version is None

    ctx = _ctx(rig)
    sop = rig.store(adult_echo_full(), None)  # a patient mismatch: kept for review, linked to no exam
    with rig.engine.begin() as conn:
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop).values(
            review_state="NEEDS_REVIEW", review_exam_key="E2", review_reason="patient name differs"))
    _apply(rig, ctx, sop)
    assert _deliveries(rig, "E2") == []
    rs = _result(rig, ctx, "E2")
    assert rs.items == [] and rs.deliverable is not None


def test_signing_is_a_new_version_with_the_values_as_signed(rig):
    rig.report = {"targets": ["rows", "text"]}
    rig.add_exam("E1", report_status="DRAFT")
    ctx = _ctx(rig)
    _apply(rig, ctx, rig.store(adult_echo_full(), "E1"))
    draft = _result(rig, ctx, "E1")
    with rig.engine.begin() as conn:  # the doctor corrects LVEF to 58 and signs
        conn.execute(update(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "E1", RIS_MEASURE.c.item_key == "LVEF")
                     .values(item_value="58"))
    rig.set_status("E1", "SIGNED")
    assert compare_signed(ctx) == 1

    rs = _result(rig, ctx, "E1")
    by_key = {i.key: i for i in rs.items}
    assert rs.status == SIGNED and rs.version != draft.version
    assert (by_key["LVEF"].value, by_key["LVEF"].display, by_key["LVEF"].edited) == (58.0, "58%", True)
    assert (by_key["LVIDd"].value, by_key["LVIDd"].edited) == (47.0, False)
    queued = _deliveries(rig, "E1")
    assert [t["status"] for t in queued] == ["CANCELED", "SCHEDULED"]
    assert SIGNED_EVENT in queued[1]["payload"]
    assert compare_signed(ctx) == 0 and len(_deliveries(rig, "E1")) == 2  # signed once, queued once


def test_registry_refuses_a_kind_twice():
    import pytest

    with pytest.raises(ValueError, match="OUTBOX"):
        DeliveryRegistry([Delivery(TaskKind.OUTBOX, lambda c: True), Delivery(TaskKind.OUTBOX, lambda c: True)])
    assert dataclasses.is_dataclass(Delivery)
