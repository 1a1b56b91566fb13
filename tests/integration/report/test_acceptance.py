"""At signing, what the doctor did with each AI value (PostgreSQL, MariaDB, SQLite): a row value edited, a row
removed, the others accepted, the findings block edited as a whole, a procedure unreadable; then the
statistics per key and per model, the largest edit, and a pushed exam whose AI result never came."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import acceptance, report_state, task
from ris_ai_module.report.acceptance import compare_signed, statistics
from tests.integration.report.conftest import RIS_MEASURE, RIS_REPORT
from tests.sr_fixtures.cases import adult_echo_full

LABEL = "Acme Medical EchoAI v3.2.1"


def test_signed_report_is_compared_value_by_value(rig) -> None:
    rig.add_exam("S1", report_status="DRAFT", findings="医生书写。")
    ds = adult_echo_full()
    ds.Manufacturer, ds.ManufacturerModelName, ds.SoftwareVersions = "Acme Medical", "EchoAI", "3.2.1"
    rig.apply(rig.store(ds, "S1"))
    written = rig.rows("S1")
    assert written["LVEF"][0] == "60" and written["MV_E"][0] == "81"
    with rig.engine.begin() as conn:  # the doctor: LVEF 60 -> 55, removes MV_E, rewrites one block line
        conn.execute(update(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "S1", RIS_MEASURE.c.item_key == "LVEF")
                     .values(item_value="55"))
        conn.execute(delete(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "S1", RIS_MEASURE.c.item_key == "MV_E"))
        findings = conn.execute(select(RIS_REPORT.c.findings).where(RIS_REPORT.c.exam_id == "S1")).scalar()
        conn.execute(update(RIS_REPORT).where(RIS_REPORT.c.exam_id == "S1")
                     .values(findings=findings.replace("60%", "55%")))

    assert compare_signed(rig.ctx) == 0  # still a draft: nothing compared yet
    rig.set_status("S1", "SIGNED")
    assert compare_signed(rig.ctx) == 1
    assert compare_signed(rig.ctx) == 0  # once per signature

    with rig.engine.connect() as conn:
        rows = {(r.target, r.item_key): r for r in conn.execute(select(acceptance).where(acceptance.c.exam_key == "S1"))}
        checked = conn.execute(select(report_state.c.signed_checked_at).where(report_state.c.exam_key == "S1")).scalar()
    assert checked is not None
    lvef = rows[("rows", "LVEF")]
    assert (lvef.outcome, lvef.written_value, lvef.signed_value, lvef.model) == ("EDITED", "60", "55", LABEL)
    assert (rows[("rows", "MV_E")].outcome, rows[("rows", "MV_E")].signed_value) == ("REMOVED", None)
    assert rows[("rows", "LVIDd")].outcome == "ACCEPTED"
    n_rows = sum(1 for t, _k in rows if t == "rows")
    assert n_rows == len(written)
    assert rows[("text", "*")].outcome == "EDITED" and "55%" in rows[("text", "*")].signed_value

    with rig.engine.begin() as conn:  # an exam pushed three hours ago whose SR never came
        conn.execute(insert(task).values(task_uuid="00000000-0000-4000-8000-0000000000a1", kind="EXAM_PUSH",
                                         status="DONE", exam_key="S2", attempts=1,
                                         finished_at=utcnow() - timedelta(hours=3)))
    now = utcnow()
    with rig.engine.connect() as conn:
        stats = statistics(conn, now - timedelta(days=1), now + timedelta(seconds=1), result_within=7200)
    per_key = {r["name"]: r for r in stats["per_key"]}
    assert (per_key["LVEF"]["edited"], per_key["MV_E"]["removed"], per_key["LVIDd"]["accepted_pct"]) == (1, 1, 100.0)
    assert len(stats["per_model"]) == 1, stats["per_model"]
    [model] = stats["per_model"]
    assert model["name"] == LABEL and model["total"] == n_rows + 1
    assert model["accepted"] == n_rows - 2 and model["edited"] == 2 and model["removed"] == 1
    assert stats["largest_edits"][0] == {"exam_key": "S1", "key": "LVEF", "from": "60", "to": "55", "model": LABEL}
    assert [m["exam_key"] for m in stats["missing_results"]] == ["S2"]  # S1 got its SR
    assert stats["compared_reports"] == 1
