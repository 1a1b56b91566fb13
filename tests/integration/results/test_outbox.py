"""OUTBOX on a real database: the files of an applied SR read back with the csv, json and xml parsers, Chinese
intact; a newer SR rewrites them; an unwritable folder is retried by the worker until it can be written.
Expected values are the SR fixtures' (adult_echo_full: LVEF 60 %, LVIDd 47.0 mm; small_echo: LVIDd 5.2 cm)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from ris_ai_module.db.clock import utcnow
from ris_ai_module.db.tables import task, task_attempt
from ris_ai_module.results.outbox import base_name
from ris_ai_module.results.outbox_handler import OutboxHandler
from ris_ai_module.results.resultset import ExamIdentity, ResultSet
from ris_ai_module.runtime import make_worker
from tests.integration.report.test_apply import small_echo
from tests.integration.results.conftest import apply, ctx_with
from tests.sr_fixtures.cases import adult_echo_full


def _run(ctx) -> int:
    return make_worker(ctx, [OutboxHandler(ctx.engine, ctx.config)]).run_once()


def _outbox_tasks(ctx) -> list[dict]:
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(task).where(task.c.kind == "OUTBOX")
                                                       .order_by(task.c.task_id))]


def test_applied_sr_is_written_as_json_csv_xml_and_rewritten_by_a_newer_sr(rig, tmp_path: Path):
    out = tmp_path / "outbox"
    out.mkdir()
    rig.add_exam("E1", report_status="DRAFT")
    ctx = ctx_with(rig, outbox={"folder": str(out)})
    sop = rig.store(adult_echo_full(), "E1")
    apply(ctx, sop)
    assert _run(ctx) == 1
    assert sorted(p.name for p in out.iterdir()) == ["AE1.csv", "AE1.json", "AE1.xml"]  # no temporary left

    data = json.loads((out / "AE1.json").read_text(encoding="utf-8"))
    assert (data["exam"]["patient_name"], data["exam"]["accession_no"], data["status"]) == ("张三", "AE1", "draft")
    by_key = {m["key"]: m for m in data["measurements"]}
    assert (by_key["LVEF"]["value"], by_key["LVEF"]["unit"], by_key["LVEF"]["name_zh"]) == (60.0, "%", "左室射血分数")
    assert by_key["LVEF"]["name_en"] == "LV ejection fraction (method not stated)"
    assert by_key["LVIDd"]["sop_instance_uid"] == sop and by_key["LVIDd"]["code"]["code"] == "29436-3"
    assert "左室舒张末期内径47.0mm" in data["findings_text"]

    raw = (out / "AE1.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    with open(out / "AE1.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["key"]: r for r in csv.DictReader(fh)}
    assert (rows["LVEF"]["name_zh"], rows["LVEF"]["value"], rows["LVEF"]["unit"]) == ("左室射血分数", "60.0", "%")
    assert (rows["LVIDd"]["patient_name"], rows["LVIDd"]["display"]) == ("张三", "47.0mm")
    assert "左室舒张末期内径47.0mm" in rows["FINDINGS"]["display"]
    assert len(rows) == 63  # 62 measurements and the findings row

    root = ET.parse(out / "AE1.xml").getroot()
    assert root.get("status") == "draft" and root.findtext("exam/patient_name") == "张三"
    lvidd = root.find("measurements/measurement[@key='LVIDd']")
    assert lvidd is not None and (lvidd.findtext("value"), lvidd.findtext("name_zh")) == ("47.0", "左室舒张末期内径")
    assert "左室舒张末期内径47.0mm" in root.findtext("findings")

    newer = rig.store(small_echo(5.2, 55), "E1")  # LVIDd 5.2 cm = 52 mm, LVEF 55 %
    apply(ctx, newer)
    assert _run(ctx) == 1
    data = json.loads((out / "AE1.json").read_text(encoding="utf-8"))
    by_key = {m["key"]: m for m in data["measurements"]}
    assert data["status"] == "corrected"
    assert (by_key["LVIDd"]["value"], by_key["LVIDd"]["sop_instance_uid"]) == (52.0, newer)
    assert by_key["LVEF"]["value"] == 55.0 and by_key["MV_E"]["value"] == 81.0
    with open(out / "AE1.csv", encoding="utf-8-sig", newline="") as fh:
        assert {r["key"]: r["value"] for r in csv.DictReader(fh)}["LVIDd"] == "52.0"
    lvidd = ET.parse(out / "AE1.xml").getroot().find("measurements/measurement[@key='LVIDd']")
    assert lvidd is not None and lvidd.findtext("value") == "52.0"
    assert sorted(p.name for p in out.iterdir()) == ["AE1.csv", "AE1.json", "AE1.xml"]
    assert [t["status"] for t in _outbox_tasks(ctx)] == ["DONE", "DONE"]


def test_an_unwritable_folder_is_retried_until_it_can_be_written(rig, tmp_path: Path):
    out = tmp_path / "share" / "outbox"  # not there yet: the share is not mounted
    rig.add_exam("E1", report_status="DRAFT")
    ctx = ctx_with(rig, outbox={"folder": str(out), "formats": ["csv"]})
    apply(ctx, rig.store(adult_echo_full(), "E1"))
    assert _run(ctx) == 1
    [t] = _outbox_tasks(ctx)
    assert t["status"] == "SCHEDULED" and t["attempts"] == 1 and "not a folder" in t["last_error"]
    with ctx.engine.connect() as conn:
        [a] = conn.execute(select(task_attempt).where(task_attempt.c.task_id == t["task_id"])).all()
    assert (a.outcome, a.status_text, a.target) == ("RETRY", "not writable", str(out))

    out.mkdir(parents=True)
    with ctx.engine.begin() as conn:  # the backoff has passed
        conn.execute(update(task).where(task.c.task_id == t["task_id"]).values(next_run_at=utcnow() - timedelta(seconds=1)))
    assert _run(ctx) == 1
    assert [t["status"] for t in _outbox_tasks(ctx)] == ["DONE"]
    assert [p.name for p in out.iterdir()] == ["AE1.csv"]


def test_file_names_are_the_accession_number_made_safe_and_campus_qualified_when_asked():
    def rs(accession: str, campus: str = "") -> ResultSet:
        exam = ExamIdentity("E9", "P9", "李四", "F", None, accession, "1.2.3", campus=campus)
        return ResultSet(exam, [], "", "draft", None, "v", "APPLIED")

    assert base_name(rs("A2026/001")) == "A2026_001"
    assert base_name(rs("A1", "东院"), campus_in_name=True) == "东院_A1"
    assert base_name(rs("A1", "东院")) == "A1"
    assert base_name(rs("")) == "exam-E9"
    assert base_name(rs("../x")) == "_x"
