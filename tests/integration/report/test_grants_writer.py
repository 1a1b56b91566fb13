"""The report writer under the least-privilege account of sql/<dialect>/40_grants.sql, on PostgreSQL and
MariaDB: the first SR, a second unrelated SR, a revision that removes a value (a DELETE of the module's own
row), a doctor's edit kept, the findings block — everything the writer does, nothing more granted."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from ris_ai_module.db.tables import measurement, sr_source
from ris_ai_module.tasks.model import OutcomeKind
from tests.integration.db.test_sql_grants import SERVERS, accounts, denied  # noqa: F401 - fixture
from tests.integration.report.conftest import RIS_MEASURE, Rig
from tests.integration.report.test_apply import revision_of, small_echo
from tests.sr_fixtures.cases import adult_echo_full


@pytest.mark.parametrize("any_db", SERVERS, indirect=True)
def test_report_writes_under_the_granted_account(any_db, accounts, rig) -> None:  # noqa: F811
    module, _app = accounts
    rig.add_exam("G5", report_status="DRAFT", findings="医生书写。")  # the RIS's own rows: as the owner
    as_module = Rig(module, rig.storage, {}, rig._clock)
    first = adult_echo_full()
    sop1 = as_module.store(first, "G5")
    assert as_module.apply(sop1).kind is OutcomeKind.DONE, as_module.state("G5")
    assert as_module.rows("G5")["MV_E"][0] == "81"

    rerun = as_module.store(small_echo(5.0, 58), "G5")  # unrelated re-run: merges per key
    assert as_module.apply(rerun).kind is OutcomeKind.DONE
    assert as_module.rows("G5")["LVEF"][0] == "58" and as_module.rows("G5")["MV_E"][0] == "81"

    with rig.engine.begin() as conn:  # a doctor corrects one value the module wrote
        conn.execute(update(RIS_MEASURE).where(RIS_MEASURE.c.exam_id == "G5", RIS_MEASURE.c.item_key == "TAPSE")
                     .values(item_value="21.0"))
    fix = as_module.store(revision_of(small_echo(5.1, 57), first), "G5")  # corrects the first SR: MV_E goes
    out = as_module.apply(fix)
    assert out.kind is OutcomeKind.DONE, (out.error, as_module.state("G5"))
    rows = as_module.rows("G5")
    assert "MV_E" not in rows and rows["TAPSE"][0] == "21.0" and rows["LVEF"][0] == "57"
    assert as_module.state("G5")["state"] == "APPLIED"
    assert "【AI测量】" in as_module.report_row("G5")["findings"]
    with module.connect() as conn:
        assert conn.execute(select(sr_source.c.manufacturer).where(sr_source.c.sop_instance_uid == sop1)).scalar() \
            == "ris-ai-module tests"
        assert conn.execute(select(measurement.c.superseded_by).where(
            measurement.c.sop_instance_uid == sop1, measurement.c.report_key == "MV_E")).scalar() == fix
    assert denied(module, "DELETE FROM ris_report")
