"""Report arithmetic and formats without a database: percentiles, failure runs, due time, CSV and HTML."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from ris_ai_module.health.daily import due_day
from ris_ai_module.health.render import render_csv, render_html, render_text
from ris_ai_module.health.report import RejectStats, ReportData, _target_stats, percentile


def _utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_failures_collapse_into_runs_with_time_and_error() -> None:
    base = datetime(2026, 11, 26, 10, 0)
    rows = []
    for minute, (ok, err) in enumerate([(1, None), (0, "refused"), (0, "refused"), (0, "timeout"), (1, None), (0, "refused")]):
        rows.append({"checked_at": _utc(base.replace(minute=minute)), "ok": ok, "error": err, "kind": "ECHO",
                     "latency_ms": 4 if ok else None, "detail": None})
    stats = _target_stats("PACS", rows)
    assert stats.checks == 6 and stats.ok == 2
    assert round(stats.availability, 2) == 33.33
    assert [(r.start.minute, r.end.minute, r.count, r.error) for r in stats.failures] == [
        (1, 2, 2, "refused"), (3, 3, 1, "timeout"), (5, 5, 1, "refused")]


def test_report_due_after_report_time_for_the_previous_day() -> None:
    assert due_day(datetime(2026, 11, 27, 7, 29), "07:30") is None
    assert due_day(datetime(2026, 11, 27, 7, 30), "07:30") == date(2026, 11, 26)
    assert due_day(datetime(2026, 11, 27, 23, 59), "07:30") == date(2026, 11, 26)
    assert due_day(datetime(2026, 1, 1, 0, 0), "00:00") == date(2025, 12, 31)


def _data() -> ReportData:
    base = datetime(2026, 11, 26, 9, 0)  # naive UTC, as stored
    rows = [{"checked_at": base.replace(minute=m), "ok": 1 if m != 3 else 0,
             "error": None if m != 3 else "rejected (permanent, Service User): Calling AE title not recognised",
             "kind": "ECHO", "latency_ms": 10 + m, "detail": None} for m in range(4)]
    shanghai = ZoneInfo("Asia/Shanghai")  # module.timezone: the report's times are in it, labelled
    return ReportData(
        hospital="测试医院 <b>", instance="node-a", since=datetime(2026, 11, 26, tzinfo=shanghai),
        until=datetime(2026, 11, 27, tzinfo=shanghai), generated_at=datetime(2026, 11, 27, 7, 30, tzinfo=shanghai),
        peers=[_target_stats("PACS", rows, zone=shanghai)],
        exams={"pushed": 12, "failed": 1, "pending": 2},
        objects={"received": 30, "sr": 10, "images": 20, "unlinked": 1, "unlinked_total": 3},
        reports={"applied": 9, "failed": 0, "pending_signed": 1},
        rejects=[RejectStats("EVIL", "10.0.0.9", 4, datetime(2026, 11, 26, 12, 0, tzinfo=shanghai), "calling AE title 'EVIL' is not a configured peer")],
    )


def test_csv_opens_in_excel_and_holds_every_section() -> None:
    text = render_csv(_data())
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["section", "target", "kind", "metric", "value", "time", "detail"]
    by = {(r[0], r[1], r[3]): r for r in rows[1:]}
    assert by[("availability", "PACS", "availability_pct")][4] == "75.00"
    assert by[("latency", "PACS", "p95_ms")][4] == "12.0"
    assert by[("failure", "PACS", "count")][5] == "2026-11-26 17:03:00 +08:00"  # 09:03 UTC in Shanghai
    assert by[("exams", "", "pushed")][4] == "12"
    assert by[("rejected", "EVIL", "10.0.0.9")][4] == "4"


def test_html_is_chinese_with_english_terms_and_escaped() -> None:
    html = render_html(_data())
    for words in ("每日运维报告", "Daily IT report", "可用率 Availability", "75.00%", "Calling AE title not recognised",
                  "已签发待写入（份）Reports pending because signed", "EVIL", "10.0.0.9"):
        assert words in html
    assert "测试医院 &lt;b&gt;" in html and "<b>" not in html


def test_text_lists_the_failure_line() -> None:
    text = render_text(_data())
    assert "2026-11-26 17:03:00 +08:00  PACS  x1  rejected (permanent, Service User)" in text
    assert "availability   75.00%" in text
