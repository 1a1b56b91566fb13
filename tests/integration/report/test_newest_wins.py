"""Two SRs of one exam from one AI host, sent by DCMTK storescu in either order: the report holds the values
of the SR with the later Content Date/Time, the older SR's values stay in RAI_MEASUREMENT marked superseded,
and a key only the older SR has is kept (unrelated SRs never erase each other's keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ris_ai_module.db.tables import measurement
from tests.integration.dicom import dcmtk
from tests.integration.report.test_apply import small_echo
from tests.integration.report.test_patient_review import _apply_all, _rows, demo  # noqa: F401 - fixture
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import as_patient

ZHANG = ("P000123", "张三")  # demo exam E0001


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_newer_content_time_wins_in_either_arrival_order(demo, tmp_path: Path, order: str) -> None:  # noqa: F811
    _config, ctx, port, ris = demo
    older = as_patient(adult_echo_full(), *ZHANG)  # LVEF 60, LVIDd 47.0 mm, MV_E 81 cm/s, ...
    older.AccessionNumber, older.ContentDate, older.ContentTime = "A20261127001", "20261127", "091000"
    newer = as_patient(small_echo(5.2, 55), *ZHANG)  # a re-run at 09:40: LVIDd 5.2 cm, LVEF 55 %
    newer.AccessionNumber, newer.ContentDate, newer.ContentTime = "A20261127001", "20261127", "094000"
    files = {"older": save(older, tmp_path / "older.dcm"), "newer": save(newer, tmp_path / "newer.dcm")}
    sequence = ["older", "newer"] if order == "older first" else ["newer", "older"]
    for name in sequence:  # two associations, applied one after the other as they arrive
        result = dcmtk.storescu(port, files[name])
        assert dcmtk.store_statuses(result.stdout + result.stderr) == ["Success"], result.stderr
        _apply_all(ctx)

    rows = _rows(ris, "E0001")
    assert (rows["LVEF"], rows["LVIDd"]) == ("55", "52.0")  # from the 09:40 SR
    assert rows["MV_E"] == "81"  # only the 09:10 SR has it: kept
    with ctx.engine.connect() as conn:
        marks = {(r.sop_instance_uid, r.report_key): r.superseded_by for r in conn.execute(
            select(measurement.c.sop_instance_uid, measurement.c.report_key, measurement.c.superseded_by)
            .where(measurement.c.report_key.in_(["LVEF", "LVIDd", "MV_E"])))}
    old, new = older.SOPInstanceUID, newer.SOPInstanceUID
    assert marks[(old, "LVEF")] == new and marks[(old, "LVIDd")] == new
    assert marks[(old, "MV_E")] is None
    assert marks[(new, "LVEF")] is None and marks[(new, "LVIDd")] is None
