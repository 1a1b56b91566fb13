"""Provenance reaches the report where the hospital's tables have a place for it: a rows column, a columns
column, and the findings block's closing line that the values are AI measurements awaiting confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, select, text

from ris_ai_module.tasks.model import OutcomeKind
from tests.integration.report.conftest import RIS_MEASURE
from tests.sr_fixtures.cases import adult_echo_full

_meta = MetaData()
echo_cols = Table("ris_echo_prov", _meta, Column("exam_id", String(64), primary_key=True),
                  Column("ef", String(16)), Column("ai_model", String(200)))


def _echo():
    ds = adult_echo_full()
    ds.Manufacturer, ds.ManufacturerModelName, ds.SoftwareVersions = "Acme Medical", "EchoAI", "3.2.1"
    return ds


@pytest.mark.parametrize("any_db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True)
def test_model_and_version_in_rows_columns_and_findings(rig) -> None:
    with rig.engine.begin() as conn:
        conn.execute(text("ALTER TABLE ris_report_measure ADD AI_MODEL VARCHAR(200)"))
    _meta.create_all(rig.engine)
    rig.report = {"targets": ["rows", "columns", "text"], "rows": {"provenance_column": "AI_MODEL"},
                  "columns": {"table": "RIS_ECHO_PROV", "columns": {"LVEF": "EF"}, "provenance_column": "AI_MODEL"}}
    rig.add_exam("V1", report_status="DRAFT")
    sop = rig.store(_echo(), "V1")
    assert rig.apply(sop).kind is OutcomeKind.DONE, rig.state("V1")

    label = "Acme Medical EchoAI v3.2.1"  # manufacturer, model, "v" + SoftwareVersions (no TID 4019 in it)
    with rig.engine.connect() as conn:
        models = set(conn.execute(text("SELECT AI_MODEL FROM ris_report_measure WHERE EXAM_ID = 'V1'")).scalars())
        row = conn.execute(select(echo_cols).where(echo_cols.c.exam_id == "V1")).one()
        n = len(conn.execute(select(RIS_MEASURE.c.item_key).where(RIS_MEASURE.c.exam_id == "V1")).all())
    assert models == {label} and n > 10
    assert (row.ef, row.ai_model) == ("60", label)
    assert rig.report_row("V1")["findings"].endswith(f"（以上为AI测量值：{label}，待医生确认。）\n【/AI测量】")
