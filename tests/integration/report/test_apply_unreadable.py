"""Issue 8 item 10: an SR from which no content item can be read ends SR_APPLY as FAILED with the reason."""

from __future__ import annotations

from sqlalchemy import func, select

from ris_ai_module.db.tables import measurement
from ris_ai_module.tasks.model import OutcomeKind
from tests.sr_fixtures.build import document, num
from tests.sr_fixtures.cases import (
    ECHO,
    LV,
    adult_echo_full,
    c,
    empty_sr,
    group,
    mislabelled_implicit_bytes,
    section,
)


def _measurement_rows(rig, sop: str) -> int:
    with rig.engine.connect() as conn:
        return conn.execute(select(func.count()).where(measurement.c.sop_instance_uid == sop)).scalar()


def test_bytes_unreadable_in_their_transfer_syntax_fail_with_the_reason(rig):
    rig.add_exam("U1", report_status="DRAFT")
    ds = adult_echo_full()
    sop = rig.store(ds, "U1")
    for f in rig.storage.rglob(f"{sop}.dcm"):
        f.write_bytes(mislabelled_implicit_bytes(ds))  # what was stored is not readable as it claims
    out = rig.apply(sop)
    assert out.kind is OutcomeKind.FAILED
    assert "no content item could be read" in out.error and "encoding problem" in out.error
    assert rig.rows("U1") == {} and rig.state("U1") is None  # never "APPLIED, 0 measurements"
    assert _measurement_rows(rig, sop) == 0


def test_sr_without_content_fails(rig):
    rig.add_exam("U2", report_status="DRAFT")
    out = rig.apply(rig.store(empty_sr(), "U2"))
    assert out.kind is OutcomeKind.FAILED and "SR has no content items" in out.error
    assert rig.state("U2") is None


def test_readable_sr_with_only_unmapped_items_is_applied_and_keeps_them(rig):
    rig.add_exam("U3", report_status="DRAFT")
    sop = rig.store(document(ECHO, [section(LV, group(num(c("99LOCAL:X1", "Local index"), 3, "mm")))]), "U3")
    out = rig.apply(sop)
    assert out.kind is OutcomeKind.DONE, out.error
    assert _measurement_rows(rig, sop) == 1 and rig.rows("U3") == {}


def test_a_held_value_is_stored_with_its_reason_and_not_written(rig):
    """Issue 8 item 8: a site that contradicts its Laterality is kept in RAI_MEASUREMENT, never reported."""
    import json

    from tests.sr_fixtures.structures import lateralised_sites

    rig.add_exam("U4", report_status="DRAFT")
    sop = rig.store(lateralised_sites(), "U4")
    assert rig.apply(sop).kind is OutcomeKind.DONE
    rows = rig.rows("U4")
    assert rows["THYROID_LOBE_WIDTH_R"][0] == "16.0"  # the right lobe's own width; 15 (contradicted) is not written
    assert rows["THYROID_LOBE_LENGTH_L"][0] == "44.0" and rows["OVARY_LENGTH_L"][0] == "31.0"
    with rig.engine.connect() as conn:
        held = conn.execute(select(measurement.c.num_value, measurement.c.selected, measurement.c.context)
                            .where(measurement.c.sop_instance_uid == sop, measurement.c.num_value == 15.0)).one()
    assert held.selected == 0 and "Laterality says Right" in json.loads(held.context)["hold"]
