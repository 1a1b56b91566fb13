"""An exam with no SR gets nothing from an apply (``reapply --exam``, an SR moved to another exam): no empty
report row in the RIS, no state APPLIED with 0 values, nothing to deliver. An SR that leaves an exam after its
values were written still takes them away (the withdrawal is a version of the result)."""

from __future__ import annotations

from sqlalchemy import insert, update

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import dicom_object, report_state
from ris_ai_module.report.apply import apply_exam
from ris_ai_module.report.current import result_version
from ris_ai_module.tasks.model import OutcomeKind
from tests.sr_fixtures.cases import adult_echo_full


def test_an_exam_without_sr_gets_no_report_row_and_no_state(rig):
    rig.add_exam("E1")  # no report row yet: an apply would create one
    state, detail = apply_exam(rig.ctx, "E1")
    assert state == "SKIPPED" and "no SR linked to this exam" in detail
    assert rig.report_row("E1") is None, "no empty report row created in the RIS"
    assert rig.rows("E1") == {} and rig.state("E1") is None
    with rig.engine.connect() as conn:
        assert result_version(conn, "E1") is None, "nothing to deliver"


def test_an_sr_moved_away_takes_its_values_with_it_and_a_second_apply_keeps_that_state(rig):
    rig.add_exam("E2", report_status="DRAFT")
    rig.add_exam("E3", report_status="DRAFT")
    sop = rig.store(adult_echo_full(), "E2")
    assert rig.apply(sop).kind is OutcomeKind.DONE
    assert rig.rows("E2")["LVEF"][0] == "60"
    with rig.engine.begin() as conn:  # linked to the wrong exam: moved to E3
        conn.execute(update(dicom_object).where(dicom_object.c.sop_instance_uid == sop).values(exam_key="E3"))
    state, _ = apply_exam(rig.ctx, "E2")
    assert state == "APPLIED" and rig.rows("E2") == {}, "the wrong patient's values are removed"
    with rig.engine.connect() as conn:
        withdrawn = result_version(conn, "E2")
    assert withdrawn is not None, "the withdrawal is a version to deliver"
    state, detail = apply_exam(rig.ctx, "E2")
    assert state == "SKIPPED" and "nothing written" in detail
    assert rig.state("E2")["state"] == "APPLIED", "kept: its deliveries may still be due"
    with rig.engine.connect() as conn:
        assert result_version(conn, "E2") == withdrawn


def test_a_held_state_left_by_an_sr_no_longer_linked_is_cleared(rig):
    rig.add_exam("E4", report_status="DRAFT")
    with rig.engine.begin() as conn:
        conn.execute(insert(report_state).values(exam_key="E4", sop_instance_uid="1.2.3.9", state="HELD",
                                                 detail="held by the hospital's hook", updated_at=utcnow()))
    state, detail = apply_exam(rig.ctx, "E4")
    assert state == "SKIPPED" and "the state HELD left by SR 1.2.3.9 is cleared" in detail
    assert rig.state("E4") is None and rig.rows("E4") == {}
    assert rig.report_row("E4")["findings"] is None, "the report row is not touched"
