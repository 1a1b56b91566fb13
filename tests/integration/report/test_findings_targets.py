"""Coded findings through the columns and procedure targets, on real databases (issue 8 item 9).

Breast fixture (tests/sr_fixtures/findings_cases.py): lesion M1 right breast, BI-RADS 4B (BI
MA.II.A.5.4B, CID 6027); lesion M2 left, BI-RADS 2 (SCT 397141009); background echotexture
homogeneous fibroglandular (DCM 111352, CID 6151). Keys carry side and lesion (BIRADS_R_M1).
"""

from __future__ import annotations

import json

from sqlalchemy import Column, MetaData, String, Table, Text, select, text

from ris_ai_module.db.dialects import name_of
from ris_ai_module.tasks.model import OutcomeKind
from tests.integration.report.test_targets import PROCEDURES
from tests.sr_fixtures.findings_cases import breast_birads

_meta = MetaData()
breast_values = Table(
    "ris_breast_values", _meta,
    Column("exam_id", String(64), primary_key=True),
    Column("birads_r", String(16)), Column("birads_l", String(16)), Column("echotexture", String(64)),
)
proc_log = Table("rai_test_proc_log", _meta, Column("exam_id", String(64)), Column("payload", Text))


def test_columns_target_writes_the_chinese_category(rig):
    _meta.create_all(rig.engine)
    rig.report = {"targets": ["columns"], "columns": {"table": "RIS_BREAST_VALUES", "columns": {
        "BIRADS_R_M1": "BIRADS_R", "BIRADS_L_M2": "BIRADS_L", "BREAST_ECHOTEXTURE": "ECHOTEXTURE"}}}
    rig.add_exam("B1", report_status="DRAFT")
    assert rig.apply(rig.store(breast_birads(), "B1")).kind is OutcomeKind.DONE
    with rig.engine.connect() as conn:
        row = conn.execute(select(breast_values).where(breast_values.c.exam_id == "B1")).one()
    assert (row.birads_r, row.birads_l, row.echotexture) == ("4B类", "2类", "均匀纤维腺体型")


def test_procedure_target_gets_the_code_of_a_category(rig):
    rig.report = {"targets": ["procedure"], "procedure": {"name": "rai_test_put", "per": "measurement",
                                                          "keys": ["BIRADS"]}}
    rig.add_exam("B2", report_status="DRAFT")
    sop = rig.store(breast_birads(), "B2")
    dialect = name_of(rig.engine)
    if dialect == "sqlite":  # no stored procedures: the apply fails naming the key (as for numbers)
        out = rig.apply(sop)
        assert out.kind is OutcomeKind.FAILED and "report.procedure.name" in out.error
        return
    _meta.create_all(rig.engine)
    with rig.engine.begin() as conn:
        conn.execute(text(PROCEDURES[dialect]))
    assert rig.apply(sop).kind is OutcomeKind.DONE
    with rig.engine.connect() as conn:
        payloads = [json.loads(r.payload) for r in conn.execute(select(proc_log.c.payload))]
    got = {p["key"]: p for p in payloads}
    assert set(got) == {"BIRADS_R_M1", "BIRADS_L_M2"}
    m1 = got["BIRADS_R_M1"]
    assert (m1["value_type"], m1["display"], m1["value"], m1["unit"]) == ("CODE", "4B类", None, "")
    assert m1["code"] == {"scheme": "BI", "code": "MA.II.A.5.4B", "meaning": "4B - Intermediate suspicion"}
    assert got["BIRADS_L_M2"]["code"]["code"] == "397141009"
