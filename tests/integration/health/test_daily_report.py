"""The daily IT report: the figures IT reads, by e-mail with the CSV attached and as files, sent once."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from ris_ai_module.cli.main import main
from ris_ai_module.db.tables import assoc_reject, check, dicom_object, report_state, task
from ris_ai_module.health.daily import SENT, send_daily_report, status_of
from tests.integration.health.conftest import html_of, make_ctx, text_of

DAY = date.today() - timedelta(days=1)


#: The zone of module.timezone the seeded wall times are in (set by the test; None: the machine's).
ZONE: list[Any] = [None]


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """Wall time of the reported day in the report's zone -> naive UTC, as stored."""
    local = datetime(day.year, day.month, day.day, hour, minute)
    local = local.replace(tzinfo=ZONE[0]) if ZONE[0] is not None else local.astimezone()
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def seed(engine) -> None:
    checks = []
    for m in range(20):  # PACS: 19 of 20 ok (95%); latencies 10..29 ms without 17
        ok = m != 7
        checks.append({"checked_at": at(9, m), "target": "PACS", "kind": "ECHO", "ok": int(ok),
                       "latency_ms": 10 + m if ok else None, "instance": "a",
                       "error": None if ok else "refused: nothing listens on 10.1.1.5:104"})
    for m in range(4):  # AI host: 2 of 4
        checks.append({"checked_at": at(10, m), "target": "AI host", "kind": "HTTP", "ok": int(m < 2),
                       "latency_ms": 40 if m < 2 else None, "instance": "a",
                       "error": None if m < 2 else "HTTP 500 (expected 200)"})
    checks.append({"checked_at": at(10, 0, DAY - timedelta(days=1)), "target": "PACS", "kind": "ECHO", "ok": 0, "latency_ms": None,
                   "error": "the day before: not in this report", "instance": "a"})
    tasks = [("EXAM_PUSH", "DONE"), ("EXAM_PUSH", "DONE"), ("EXAM_PUSH", "FAILED"), ("EXAM_PUSH", "SCHEDULED"),
             ("SR_APPLY", "DONE")]
    objects = [("1.2.840.10008.5.1.4.1.1.88.33", "E1"), ("1.2.840.10008.5.1.4.1.1.7", "E1"),
               ("1.2.840.10008.5.1.4.1.1.7", None)]
    with engine.begin() as conn:
        conn.execute(insert(check), checks)
        for i, (kind, status) in enumerate(tasks):
            conn.execute(insert(task).values(kind=kind, status=status, exam_key=f"E{i}", attempts=1,
                                             created_at=at(8), updated_at=at(8, 30),
                                             finished_at=at(8, 30) if status in ("DONE", "FAILED") else None))
        # E0 pushed to a second AI host too: two deliveries, one exam
        conn.execute(insert(task).values(kind="EXAM_PUSH", status="DONE", exam_key="E0", attempts=1,
                                         created_at=at(8), updated_at=at(8, 31), finished_at=at(8, 31)))
        for i, (sop_class, exam) in enumerate(objects):
            conn.execute(insert(dicom_object).values(
                sop_instance_uid=f"1.2.3.{i}", sop_class_uid=sop_class, exam_key=exam, source="DICOM",
                file_path=f"x/{i}.dcm", file_size=1, sha256="0" * 64, received_at=at(11, i)))
        conn.execute(insert(report_state), [
            {"exam_key": "E1", "state": "APPLIED", "updated_at": at(11, 5)},
            {"exam_key": "E2", "state": "PENDING", "detail": "report signed", "updated_at": at(11, 6)},
        ])
        conn.execute(insert(assoc_reject), [
            {"rejected_at": at(12, m), "address": "10.9.9.9", "calling_ae": "INTRUDER",
             "called_ae": "RIS_AI", "reason": "calling AE title 'INTRUDER' is not a configured peer"} for m in range(3)
        ])


@pytest.mark.parametrize(("zone", "offset"), [("Asia/Shanghai", "+08:00"), ("UTC", "+00:00")])
def test_daily_report_mail_files_and_once(any_db, smtp_server, tmp_path: Path, zone: str, offset: str) -> None:
    ZONE[0] = ZoneInfo(zone)
    try:
        seed(any_db)
    finally:
        ZONE[0] = None
    ctx = make_ctx(any_db, owner="node-a", module={"timezone": zone, "hospital_name": "测试医院"},
                   health={"report_to": ["it@hospital.example"], "report_folder": str(tmp_path / "reports")},
                   alerts={"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                                    "from_addr": "rai@hospital.example"}})
    assert send_daily_report(ctx.config, ctx.engine, ctx.owner, DAY)
    msg = smtp_server.wait_for(1)[0]
    assert msg["Subject"].startswith(f"[ris-ai-module] 测试医院 每日运维报告 Daily IT report {DAY.isoformat()}")
    html = html_of(msg)
    for words in ("PACS", "AI host", "95.00%", "50.00%", "refused: nothing listens on 10.1.1.5:104",
                  "HTTP 500 (expected 200)", f"{DAY.isoformat()} 09:07:00 {offset}", "INTRUDER", "10.9.9.9"):
        assert words in html, words
    assert "the day before" not in html
    text = text_of(msg)
    assert f"{DAY.isoformat()} 09:07:00 {offset}  PACS  x1  refused: nothing listens on 10.1.1.5:104" in text
    # the day is the configured zone's day, labelled: 00:00 to 00:00 there
    next_day = (DAY + timedelta(days=1)).isoformat()
    assert f"期间 Period: {DAY.isoformat()} 00:00 {offset} ~ {next_day} 00:00 {offset}" in text
    assert f"last {DAY.isoformat()} 12:02:00 {offset}" in text
    # The counts say what they count: push deliveries vs exams, DICOM objects vs exams vs reports.
    assert "pushed 3 deliveries (exams 2)   failed 1   pending (now) 1" in text
    assert "objects received 3 (SR 1, images 2) exams 1 (with SR 1)   objects unlinked 1" in text
    assert "reports: SR applied 1" in text and "pending because signed (now) 1" in text
    for label in ("已推送（次）Pushed deliveries", "已推送检查数 Exams pushed", "接收对象（个）Objects received",
                  "涉及检查数 Exams", "SR 已写入报告（份）Reports applied", "待审核对象（患者不符）Objects held for review"):
        assert label in html, label

    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"ris-ai-report-{DAY.isoformat()}.csv"]
    raw = attachments[0].get_payload(decode=True)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = {(r[0], r[1], r[3]): r for r in csv.reader(io.StringIO(raw.decode("utf-8-sig")))}
    assert rows[("availability", "PACS", "availability_pct")][4] == "95.00"
    assert rows[("latency", "PACS", "p50_ms")][4] == "20.0"
    assert rows[("latency", "PACS", "p95_ms")][4] == "29.0"
    assert rows[("rejected", "INTRUDER", "10.9.9.9")][4] == "3"

    folder = tmp_path / "reports"
    assert sorted(p.name for p in folder.iterdir()) == [f"ris-ai-report-{DAY.isoformat()}.csv",
                                                         f"ris-ai-report-{DAY.isoformat()}.html"]
    assert "95.00%" in (folder / f"ris-ai-report-{DAY.isoformat()}.html").read_text(encoding="utf-8")

    # a second instance, or this one after a restart: nothing is sent again
    assert not send_daily_report(ctx.config, ctx.engine, "node-b", DAY)
    assert not send_daily_report(ctx.config, ctx.engine, ctx.owner, DAY)
    assert len(smtp_server.messages) == 1
    assert status_of(ctx.engine, DAY)["status"] == SENT


def test_mail_server_down_records_failure_and_keeps_files(sqlite_db, tmp_path: Path) -> None:
    from tests.support import free_port

    ctx = make_ctx(sqlite_db, health={"report_to": ["it@h.example"], "report_folder": str(tmp_path / "r")},
                   alerts={"smtp": {"host": "127.0.0.1", "port": free_port(), "security": "none",
                                    "from_addr": "rai@h.example", "timeout": "3s"}})
    assert not send_daily_report(ctx.config, ctx.engine, "node-a", DAY)
    state = status_of(ctx.engine, DAY)
    assert state["status"] == "FAILED" and "smtp 127.0.0.1" in state["detail"]
    assert (tmp_path / "r" / f"ris-ai-report-{DAY.isoformat()}.html").exists()
    assert not send_daily_report(ctx.config, ctx.engine, "node-b", DAY)  # retried only after a pause


def test_health_report_command_prints_any_period(sqlite_db, tmp_path: Path, capsys) -> None:
    seed(sqlite_db)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{sqlite_db.url.render_as_string()}"\n[worker]\nenabled = false\n'
                   '[module]\nhospital_name = "测试医院"\n', encoding="utf-8")
    assert main(["-c", str(cfg), "health-report", "--since", DAY.isoformat(), "--until", DAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "PACS" in out and "availability   95.00%" in out and "HTTP 500 (expected 200)" in out
    assert main(["-c", str(cfg), "health-report", "--since", DAY.isoformat(), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("\ufeffsection,target,kind,metric,value,time,detail")
    assert main(["-c", str(cfg), "health-report", "--since", "yesterday"]) == 2
    assert "--since: expected a date like" in capsys.readouterr().err
    assert main(["-c", str(cfg), "checks", "--target", "AI host", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("AI host") == 2 and "FAIL" in out
